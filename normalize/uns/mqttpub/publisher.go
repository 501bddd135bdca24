package mqttpub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
)

// HealthSource is the publisher's name in the endpoints' health (and the
// target of its alerts).
const HealthSource = "mqtt"

// The publisher's alerts, on target HealthSource.
const (
	// AlertBuffer is raised when the outage buffer (messages waiting for
	// the broker's acknowledgement) or the hand-off (samples waiting to be
	// published while the broker is slow) is 80 % full, before anything is
	// dropped; cleared when both are below 50 % and the broker connected.
	AlertBuffer normalize.AlertKind = "mqtt_buffer"
	// AlertDropped is raised at the first sample dropped (either full, or
	// QoS 0 while disconnected); cleared with AlertBuffer.
	AlertDropped normalize.AlertKind = "mqtt_dropped"
	// AlertCommLoss is raised when the broker is unreachable for
	// commLossAfter; cleared on reconnection.
	AlertCommLoss normalize.AlertKind = "comm_loss"
)

const (
	drainFor      = 2 * time.Second
	commLossAfter = 5 * time.Second
	holdTimeout   = 30 * time.Second
	maxBatch      = 1024
	logEvery      = 10 * time.Second
)

// Host is what the publisher needs of the collector it publishes: the
// endpoints' health, whether an alert's target is a tag, and where its own
// health and alerts go. Attach gives a pipeline's. Its methods are called
// from the publisher's goroutine.
type Host interface {
	// Health returns every endpoint's latest health.
	Health() []connectors.Health
	// SetHealth records the publisher's own health beside the endpoints'.
	SetHealth(connectors.Health)
	// IsTag says whether id is a tag's id (else an alert target is an
	// endpoint or the collector).
	IsTag(id string) bool
	// Raise makes the condition kind on target active; Clear ends it.
	Raise(kind normalize.AlertKind, target string, sev normalize.AlertSeverity, msg string, at time.Time)
	Clear(kind normalize.AlertKind, target string, at time.Time)
	// Snapshot returns every tag's latest sample and Alerts the listed
	// alerts: the whole state, published again when a dashboard says
	// hello (uns.Topics.Hello).
	Snapshot() []normalize.Sample
	Alerts() []normalize.Alert
}

// Stats are the publisher's counters.
type Stats struct {
	// Samples published as JSON.
	Samples uint64
	// Messages handed to the client library (JSON and Sparkplug).
	Messages uint64
	// Dropped samples: the buffer was full, QoS 0 while disconnected, the
	// hand-off to the publisher full, or the client refused them.
	Dropped uint64
	// Buffered QoS 1 messages waiting for the broker's acknowledgement.
	Buffered int
	// Reconnects of the JSON connection.
	Reconnects uint64
	// Republished samples: a tag's newest sample published again,
	// retained, because it went out without retain (Config.RetainInterval).
	Republished uint64
	// Rebirths: Sparkplug births published after the first (rebirth
	// commands, reconnections, new tags).
	Rebirths uint64
	// Malformed commands on the Sparkplug NCMD topic (skipped), and
	// Ignored well-formed ones that ask for something else than a rebirth.
	Malformed, Ignored uint64
	// StoreFailures: operations of the file store that failed.
	StoreFailures uint64
	// Commands taken (carried out) and refused (by the handler, or
	// expired); CommandsMalformed skipped (see HandleCommands).
	Commands, CommandsRefused, CommandsMalformed uint64
}

// item is one event handed to the publisher.
type item struct {
	sample normalize.Sample
	alert  *normalize.Alert
	event  normalize.AlertEvent // the alert's transition
}

// Publisher publishes a collector's samples, alerts and health to an MQTT
// broker as the JSON unified namespace (see uns.Topics, uns.AppendSample)
// and, optionally, as Sparkplug B. Sample and Alert hand events over
// without blocking; one goroutine (Start) publishes them. Its methods are
// safe for concurrent use.
type Publisher struct {
	cfg    Config
	topics uns.Topics
	log    *slog.Logger
	host   Host

	in    chan item
	json  mqtt.Client
	cmds  *commands // nil: no commands taken
	store *bufferStore
	spb   *sparkplug

	cancel context.CancelFunc
	done   chan struct{}
	// announce asks the publishing goroutine for the online status (the
	// connection is up); wake wakes it.
	announce atomic.Bool
	wake     chan struct{}

	high, low int // buffer watermarks

	samples, messages, dropped, reconnects, republished atomic.Uint64

	mu        sync.Mutex
	connected bool
	since     time.Time
	lastErr   error
	everUp    bool

	// bufferAlert and dropAlert say AlertBuffer and AlertDropped are
	// raised (by the hand-off or the publishing goroutine).
	bufferAlert, dropAlert atomic.Bool

	// scorecard is the latest scorecard payload not yet published.
	scorecard atomic.Pointer[[]byte]
	// refresh says a dashboard asked for the whole state (hello).
	refresh atomic.Bool
	hellos  atomic.Uint64

	// owned by the publishing goroutine
	lossAlert   bool
	dropsLogged uint64
	lastDropLog time.Time
	sentHealth  map[string]connectors.Health
	scratch     []byte
	lastCard    []byte    // the scorecard payload last published
	lastRefresh time.Time // when the whole state was last published again
	lastStatus  time.Time // when the online status was last published
	refreshes   uint64
	retain      *retainer // nil: every sample is retained
}

