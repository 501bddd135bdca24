package mqttsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
)

// HealthSource is the reader's name in the endpoints' health.
const HealthSource = "mqtt"

const (
	flushEvery    = 50 * time.Millisecond
	flushAt       = 512 // samples pending before a flush
	commLossAfter = 5 * time.Second
	logEvery      = 10 * time.Second
)

// Store is what a Reader builds: the live store the dashboard reads
// (*store.Store).
type Store interface {
	Publish(samples ...normalize.Sample)
	SetHealth(hs ...connectors.Health)
	PublishConditions(conds ...normalize.Condition)
	PublishRemote(owner string, states ...store.RemoteState)
	OwnerLost(owner string, at time.Time, why string)
	Expire(now time.Time) int
}

// Stats are a reader's counters.
type Stats struct {
	// Messages received.
	Messages uint64
	// Accepted messages by kind.
	Samples, Alerts, Health, Statuses, Scorecards uint64
	// Skipped messages: payloads not what their topic carries, topics
	// outside the tree, payloads over Config.MaxPayload, samples of tags
	// past Config.MaxTags.
	Malformed, Outside, Oversize, OverLimit uint64
	// Extra: accepted messages with fields the reader does not know.
	Extra uint64
	// Ignored: Sparkplug B, commands, replies to other dashboards,
	// cleared retained messages.
	Ignored uint64
	// Reconnects to the broker.
	Reconnects uint64
	// Commands sent to collectors (Act), those refused by their owner
	// and those no answer came to.
	Commands, CommandsRefused, CommandsUnanswered uint64
}

// Skipped is the messages skipped.
func (s Stats) Skipped() uint64 { return s.Malformed + s.Outside + s.Oversize + s.OverLimit }

// Reader reads collectors from a broker into a Store (see the package
// doc). Its methods are safe for concurrent use.
type Reader struct {
	cfg    Config
	st     Store
	topics uns.Topics // this dashboard's
	filter string
	prefix string // the subscription's, with its trailing "/"
	client mqtt.Client
	log    *slog.Logger

	subscribed chan error // the first subscription's result

	mu        sync.Mutex
	nodes     map[string]*node
	tagNode   map[string]string // tag id → the node that last published it
	pending   []normalize.Sample
	stats     Stats
	lastErr   string // the latest connection error or skipped message
	badLogged time.Time
	connected bool
	everUp    bool
	since     time.Time
	lossAlert bool
	waiting   map[string]chan uns.Reply
	reqSeq    uint64
	sentRow   map[string]connectors.Health
	contexts  uns.ContextCache // by asset
	msgAt     time.Time        // when the message being taken came

	cancel context.CancelFunc
	done   chan struct{}
}

// New checks cfg and prepares a reader that builds st; Start connects it.
func New(cfg Config, st Store) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	cfg = cfg.withDefaults()
	topics, _ := uns.NewTopics(cfg.Prefix, cfg.Node) // checked by Validate
	tc, err := cfg.Settings.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("mqtt broker %s: %w", mqttconn.Redact(cfg.Broker), err)
	}
	r := &Reader{
		cfg: cfg, st: st, topics: topics, prefix: topics.Prefix(), filter: topics.Prefix() + "#", log: cfg.Logger,
		subscribed: make(chan error, 1),
		nodes:      make(map[string]*node), tagNode: make(map[string]string),
		waiting: make(map[string]chan uns.Reply), sentRow: make(map[string]connectors.Health),
		done: make(chan struct{}),
	}
	o := mqttconn.Options(&r.cfg.Settings, cfg.ClientID, tc).
		SetCleanSession(true). // the retained messages give the picture at every connection
		SetOrderMatters(true). // messages in the order the broker sent them
		SetOnConnectHandler(r.onConnect).
		SetConnectionLostHandler(r.onLost).
		SetDefaultPublishHandler(r.onMessage)
	r.client = mqtt.NewClient(o)
	return r, nil
}

