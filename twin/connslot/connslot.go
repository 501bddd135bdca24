// Package connslot bounds the client connections of one server endpoint so
// that connections doing nothing cannot lock out clients that want to work.
//
// A Limiter holds at most Config.Max slots. A connection takes a slot when
// it is accepted (Admit) and gives it back when it ends (Slot.Release). A
// connection is idle until it has delivered a complete request (the server
// calls Slot.Touch: for Modbus after one whole MBAP frame, for OPC UA after
// a Hello) and becomes idle again when it has been silent for
// Config.IdleAfter. When every slot is taken, a new connection makes the
// connection that has been idle the longest yield: its yield function is
// called (it closes the connection) and its slot passes to the newcomer. A
// new connection is refused only when every slot holds a live connection.
//
// Refusals and yields are counted (Stats) and logged as a rate: at most one
// line per Config.LogEvery, with the counts of that interval and the peer
// hosts involved, never one line per connection. Close writes the last
// line.
//
// # Concurrency
//
// Every method of Limiter and Slot is safe for concurrent use. Touch is
// lock-free (one clock read and one atomic store) so it can sit on a hot
// request path. Admit takes the limiter's lock and, when the limiter is
// full, scans the slots (O(Max)). A yield function is called by Admit, on
// the goroutine that called Admit, after the lock is released; it must not
// block for long (closing the connection is what it is for) and may call
// any method, including Release of the slot it belongs to. It is called at
// most once per slot; it may run just after the slot's own Release when the
// connection ends by itself at that moment, so it must tolerate a closed
// connection (net.Conn.Close does).
package connslot

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Limiter. The zero value is usable.
type Config struct {
	// Max is the number of slots. Default 64.
	Max int
	// IdleAfter is how long a connection that has sent a request may be
	// silent before it counts as idle again. Default 10s.
	IdleAfter time.Duration
	// LogEvery is the shortest interval between two log lines about
	// refused and yielded connections. Default 10s.
	LogEvery time.Duration
	// Endpoint names the endpoint in log lines, e.g. "modbus
	// 127.0.0.1:502".
	Endpoint string
	// Logger receives the rate lines. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultMax       = 64
	DefaultIdleAfter = 10 * time.Second
	DefaultLogEvery  = 10 * time.Second
)

// maxPeers is how many distinct peer hosts one log line names; the rest
// are summed up as "others".
const maxPeers = 8

// others stands for the hosts beyond maxPeers in a log line.
const others = "others"

// Stats are the cumulative counters of a Limiter.
type Stats struct {
	// InUse is the number of slots held now; Max the number of slots.
	InUse, Max int
	// Admitted, Refused and Yielded count connections since New: given a
	// slot, refused because every slot was live, and closed to make room.
	Admitted, Refused, Yielded uint64
}

// Limiter is a bounded set of connection slots for one endpoint. Create it
// with New; see the package doc for its concurrency contract.
type Limiter struct {
	cfg  Config
	base time.Time
	idle int64 // IdleAfter in nanoseconds

	mu     sync.Mutex
	slots  []*Slot
	closed bool
	stats  Stats
	// The interval not yet logged.
	pendRefused, pendYielded uint64
	peers                    map[string]*peerCount
	timer                    *time.Timer
	lastLog                  time.Time
}

type peerCount struct{ refused, yielded uint64 }

// Slot is the place of one admitted connection.
type Slot struct {
	l     *Limiter
	peer  string
	yield func()
	// last is the time of the last Touch (of Admit before the first), in
	// nanoseconds since l.base.
	last atomic.Int64
	// live is set by the first Touch.
	live atomic.Bool
	// pos is the index in l.slots, -1 once released or yielded (l.mu).
	pos int
}

// New returns a Limiter with cfg's defaults filled in.
func New(cfg Config) *Limiter {
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	if cfg.IdleAfter <= 0 {
		cfg.IdleAfter = DefaultIdleAfter
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = DefaultLogEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, base: cfg.Now(), idle: int64(cfg.IdleAfter), peers: map[string]*peerCount{}}
}

func (l *Limiter) now() int64 { return int64(l.cfg.Now().Sub(l.base)) }

// Admit gives a slot to a new connection from peer (an address as
// net.Conn.RemoteAddr().String() gives it). yield is called at most once,
// when the connection must give its slot to a newer one; it should close
// the connection. When every slot is live, or after Close, Admit returns
// ok false and the caller closes the connection; the refusal is counted
// and logged with the interval's others.
func (l *Limiter) Admit(peer string, yield func()) (s *Slot, ok bool) {
	now := l.now()
	s = &Slot{l: l, peer: peer, yield: yield}
	s.last.Store(now)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, false
	}
	var victim *Slot
	if len(l.slots) >= l.cfg.Max {
		victim = l.oldestIdle(now)
		if victim == nil {
			l.stats.Refused++
			l.pendRefused++
			l.peer(peer).refused++
			l.armLog()
			l.mu.Unlock()
			return nil, false
		}
		l.remove(victim)
		l.stats.Yielded++
		l.pendYielded++
		l.peer(victim.peer).yielded++
		l.armLog()
	}
	s.pos = len(l.slots)
	l.slots = append(l.slots, s)
	l.stats.Admitted++
	l.mu.Unlock()
	if victim != nil && victim.yield != nil {
		victim.yield()
	}
	return s, true
}

