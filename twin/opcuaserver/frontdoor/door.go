package frontdoor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin/connslot"
)

// Link is the state of the transport faults of one endpoint.
type Link struct {
	// Down refuses new connections and drops open ones.
	Down bool
	// Latency delays every message sent to clients.
	Latency time.Duration
	// Epoch changes each time open connections must be dropped.
	Epoch uint64
}

// Config configures a Door. The zero value of every field but Addr has a
// bounded default.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port.
	Addr string
	// MaxConns bounds the open connections, Hello handshakes included.
	// When every slot is taken, a new connection makes the connection
	// idle the longest yield (it is closed); it is refused only when every
	// connection is live. Default 64.
	MaxConns int
	// IdleAfter is how long a connection may go without sending a message,
	// while it waits for no response, before it counts as idle. A
	// connection is idle until its first message after the Hello (opening
	// a secure channel). Default 10s.
	IdleAfter time.Duration
	// WaitLimit bounds how long a connection whose client waits for a
	// response counts as live without receiving anything: a subscriber
	// hears at least a keep-alive within its subscription's lifetime.
	// Default 2m.
	WaitLimit time.Duration
	// Endpoint names the endpoint in the log lines about refused and
	// yielded connections. Default: the listening address.
	Endpoint string
	// HelloTimeout bounds the wait for a complete Hello. Default 10s.
	HelloTimeout time.Duration
	// SendTimeout bounds each write to a client; a client that does not
	// read for that long is disconnected, so that a response it never
	// takes cannot hold the stack's goroutines. Default 10s.
	SendTimeout time.Duration
	// MaxChunkSize is the largest chunk forwarded; it must not exceed the
	// receive buffer of the stack behind the door. Default 65536.
	MaxChunkSize int
	// Link reports the endpoint's transport faults; nil means none. It is
	// called from one goroutine every PollInterval and must not block.
	Link func() Link
	// PollInterval is how often Link is read. Default 20ms.
	PollInterval time.Duration
	// Logger receives refused and dropped connections. Default
	// slog.Default().
	Logger *slog.Logger
}

// Handler serves one accepted connection whose Hello has been checked;
// reading conn yields the Hello first. It returns when it is done with
// conn; the door closes conn afterwards.
type Handler func(conn net.Conn)

// Stats counts what a Door did.
type Stats struct {
	// Accepted connections passed to the handler.
	Accepted uint64
	// Rejected connections had a bad Hello or a bad chunk.
	Rejected uint64
	// Refused connections arrived while the link was down or the door was
	// full.
	Refused uint64
	// Dropped connections were closed by a Down or a new Epoch.
	Dropped uint64
	// Yielded connections were idle and closed to make room for a new one.
	Yielded uint64
	// Stalled connections were closed because the client did not read
	// for SendTimeout.
	Stalled uint64
	// Active is the number of open connections.
	Active int
}

// Door owns a listening socket and hands checked connections to a
// Handler. Its methods are safe for concurrent use.
type Door struct {
	cfg     Config
	ln      net.Listener
	handler Handler
	log     *slog.Logger

	latency atomic.Int64
	epoch   atomic.Uint64
	down    atomic.Bool

	slots  *connslot.Limiter
	noisy  rateLog // rejected Hellos and chunks
	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool

	accepted, rejected, refused, dropped, stalled atomic.Uint64
	refusing                                      atomic.Int64

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Listen binds cfg.Addr; connections wait in the backlog until Start.
// Close releases the socket. The error names the address.
func Listen(cfg Config) (*Door, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 64
	}
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = 10 * time.Second
	}
	if cfg.MaxChunkSize <= 0 {
		cfg.MaxChunkSize = 65536
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("opc ua front door: %w", err)
	}
	if cfg.IdleAfter <= 0 {
		cfg.IdleAfter = connslot.DefaultIdleAfter
	}
	if cfg.WaitLimit <= 0 {
		cfg.WaitLimit = 2 * time.Minute
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "opc.tcp://" + ln.Addr().String()
	}
	d := &Door{
		cfg:   cfg,
		ln:    ln,
		log:   cfg.Logger.With("listen", ln.Addr().String()),
		conns: make(map[*Conn]struct{}),
		done:  make(chan struct{}),
	}
	d.slots = connslot.New(connslot.Config{
		Max:       cfg.MaxConns,
		IdleAfter: cfg.IdleAfter,
		Endpoint:  cfg.Endpoint,
		Logger:    cfg.Logger,
	})
	d.noisy = rateLog{log: d.log, every: connslot.DefaultLogEvery}
	return d, nil
}

