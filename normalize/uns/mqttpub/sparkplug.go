package mqttpub

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
)

// sparkplug is the Sparkplug B connection of a publisher: the collector as
// one edge node, with a clean session (Sparkplug's rule) and its NDEATH as
// the will. DDATA goes out at QoS 0: what happens while the broker is
// unreachable is not buffered; the births after the reconnection carry
// every tag's current value. A new session (reconnection) increments bdSeq
// and rewrites the will before the CONNECT; a host application's NCMD
// "Node Control/Rebirth" = true, a reconnection or a new tag make the node
// publish NBIRTH and every DBIRTH again.
type sparkplug struct {
	cfg    *Config
	log    *slog.Logger
	client mqtt.Client
	up     func() // nil when the JSON connection says the state

	bdSeq atomic.Uint64 // of the current session
	wake  chan struct{} // births wanted (cap 1)
	want  atomic.Bool

	messages, rebirths, malformed, ignored atomic.Uint64
	badLog                                 atomic.Int64 // unix ns of the last malformed-command log

	// owned by the publishing goroutine
	node    *uns.Node
	samples []normalize.Sample
	born    int // births published so far

}

// newSparkplug prepares the Sparkplug connection; up and down, when set,
// are told when it connects and when it is lost.
func newSparkplug(cfg *Config, tc *tls.Config, log *slog.Logger, up func(), down func(error)) (*sparkplug, error) {
	node, err := uns.NewNode(cfg.SparkplugGroup, cfg.Node)
	if err != nil {
		return nil, err
	}
	s := &sparkplug{cfg: cfg, log: log, node: node, wake: make(chan struct{}, 1), up: up}
	death := node.Death(0)
	o := mqttconn.Options(cfg.settings(), cfg.ClientID+"-spb", tc).
		SetCleanSession(true).
		SetBinaryWill(death.Topic, death.Payload, death.QoS, false).
		SetOnConnectHandler(s.onConnect).
		SetReconnectingHandler(s.onReconnecting)
	if down != nil {
		o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			down(err)
			log.Warn("mqtt sparkplug: connection lost; births follow the reconnection", "broker", redact(cfg.Broker), "err", err)
		})
	}
	s.client = mqtt.NewClient(o)
	return s, nil
}

func (s *sparkplug) connect(ctx context.Context) error {
	return mqttconn.Connect(ctx, s.client, s.cfg.Broker, s.cfg.ConnectTimeout)
}

// reconnectPause delays a reconnection of the Sparkplug connection: a
// broker that sees the same client id connect again before it noticed the
// old connection's end replaces the session without publishing its will
// (nats-server does), and hosts would see no NDEATH.
const reconnectPause = time.Second

// onReconnecting starts a new session, after reconnectPause: bdSeq+1, and
// the will that goes with it.
func (s *sparkplug) onReconnecting(_ mqtt.Client, o *mqtt.ClientOptions) {
	time.Sleep(reconnectPause) // the client's reconnecting goroutine: nothing else waits on it
	seq := (s.bdSeq.Load() + 1) % 256
	s.bdSeq.Store(seq)
	d := s.node.Death(seq)
	o.SetBinaryWill(d.Topic, d.Payload, d.QoS, false)
}

// onConnect subscribes to the node's commands, then asks the publishing
// goroutine for the births (the Sparkplug order: NCMD subscription first).
func (s *sparkplug) onConnect(c mqtt.Client) {
	if s.up != nil {
		s.up()
	}
	tok := c.Subscribe(s.node.CommandTopic(), 1, s.onCommand)
	if !tok.WaitTimeout(s.cfg.ConnectTimeout) || tok.Error() != nil {
		s.log.Error("mqtt sparkplug: cannot subscribe to the node's commands", "topic", s.node.CommandTopic(), "err", tok.Error())
	}
	s.askBirths()
}

func (s *sparkplug) askBirths() {
	s.want.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// onCommand handles an NCMD: a rebirth request is honoured; anything else
// is counted and skipped, a malformed payload logged (at most every
// logEvery).
func (s *sparkplug) onCommand(_ mqtt.Client, m mqtt.Message) {
	err := s.node.ParseRebirth(m.Payload())
	switch {
	case err == nil:
		s.askBirths()
	case errors.Is(err, uns.ErrNotRebirth):
		s.ignored.Add(1)
	default:
		n := s.malformed.Add(1)
		now := time.Now().UnixNano()
		if last := s.badLog.Load(); now-last >= int64(logEvery) && s.badLog.CompareAndSwap(last, now) {
			s.log.Warn("mqtt sparkplug: malformed command skipped", "topic", m.Topic(), "err", err, "malformed_total", n)
		}
	}
}

// births publishes NBIRTH and every DBIRTH when they were asked for.
func (s *sparkplug) births() {
	if !s.want.Swap(false) || !s.client.IsConnectionOpen() {
		return
	}
	s.publish(s.node.Births(s.bdSeq.Load(), s.cfg.Now()))
	s.countBirth()
}

func (s *sparkplug) countBirth() {
	if s.born > 0 {
		s.rebirths.Add(1)
	}
	s.born++
}

// data publishes the samples of a batch as DDATA, or births when one is
// of a new tag.
func (s *sparkplug) data(batch []item) {
	s.samples = s.samples[:0]
	for i := range batch {
		if batch[i].alert == nil {
			s.samples = append(s.samples, batch[i].sample)
		}
	}
	if len(s.samples) == 0 {
		return
	}
	if !s.client.IsConnectionOpen() && s.node.Born() {
		s.node.Lost()
	}
	s.births() // a pending request first: the births carry these values' predecessors
	msgs, rebirth := s.node.Data(s.samples, s.bdSeq.Load(), s.cfg.Now())
	if rebirth {
		s.countBirth()
	}
	s.publish(msgs)
	clear(s.samples)
}

func (s *sparkplug) publish(msgs []uns.Message) {
	for _, m := range msgs {
		s.client.Publish(m.Topic, m.QoS, m.Retain, m.Payload)
		s.messages.Add(1)
	}
}

// close publishes the NDEATH of the session (an orderly stop sends no
// will) and disconnects.
func (s *sparkplug) close() {
	d := s.node.Death(s.bdSeq.Load())
	tok := s.client.Publish(d.Topic, d.QoS, false, d.Payload)
	tok.WaitTimeout(time.Second)
	s.client.Disconnect(500)
}
