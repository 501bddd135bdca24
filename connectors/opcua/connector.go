package opcua

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwin/otwin/connectors"
)

// Reconnect backoff bounds.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Connector reads one OPC UA server: it subscribes to (or polls) the
// configured and browsed points and delivers every value as a
// connectors.Reading. It reconnects by itself. Create it with New.
type Connector struct {
	cfg   Config
	log   *slog.Logger
	nodes []nodeRef
	root  *nodeRef

	running atomic.Bool
	// bg tracks background closes of failed connections.
	bg sync.WaitGroup

	mu     sync.Mutex
	health connectors.Health

	outOfOrder  atomic.Uint64
	republished atomic.Uint64
	lost        atomic.Uint64
	keepAlives  atomic.Uint64
	typeErrors  atomic.Uint64
	// subs is the number of subscriptions of the current session.
	subs atomic.Int32
	// behind is since when (unix nanoseconds) a server has had more
	// notifications waiting than it sent; 0 when none has.
	behind atomic.Int64

	// The fields below belong to the goroutine in Run.

	// points are the addresses ever read, kept across reconnects so
	// every one gets a BadNoCommunication reading when the link drops
	// and so no older value follows a newer one.
	points map[string]*pointState
	order  []*pointState
	// down says BadNoCommunication was sent for the current outage.
	down      bool
	connected bool
	// warnedTrust says the missing trust_dir was logged.
	warnedTrust bool
	certDER     []byte
	key         *rsa.PrivateKey

	// ext is the state of alarms and history (events.go, history.go).
	ext extras
}

// pointState is what the connector remembers of one address.
type pointState struct {
	address string
	// lastSource is the newest SourceTime delivered; lastServer the
	// newest ServerTime of a value delivered without a SourceTime.
	lastSource, lastServer time.Time
}

// Stats are counters beyond connectors.Health.
type Stats struct {
	// OutOfOrder counts values dropped because their timestamp was older
	// than one already delivered for the same address.
	OutOfOrder uint64
	// Republished counts notification messages recovered with Republish
	// after a sequence gap.
	Republished uint64
	// Lost counts missing notification messages that could not be
	// recovered (a part of Health.SequenceGaps).
	Lost uint64
	// KeepAlives counts keep-alive messages received.
	KeepAlives uint64
	// TypeErrors counts values of a type that cannot become Reading.Raw
	// (arrays, structures), delivered as Bad_TypeMismatch.
	TypeErrors uint64
	// Points is the number of addresses read so far.
	Points int
	// Subscriptions is the number of subscriptions of the current (or
	// last) session.
	Subscriptions int
}

// New validates cfg (reporting every problem at once, each naming its
// field or node) and returns a connector ready to Run.
func New(cfg Config) (*Connector, error) {
	cfg = cfg.withDefaults()
	nodes, root, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("source", cfg.Name, "url", cfg.URL)
	c := &Connector{
		cfg:    cfg,
		log:    log,
		nodes:  nodes,
		root:   root,
		points: make(map[string]*pointState),
	}
	c.health = connectors.Health{
		Source:   cfg.Name,
		Protocol: "opcua",
		Endpoint: cfg.URL,
		State:    connectors.Connecting,
		Since:    time.Now(),
	}
	for _, s := range cfg.Nodes {
		c.point(s)
	}
	return c, nil
}

// Name returns the endpoint's name (Reading.Source).
func (c *Connector) Name() string { return c.cfg.Name }

// Config returns the configuration with defaults applied.
func (c *Connector) Config() Config { return c.cfg }

// Health returns a snapshot of the link; safe for concurrent use. Its
// Backlog is how long the server has answered with more notifications
// waiting than it sent.
func (c *Connector) Health() connectors.Health {
	c.mu.Lock()
	h := c.health
	c.mu.Unlock()
	if b := c.behind.Load(); b != 0 {
		h.Backlog = max(0, time.Since(time.Unix(0, b)))
	}
	return h
}