// New checks cfg and prepares a publisher; Start connects it.
func New(cfg Config) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	cfg = cfg.withDefaults()
	topics, _ := uns.NewTopics(cfg.Prefix, cfg.Node) // checked by Validate
	tc, err := cfg.settings().TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("mqtt broker %s: %w", redact(cfg.Broker), err)
	}
	p := &Publisher{
		cfg: cfg, topics: topics, log: cfg.Logger,
		in:         make(chan item, cfg.Buffer),
		done:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
		high:       cfg.Buffer * 8 / 10,
		low:        cfg.Buffer / 2,
		sentHealth: make(map[string]connectors.Health),
		retain:     newRetainer(cfg.RetainInterval),
	}
	if cfg.JSON {
		var inner mqtt.Store = mqtt.NewOrderedMemoryStore()
		if cfg.StoreDir != "" {
			inner = mqtt.NewFileStore(cfg.StoreDir)
		}
		p.store = newBufferStore(inner, func(err error) { p.log.Error("mqtt: message store failed", "err", err) })
		p.store.idOrder = cfg.StoreDir != ""
		o := mqttconn.Options(cfg.settings(), cfg.ClientID, tc).
			SetCleanSession(false). // the broker keeps the session; the client resends what was not acknowledged
			SetStore(p.store).
			SetBinaryWill(topics.Status(), uns.StatusPayload(topics.Node(), false, time.Time{}), 1, true).
			SetOnConnectHandler(p.onConnect).
			SetConnectionLostHandler(p.onLost)
		p.json = mqtt.NewClient(o)
	}
	if cfg.Sparkplug {
		var up func()
		var down func(error)
		if !cfg.JSON { // the Sparkplug connection is the publisher's
			up, down = p.up, p.down
		}
		if p.spb, err = newSparkplug(&cfg, tc, p.log, up, down); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Start connects to the broker, each connection within
// Config.ConnectTimeout, and starts publishing until ctx is done or Close.
// A broker that is unreachable, refuses the credentials or fails TLS is
// an error naming it. After a successful start the connections reconnect
// by themselves.
func (p *Publisher) Start(ctx context.Context) error {
	if p.json != nil {
		if err := mqttconn.Connect(ctx, p.json, p.cfg.Broker, p.cfg.ConnectTimeout); err != nil {
			return err
		}
	}
	if p.spb != nil {
		if err := p.spb.connect(ctx); err != nil {
			if p.json != nil {
				p.json.Disconnect(250)
			}
			return err
		}
	}
	ctx, p.cancel = context.WithCancel(ctx)
	go p.run(ctx)
	return nil
}

// Close stops publishing: what was handed over is published, the status
// becomes offline (Sparkplug: NDEATH), and the connections close, waiting
// up to a second for the broker's acknowledgements. QoS 1 messages still
// unacknowledged then are lost unless Config.StoreDir keeps them for the
// next start.
func (p *Publisher) Close() error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	<-p.done
	return nil
}

// Sample hands sample s over for publishing. It never blocks: the
// hand-off holds Config.Buffer events while the broker is slower than
// the collector (it acknowledges slowly, or the network is slow); at 80 %
// AlertBuffer is raised, and when it is full s is dropped, counted, and
// AlertDropped raised.
func (p *Publisher) Sample(s *normalize.Sample) { p.handOff(item{sample: *s}) }

// Scorecard hands over the collector's latest data-quality scorecards:
// published, retained, on the scorecard topic at the next second while
// the broker is reachable (a newer report replaces one not yet sent). It
// never blocks. Only the JSON namespace carries scorecards.
func (p *Publisher) Scorecard(r *score.Report) {
	if p.json == nil {
		return
	}
	b := uns.ScorecardPayload(p.topics.Node(), r)
	p.scorecard.Store(&b)
}