// oldestIdle is the idle slot with the oldest activity, nil if every slot
// is live. l.mu is held.
func (l *Limiter) oldestIdle(now int64) *Slot {
	var best *Slot
	var bestLast int64
	for _, s := range l.slots {
		last := s.last.Load()
		if s.live.Load() && now-last < l.idle {
			continue
		}
		if best == nil || last < bestLast {
			best, bestLast = s, last
		}
	}
	return best
}

// remove takes s out of l.slots. l.mu is held.
func (l *Limiter) remove(s *Slot) {
	i := s.pos
	if i < 0 {
		return
	}
	last := len(l.slots) - 1
	l.slots[i] = l.slots[last]
	l.slots[i].pos = i
	l.slots[last] = nil
	l.slots = l.slots[:last]
	s.pos = -1
}

// Touch records that the connection has delivered a complete request now:
// it is live until IdleAfter passes without another Touch. It is lock-free.
func (s *Slot) Touch() { s.TouchAt(s.l.cfg.Now()) }

// TouchAt is Touch for a caller that has just read the time from the
// limiter's clock (Config.Now; time.Now by default) anyway.
func (s *Slot) TouchAt(now time.Time) {
	s.last.Store(int64(now.Sub(s.l.base)))
	if !s.live.Load() {
		s.live.Store(true)
	}
}

// Release gives the slot back when the connection ends. It is idempotent
// and a no-op for a slot that has yielded.
func (s *Slot) Release() {
	s.l.mu.Lock()
	s.l.remove(s)
	s.l.mu.Unlock()
}

// Peer is the address the slot was admitted for.
func (s *Slot) Peer() string { return s.peer }

// Idle reports whether the connection counts as idle now: it has not sent
// a complete request yet, or has been silent for IdleAfter.
func (s *Slot) Idle() bool {
	return !s.live.Load() || s.l.now()-s.last.Load() >= s.l.idle
}

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats
	st.InUse, st.Max = len(l.slots), l.cfg.Max
	return st
}

// Close writes the log line of the current interval, if any, and refuses
// every later Admit (without counting it). Slots held stay valid; their
// connections are the caller's to close. Close is idempotent.
func (l *Limiter) Close() {
	l.mu.Lock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.mu.Unlock()
	l.flush(false)
}

// peer returns the counters of peer's host for this interval, lumping
// hosts beyond maxPeers under "others". l.mu is held.
func (l *Limiter) peer(addr string) *peerCount {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if pc, ok := l.peers[host]; ok {
		return pc
	}
	if len(l.peers) >= maxPeers {
		host = others
		if pc, ok := l.peers[host]; ok {
			return pc
		}
	}
	pc := &peerCount{}
	l.peers[host] = pc
	return pc
}

// armLog schedules the interval's log line: at once if none was written
// for LogEvery, else when LogEvery has passed since the last. l.mu is held.
func (l *Limiter) armLog() {
	if l.timer != nil || l.closed {
		return
	}
	wait := l.cfg.LogEvery - l.cfg.Now().Sub(l.lastLog)
	if l.lastLog.IsZero() || wait < 0 {
		wait = 0
	}
	l.timer = time.AfterFunc(wait, func() { l.flush(true) })
}

// flush writes one line for the events since the last one, if any;
// fromTimer when the log timer fired.
func (l *Limiter) flush(fromTimer bool) {
	l.mu.Lock()
	if fromTimer {
		l.timer = nil
	}
	if l.pendRefused == 0 && l.pendYielded == 0 {
		l.mu.Unlock()
		return
	}
	refused, yielded := l.pendRefused, l.pendYielded
	peers := formatPeers(l.peers)
	inUse := len(l.slots)
	since := l.lastLog
	l.pendRefused, l.pendYielded = 0, 0
	clear(l.peers)
	l.lastLog = l.cfg.Now()
	l.mu.Unlock()

	level := slog.LevelInfo
	msg := "idle connections closed to make room"
	if refused > 0 {
		level = slog.LevelWarn
		msg = "connections refused: every slot is live"
	}
	attrs := []slog.Attr{
		slog.String("endpoint", l.cfg.Endpoint),
		slog.Uint64("refused", refused),
		slog.Uint64("yielded", yielded),
		slog.Int("in_use", inUse),
		slog.Int("max", l.cfg.Max),
		slog.String("peers", peers),
	}
	if !since.IsZero() {
		attrs = append(attrs, slog.Duration("since_last", l.cfg.Now().Sub(since).Round(time.Millisecond)))
	}
	l.cfg.Logger.LogAttrs(context.Background(), level, msg, attrs...)
}

// formatPeers lists hosts by their event count, most first, "others"
// last: "10.0.0.5 refused=1940 yielded=63, 10.0.0.9 yielded=2".
func formatPeers(m map[string]*peerCount) string {
	type hc struct {
		host string
		peerCount
	}
	list := make([]hc, 0, len(m))
	for h, pc := range m {
		list = append(list, hc{h, *pc})
	}
	slices.SortFunc(list, func(a, b hc) int {
		if (a.host == others) != (b.host == others) {
			return cmp.Compare(b2i(a.host == others), b2i(b.host == others))
		}
		if c := cmp.Compare(b.refused+b.yielded, a.refused+a.yielded); c != 0 {
			return c
		}
		return strings.Compare(a.host, b.host)
	})
	var sb strings.Builder
	for i, p := range list {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(p.host)
		if p.refused > 0 {
			fmt.Fprintf(&sb, " refused=%d", p.refused)
		}
		if p.yielded > 0 {
			fmt.Fprintf(&sb, " yielded=%d", p.yielded)
		}
	}
	return sb.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