// Stats returns the connector's counters; safe for concurrent use.
func (c *Connector) Stats() Stats {
	c.mu.Lock()
	n := len(c.order)
	c.mu.Unlock()
	return Stats{
		OutOfOrder:  c.outOfOrder.Load(),
		Republished: c.republished.Load(),
		Lost:        c.lost.Load(),
		KeepAlives:  c.keepAlives.Load(),
		TypeErrors:  c.typeErrors.Load(),
		Points:      n,

		Subscriptions: int(c.subs.Load()),
	}
}

// point returns the state of address, creating it.
func (c *Connector) point(address string) *pointState {
	if p, ok := c.points[address]; ok {
		return p
	}
	p := &pointState{address: address}
	c.points[address] = p
	c.mu.Lock()
	c.order = append(c.order, p)
	c.mu.Unlock()
	return p
}

// setState records a link state change.
func (c *Connector) setState(s connectors.LinkState, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.health.State != s {
		c.health.State = s
		c.health.Since = time.Now()
	}
	if err != nil {
		c.health.LastError = err
	}
}

// update changes the health under its lock.
func (c *Connector) update(f func(h *connectors.Health)) {
	c.mu.Lock()
	f(&c.health)
	c.mu.Unlock()
}

// countError records a failed request.
func (c *Connector) countError(err error) {
	c.update(func(h *connectors.Health) {
		h.Errors++
		h.LastError = err
	})
}

// Run connects and delivers readings into out until ctx is done, then
// returns nil. Connection faults are retried with backoff (100ms doubling
// to 5s); when the link drops every known address gets a link-down
// reading (LinkDown, Status Bad_NoCommunication saying why). It returns an
// error only when it cannot start (out is nil, Run is already running, or
// the client certificate cannot be loaded or generated). Run does not
// close out.
func (c *Connector) Run(ctx context.Context, out chan<- connectors.Reading) error {
	if out == nil {
		return fmt.Errorf("opcua %s: nil output channel", c.cfg.Name)
	}
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("opcua %s: already running", c.cfg.Name)
	}
	defer c.running.Store(false)
	defer c.bg.Wait()
	if c.cfg.secure() {
		der, key, err := clientIdentity(c.cfg)
		if err != nil {
			return fmt.Errorf("opcua %s: %w", c.cfg.Name, err)
		}
		c.certDER, c.key = der, key
	}
	backoff := minBackoff
	for {
		connected, err := c.runSession(ctx, out)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = minBackoff
		}
		if err == nil {
			err = errors.New("session ended")
		}
		c.log.Warn("connection lost; reconnecting", "err", err, "backoff", backoff)
		err = fmt.Errorf("opcua %s (%s): %w", c.cfg.Name, c.cfg.URL, err)
		c.countError(err)
		c.setState(connectors.Down, err)
		if !c.down {
			c.down = true
			if !c.emitDown(ctx, out, err) || !c.alarmLost(ctx, err) {
				return nil
			}
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// emitDown sends a link-down reading (Bad_NoCommunication saying cause)
// for every known address; false when ctx ended first.
func (c *Connector) emitDown(ctx context.Context, out chan<- connectors.Reading, cause error) bool {
	now := time.Now()
	status := connectors.NoCommunication(cause)
	for _, p := range c.order {
		r := connectors.Reading{
			Source:   c.cfg.Name,
			Address:  p.address,
			Status:   status,
			Received: now,
			LinkDown: true,
		}
		if !c.emit(ctx, out, r) {
			return false
		}
	}
	return true
}

// emit delivers r, waiting for the consumer; false when ctx ended first.
func (c *Connector) emit(ctx context.Context, out chan<- connectors.Reading, r connectors.Reading) bool {
	select {
	case out <- r:
		c.update(func(h *connectors.Health) { h.Readings++ })
		return true
	case <-ctx.Done():
		return false
	}
}
