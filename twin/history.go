package twin

import (
	"errors"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// History is computed, not stored. The engine keeps a journal of its run
// (journal.go: the wall time of each tick and each live action); a
// HistoryCursor replays one tag from the scenario start in an engine of
// its own, built from the part of the scenario the tag depends on (the
// tags its expressions read, transitively, their machines and the faults
// and timeline entries on them), with the journal's actions at their
// ticks and each tick stamped with its recorded wall time. Every random
// stream is derived from the seed and a name, so the part plays exactly
// as it did in the whole (TestHistoryIsWhatClientsSaw). A twin restarted
// with the same seed computes the same history for the same ticks.
//
// Why not store values: a twin of 100k tags publishes a million values a
// second; even a compact ring of a few minutes per tag would take
// gigabytes, while the journal takes 8 bytes a tick whatever the number
// of tags. The price is CPU: reading a tag's history replays the tag
// (and what it reads) from the start of the run, about 1 µs per tick and
// tag on one core (BenchmarkHistoryReplay). Cursors are kept between
// reads (at most maxIdleCursors), each with the last ringSize points it
// computed, so that a client polling recent history pays only for the
// ticks since its last read.

// HistoryPoint is one value of a tag's history: what the engine published
// (what a client read or was sent) at one moment.
type HistoryPoint struct {
	// V is the value, of the tag's type; nil for the start of a
	// communication loss (Status Bad_NoCommunication), during which
	// clients saw nothing.
	V any
	// Status is the OPC UA StatusCode.
	Status uint32
	// Source is the source timestamp (clock_skew faults shift it).
	Source time.Time
	// Server is when the engine published it: the wall time of its tick,
	// or of the live action that changed it. History is ordered by it.
	Server time.Time
}

// ErrHistoryBudget is returned by HistoryCursor methods when the work
// budget given to them is used up; calling again with a new budget goes
// on where they stopped.
var ErrHistoryBudget = errors.New("history: work budget used up")

const (
	// ringSize is the number of recent points a cursor keeps.
	ringSize = 1024
	// maxIdleCursors bounds the cursors kept between reads.
	maxIdleCursors = 64
)

// HistoryCursor reads one tag's history in time order. It is not safe for
// concurrent use; Close hands it back to the engine for the next reader
// of the tag.
type HistoryCursor struct {
	e   *Engine // the live engine
	tag int

	sub    *Engine       // the replay
	si     int           // the tag's index in sub
	subIdx map[int32]int // live tag index -> sub index
	now    time.Time     // sub's clock
	ticks  uint64        // ticks sub has run
	inPos  int           // next journal input to apply
	gap    bool          // the last point emitted starts a communication loss

	ring []HistoryPoint // the last points, ring[seq%ringSize]
	head uint64         // seq of the oldest point in ring
	seq  uint64         // seq of the next point emitted
	pos  uint64         // read position
}

// historyCache keeps idle cursors by tag.
type historyCache struct {
	mu   sync.Mutex
	idle map[int]*HistoryCursor
	lru  []int // tags of idle cursors, least recently used first
}

// OpenHistory returns a cursor over tag i's history, at its start. It
// fails (wrapping ErrUnknownTag) for an unknown tag. Safe for concurrent
// use; Close the cursor when done.
func (e *Engine) OpenHistory(i int) (*HistoryCursor, error) {
	if i < 0 || i >= len(e.tags) || e.jr == nil {
		return nil, ErrUnknownTag
	}
	c := &e.hist
	c.mu.Lock()
	if cur := c.idle[i]; cur != nil {
		delete(c.idle, i)
		c.lru = slices.DeleteFunc(c.lru, func(t int) bool { return t == i })
		c.mu.Unlock()
		return cur, nil
	}
	c.mu.Unlock()
	cur := &HistoryCursor{e: e, tag: i, ring: make([]HistoryPoint, ringSize)}
	if err := cur.restart(); err != nil {
		return nil, err
	}
	return cur, nil
}

// Close hands the cursor back to its engine, which keeps the most
// recently used ones for the next reads of their tags.
func (c *HistoryCursor) Close() {
	h := &c.e.hist
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idle == nil {
		h.idle = map[int]*HistoryCursor{}
	}
	if _, ok := h.idle[c.tag]; !ok {
		h.lru = append(h.lru, c.tag)
	}
	h.idle[c.tag] = c
	for len(h.lru) > maxIdleCursors {
		delete(h.idle, h.lru[0])
		h.lru = h.lru[1:]
	}
}

// HistoryWindow returns the server times of the first point history
// keeps and of the engine's last tick; ok is false when the engine keeps
// no history.
func (e *Engine) HistoryWindow() (from, to time.Time, ok bool) {
	if e.jr == nil {
		return time.Time{}, time.Time{}, false
	}
	f, t, ok := e.jr.window()
	return time.Unix(0, f), time.Unix(0, t), ok
}

// HistoryBytes is the memory the engine's journal takes.
func (e *Engine) HistoryBytes() int {
	if e.jr == nil {
		return 0
	}
	return e.jr.bytes()
}

// restart builds the replay anew, at the scenario start.
func (c *HistoryCursor) restart() error {
	e := c.e
	sc, subIdx := e.subScenario(c.tag)
	c.subIdx, c.si = subIdx, subIdx[int32(c.tag)]
	c.head, c.seq, c.pos, c.inPos, c.ticks, c.gap = 0, 0, 0, 0, 0, false
	c.now = time.Unix(0, e.jr.wallAt(0))
	sub, err := build(sc, Options{
		Now:           func() time.Time { return c.now },
		Logger:        slog.New(slog.DiscardHandler),
		SourceRefresh: e.refresh,
	}, c.emit)
	if err != nil {
		return err
	}
	c.sub = sub
	c.ticks = 1
	return nil
}

// emit receives the replay's publications (flush's tap).
func (c *HistoryCursor) emit(i int, v Value) {
	if i != c.si {
		return
	}
	p := HistoryPoint{V: v.V, Status: v.Status, Source: v.Source, Server: c.now}
	if v.Status == StatusBadNoCommunication {
		// Clients see nothing while the link is down: one point marks the
		// gap, the first value after it ends it.
		if c.gap {
			return
		}
		c.gap = true
		p.V = nil
	} else {
		c.gap = false
	}
	c.ring[c.seq%ringSize] = p
	c.seq++
	if c.seq-c.head > ringSize {
		c.head = c.seq - ringSize
	}
}

// step runs the replay one action or one tick further. It reports false
// when the replay has caught up with the live engine.
func (c *HistoryCursor) step(budget *int64) (bool, error) {
	n, _, lostAt, lost := c.e.jr.span() // before the inputs: see journal.go
	end := n
	if lost {
		end = min(end, lostAt+1)
	}
	if ins := c.e.jr.inputsFrom(c.inPos, c.ticks, 4096); len(ins) > 0 {
		for k := 0; k < len(ins); {
			j := k + 1
			for ins[j-1].more {
				j++ // a method call is journaled whole, see journal.inputs
			}
			c.apply(ins[k:j])
			k = j
		}
		c.inPos += len(ins)
		return true, nil
	}
	if c.ticks >= end {
		return false, nil
	}
	if *budget <= 0 {
		return false, ErrHistoryBudget
	}
	*budget -= int64(len(c.sub.rt))
	c.now = time.Unix(0, c.e.jr.wallAt(c.ticks))
	c.sub.Step(1)
	c.ticks++
	return true, nil
}

// apply plays one live action on the replay, as the live engine did.
func (c *HistoryCursor) apply(in []input) {
	s := c.sub
	c.now = time.Unix(0, in[len(in)-1].wall)
	if !in[0].call {
		x := in[0]
		switch x.kind {
		case inWrite:
			if j, ok := c.subIdx[x.tag]; ok {
				s.mu.Lock()
				s.writeNow(j, x.num, x.str, "client")
				s.mu.Unlock()
			}
		case inInject:
			_, _ = s.InjectFault(*x.fault)
		case inInjectNamed:
			_ = s.InjectNamed(x.name)
		case inClear:
			_ = s.Clear(x.name)
		}
		return
	}
	// A method call: its actions, then one publication.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range in {
		switch x.kind {
		case inWrite:
			if j, ok := c.subIdx[x.tag]; ok {
				s.setTag(j, x.num, x.str, "client")
			}
		case inState:
			if j, ok := c.subIdx[x.tag]; ok {
				_ = s.enterState(j, x.str, "client")
			}
		case inClear:
			_ = s.clear(x.name, "client", EventClear)
		}
	}
	s.republish()
}

