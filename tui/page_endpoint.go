package tui

import (
	"strconv"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/tui/widget"
)

// The endpoint detail, over the connections page: every field of one
// endpoint's health, its last error wrapped to be read whole, and the
// alerts about it.

const pageEndpoint = "endpoint"

var endpointDef = pageDef{
	id: pageEndpoint, title: "Endpoint",
	keys: []*keyGroup{&detailKeys},
	new:  func(a *app) page { return &endpointPage{scrolled: scrolled{a: a}} },
}

type endpointPage struct {
	scrolled // the app, and the id it was opened about (arg)
}

func (p *endpointPage) keys() []*keyGroup { return endpointDef.keys }

func (p *endpointPage) update(msg tea.Msg) tea.Cmd {
	cmd, _ := p.scrolled.update(msg)
	return cmd
}

func (p *endpointPage) view(w, h int) []string {
	a := p.a
	st := &a.st
	d := a.d
	i := d.endpoint(p.arg)
	if i < 0 {
		return []string{widget.Fit(" endpoint "+p.arg+" is gone", w)}
	}
	hl := &d.health[i]
	now := a.now()
	none := widget.Paint{}
	state := hl.State.String()
	if hl.State == connectors.Connecting && hl.Reconnects > 0 {
		state = "reconnecting"
	}
	lines := []string{a.caption("ENDPOINT "+hl.Source, w)}
	lines = st.kvLines(lines, w, "endpoint", hl.Endpoint, none)
	lines = append(lines,
		st.kv(w, "protocol", hl.Protocol),
		st.kvPaint(w, "state", state+" since "+fmtTime(hl.Since)+"  ("+ageSince(now, hl.Since)+")", st.link(hl.State)),
		st.kv(w, "latency", fmtLatency(hl.Latency)),
		st.kv(w, "rate", strconv.FormatFloat(d.rates[hl.Source].perSec, 'f', 1, 64)+" samples/s, "+strconv.FormatUint(hl.Readings, 10)+" in all"),
		st.kv(w, "errors", strconv.FormatUint(hl.Errors, 10)+" failed requests, "+strconv.FormatUint(hl.Reconnects, 10)+" reconnects"),
		st.kv(w, "gaps", strconv.FormatUint(hl.SequenceGaps, 10)+" missing notifications"))
	if k, ok := d.skew[hl.Source]; ok {
		lines = append(lines, st.kv(w, "clock skew", fmtSkew(k.d)+" (received − source time, newest sample)"))
	}
	if hl.LastError != nil {
		lines = st.kvLines(lines, w, "last error", hl.LastError.Error(), st.bad)
	} else {
		lines = append(lines, st.kv(w, "last error", "none"))
	}
	lines = append(lines, a.caption("ALERTS ABOUT "+hl.Source, w))
	n := 0
	for j := range d.alerts {
		al := &d.alerts[j]
		if al.Target != hl.Source {
			continue
		}
		n++
		lines = st.kvLines(lines, w, sevName(al.Severity)+" "+stateName(al.State), al.Message, st.sevStyle(al.Severity))
	}
	if n == 0 {
		lines = append(lines, widget.Fit(" (none)", w))
	}
	return p.window(lines, h)
}
