package checks

import (
	"fmt"
	"slices"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// polled judges a polled check: every tag of the machine its endpoints
// serve is read, or delivered by a subscription that samples it at
// least as often, at least every Every, from From (default: Every after
// the first client connected to the machine) to the end, except while a
// comm_loss or disconnect fault of the machine is active and for Grace
// after.
type polled struct {
	c        *scenarios.Check
	every    time.Duration
	tags     []int
	index    map[int]int // tag → position in tags
	covered  [][]span    // per tag: when it counts as polled
	live     []int       // per tag: subscription items delivering it
	since    []time.Duration
	first    time.Duration // the first connection to the machine, -1 before
	excluded []span
	faults   map[string]time.Duration // active comm_loss and disconnect faults of the machine, since
}

// span is [from, to) of simulated time.
type span struct{ from, to time.Duration }

func newPolled(w *world, c *scenarios.Check) (judge, error) {
	j := &polled{c: c, every: c.Every.D(), tags: w.served(c.Machine, c.Protocol), index: map[int]int{}, first: -1, faults: map[string]time.Duration{}}
	if len(j.tags) == 0 {
		return nil, fmt.Errorf("machine %s serves no tag over %s", c.Machine, orAny(c.Protocol))
	}
	for k, t := range j.tags {
		j.index[t] = k
	}
	j.covered = make([][]span, len(j.tags))
	j.live = make([]int, len(j.tags))
	j.since = make([]time.Duration, len(j.tags))
	return j, nil
}

func orAny(p string) string {
	if p == "" {
		return "any protocol"
	}
	return p
}

// mine reports whether entry a is of a client the check follows.
func (j *polled) mine(w *world, a *act) bool {
	return (j.c.Protocol == "" || a.Protocol == j.c.Protocol) && matches(j.c.Client, a.client, w.who(a))
}

func (j *polled) entry(w *world, a *act) {
	switch a.Kind {
	case clientlog.Connect:
		if j.first < 0 && w.serves(a.Endpoint, j.c.Machine) && j.mine(w, a) {
			j.first = a.at
		}
	case clientlog.Read:
		if a.Exception != 0 || a.Reason != "" || !j.mine(w, a) {
			return
		}
		cov := span{a.at, a.last + j.every}
		if a.gap > j.every {
			cov.to = a.at + j.every // unknown in between: only the ends count
		}
		for _, t := range a.Tags {
			if k, ok := j.index[t]; ok {
				j.covered[k] = addSpan(j.covered[k], cov)
				if cov.to < a.last {
					j.covered[k] = addSpan(j.covered[k], span{a.last, a.last + j.every})
				}
			}
		}
	}
}

func (j *polled) cover(w *world, c *client, it clientlog.Item, n int, at time.Duration) {
	k, ok := j.index[it.Tag]
	if !ok || it.Every > j.every || j.c.Protocol != "" && c.protocol != j.c.Protocol {
		return
	}
	if j.c.Client != "" && !matchesClient(j.c.Client, w, c) {
		return
	}
	if n > 0 && j.live[k] == 0 {
		j.since[k] = at
	}
	j.live[k] += n
	if n < 0 && j.live[k] == 0 {
		j.covered[k] = addSpan(j.covered[k], span{j.since[k], at})
	}
}

// matchesClient matches a client pattern against any connection of c.
func matchesClient(pat string, w *world, c *client) bool {
	for _, cn := range w.conns {
		if cn.client == c && matches(pat, c, &cn.connect) {
			return true
		}
	}
	return false
}

func (j *polled) event(w *world, ev *twin.Event) {
	f := w.fault(ev.Fault)
	if f == nil || machineOf(f.Target) != j.c.Machine || f.Kind != scenarios.CommLoss && f.Kind != scenarios.Disconnect {
		return
	}
	if j.c.Protocol != "" && !slices.Contains(w.faultProtocols(f), j.c.Protocol) {
		return
	}
	t := ev.Elapsed.D()
	switch ev.Kind {
	case twin.EventInject:
		j.faults[ev.Fault] = t
	case twin.EventClear, twin.EventExpire:
		if from, ok := j.faults[ev.Fault]; ok {
			j.excluded = addSpan(j.excluded, span{from, t + j.c.Grace.D()})
			delete(j.faults, ev.Fault)
		}
	}
}

func (j *polled) verdict(w *world, end time.Duration) Result {
	if j.first < 0 {
		return result(NeverFired, "no client connected to %s's endpoints%s during the run (%s)", j.c.Machine, overProtocol(j.c.Protocol), at(end))
	}
	from := j.first + j.every
	if j.c.From != nil {
		from = j.c.From.D()
	}
	if from >= end {
		return result(Undecided, "the run ended (%s) before the check's window opened (%s)", at(end), at(from))
	}
	excl := slices.Clone(j.excluded)
	for _, t := range j.faults {
		excl = addSpan(excl, span{t, end})
	}
	var details []string
	bad := 0
	for k, t := range j.tags {
		cov := j.covered[k]
		if j.live[k] > 0 {
			cov = addSpan(slices.Clone(cov), span{j.since[k], end})
		}
		gaps := uncovered(span{from, end}, cov, excl, w.tick)
		if len(gaps) == 0 {
			continue
		}
		bad++
		if len(cov) == 0 {
			details = append(details, fmt.Sprintf("%s: never read or subscribed", w.tagName(t)))
			continue
		}
		long := slices.MaxFunc(gaps, func(a, b span) int { return int(a.to - a.from - (b.to - b.from)) })
		more := ""
		if len(gaps) > 1 {
			more = fmt.Sprintf(" (the longest of %d gaps)", len(gaps))
		}
		details = append(details, fmt.Sprintf("%s: unread for %s from %s%s",
			w.tagName(t), (long.to-long.from+j.every).Round(time.Millisecond), at(long.from-j.every), more))
	}
	if bad > 0 {
		r := result(Failed, "%d of %d tags of %s were not read or subscribed every %s", bad, len(j.tags), j.c.Machine, j.every)
		r.Details = details
		return r
	}
	return result(Passed, "all %d tags of %s read or subscribed every %s from %s to %s", len(j.tags), j.c.Machine, j.every, at(from), at(end))
}

func overProtocol(p string) string {
	if p == "" {
		return ""
	}
	return " over " + p
}

// addSpan adds s to the sorted, disjoint list l, merging where they
// touch. Spans mostly come in time order, so the common case is O(1).
func addSpan(l []span, s span) []span {
	if s.to <= s.from {
		return l
	}
	n := len(l)
	if n == 0 || l[n-1].to < s.from {
		return append(l, s)
	}
	if l[n-1].from <= s.from {
		l[n-1].to = max(l[n-1].to, s.to)
		return l
	}
	out := make([]span, 0, n+1)
	for _, x := range l {
		if x.to < s.from || x.from > s.to {
			out = append(out, x)
			continue
		}
		s = span{min(s.from, x.from), max(s.to, x.to)}
	}
	out = append(out, s)
	slices.SortFunc(out, func(a, b span) int { return int(a.from - b.from) })
	return out
}

// uncovered returns the parts of window that neither cov nor excl cover,
// leaving out those shorter than tol.
func uncovered(window span, cov, excl []span, tol time.Duration) []span {
	all := slices.Clone(cov)
	for _, x := range excl {
		all = addSpan(all, x)
	}
	var out []span
	at := window.from
	for _, x := range all {
		if x.to <= at {
			continue
		}
		if x.from >= window.to {
			break
		}
		if x.from > at && x.from-at > tol {
			out = append(out, span{at, x.from})
		}
		at = max(at, x.to)
	}
	if window.to > at && window.to-at > tol {
		out = append(out, span{at, window.to})
	}
	return out
}