// Seek moves the read position to the first point published at or after
// t (to the end when none is yet). It may replay the tag from the start
// when the points before t are no longer kept.
func (c *HistoryCursor) Seek(t time.Time, budget *int64) error {
	tn := unixNano(t)
	if c.head > 0 && c.ring[c.head%ringSize].Server.UnixNano() >= tn {
		// The value in effect at t is no longer kept.
		if err := c.restart(); err != nil {
			return err
		}
	}
	// The first kept point at or after t, else the first emitted after
	// the ring's end.
	k := sort.Search(int(c.seq-c.head), func(k int) bool {
		return c.ring[(c.head+uint64(k))%ringSize].Server.UnixNano() >= tn
	})
	c.pos = c.head + uint64(k)
	for c.pos >= c.seq {
		from := c.seq
		more, err := c.step(budget)
		if err != nil || !more {
			return err
		}
		for c.pos = from; c.pos < c.seq; c.pos++ {
			if c.ring[c.pos%ringSize].Server.UnixNano() >= tn {
				return nil
			}
		}
	}
	return nil
}

// Next returns the point at the read position and moves past it; ok is
// false when the replay has caught up with the engine (there is no point
// there yet).
func (c *HistoryCursor) Next(budget *int64) (p HistoryPoint, ok bool, err error) {
	for c.pos >= c.seq {
		more, err := c.step(budget)
		if err != nil || !more {
			return HistoryPoint{}, false, err
		}
	}
	if c.pos < c.head {
		c.pos = c.head // cannot happen: a read never falls behind the ring
	}
	p = c.ring[c.pos%ringSize]
	c.pos++
	return p, true, nil
}