// Start serves connections with h until Close. Call it once.
func (d *Door) Start(h Handler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.handler != nil {
		return
	}
	d.handler = h
	if d.cfg.Link != nil {
		l := d.cfg.Link()
		d.epoch.Store(l.Epoch)
		d.down.Store(l.Down)
		d.latency.Store(int64(l.Latency))
	}
	d.wg.Add(2)
	go d.poll()
	go d.accept()
}

// Addr is the address the door listens on.
func (d *Door) Addr() *net.TCPAddr { return d.ln.Addr().(*net.TCPAddr) }

// Stats returns the door's counters.
func (d *Door) Stats() Stats {
	st := d.slots.Stats()
	return Stats{
		Accepted: d.accepted.Load(),
		Rejected: d.rejected.Load(),
		Refused:  d.refused.Load(),
		Dropped:  d.dropped.Load(),
		Stalled:  d.stalled.Load(),
		Yielded:  st.Yielded,
		Active:   st.InUse,
	}
}

// Close stops listening, closes every connection and waits until every
// handler has returned. It is idempotent and returns nil.
func (d *Door) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		conns := make([]*Conn, 0, len(d.conns))
		for c := range d.conns {
			conns = append(conns, c)
		}
		d.mu.Unlock()
		close(d.done)
		_ = d.ln.Close()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	d.wg.Wait()
	d.slots.Close()
	d.noisy.flush()
	return nil
}

// Refresh reads the Link now instead of at the next poll, applying Down
// and Epoch changes at once.
func (d *Door) Refresh() {
	if d.cfg.Link == nil {
		return
	}
	l := d.cfg.Link()
	d.latency.Store(int64(l.Latency))
	d.down.Store(l.Down)
	old := d.epoch.Swap(l.Epoch)
	switch {
	case l.Down:
		d.dropAll("link down")
	case old != l.Epoch:
		d.dropAll("disconnect")
	}
}

// poll applies the Link every PollInterval and keeps the connections
// that wait for a response live.
func (d *Door) poll() {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	live := time.NewTicker(d.cfg.IdleAfter / 4)
	defer live.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-t.C:
			d.Refresh()
		case <-live.C:
			d.touchWaiting()
		}
	}
}

// touchWaiting marks the connections whose client waits for a response
// (a Publish request, typically) as live: a subscriber whose values do
// not change sends nothing for a keep-alive interval, yet it is in use.
// A connection that got nothing for WaitLimit is not kept live this way
// (a request the stack dropped is never answered).
func (d *Door) touchWaiting() {
	now := time.Now().UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := range d.conns {
		if c.waiting.Load() > 0 && now-c.lastSent.Load() < int64(d.cfg.WaitLimit) {
			c.slot.Touch()
		}
	}
}

