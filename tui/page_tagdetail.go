package tui

import (
	"fmt"
	"strconv"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// The tag detail, over the page it was opened from: asset, tag, unit,
// source, address, raw and scaled value, the three timestamps and skew,
// the last good value, the history chart, and for bad quality the status
// name, severity, limit bits and error. The chart shows what the tag's
// endpoint kept over the last 15 minutes when the backend reads it
// (ServerHistory, page_taghistory.go), else the values the session saw.

const pageTagDetail = "tag-detail"

var tagDetailDef = pageDef{
	id: pageTagDetail, title: "Tag",
	keys: []*keyGroup{&detailKeys},
	new:  func(a *app) page { return &tagDetailPage{scrolled: scrolled{a: a}} },
}

type tagDetailPage struct {
	scrolled // the app, and the id it was opened about (arg)
	hist     []float64
	server   serverHistory // the endpoint's history (page_taghistory.go)
}

func (p *tagDetailPage) keys() []*keyGroup { return tagDetailDef.keys }

func (p *tagDetailPage) update(msg tea.Msg) tea.Cmd {
	cmd, _ := p.scrolled.update(msg)
	return tea.Batch(cmd, p.server.update(p, msg))
}

func (p *tagDetailPage) view(w, h int) []string {
	a := p.a
	st := &a.st
	t := a.d.tag(p.arg)
	if t == nil {
		return []string{widget.Fit(" tag "+p.arg+" is gone", w)}
	}
	now := a.now()
	unit := "—"
	if t.Unit.Symbol != "" || t.Unit.Code != "" {
		unit = fmt.Sprintf("%s (%s, UnitId %d)", t.Unit.Symbol, t.Unit.Code, t.Unit.UnitID)
	}
	q := st.quality(t.Status)
	none := widget.Paint{}
	lines := []string{a.caption("TAG "+widget.TrimPath(t.ID, w-5), w)}
	lines = st.kvLines(lines, w, "asset", t.Asset, none)
	lines = st.kvLines(lines, w, "tag", t.Tag, none)
	lines = append(lines, st.kv(w, "unit", unit))
	lines = st.kvLines(lines, w, "source", t.Source, none)
	lines = st.kvLines(lines, w, "address", t.Address, none)
	lines = st.kvLines(lines, w, "value", fmtValue(t)+"   raw "+fmtRaw(t.Raw)+"   seq "+strconv.FormatUint(t.Seq, 10), none)
	lines = st.kvLines(lines, w, "quality", badge(t.Status)+"  "+t.Status.Error(), q)
	lines = append(lines,
		st.kv(w, "source time", fmtTime(t.SourceTime)),
		st.kv(w, "server time", fmtTime(t.ServerTime)),
		st.kv(w, "received", fmtTime(t.Received)+"  ("+ageSince(now, t.Received)+" ago)"),
		st.kv(w, "clock skew", t.Skew().Round(time.Millisecond).String()))
	lines = st.kvLines(lines, w, "last good", lastGoodLine(t, now), none)
	if !t.Context.Empty() {
		lines = st.kvLines(lines, w, "context", contextLine(t.Context), none)
	}
	if !t.Status.IsGood() || t.Err != "" {
		why := fmt.Sprintf("%s: severity %s, limit %s", t.Status.Name(), t.Status.Severity(), limitBits(t.Status))
		lines = st.kvLines(lines, w, "why bad?", why, q)
		if t.Err != "" {
			lines = st.kvLines(lines, w, "error", t.Err, none)
		}
	}
	ch := min(h-len(lines)-1, 16)
	if ch >= 3 && t.Kind != normalize.Text {
		lines = p.chart(lines, t, w, ch)
	}
	return p.window(lines, h)
}

func lastGoodLine(t *normalize.Sample, now time.Time) string {
	if !t.HasLastGood {
		return "—"
	}
	return fmtLastGood(t) + " at " + fmtTime(t.LastGoodTime) + " (" + fmtAge(now.Sub(t.LastGoodTime)) + " ago)"
}