// Prev returns the point before the read position: the value in effect
// just before it. ok is false when history starts at the read position.
func (c *HistoryCursor) Prev() (HistoryPoint, bool) { return c.Before(1) }

// Tag is the live engine's index of the cursor's tag.
func (c *HistoryCursor) Tag() int { return c.tag }

// subScenario returns the part of the scenario tag i depends on: the tags
// its expressions read, transitively (each tag's model and evaluation are
// as in the whole), on their machines, with the faults on those machines
// and tags and the timeline entries that concern them; and the map from
// live tag index to the part's.
func (e *Engine) subScenario(i int) (*scenarios.Scenario, map[int32]int) {
	need := map[int]bool{i: true}
	stack := []int{i}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, r := range e.rt[t].reads {
			if !need[r] {
				need[r] = true
				stack = append(stack, r)
			}
		}
	}
	sc := *e.sc
	sc.Machines, sc.Faults, sc.Timeline, sc.Roles, sc.Exercises, sc.Templates = nil, nil, nil, nil, nil, nil
	subIdx := map[int32]int{}
	machines := map[string]bool{}
	tags := map[string]bool{}
	var mis []int
	for t := range need {
		if mi := e.rt[t].mach; !slices.Contains(mis, mi) {
			mis = append(mis, mi)
		}
	}
	slices.Sort(mis)
	for _, mi := range mis {
		m := e.sc.Machines[mi]
		var keep []scenarios.Tag
		for ti, t := range m.Tags {
			li := e.machines[mi].Tags[ti]
			if need[li] {
				subIdx[int32(li)] = len(subIdx)
				keep = append(keep, t)
				tags[m.Name+"/"+t.Name] = true
			}
		}
		m.Tags, m.Template, m.Methods = keep, "", nil
		sc.Machines = append(sc.Machines, m)
		machines[m.Name] = true
	}
	faults := map[string]bool{}
	for _, f := range e.sc.Faults {
		mname, _, isTag := strings.Cut(f.Target, "/")
		if machines[mname] && (!isTag || tags[f.Target]) {
			sc.Faults = append(sc.Faults, f)
			faults[f.Name] = true
		}
	}
	for _, ev := range e.sc.Timeline {
		switch {
		case ev.Fault != "" && faults[ev.Fault], ev.Clear != "" && faults[ev.Clear],
			ev.Set != nil && tags[ev.Set.Tag], ev.State != nil && tags[ev.State.Tag]:
			ev.Note = ""
			sc.Timeline = append(sc.Timeline, ev)
		}
	}
	return &sc, subIdx
}

// Before returns the n-th point before the read position (Before(1) is
// Prev), as far back as the cursor keeps points; ok is false beyond.
func (c *HistoryCursor) Before(n int) (HistoryPoint, bool) {
	if n < 1 || uint64(n) > c.pos || c.pos-uint64(n) < c.head {
		return HistoryPoint{}, false
	}
	return c.ring[(c.pos-uint64(n))%ringSize], true
}

// unixNano is t in Unix nanoseconds, saturated for times UnixNano cannot
// hold (before 1678, after 2262).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minUnixNano):
		return math.MinInt64
	case t.After(maxUnixNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minUnixNano = time.Unix(0, math.MinInt64)
	maxUnixNano = time.Unix(0, math.MaxInt64)
)