func (d *Door) dropAll(why string) {
	d.mu.Lock()
	conns := make([]*Conn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	d.mu.Unlock()
	for _, c := range conns {
		d.dropped.Add(1)
		d.log.Info("opc ua connection dropped", "peer", c.RemoteAddr().String(), "reason", why)
		_ = c.Close()
	}
}

func (d *Door) accept() {
	defer d.wg.Done()
	var delay time.Duration
	for {
		tc, err := d.ln.Accept()
		if err != nil {
			select {
			case <-d.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
				case <-d.done:
					return
				}
				continue
			}
			d.log.Error("opc ua accept failed", "err", err)
			return
		}
		delay = 0
		if d.down.Load() {
			d.refused.Add(1)
			_ = tc.Close()
			continue
		}
		d.mu.Lock()
		closed := d.closed
		if !closed {
			d.wg.Add(1)
		}
		d.mu.Unlock()
		if closed {
			_ = tc.Close()
			return
		}
		slot, ok := d.slots.Admit(tc.RemoteAddr().String(), func() { _ = tc.Close() })
		if ok {
			go d.serve(tc, slot)
			continue
		}
		// Every slot is live: refused, and logged as a rate by the slots.
		d.refused.Add(1)
		if d.refusing.Add(1) > int64(d.cfg.MaxConns) {
			// A flood: no ERR, no goroutine.
			d.refusing.Add(-1)
			d.wg.Done()
			_ = tc.Close()
			continue
		}
		go func() {
			defer d.wg.Done()
			defer d.refusing.Add(-1)
			refuseConn(tc, ua.BadTCPNotEnoughResources, "too many connections")
		}()
	}
}

// serve checks the Hello of tc and runs the handler. It owns tc and its
// slot.
func (d *Door) serve(tc net.Conn, slot *connslot.Slot) {
	defer d.wg.Done()
	defer slot.Release()
	peer := tc.RemoteAddr().String()
	stop := onDone(d.done, func() { _ = tc.Close() })
	_ = tc.SetReadDeadline(time.Now().Add(d.cfg.HelloTimeout))
	h, raw, err := ReadHello(tc)
	stop()
	if err != nil {
		var he *HelloError
		if errors.As(err, &he) {
			d.rejected.Add(1)
			d.noisy.add(peer, "hello rejected: "+he.Error())
			refuseConn(tc, he.Code, he.Reason)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			d.rejected.Add(1)
			d.noisy.add(peer, "no complete hello within "+d.cfg.HelloTimeout.String())
			refuseConn(tc, ua.BadTimeout, "no complete hello in time")
		} else {
			d.log.Debug("opc ua connection closed before hello", "peer", peer, "err", err)
		}
		_ = tc.Close()
		return
	}
	_ = tc.SetReadDeadline(time.Time{})
	c := &Conn{
		Conn:       tc,
		door:       d,
		slot:       slot,
		pending:    raw,
		limit:      min(d.cfg.MaxChunkSize, int(h.SendBufferSize)),
		afterFinal: true,
		closed:     make(chan struct{}),
	}
	d.mu.Lock()
	if d.closed || d.down.Load() {
		d.mu.Unlock()
		_ = tc.Close()
		return
	}
	d.conns[c] = struct{}{}
	d.mu.Unlock()
	d.accepted.Add(1)
	d.log.Debug("opc ua connection accepted", "peer", peer, "endpoint_url", h.EndpointURL)
	d.handler(c)
	_ = c.Close()
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

// onDone runs f when done closes, until the returned stop is
// called; stop waits for f if it already started.
func onDone(done <-chan struct{}, f func()) (stop func()) {
	quit := make(chan struct{})
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		select {
		case <-done:
			f()
		case <-quit:
		}
	}()
	return func() { close(quit); <-fin }
}