// Alert hands alert a after transition ev over for publishing; it never
// blocks (see Sample).
func (p *Publisher) Alert(a *normalize.Alert, ev normalize.AlertEvent) {
	al := *a
	p.handOff(item{alert: &al, event: ev})
}

func (p *Publisher) handOff(it item) {
	select {
	case p.in <- it:
		if n := len(p.in); n >= p.high && p.bufferAlert.CompareAndSwap(false, true) {
			p.raise(AlertBuffer, normalize.SeverityHigh, fmt.Sprintf(
				"MQTT publisher %d of %d samples behind: broker %s takes them slower than they come; samples are dropped when it is full",
				n, p.cfg.Buffer, redact(p.cfg.Broker)))
		}
	default:
		p.dropped.Add(1)
		if p.dropAlert.CompareAndSwap(false, true) {
			p.raise(AlertDropped, normalize.SeverityCritical, fmt.Sprintf(
				"MQTT publisher %d samples behind broker %s: samples are being dropped", p.cfg.Buffer, redact(p.cfg.Broker)))
		}
	}
}

// Stats returns the counters.
func (p *Publisher) Stats() Stats {
	st := Stats{
		Samples: p.samples.Load(), Messages: p.messages.Load(), Dropped: p.dropped.Load(),
		Reconnects: p.reconnects.Load(), Republished: p.republished.Load(),
	}
	if p.store != nil {
		st.Buffered = p.store.count()
		st.StoreFailures = p.store.failed()
	}
	st.Commands, st.CommandsRefused, st.CommandsMalformed = p.commandStats()
	if p.spb != nil {
		st.Messages += p.spb.messages.Load()
		st.Rebirths = p.spb.rebirths.Load()
		st.Malformed = p.spb.malformed.Load()
		st.Ignored = p.spb.ignored.Load()
	}
	return st
}

// Health returns the publisher's health as an endpoint's: Source "mqtt",
// the broker's URL, the connection's state, published samples as
// Readings and dropped ones as Errors.
func (p *Publisher) Health() connectors.Health {
	st := p.Stats()
	p.mu.Lock()
	defer p.mu.Unlock()
	h := connectors.Health{
		Source: HealthSource, Protocol: "mqtt", Endpoint: redact(p.cfg.Broker),
		State: connectors.Connecting, Since: p.since, LastError: p.lastErr,
		Readings: st.Samples, Errors: st.Dropped, Reconnects: st.Reconnects,
	}
	switch {
	case p.connected:
		h.State = connectors.Connected
	case p.everUp:
		h.State = connectors.Down
	}
	return h
}

// up records that the connection (the JSON one, else the Sparkplug one)
// is up.
func (p *Publisher) up() {
	p.mu.Lock()
	reconnect := p.everUp
	p.connected, p.everUp, p.since = true, true, p.cfg.Now()
	p.mu.Unlock()
	if reconnect {
		p.reconnects.Add(1)
		p.log.Info("mqtt: reconnected", "broker", redact(p.cfg.Broker), "buffered", p.Stats().Buffered)
	}
}

// down records that the connection was lost.
func (p *Publisher) down(err error) {
	p.mu.Lock()
	p.connected, p.since, p.lastErr = false, p.cfg.Now(), err
	p.mu.Unlock()
}

func (p *Publisher) onConnect(c mqtt.Client) {
	p.up()
	p.subscribeCommands(c)
	p.subscribeHello(c)
	// The status goes out from the publishing goroutine, after the client
	// has resent what it stored: a message published now could take the
	// message id of a stored one not yet claimed by the resend.
	p.announce.Store(true)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Publisher) onLost(_ mqtt.Client, err error) {
	p.down(err)
	p.store.release()
	p.log.Warn("mqtt: connection lost; buffering QoS 1 messages until the broker is back",
		"broker", redact(p.cfg.Broker), "err", err, "buffered", p.store.count(), "buffer", p.cfg.Buffer)
}

func (p *Publisher) isConnected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected
}

func (p *Publisher) run(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	batch := make([]item, 0, maxBatch)
	var births <-chan struct{}
	if p.spb != nil {
		births = p.spb.wake
	}
	p.tick()
	for {
		select {
		case <-ctx.Done():
			p.stop()
			return
		case it := <-p.in:
			batch = append(batch[:0], it)
		more:
			for len(batch) < maxBatch {
				select {
				case it := <-p.in:
					batch = append(batch, it)
				default:
					break more
				}
			}
			p.publish(ctx, batch)
			clear(batch) // drop the references to samples and alerts
		case <-tick.C:
			p.tick()
		case <-p.wake:
			if p.announce.Swap(false) && p.waitResend(ctx) {
				p.sendStatus()
			}
			p.maybeRefresh()
		case <-births:
			p.spb.births()
		}
	}
}

