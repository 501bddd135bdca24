package checks

import (
	"fmt"
	"slices"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// writeRange judges a write_range check: no client writes any of the
// tags (every tag with a range by default) a value outside its range (or
// the check's), whether or not the twin accepted it.
type writeRange struct {
	c        *scenarios.Check
	ranges   map[int]scenarios.Range
	machines map[string]bool
	writes   int
	bad      []string
	seen     bool // a followed client connected to an endpoint of the tags
}

func newWriteRange(w *world, c *scenarios.Check) (judge, error) {
	j := &writeRange{c: c, ranges: map[int]scenarios.Range{}, machines: map[string]bool{}}
	add := func(i int) {
		r := w.tags[i].Range
		if c.Range != nil {
			r = c.Range
		}
		if r != nil && w.tags[i].Type.Numeric() {
			j.ranges[i] = *r
			j.machines[w.tags[i].Machine] = true
		}
	}
	if len(c.Tags) == 0 {
		for i := range w.tags {
			add(i)
		}
	}
	for _, ref := range c.Tags {
		i, ok := lookup(w, ref)
		if !ok {
			return nil, fmt.Errorf("unknown tag %q", ref)
		}
		add(i)
	}
	if len(j.ranges) == 0 {
		return nil, fmt.Errorf("no tag with a range to watch")
	}
	return j, nil
}

func (j *writeRange) entry(w *world, a *act) {
	switch a.Kind {
	case clientlog.Connect:
		for _, m := range a.Machines {
			if j.machines[m] && matches(j.c.Client, a.client, w.who(a)) {
				j.seen = true
			}
		}
	case clientlog.Write:
		who := w.who(a)
		if len(a.Tags) != 1 || !matches(j.c.Client, a.client, who) {
			return
		}
		r, ok := j.ranges[a.Tags[0]]
		if !ok {
			return
		}
		j.writes++
		f, isNum := scenarios.Float(a.Value)
		out := isNum && (f < r.Low || f > r.High || f != f)
		if a.Value == nil {
			out = true // its bytes hold no value of the tag's type
		}
		if !out {
			return
		}
		res := "accepted"
		if !a.Accepted() {
			res = "refused: " + a.Reason
		}
		v := fmt.Sprint(a.Value)
		if a.Value == nil {
			v = "a value that does not fit the tag"
		}
		j.bad = append(j.bad, fmt.Sprintf("%s %s wrote %s to %s, outside [%v, %v] (%s)", at(a.at), who.Who(), v, w.tagName(a.Tags[0]), r.Low, r.High, res))
	}
}

func (j *writeRange) cover(*world, *client, clientlog.Item, int, time.Duration) {}

func (j *writeRange) event(*world, *twin.Event) {}

func (j *writeRange) verdict(w *world, end time.Duration) Result {
	if len(j.bad) > 0 {
		r := result(Failed, "%d of %d writes of the watched tags were outside their range", len(j.bad), j.writes)
		r.Details = j.bad
		return r
	}
	if !j.seen {
		ms := make([]string, 0, len(j.machines))
		for m := range j.machines {
			ms = append(ms, m)
		}
		slices.Sort(ms)
		return result(NeverFired, "no client connected to the endpoints of the watched tags (machines %v) during the run (%s)", ms, at(end))
	}
	return result(Passed, "%d writes of the %d watched tags, none outside its range", j.writes, len(j.ranges))
}