// Conn is a client connection behind the door. Reads yield the Hello and
// then whole, checked chunks; a bad chunk gets an ERR message and closes
// the connection. Writes are delayed by the link's latency once per
// message. Read is for one goroutine; the other methods are safe for
// concurrent use.
type Conn struct {
	net.Conn
	door *Door
	slot *connslot.Slot
	// waiting counts the client's messages not yet answered (requests
	// minus responses, by final chunks of OPN and MSG messages).
	waiting atomic.Int64
	// lastSent is when the last chunk was sent, in Unix nanoseconds.
	lastSent atomic.Int64

	// read side, one reader
	pending   []byte
	hdr       [HeaderSize]byte
	remaining int
	limit     int

	wmu        sync.Mutex
	afterFinal bool

	closeOnce sync.Once
	closed    chan struct{}
}

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.remaining == 0 {
		if _, err := io.ReadFull(c.Conn, c.hdr[:]); err != nil {
			return 0, err
		}
		size, err := CheckChunkHeader(c.hdr[:], c.limit)
		if err != nil {
			var he *HelloError
			errors.As(err, &he)
			c.door.rejected.Add(1)
			c.door.noisy.add(c.RemoteAddr().String(), "chunk rejected: "+err.Error())
			c.closeOnce.Do(func() {
				close(c.closed)
				refuseConn(c.Conn, he.Code, he.Reason)
			})
			return 0, err
		}
		c.remaining = size - HeaderSize
		if string(c.hdr[:3]) != "CLO" {
			c.slot.Touch()
		}
		if answered(c.hdr[:]) {
			c.waiting.Add(1)
		}
		n := copy(p, c.hdr[:])
		c.pending = c.hdr[n:]
		return n, nil
	}
	if len(p) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.Conn.Read(p)
	c.remaining -= n
	return n, err
}

// Write implements net.Conn, adding the link's latency before the first
// chunk of each message.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.afterFinal {
		if lat := time.Duration(c.door.latency.Load()); lat > 0 {
			t := time.NewTimer(lat)
			select {
			case <-t.C:
			case <-c.closed:
				t.Stop()
				return 0, net.ErrClosed
			}
		}
	}
	if len(p) >= HeaderSize {
		// One Write carries one chunk; its fourth byte says whether it
		// ends a message (F, A, or an ACK/ERR).
		c.afterFinal = p[3] != 'C'
		if answered(p) {
			c.waiting.Add(-1)
		}
	}
	now := time.Now()
	c.lastSent.Store(now.UnixNano())
	_ = c.Conn.SetWriteDeadline(now.Add(c.door.cfg.SendTimeout))
	n, err := c.Conn.Write(p)
	if err != nil {
		// A chunk cut short leaves nothing the peer could decode.
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			c.door.stalled.Add(1)
			c.door.log.Info("opc ua client stopped reading; disconnected", "peer", c.RemoteAddr().String(), "send_timeout", c.door.cfg.SendTimeout)
		}
		_ = c.Close()
	}
	return n, err
}

// answered reports whether the chunk with header hdr is the final chunk
// of a message that gets an answer: an OPN or MSG request from the client,
// or the response to one from the server.
func answered(hdr []byte) bool {
	return hdr[3] == 'F' && (string(hdr[:3]) == "MSG" || string(hdr[:3]) == "OPN")
}

// Close implements net.Conn; it is idempotent.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.Conn.Close()
	})
	return err
}

// rateLog logs events that a flood would repeat (rejected Hellos and
// chunks) as a rate: the first one at once, then at most one line per
// interval with the count and the last reason. Safe for concurrent use.
type rateLog struct {
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	last    time.Time // of the last line
	timer   *time.Timer
	closed  bool
	pending int
	peer    string
	reason  string
}

// add records one event from peer.
func (r *rateLog) add(peer, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending++
	r.peer, r.reason = peer, reason
	wait := r.every - time.Since(r.last)
	switch {
	case wait <= 0:
		r.writeLocked()
	case r.timer == nil && !r.closed:
		r.timer = time.AfterFunc(wait, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.timer = nil
			r.writeLocked()
		})
	}
}

// flush writes the events not yet logged; later events are logged at
// once.
func (r *rateLog) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.writeLocked()
}

func (r *rateLog) writeLocked() {
	if r.pending == 0 {
		return
	}
	r.log.Warn("opc ua connections rejected", "count", r.pending, "last_peer", r.peer, "last_reason", r.reason)
	r.pending = 0
	r.last = time.Now()
}