// Start connects to the broker within Config.ConnectTimeout, subscribes,
// and keeps the store up to date until ctx is done or Close. A broker
// that is unreachable, refuses the credentials or the subscription, or
// fails TLS is an error naming it. After a successful start the reader
// reconnects by itself.
func (r *Reader) Start(ctx context.Context) error {
	if err := mqttconn.Connect(ctx, r.client, r.cfg.Broker, r.cfg.ConnectTimeout); err != nil {
		return err
	}
	select {
	case err := <-r.subscribed:
		if err != nil {
			r.client.Disconnect(0)
			return fmt.Errorf("mqtt broker %s: %w", mqttconn.Redact(r.cfg.Broker), err)
		}
	case <-ctx.Done():
		r.client.Disconnect(0)
		return ctx.Err()
	}
	ctx, r.cancel = context.WithCancel(ctx)
	go r.run(ctx)
	return nil
}

// Close disconnects and stops updating the store.
func (r *Reader) Close() error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	<-r.done
	r.client.Disconnect(250)
	return nil
}

// Stats returns the counters.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// onConnect subscribes (every connection: the session is clean).
func (r *Reader) onConnect(c mqtt.Client) {
	r.mu.Lock()
	if r.everUp {
		r.stats.Reconnects++
	}
	r.connected, r.everUp, r.since = true, true, r.cfg.Now()
	// what the reader itself had lost comes back; the retained messages
	// that follow correct it
	for _, n := range r.nodes {
		if n.lost && n.lostByReader {
			r.restore(n)
		}
		n.heard = r.since // silent only if it stays so from now
	}
	r.mu.Unlock()
	tok := c.Subscribe(r.filter, 1, nil)
	err := waitSub(tok, r.filter, r.cfg.ConnectTimeout)
	if err != nil {
		r.log.Error("mqtt: subscription refused", "broker", mqttconn.Redact(r.cfg.Broker), "err", err)
		r.mu.Lock()
		r.lastErr = err.Error()
		r.mu.Unlock()
	} else {
		r.log.Info("mqtt: reading", "broker", mqttconn.Redact(r.cfg.Broker), "topics", r.filter)
		// the collectors publish their whole state again: the retained
		// messages of a collector publishing to another broker (a bridge
		// that does not carry them) are not in this one
		r.hello()
	}
	select {
	case r.subscribed <- err:
	default:
	}
}

// waitSub waits for a subscription's answer: an error when it does not
// come, fails, or the broker refuses the filter (SUBACK 0x80).
func waitSub(tok mqtt.Token, filter string, timeout time.Duration) error {
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("no answer to the subscription to %q within %s", filter, timeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("subscription to %q: %w", filter, err)
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		if code, ok := st.Result()[filter]; ok && code >= 0x80 {
			return fmt.Errorf("the broker refused the subscription to %q (not authorized to read it?)", filter)
		}
	}
	return nil
}

// hello asks the collectors under the prefix for their whole state
// (uns.Topics.Hello); it does not wait for the broker's answer.
func (r *Reader) hello() {
	r.client.Publish(r.topics.Hello(), 0, false, uns.HelloPayload(r.topics.Node(), r.cfg.Now()))
}

// onLost shows every collector lost: the dashboard no longer sees them.
func (r *Reader) onLost(_ mqtt.Client, err error) {
	now := r.cfg.Now()
	why := fmt.Sprintf("the dashboard lost broker %s: %v", mqttconn.Redact(r.cfg.Broker), err)
	r.log.Warn("mqtt: connection lost; reconnecting", "broker", mqttconn.Redact(r.cfg.Broker), "err", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connected, r.since, r.lastErr = false, now, why
	for _, n := range r.nodes {
		if !n.lost {
			r.lose(n, now, why)
			n.lostByReader = true
		}
	}
	r.flushLocked()
}

func (r *Reader) run(ctx context.Context) {
	defer close(r.done)
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	r.tick()
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.flushLocked()
			r.mu.Unlock()
			return
		case <-flush.C:
			r.mu.Lock()
			r.flushLocked()
			r.mu.Unlock()
		case <-tick.C:
			r.tick()
		}
	}
}

// flushLocked gives the pending samples to the store (and OnEvent).
func (r *Reader) flushLocked() {
	if len(r.pending) > 0 {
		if r.cfg.OnEvent != nil {
			for i := range r.pending {
				r.cfg.OnEvent(pipeline.Event{Type: pipeline.EventSample, Sample: &r.pending[i]})
			}
		}
		r.st.Publish(r.pending...)
		clear(r.pending)
		r.pending = r.pending[:0]
	}
	if r.cfg.AfterEvents != nil {
		r.cfg.AfterEvents()
	}
}