// publish publishes a batch of events; when ctx ends, the rest of the
// batch is counted as dropped.
func (p *Publisher) publish(ctx context.Context, batch []item) {
	if p.json != nil {
		for i := range batch {
			if ctx.Err() != nil || !p.waitResend(ctx) {
				p.dropped.Add(uint64(len(batch) - i))
				return
			}
			if it := &batch[i]; it.alert != nil {
				p.publishAlert(it.alert, &it.event)
			} else {
				p.publishSample(&it.sample)
			}
		}
	}
	if p.spb != nil {
		p.spb.data(batch)
	}
}

// waitResend waits while the client resends the messages stored through
// an outage (see bufferStore), at most holdTimeout; false when ctx ended.
func (p *Publisher) waitResend(ctx context.Context) bool {
	ch := p.store.hold()
	if ch == nil {
		return true
	}
	t := time.NewTimer(holdTimeout)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	case <-t.C:
		p.log.Warn("mqtt: the broker acknowledged not all resent messages", "within", holdTimeout, "buffered", p.store.count())
		p.store.release()
		return true
	}
}

func (p *Publisher) publishSample(s *normalize.Sample) {
	if p.cfg.QoS == 0 {
		if !p.json.IsConnectionOpen() {
			p.drop()
			return
		}
	} else if n := p.store.count(); n >= p.cfg.Buffer {
		p.drop()
		return
	} else if n >= p.high && p.bufferAlert.CompareAndSwap(false, true) {
		p.raise(AlertBuffer, normalize.SeverityHigh, fmt.Sprintf(
			"MQTT outage buffer %d of %d messages (%d%%) waiting for broker %s: samples are dropped when it is full",
			n, p.cfg.Buffer, n*100/p.cfg.Buffer, redact(p.cfg.Broker)))
	}
	p.scratch = uns.AppendSample(p.scratch[:0], p.topics.Node(), s)
	payload := append([]byte(nil), p.scratch...) // the client keeps it until acknowledged
	topic := p.topics.Sample(s.ID)
	retain := p.retain.take(s.ID, payload, p.cfg.Now())
	if p.sendRetain(topic, p.cfg.QoS, retain, payload) {
		p.samples.Add(1)
		return
	}
	p.drop()
	if retain {
		p.retain.lost(s.ID, payload) // retained again at the next flush
	}
}

func (p *Publisher) publishAlert(a *normalize.Alert, ev *normalize.AlertEvent) {
	topic := p.topics.OtherAlert(a.Target, string(a.Kind))
	if p.host != nil && p.host.IsTag(a.Target) {
		topic = p.topics.TagAlert(a.Target, string(a.Kind))
	}
	p.send(topic, 1, uns.AlertPayload(p.topics.Node(), a, ev))
}

// send publishes one retained message; false when it is lost: the client
// refused it at once (not connected, no message id free), or, at QoS 0,
// could not write it. A QoS 1 message is in the store before it is
// written: a write error only delays it to the resend after the
// reconnection.
func (p *Publisher) send(topic string, qos byte, payload []byte) bool {
	return p.sendRetain(topic, qos, true, payload)
}

// sendRetain is send with the retain flag given.
func (p *Publisher) sendRetain(topic string, qos byte, retain bool, payload []byte) bool {
	tok := p.json.Publish(topic, qos, retain, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil && (qos == 0 || notStored(err)) {
			p.log.Debug("mqtt: publish refused", "topic", topic, "err", err)
			return false
		}
	default:
	}
	p.messages.Add(1)
	return true
}

// republish publishes, retained, a tag's newest sample that went out
// without retain (see retainer); false, leaving it for later, while the
// buffer is above its high watermark or (QoS 0) the connection is down.
func (p *Publisher) republish(id string, payload []byte) bool {
	if p.cfg.QoS == 0 && !p.json.IsConnectionOpen() || p.cfg.QoS == 1 && p.store.count() >= p.high {
		return false
	}
	if !p.send(p.topics.Sample(id), p.cfg.QoS, payload) {
		return false
	}
	p.republished.Add(1)
	return true
}

// notStored says the client refused a message before storing it.
func notStored(err error) bool {
	return errors.Is(err, mqtt.ErrNotConnected) || strings.Contains(err.Error(), "no message IDs available")
}

