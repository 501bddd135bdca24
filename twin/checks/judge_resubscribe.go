package checks

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// resubscribe judges a resubscribe check: each client that read or
// subscribed tags of the fault's machine (over a protocol the fault acts
// on) in the ResubscribeLookback before the fault started reads or
// subscribes every one of those tags again within Within of the fault's
// end.
type resubscribe struct {
	c         *scenarios.Check
	fault     *scenarios.Fault
	protocols []string
	tags      map[int]bool
	// state per client and tag: when it was last read or delivered, and
	// how many subscription items deliver it now.
	seen map[*client]map[int]*tagSeen
	occ  []*occurrence
	cur  *occurrence // the occurrence whose fault is active
}

type tagSeen struct {
	last time.Duration
	live int
}

// occurrence is one injection of the fault and what each client does
// about it.
type occurrence struct {
	start, end time.Duration // end < 0 while active
	clients    map[*client]*comeback
}

// comeback is one client's way back: the tags it had, when each was
// read or delivered again, which were delivered when the fault ended,
// and which stopped being delivered after the fault started.
type comeback struct {
	tags    []int
	again   map[int]time.Duration
	kept    map[int]bool
	dropped map[int]bool
}

// back is when tag t was back, with the end of the fault at end: when it
// was read or delivered again, or the end itself for a tag whose delivery
// the fault never interrupted.
func (cb *comeback) back(t int, end time.Duration) (time.Duration, bool) {
	if d, ok := cb.again[t]; ok {
		return d, true
	}
	if cb.kept[t] && !cb.dropped[t] {
		return end, true
	}
	return 0, false
}

// done is when every tag was back, ok false when not yet.
func (cb *comeback) done(end time.Duration) (time.Duration, bool) {
	var last time.Duration
	for _, t := range cb.tags {
		d, ok := cb.back(t, end)
		if !ok {
			return 0, false
		}
		last = max(last, d)
	}
	return last, true
}

// count is how many tags are back.
func (cb *comeback) count(end time.Duration) int {
	n := 0
	for _, t := range cb.tags {
		if _, ok := cb.back(t, end); ok {
			n++
		}
	}
	return n
}

func newResubscribe(w *world, c *scenarios.Check) (judge, error) {
	f := w.fault(c.Fault)
	if f == nil {
		return nil, fmt.Errorf("unknown fault %q", c.Fault)
	}
	j := &resubscribe{c: c, fault: f, protocols: w.faultProtocols(f), tags: map[int]bool{}, seen: map[*client]map[int]*tagSeen{}}
	for _, p := range j.protocols {
		for _, t := range w.served(machineOf(f.Target), p) {
			j.tags[t] = true
		}
	}
	return j, nil
}

// follows reports whether the check follows client cl.
func (j *resubscribe) follows(w *world, cl *client) bool {
	return slices.Contains(j.protocols, cl.protocol) && (j.c.Client == "" || matchesClient(j.c.Client, w, cl))
}

// state is cl's state of tag t.
func (j *resubscribe) state(cl *client, t int) *tagSeen {
	m := j.seen[cl]
	if m == nil {
		m = map[int]*tagSeen{}
		j.seen[cl] = m
	}
	s := m[t]
	if s == nil {
		s = &tagSeen{last: -1}
		m[t] = s
	}
	return s
}

func (j *resubscribe) entry(w *world, a *act) {
	if a.Kind != clientlog.Read || a.Exception != 0 || a.Reason != "" || !j.follows(w, a.client) {
		return
	}
	for _, t := range a.Tags {
		if !j.tags[t] {
			continue
		}
		j.state(a.client, t).last = a.last
		j.back(a.client, t, a.at, a.last)
	}
}

// back records that cl read or was delivered t, between from and to.
func (j *resubscribe) back(cl *client, t int, from, to time.Duration) {
	o := j.last()
	if o == nil || o.end < 0 || to < o.end {
		return
	}
	cb := o.clients[cl]
	if cb == nil || !slices.Contains(cb.tags, t) {
		return
	}
	if _, ok := cb.again[t]; !ok {
		if from < o.end {
			from = to // some read of a coalesced run came after the end
		}
		cb.again[t] = from
	}
}

func (j *resubscribe) cover(w *world, c *client, it clientlog.Item, n int, at time.Duration) {
	if !j.tags[it.Tag] || !j.follows(w, c) {
		return
	}
	s := j.state(c, it.Tag)
	s.live += n
	s.last = at
	if n > 0 {
		j.back(c, it.Tag, at, at)
		return
	}
	if o := j.last(); o != nil && at >= o.start {
		if cb := o.clients[c]; cb != nil {
			cb.dropped[it.Tag] = true
		}
	}
}

