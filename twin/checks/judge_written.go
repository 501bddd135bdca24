package checks

import (
	"fmt"
	"math"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// written judges a written check: after each event (each injection of
// Fault, or the offset At), a client writes Value to Tag within Within,
// and the twin accepts it.
type written struct {
	c      *scenarios.Check
	tag    int
	info   twin.TagInfo
	want   any
	events []time.Duration
	writes []write
	// open counts the followed connections open to the tag's machine;
	// connected the spans when one was.
	open      map[uint64]bool
	since     time.Duration
	connected []span
}

// write is one write of the tag a judge saw.
type write struct {
	at       time.Duration
	value    any
	accepted bool
	who      string
	reason   string
}

func newWritten(w *world, c *scenarios.Check) (judge, error) {
	i, ok := lookup(w, c.Tag)
	if !ok {
		return nil, fmt.Errorf("unknown tag %q", c.Tag)
	}
	info := w.tags[i]
	want, err := scenarios.Exact(info.Type, c.Value)
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	j := &written{c: c, tag: i, info: info, want: want, open: map[uint64]bool{}}
	if c.At != nil {
		j.events = append(j.events, c.At.D())
	}
	return j, nil
}

// lookup finds a "machine/tag" reference among the world's tags.
func lookup(w *world, ref string) (int, bool) {
	for i, t := range w.tags {
		if t.Machine+"/"+t.Name == ref || t.ID == ref {
			return i, true
		}
	}
	return 0, false
}

func (j *written) entry(w *world, a *act) {
	switch a.Kind {
	case clientlog.Connect:
		if w.serves(a.Endpoint, j.info.Machine) && matches(j.c.Client, a.client, w.who(a)) {
			if len(j.open) == 0 {
				j.since = a.at
			}
			j.open[a.Conn] = true
		}
	case clientlog.Disconnect:
		if j.open[a.Conn] {
			delete(j.open, a.Conn)
			if len(j.open) == 0 {
				j.connected = addSpan(j.connected, span{j.since, a.at})
			}
		}
	case clientlog.Write:
		who := w.who(a)
		if len(a.Tags) != 1 || a.Tags[0] != j.tag || !matches(j.c.Client, a.client, who) {
			return
		}
		j.writes = append(j.writes, write{at: a.at, value: a.Value, accepted: a.Accepted(), who: who.Who(), reason: a.Reason})
	}
}

func (j *written) cover(*world, *client, clientlog.Item, int, time.Duration) {}

func (j *written) event(w *world, ev *twin.Event) {
	if j.c.Fault != "" && ev.Fault == j.c.Fault && ev.Kind == twin.EventInject {
		j.events = append(j.events, ev.Elapsed.D())
	}
}

// equal reports whether v, a written value, is the value wanted.
func (j *written) equal(v any) bool {
	got, err := scenarios.Exact(j.info.Type, v)
	if err != nil {
		return false
	}
	if j.c.Tolerance == 0 || !j.info.Type.Numeric() {
		return got == j.want
	}
	a, aok := scenarios.Float(got)
	b, bok := scenarios.Float(j.want)
	return aok && bok && math.Abs(a-b) <= j.c.Tolerance
}

func (j *written) verdict(w *world, end time.Duration) Result {
	what := fmt.Sprintf("%s = %v", j.c.Tag, j.want)
	if len(j.events) == 0 {
		return result(NeverFired, "fault %s was not injected during the run (%s): nothing to write %s after", j.c.Fault, at(end), what)
	}
	conn := j.connected
	if len(j.open) > 0 {
		conn = addSpan(append([]span(nil), conn...), span{j.since, end})
	}
	within := j.c.Within.D()
	var (
		sts     []Status
		details []string
	)
	for _, e := range j.events {
		name := at(e)
		if j.c.Fault != "" {
			name = "fault " + j.c.Fault + " at " + at(e)
		}
		if e > end {
			sts = append(sts, NeverFired)
			details = append(details, fmt.Sprintf("%s: after the end of the run (%s)", name, at(end)))
			continue
		}
		var seen []string
		done := false
		for _, wr := range j.writes {
			if wr.at < e || wr.at > e+within {
				continue
			}
			if wr.accepted && j.equal(wr.value) {
				sts = append(sts, Passed)
				details = append(details, fmt.Sprintf("%s: %s wrote %v %s later", name, wr.who, wr.value, (wr.at-e).Round(time.Millisecond)))
				done = true
				break
			}
			s := fmt.Sprintf("%v at %s by %s", wr.value, at(wr.at), wr.who)
			if !wr.accepted {
				s += " (refused: " + wr.reason + ")"
			}
			seen = append(seen, s)
		}
		switch {
		case done:
		case end < e+within:
			sts = append(sts, Undecided)
			details = append(details, fmt.Sprintf("%s: the run ended %s later, before %s had passed", name, (end-e).Round(time.Millisecond), within))
		case !overlaps(conn, span{e, e + within}):
			sts = append(sts, NeverFired)
			details = append(details, fmt.Sprintf("%s: no client was connected to %s's endpoints until %s", name, j.info.Machine, at(e+within)))
		default:
			sts = append(sts, Failed)
			d := fmt.Sprintf("%s: no client wrote %v within %s", name, j.want, within)
			if len(seen) > 0 {
				d += "; writes seen: " + joinMax(seen, 5)
			}
			details = append(details, d)
		}
	}
	var r Result
	switch worst(sts...) {
	case Passed:
		r = result(Passed, "%s written within %s of every event (%d)", what, within, len(j.events))
	case Failed:
		r = result(Failed, "%s not written within %s of an event", what, within)
	case Undecided:
		r = result(Undecided, "%s: the run ended before every event could be judged", what)
	default:
		r = result(NeverFired, "%s: no client could have written it (no client connected to %s when it was due)", what, j.info.Machine)
	}
	r.Details = details
	return r
}

// overlaps reports whether any span of l overlaps s.
func overlaps(l []span, s span) bool {
	for _, x := range l {
		if x.from < s.to && x.to > s.from {
			return true
		}
	}
	return false
}

// joinMax joins at most n of ss with "; ".
func joinMax(ss []string, n int) string {
	out := ""
	for i, s := range ss {
		if i == n {
			return out + fmt.Sprintf("; … %d more", len(ss)-n)
		}
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}