func (p *Publisher) drop() {
	p.dropped.Add(1)
	if p.cfg.QoS == 1 && p.dropAlert.CompareAndSwap(false, true) {
		p.raise(AlertDropped, normalize.SeverityCritical, fmt.Sprintf(
			"MQTT outage buffer full (%d messages): samples for broker %s are being dropped", p.cfg.Buffer, redact(p.cfg.Broker)))
	}
}

func (p *Publisher) raise(kind normalize.AlertKind, sev normalize.AlertSeverity, msg string) {
	p.log.Warn("mqtt: "+msg, "alert", kind)
	if p.host != nil {
		p.host.Raise(kind, HealthSource, sev, msg, p.cfg.Now())
	}
}

func (p *Publisher) clearAlert(kind normalize.AlertKind) {
	if p.host != nil {
		p.host.Clear(kind, HealthSource, p.cfg.Now())
	}
}

// tick runs every second: the publisher's alerts, health and the
// endpoints' health, and a log line when samples were dropped.
func (p *Publisher) tick() {
	now := p.cfg.Now()
	connected := p.isConnected()
	behind := len(p.in)
	if p.json != nil {
		behind = max(behind, p.store.count())
	}
	if connected && behind < p.low {
		if p.bufferAlert.Swap(false) {
			p.clearAlert(AlertBuffer)
		}
		if p.dropAlert.Swap(false) {
			p.clearAlert(AlertDropped)
		}
	}
	if p.json != nil {
		p.mu.Lock()
		down := !p.connected && p.everUp && now.Sub(p.since) >= commLossAfter
		p.mu.Unlock()
		switch {
		case down && !p.lossAlert:
			p.lossAlert = true
			p.raise(AlertCommLoss, normalize.SeverityHigh, fmt.Sprintf("MQTT broker %s unreachable for %s", redact(p.cfg.Broker), commLossAfter))
		case connected && p.lossAlert:
			p.lossAlert = false
			p.clearAlert(AlertCommLoss)
		}
	}
	if d := p.dropped.Load(); d > p.dropsLogged && now.Sub(p.lastDropLog) >= logEvery {
		p.log.Warn("mqtt: samples dropped", "since_last", d-p.dropsLogged, "total", d, "buffer", p.cfg.Buffer, "broker", redact(p.cfg.Broker))
		p.dropsLogged, p.lastDropLog = d, now
	}
	if p.json != nil && connected && !p.lastStatus.IsZero() && now.Sub(p.lastStatus) >= p.cfg.Heartbeat {
		p.sendStatus() // the heartbeat
	}
	if p.json != nil && connected {
		p.retain.flush(now, false, p.republish)
	}
	if p.host == nil {
		return
	}
	p.host.SetHealth(p.Health())
	if p.json == nil || !connected {
		return
	}
	if b := p.scorecard.Swap(nil); b != nil {
		if p.send(p.topics.Scorecard(), 1, *b) {
			p.lastCard = *b
		} else {
			p.scorecard.CompareAndSwap(nil, b) // again at the next tick
		}
	}
	p.maybeRefresh()
	for _, h := range p.host.Health() {
		if last, ok := p.sentHealth[h.Source]; ok && sameHealth(&last, &h) {
			continue
		}
		if p.send(p.topics.Health(h.Source), 1, uns.HealthPayload(&h)) {
			p.sentHealth[h.Source] = h
		}
	}
}

func sameHealth(a, b *connectors.Health) bool {
	ae, be := "", ""
	if a.LastError != nil {
		ae = a.LastError.Error()
	}
	if b.LastError != nil {
		be = b.LastError.Error()
	}
	la, lb := *a, *b
	la.LastError, lb.LastError = nil, nil
	return la == lb && ae == be
}

// stop publishes what is left (for at most drainFor: a stalled broker
// must not hold the exit; what is not published is counted as dropped),
// the offline status (and NDEATH), and disconnects.
func (p *Publisher) stop() {
	batch := make([]item, 0, maxBatch)
	ctx, cancel := context.WithTimeout(context.Background(), drainFor)
	defer cancel()
	for len(p.in) > 0 && ctx.Err() == nil {
		batch = batch[:0]
		for len(batch) < maxBatch && len(p.in) > 0 {
			batch = append(batch, <-p.in)
		}
		p.publish(ctx, batch)
	}
	p.dropped.Add(uint64(len(p.in)))
	if p.json != nil {
		p.retain.flush(p.cfg.Now(), true, p.republish)
		tok := p.json.Publish(p.topics.Status(), 1, true, uns.StatusPayload(p.topics.Node(), false, p.cfg.Now()))
		tok.WaitTimeout(time.Second)
		p.json.Disconnect(1000)
	}
	if p.spb != nil {
		p.spb.close()
	}
}