// last is the latest occurrence, nil before the first.
func (j *resubscribe) last() *occurrence {
	if len(j.occ) == 0 {
		return nil
	}
	return j.occ[len(j.occ)-1]
}

func (j *resubscribe) event(w *world, ev *twin.Event) {
	if ev.Fault != j.c.Fault {
		return
	}
	t := ev.Elapsed.D()
	switch ev.Kind {
	case twin.EventInject:
		o := &occurrence{start: t, end: -1, clients: map[*client]*comeback{}}
		for cl, tags := range j.seen {
			cb := &comeback{again: map[int]time.Duration{}, kept: map[int]bool{}, dropped: map[int]bool{}}
			for tag, s := range tags {
				if s.live > 0 || s.last >= 0 && s.last >= t-scenarios.ResubscribeLookback.D() {
					cb.tags = append(cb.tags, tag)
				}
			}
			if len(cb.tags) > 0 {
				sort.Ints(cb.tags)
				o.clients[cl] = cb
			}
		}
		j.occ = append(j.occ, o)
		j.cur = o
	case twin.EventClear, twin.EventExpire:
		o := j.cur
		if o == nil {
			return
		}
		o.end = t
		j.cur = nil
		// What is delivered at the end and never stops is back at once
		// (a disconnect drops connections a moment after it ends).
		for cl, cb := range o.clients {
			for _, tag := range cb.tags {
				if s := j.state(cl, tag); s.live > 0 {
					cb.kept[tag] = true
				}
			}
		}
	}
}

func (j *resubscribe) verdict(w *world, end time.Duration) Result {
	m := machineOf(j.fault.Target)
	over := strings.Join(j.protocols, " or ")
	if len(j.occ) == 0 {
		return result(NeverFired, "fault %s was not injected during the run (%s)", j.c.Fault, at(end))
	}
	within := j.c.Within.D()
	var (
		details []string
		sts     []Status
		clients int
	)
	for _, o := range j.occ {
		if len(o.clients) == 0 {
			details = append(details, fmt.Sprintf("fault %s at %s: no client had read or subscribed %s over %s in the %s before", j.c.Fault, at(o.start), m, over, scenarios.ResubscribeLookback))
			continue
		}
		names := make([]*client, 0, len(o.clients))
		for cl := range o.clients {
			names = append(names, cl)
		}
		sort.Slice(names, func(a, b int) bool { return names[a].name() < names[b].name() })
		for _, cl := range names {
			clients++
			cb := o.clients[cl]
			s, d := j.judgeOne(o, cb, end, within)
			sts = append(sts, s)
			details = append(details, fmt.Sprintf("%s: %s", cl.name(), d))
		}
	}
	if clients == 0 {
		r := result(NeverFired, "no client read or subscribed %s over %s before fault %s: nobody to come back", m, over, j.c.Fault)
		r.Details = details
		return r
	}
	st := worst(sts...)
	var r Result
	switch st {
	case Passed:
		r = result(Passed, "every client of %s came back within %s of fault %s", m, within, j.c.Fault)
	case Failed:
		r = result(Failed, "a client of %s did not read or subscribe its tags again within %s of fault %s", m, within, j.c.Fault)
	default:
		r = result(Undecided, "fault %s: the run ended before every client could be judged", j.c.Fault)
	}
	r.Details = details
	return r
}

// judgeOne judges one client's comeback after one occurrence.
func (j *resubscribe) judgeOne(o *occurrence, cb *comeback, end, within time.Duration) (Status, string) {
	if o.end < 0 {
		return Undecided, fmt.Sprintf("fault %s (from %s) was still active at the end of the run", j.c.Fault, at(o.start))
	}
	if d, ok := cb.done(o.end); ok {
		took := d - o.end
		if took <= within {
			return Passed, fmt.Sprintf("back on all %d tags %s after fault %s ended at %s", len(cb.tags), took.Round(time.Millisecond), j.c.Fault, at(o.end))
		}
		return Failed, fmt.Sprintf("back on all %d tags only %s after fault %s ended at %s (within %s)", len(cb.tags), took.Round(time.Millisecond), j.c.Fault, at(o.end), within)
	}
	if end < o.end+within {
		return Undecided, fmt.Sprintf("the run ended %s after fault %s ended, before %s had passed", (end - o.end).Round(time.Millisecond), j.c.Fault, within)
	}
	return Failed, fmt.Sprintf("read or subscribed %d of its %d tags again after fault %s ended at %s (within %s)", cb.count(o.end), len(cb.tags), j.c.Fault, at(o.end), within)
}
