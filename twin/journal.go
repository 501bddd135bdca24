package twin

import (
	"sync"
	"time"
	"unsafe"

	"github.com/otwin/otwin/scenarios"
)

// The journal is what the engine keeps of a run so that history can be
// computed instead of stored: the wall time of every tick (the server and
// source timestamps clients saw) and every live action (writes, fault
// injections and clears from the control API, method calls), with the
// tick it came after. Everything else about a run follows from the
// scenario and its seed. Replaying the scenario with the journal's
// actions at their ticks, with each tick stamped with its recorded wall
// time, publishes exactly the values, status codes and timestamps the
// live engine published (TestHistoryIsWhatClientsSaw).
//
// Memory: 8 bytes per tick kept (DefaultHistoryRetention of simulated
// time, at most maxJournalTicks ticks), whatever the number of tags, and
// one entry per live action (at most maxJournalInputs).

// DefaultHistoryRetention is how much simulated time of history the
// engine keeps by default.
const DefaultHistoryRetention = 24 * time.Hour

const (
	// journalChunk is the number of tick times per chunk.
	journalChunk = 1 << 16
	// maxJournalTicks bounds the tick times kept (32 MiB): with ticks
	// shorter than about 20 ms the retention is shorter than asked.
	maxJournalTicks = 1 << 22
	// maxJournalInputs bounds the live actions recorded (about 100 MB at
	// most); past it, history ends at the first action not recorded.
	maxJournalInputs = 1 << 20
)

// Kinds of journal inputs.
const (
	inWrite       = iota + 1 // a write of tag (num, str)
	inInject                 // InjectFault of fault
	inInjectNamed            // InjectNamed of name
	inClear                  // Clear of name
	inState                  // a state forced on tag (name)
)

// input is one live action.
type input struct {
	tick  uint64 // the tick it came after
	wall  int64  // the wall time (Unix ns) of its publication
	kind  uint8
	tag   int32 // live tag index (write, state)
	num   tval
	str   string           // write (string tags), state name
	name  string           // fault name (inject, injectNamed, clear)
	fault *scenarios.Fault // inject
	call  bool             // part of a method call
	more  bool             // another input of the same call follows
}

// journal records a live engine's run. The engine appends under its own
// lock; history readers read concurrently under mu.
type journal struct {
	mu       sync.RWMutex
	chunks   [][]int64 // tick wall times (Unix ns), chunk c holds ticks [(base+c)·journalChunk, …)
	base     uint64    // chunk number of chunks[0]
	first    uint64    // first tick whose time is kept
	n        uint64    // ticks recorded
	keep     uint64    // ticks kept at most
	nominal  float64   // nominal wall ns per tick, to estimate dropped times
	last     int64     // last wall time handed out
	inputs   []input
	lostAt   uint64 // tick after which an input could not be recorded
	lost     bool
	maxInput int
}

func newJournal(tick time.Duration, scale float64, retention time.Duration) *journal {
	if retention <= 0 {
		retention = DefaultHistoryRetention
	}
	keep := uint64(retention / tick)
	keep = max(journalChunk, min(keep, maxJournalTicks))
	return &journal{keep: keep, nominal: float64(tick) / scale, maxInput: maxJournalInputs}
}

// stamp returns now, or the last time handed out when now is earlier (the
// wall clock stepped back): a run's timestamps never go back.
func (j *journal) stamp(now time.Time) time.Time {
	ns := now.UnixNano()
	if ns < j.last {
		return time.Unix(0, j.last)
	}
	j.last = ns
	return now
}

// tick records the wall time of the next tick.
func (j *journal) tick(wall time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	k := j.n
	c := k/journalChunk - j.base
	if int(c) == len(j.chunks) {
		j.chunks = append(j.chunks, make([]int64, 0, journalChunk))
	}
	j.chunks[c] = append(j.chunks[c], wall.UnixNano())
	j.n++
	// Drop whole chunks beyond the retention.
	if j.n > j.keep {
		lo := j.n - j.keep
		for len(j.chunks) > 1 && (j.base+1)*journalChunk <= lo {
			j.chunks[0] = nil
			j.chunks = j.chunks[1:]
			j.base++
		}
		j.first = lo
	}
}

// input records live actions, the inputs of one method call at once; it
// reports false when the journal is full (history then ends at that
// action's tick).
func (j *journal) input(in ...input) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lost {
		return false
	}
	if len(j.inputs)+len(in) > j.maxInput {
		j.lost, j.lostAt = true, in[0].tick
		return false
	}
	j.inputs = append(j.inputs, in...)
	return true
}

// wallAt returns the wall time (Unix ns) of tick k < n: recorded, or
// estimated for a tick before the retention.
func (j *journal) wallAt(k uint64) int64 {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.wallLocked(k)
}

// wallLocked returns the wall time of tick k: recorded, or estimated from
// the first kept tick for a tick dropped by the retention. Called with mu
// held; k < n.
func (j *journal) wallLocked(k uint64) int64 {
	if k < j.first {
		return j.chunks[0][j.first-j.base*journalChunk] - int64(float64(j.first-k)*j.nominal)
	}
	c := k/journalChunk - j.base
	return j.chunks[c][k%journalChunk]
}

// span returns the ticks recorded (n: ticks 0..n-1 have run), the first
// tick whose time is kept, and the tick after which history ends because
// an action could not be recorded (ok false: none).
func (j *journal) span() (n, first, lostAt uint64, lost bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.n, j.first, j.lostAt, j.lost
}

// window returns the wall times of the first kept tick and of the last
// tick; ok false before the first tick.
func (j *journal) window() (from, to int64, ok bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.n == 0 {
		return 0, 0, false
	}
	return j.wallLocked(j.first), j.wallLocked(j.n - 1), true
}

// inputsFrom returns the inputs from index k on that came after ticks
// below end: about max of them, never part of a method call. The entries
// are never modified once recorded, so the slice may be read unlocked.
func (j *journal) inputsFrom(k int, end uint64, max int) []input {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if k >= len(j.inputs) {
		return nil
	}
	in := j.inputs[k:]
	for i, x := range in {
		if x.tick >= end || i >= max && !in[i-1].more {
			return in[:i:i]
		}
	}
	return in[:len(in):len(in)]
}

// bytes is the journal's memory: tick times and inputs.
func (j *journal) bytes() int {
	j.mu.RLock()
	defer j.mu.RUnlock()
	n := 0
	for _, c := range j.chunks {
		n += cap(c) * 8
	}
	return n + cap(j.inputs)*int(unsafe.Sizeof(input{}))
}