// tick runs every second: the reader's health, the collectors' rows,
// the comm_loss of the broker, the store's timed shelves.
func (r *Reader) tick() {
	now := r.cfg.Now()
	r.mu.Lock()
	hs := []connectors.Health{r.healthLocked()}
	if r.connected {
		r.silentLocked(now)
	}
	for _, n := range r.nodes {
		r.rowLocked(n)
	}
	down := r.everUp && !r.connected && now.Sub(r.since) >= commLossAfter
	var cond *normalize.Condition
	switch {
	case down && !r.lossAlert:
		r.lossAlert = true
		cond = &normalize.Condition{Kind: normalize.AlertCommLoss, Target: HealthSource, Active: true, Severity: normalize.SeverityHigh, At: now,
			Message: fmt.Sprintf("MQTT broker %s unreachable for %s: every collector is shown lost", mqttconn.Redact(r.cfg.Broker), commLossAfter)}
	case r.connected && r.lossAlert:
		r.lossAlert = false
		cond = &normalize.Condition{Kind: normalize.AlertCommLoss, Target: HealthSource, At: now}
	}
	r.mu.Unlock()
	r.st.SetHealth(hs...)
	if cond != nil {
		r.st.PublishConditions(*cond)
	}
	r.st.Expire(now)
}

// healthLocked is the reader's own health: the broker's link, messages
// accepted as Readings, skipped ones as Errors, the last problem.
func (r *Reader) healthLocked() connectors.Health {
	h := connectors.Health{
		Source: HealthSource, Protocol: "mqtt", Endpoint: mqttconn.Redact(r.cfg.Broker), State: connectors.Connecting, Since: r.since,
		Readings: r.stats.Samples + r.stats.Alerts + r.stats.Health + r.stats.Statuses + r.stats.Scorecards, Errors: r.stats.Skipped(), Reconnects: r.stats.Reconnects,
	}
	switch {
	case r.connected:
		h.State = connectors.Connected
	case r.everUp:
		h.State = connectors.Down
	}
	if r.lastErr != "" {
		h.LastError = errors.New(r.lastErr)
	}
	return h
}

// skip counts a skipped message in *counter and keeps why (logged at
// most every logEvery).
func (r *Reader) skip(counter *uint64, topic, why string) {
	*counter++
	r.lastErr = fmt.Sprintf("skipped %s: %s", topic, why)
	if now := r.cfg.Now(); now.Sub(r.badLogged) >= logEvery {
		r.badLogged = now
		r.log.Warn("mqtt: message skipped", "topic", topic, "why", why, "skipped_total", r.stats.Skipped())
	}
}

// onMessage takes one message (in the order the broker sent them).
func (r *Reader) onMessage(_ mqtt.Client, m mqtt.Message) {
	topic, payload := m.Topic(), m.Payload()
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgAt = now
	r.stats.Messages++
	if len(payload) > r.cfg.MaxPayload {
		r.skip(&r.stats.Oversize, topic, fmt.Sprintf("payload of %d bytes (at most %d)", len(payload), r.cfg.MaxPayload))
		return
	}
	t, err := uns.ParseTopic(topic, r.prefix)
	if err != nil {
		r.skip(&r.stats.Outside, topic, strings.TrimPrefix(err.Error(), uns.ErrOutside.Error()+": "))
		return
	}
	if len(payload) == 0 || t.Kind == uns.TopicSparkplug || t.Kind == uns.TopicCommand || t.Kind == uns.TopicHello {
		r.stats.Ignored++ // a retained message cleared; not JSON; not for a dashboard
		return
	}
	switch t.Kind {
	case uns.TopicSample:
		err = r.sample(&t, payload, now)
	case uns.TopicTagAlert, uns.TopicOtherAlert:
		err = r.alert(&t, payload)
	case uns.TopicHealth:
		err = r.health(&t, payload)
	case uns.TopicStatus:
		err = r.status(&t, payload, now)
	case uns.TopicReply:
		err = r.reply(&t, payload)
	case uns.TopicScorecard:
		err = r.scorecard(&t, payload)
	}
	if err != nil {
		r.skip(&r.stats.Malformed, topic, strings.TrimPrefix(err.Error(), uns.ErrMalformed.Error()+": "))
	}
	if len(r.pending) >= flushAt {
		r.flushLocked()
	}
}
