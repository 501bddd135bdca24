package score

import (
	"sort"
	"time"
)

// The levels of a Card.
const (
	LevelSite    = "site"
	LevelLine    = "line"
	LevelMachine = "machine"
	// A period's Level is its context role: "work_order", "batch",
	// "shift".
)

// Card is the scorecard of a machine, line or site over the rolling
// window, or of a line over one period (a work order, batch or shift).
// Ratios are in [0, 1]; -1 says there was nothing to go on (see the
// package doc). Its JSON form is the scorecard's payload.
type Card struct {
	// Level is "site", "line", "machine", or a period's role
	// ("work_order", "batch", "shift").
	Level string `json:"level"`
	// Asset is the site's, line's or machine's path; a period's line.
	Asset string `json:"asset"`
	// Value is a period's work order, batch or shift.
	Value string `json:"value,omitempty"`
	// From and To are the span covered; To is zero for an open period.
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitzero"`
	// Completeness is Received ÷ Expected.
	Completeness float64 `json:"completeness"`
	// Expected and Received samples.
	Expected float64 `json:"expected"`
	Received float64 `json:"received"`
	// Validity is Good ÷ Samples: of the samples read from devices, the
	// share whose status is Good.
	Validity float64 `json:"validity"`
	Samples  uint64  `json:"samples"`
	Good     uint64  `json:"good"`
	// P95Age is the 95th percentile of received − source time, seconds.
	P95Age float64 `json:"p95_age_s"`
	// Availability is the share of time the endpoint links were up.
	Availability float64 `json:"availability"`
	// Alerts counts the alerts raised, by kind.
	Alerts map[string]int `json:"alerts,omitempty"`
}

// Report is every scorecard at one time.
type Report struct {
	// At is the time of the last Tick.
	At time.Time `json:"at"`
	// Window is the rolling window's length in seconds.
	Window float64 `json:"window_s"`
	// Sites, Lines and Machines over the window, each sorted by Asset.
	Sites    []Card `json:"sites"`
	Lines    []Card `json:"lines"`
	Machines []Card `json:"machines"`
	// Periods are the open and the kept closed periods of every line, by
	// line, then role (work order, batch, shift), then start.
	Periods []Card `json:"periods"`
}

// Report returns every scorecard as of the last Tick.
func (b *Board) Report() Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := Report{At: b.last, Window: b.cfg.Window.Seconds()}
	from := b.origin
	if first := b.cur - int64(b.cfg.Slices) + 1; first > 0 {
		from = b.origin.Add(time.Duration(first) * b.slice)
	}
	sites := map[string]*tally{}
	lines := map[string]*tally{}
	ms := make([]*machine, len(b.order))
	copy(ms, b.order)
	sort.Slice(ms, func(i, j int) bool { return ms[i].path < ms[j].path })
	for _, m := range ms {
		var t tally
		for k := range m.ring {
			if at := m.ringAt[k]; at >= 0 && at > b.cur-int64(b.cfg.Slices) && at <= b.cur {
				t.add(&m.ring[k])
			}
		}
		r.Machines = append(r.Machines, b.card(LevelMachine, m.path, from, &t))
		for _, agg := range []struct {
			into map[string]*tally
			key  string
		}{{sites, m.site}, {lines, m.linePath}} {
			if agg.into[agg.key] == nil {
				agg.into[agg.key] = &tally{}
			}
			agg.into[agg.key].add(&t)
		}
	}
	r.Sites = b.cards(LevelSite, sites, from)
	r.Lines = b.cards(LevelLine, lines, from)
	paths := make([]string, 0, len(b.lines))
	for p := range b.lines {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		l := b.lines[p]
		for i, role := range periodRoles {
			r.Periods = append(r.Periods, l.closed[i]...)
			if o := l.open[i]; o != nil {
				c := Card{Level: string(role), Asset: l.path, Value: o.value, From: o.from}
				o.t.card(&c)
				r.Periods = append(r.Periods, c)
			}
		}
	}
	return r
}

func (b *Board) card(level, asset string, from time.Time, t *tally) Card {
	c := Card{Level: level, Asset: asset, From: from, To: b.last}
	t.card(&c)
	return c
}

func (b *Board) cards(level string, ts map[string]*tally, from time.Time) []Card {
	keys := make([]string, 0, len(ts))
	for k := range ts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Card, 0, len(keys))
	for _, k := range keys {
		out = append(out, b.card(level, k, from, ts[k]))
	}
	return out
}
