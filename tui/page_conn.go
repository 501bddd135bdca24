package tui

import (
	"fmt"
	"slices"
	"strconv"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/tui/widget"
)

// The connections page: each endpoint's link state, latency, rate,
// errors, reconnects, sequence gaps, clock skew and last error. Opened
// about an endpoint (from an alert's target), the cursor goes to it.

const pageConn = "conn"

var connDef = pageDef{
	id: pageConn, title: "Conn", tab: true,
	cmds: []string{"conn", "connections", "health"}, cmdHelp: "connections (endpoint health)",
	keys: []*keyGroup{&connKeys},
	new:  func(a *app) page { return &connPage{a: a} },
}

const actConnOpen action = "conn-open"

var connKeys = keyGroup{title: "Connections", bindings: []binding{
	bind(actConnOpen, "enter", "endpoint detail: every count, the last error in full, its alerts", "enter").footer("enter", "detail"),
}}

type connPage struct {
	a   *app
	pos widget.Pos
}

func (p *connPage) keys() []*keyGroup { return connDef.keys }

func (p *connPage) update(msg tea.Msg) tea.Cmd {
	h := p.a.d.health
	switch msg := msg.(type) {
	case openMsg:
		if i := p.a.d.endpoint(msg.arg); msg.arg != "" && i >= 0 {
			p.pos.Cur = i
		}
	case moveMsg:
		p.pos.Cur += msg.d
		p.pos.Clamp(len(h))
	case clickMsg:
		switch row := p.pos.Row(msg.y, 2, len(h)); {
		case row < 0:
		case row != p.pos.Cur:
			p.pos.Cur = row
		default:
			return p.open()
		}
	case doMsg:
		if msg.act == actConnOpen {
			return p.open()
		}
	}
	return nil
}

// open shows the selected endpoint's detail.
func (p *connPage) open() tea.Cmd {
	if p.pos.Cur >= len(p.a.d.health) {
		return nil
	}
	return p.a.nav.show(pageEndpoint, p.a.d.health[p.pos.Cur].Source)
}

func (p *connPage) view(w, h int) []string {
	var up, conn, down int
	for _, hl := range p.a.d.health {
		switch hl.State {
		case connectors.Connected:
			up++
		case connectors.Down:
			down++
		default:
			conn++
		}
	}
	cap := fmt.Sprintf("CONNECTIONS %d · connected %d · connecting %d · down %d", len(p.a.d.health), up, conn, down)
	return append([]string{p.a.caption(cap, w)}, connTable(p.a, w, h-1, &p.pos, true)...)
}

var connCols = []widget.Column{
	{Title: "SOURCE", W: 10, Flex: 1, Prio: 9, Max: 16},
	{Title: "PROTO", W: 6, Prio: 2},
	{Title: "ENDPOINT", W: 14, Flex: 1, Prio: 1, Max: 28},
	{Title: "STATE", W: 12, Prio: 8},
	{Title: "SINCE", W: 6, Right: true, Prio: 5},
	{Title: "LATENCY", W: 7, Right: true, Prio: 6},
	{Title: "RATE/s", W: 7, Right: true, Prio: 7},
	{Title: "ERR", W: 4, Right: true, Prio: 4},
	{Title: "RECON", W: 5, Right: true, Prio: 3},
	{Title: "GAPS", W: 4, Right: true, Prio: 3},
	{Title: "SKEW", W: 7, Right: true, Prio: 2, From: 100},
	{Title: "LAST ERROR", W: 10, Flex: 2, Prio: 5},
}

// connTable renders the endpoints in w×h cells, with pos's cursor when
// focused (the strip below the tree shows the first rows, no cursor).
func connTable(a *app, w, h int, pos *widget.Pos, focused bool) []string {
	st := &a.st
	d := a.d
	now := a.now()
	if !focused {
		pos = &widget.Pos{}
	}
	// the source column as wide as the names (the endpoints are few)
	cols := connCols
	srcW := 0
	for i := range d.health {
		srcW = max(srcW, widget.Width(d.health[i].Source))
	}
	if srcW > cols[0].W {
		cols = slices.Clone(connCols)
		cols[0].W = min(srcW, 24)
		cols[0].Max = max(cols[0].Max, cols[0].W)
	}
	return widget.Table(w, h, cols, len(d.health), pos, focused, st.table, func(r, c, cw int) (string, *widget.Paint) {
		hl := &d.health[r]
		switch c {
		case 0:
			return hl.Source, nil
		case 1:
			return hl.Protocol, nil
		case 2:
			return hl.Endpoint, nil
		case 3:
			p := st.link(hl.State)
			name := hl.State.String()
			if hl.State == connectors.Connecting && hl.Reconnects > 0 {
				name = "reconnecting"
			}
			return name, &p
		case 4:
			return ageSince(now, hl.Since), nil
		case 5:
			return fmtLatency(hl.Latency), nil
		case 6:
			return strconv.FormatFloat(d.rates[hl.Source].perSec, 'f', 1, 64), nil
		case 7:
			return strconv.FormatUint(hl.Errors, 10), nil
		case 8:
			return strconv.FormatUint(hl.Reconnects, 10), nil
		case 9:
			return strconv.FormatUint(hl.SequenceGaps, 10), nil
		case 10:
			if k, ok := d.skew[hl.Source]; ok {
				return fmtSkew(k.d), nil
			}
			return "—", nil
		case 11:
			if hl.LastError != nil {
				return hl.LastError.Error(), &st.bad
			}
		}
		return "", nil
	})
}
