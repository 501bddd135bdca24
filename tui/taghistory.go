package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// The tag detail's chart from the tag's endpoint (ServerHistory): the
// averages of the last historySpan over as many intervals as the chart
// has columns, read in a tea.Cmd when the page opens, kept for
// historyTTL per tag, and read again while the page stays open. Until
// it comes, when the endpoint keeps none (a Modbus device), or when the
// read fails, the chart shows the values the session saw, with a note
// saying why.

const (
	// historySpan is the time the chart covers.
	historySpan = 15 * time.Minute
	// historyTTL is how long a tag's series is kept before it is read
	// again.
	historyTTL = 10 * time.Second
	// historyCheck is how often the open page looks whether its series
	// is stale (or the chart's width changed).
	historyCheck = 2 * time.Second
	// historyTimeout bounds one read.
	historyTimeout = 15 * time.Second
	// historyKeep is how long series of other tags are kept.
	historyKeep = time.Minute
)

type (
	// serverHistMsg is a read's result.
	serverHistMsg struct {
		id     string
		points int
		at     time.Time
		series HistorySeries
		err    error
	}
	// histTickMsg asks the open page to look at its series.
	histTickMsg struct{ gen uint64 }
)

// histEntry is what was read of one tag.
type histEntry struct {
	at      time.Time // when the read was asked
	points  int
	series  HistorySeries
	err     error
	loading bool
}

// serverHistory is the tag detail's state of the endpoint's history.
type serverHistory struct {
	cache map[string]*histEntry
	// points is the chart's width, from the last view.
	points int
	// gen drops the checks of earlier openings.
	gen uint64
}

func (h *serverHistory) update(p *tagDetailPage, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openMsg, resumeMsg:
		if _, ok := p.a.b.(ServerHistory); !ok {
			return nil
		}
		// the first look comes after the page was drawn: the chart's
		// width is known then
		h.gen++
		gen := h.gen
		return func() tea.Msg { return histTickMsg{gen} }
	case serverHistMsg:
		h.took(msg)
	case histTickMsg:
		if msg.gen == h.gen && p.a.nav.shown(p) {
			return tea.Batch(h.fetch(p), h.tick())
		}
	}
	return nil
}

func (h *serverHistory) tick() tea.Cmd {
	gen := h.gen
	return tea.Tick(historyCheck, func(time.Time) tea.Msg { return histTickMsg{gen} })
}

// fetch reads the shown tag's series unless a fresh one of the chart's
// width is kept or a read is under way.
func (h *serverHistory) fetch(p *tagDetailPage) tea.Cmd {
	sh, ok := p.a.b.(ServerHistory)
	t := p.a.d.tag(p.arg)
	if !ok || t == nil || t.Kind == normalize.Text {
		return nil
	}
	n := h.points
	if n < 4 {
		n = 60
	}
	now := p.a.now()
	e := h.cache[t.ID]
	if e != nil && (e.loading || now.Sub(e.at) < historyTTL && e.points == n) {
		return nil
	}
	if h.cache == nil {
		h.cache = make(map[string]*histEntry)
	}
	if e == nil {
		e = &histEntry{}
		h.cache[t.ID] = e
	}
	e.loading = true
	id, from := t.ID, now.Add(-historySpan)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
		defer cancel()
		s, err := sh.TagHistory(ctx, id, from, now, n)
		return serverHistMsg{id: id, points: n, at: now, series: s, err: err}
	}
}

// took keeps a read's result, and forgets the series of other tags kept
// longer than historyKeep.
func (h *serverHistory) took(m serverHistMsg) {
	for id, e := range h.cache {
		if id != m.id && !e.loading && m.at.Sub(e.at) > historyKeep {
			delete(h.cache, id)
		}
	}
	if h.cache == nil {
		h.cache = make(map[string]*histEntry)
	}
	h.cache[m.id] = &histEntry{at: m.at, points: m.points, series: m.series, err: m.err}
}

// chart appends the history chart of t: its caption and ch lines.
func (p *tagDetailPage) chart(lines []string, t *normalize.Sample, w, ch int) []string {
	a := p.a
	st := &a.st
	// widget.Chart's plot is its width less the value axis
	p.server.points = max(w-1-11, 4)
	e := p.server.cache[t.ID]
	if e != nil && e.err == nil && anyNumber(e.series.Values) {
		span := fmtSpan(e.series.To.Sub(e.series.From))
		lines = append(lines, a.caption(fmt.Sprintf("HISTORY · from the server · last %s · %s of %d intervals",
			span, strings.ToLower(e.series.Aggregate), len(e.series.Values)), w))
		for _, l := range widget.Chart(e.series.Values, w-1, ch-1, fmtNum) {
			lines = append(lines, " "+st.spark.Render(widget.Fit(l, w-1)))
		}
		axis := strings.Repeat(" ", 12) + "-" + span
		return append(lines, widget.Fit(axis+widget.FitRight("now", w-widget.Width(axis)), w))
	}
	p.hist = a.b.History(t.ID, p.hist[:0])
	caption, note := fmt.Sprintf("HISTORY · %d values", len(p.hist)), ""
	switch {
	case e == nil:
	case e.loading && e.at.IsZero():
		caption += " seen here · reading the server's history…"
	case errors.Is(e.err, connectors.ErrNoHistory):
		caption += " seen here (the endpoint keeps no history of this tag)"
	case e.err != nil:
		caption += " seen here"
		note = "server history unavailable: " + e.err.Error()
	case !e.loading:
		caption += " seen here"
		note = fmt.Sprintf("the server has no values of the last %s", fmtSpan(historySpan))
	}
	lines = append(lines, a.caption(caption, w))
	if note != "" {
		for _, l := range widget.Wrap(note, w-2) {
			lines = append(lines, st.dim.Render(widget.Fit(" "+l, w)))
			ch--
		}
	}
	for _, l := range widget.Chart(p.hist, w-1, ch, fmtNum) {
		lines = append(lines, " "+st.spark.Render(widget.Fit(l, w-1)))
	}
	return lines
}

// anyNumber says vals holds a value that is not NaN.
func anyNumber(vals []float64) bool {
	for _, v := range vals {
		if !math.IsNaN(v) {
			return true
		}
	}
	return false
}

// fmtSpan formats a span of whole minutes as "15m", others as fmtAge.
func fmtSpan(d time.Duration) string {
	if d > 0 && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmtAge(d)
}
