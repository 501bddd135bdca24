package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/tui/widget"
)

// The fault panel: the simulator's faults, injected and cleared with
// enter. Every session given a FaultControl has it, whatever its role: a
// session the backend refuses PermFaults sees enter marked, and its
// attempt refused; it re-reads the faults every FaultRefresh while shown.

const pageFaults = "faults"

var faultsDef = pageDef{
	id: pageFaults, title: "Faults", tab: true,
	cmds: []string{"faults", "fault"}, cmdHelp: "fault panel",
	hotkey:      bind("", "f", "fault panel (when the simulator offers faults)", "f"),
	keys:        []*keyGroup{&faultKeys},
	available:   func(a *app) bool { return a.opts.Faults != nil },
	unavailable: "no simulator attached: there are no faults to inject",
	new:         func(a *app) page { return &faultsPage{a: a} },
}

const (
	actFaultToggle action = "fault-toggle"
	actFaultReload action = "fault-reload"
)

var faultKeys = keyGroup{title: "Fault panel", bindings: []binding{
	bind(actFaultToggle, "enter", "inject / clear the fault", "enter").footer("enter", "inject/clear").needs(PermFaults),
	bind(actFaultReload, "r", "refresh", "r").footer("r", "refresh"),
}}

type (
	faultTickMsg struct{ gen uint64 }
	faultsMsg    struct {
		faults []Fault
		err    error
	}
)

type faultsPage struct {
	a      *app
	faults []Fault
	pos    widget.Pos
	gen    uint64 // refresh ticks of older openings are dropped
}

func (p *faultsPage) keys() []*keyGroup { return faultsDef.keys }

func (p *faultsPage) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openMsg, resumeMsg:
		p.gen++
		return tea.Batch(p.load(), p.tick())
	case faultsMsg:
		if msg.err != nil {
			p.a.setMsg("faults: "+msg.err.Error(), true)
		} else {
			p.faults = msg.faults
			p.pos.Clamp(len(p.faults))
		}
	case faultTickMsg:
		if msg.gen == p.gen && p.a.nav.shown(p) {
			return tea.Batch(p.load(), p.tick())
		}
	case actionMsg:
		if p.a.nav.shown(p) || strings.HasPrefix(msg.what, "inject") || strings.HasPrefix(msg.what, "clear") {
			return p.load()
		}
	case moveMsg:
		p.pos.Cur += msg.d
		p.pos.Clamp(len(p.faults))
	case clickMsg:
		// a fault is toggled by key only
		if row := p.pos.Row(msg.y, 2, len(p.faults)); row >= 0 {
			p.pos.Cur = row
		}
	case doMsg:
		switch msg.act {
		case actFaultToggle:
			return p.toggle()
		case actFaultReload:
			return p.load()
		}
	}
	return nil
}

func (p *faultsPage) tick() tea.Cmd {
	gen := p.gen
	return tea.Tick(p.a.opts.FaultRefresh, func(time.Time) tea.Msg { return faultTickMsg{gen} })
}

func (p *faultsPage) load() tea.Cmd {
	fc := p.a.opts.Faults
	if fc == nil {
		return nil
	}
	return func() tea.Msg {
		f, err := fc.Faults()
		return faultsMsg{f, err}
	}
}

// toggle injects the selected fault, or clears it when active.
func (p *faultsPage) toggle() tea.Cmd {
	fc := p.a.opts.Faults
	if p.pos.Cur >= len(p.faults) || fc == nil {
		return nil
	}
	f := p.faults[p.pos.Cur]
	verb, done, act := "inject", "injected ", fc.Inject
	if f.Active {
		verb, done, act = "clear", "cleared ", fc.Clear
	}
	return func() tea.Msg {
		if err := act(f.Name); err != nil {
			return actionMsg{verb + " " + f.Name, err}
		}
		return actionMsg{done + f.Name, nil}
	}
}

var faultCols = []widget.Column{
	{Title: "NAME", W: 10, Flex: 3, Prio: 9, Max: 40},
	{Title: "KIND", W: 10, Flex: 1, Prio: 6, Max: 20},
	{Title: "TARGET", W: 10, Flex: 2, Tail: true, Prio: 7, Max: 64},
	{Title: "PROTOCOL", W: 12, Prio: 4},
	{Title: "STATE", W: 6, Prio: 8},
	{Title: "SINCE", W: 6, Right: true, Prio: 5},
}

func (p *faultsPage) view(w, h int) []string {
	st := &p.a.st
	active := 0
	for _, f := range p.faults {
		if f.Active {
			active++
		}
	}
	now := p.a.now()
	cap := fmt.Sprintf("FAULTS %d · active %d · enter injects or clears", len(p.faults), active)
	if why := p.a.refusal(PermFaults); why != "" {
		cap = fmt.Sprintf("FAULTS %d · active %d · %s", len(p.faults), active, why)
	}
	out := []string{p.a.caption(cap, w)}
	return append(out, widget.Table(w, h-1, faultCols, len(p.faults), &p.pos, true, st.table, func(r, c, cw int) (string, *widget.Paint) {
		f := &p.faults[r]
		switch c {
		case 0:
			return f.Name, nil
		case 1:
			return f.Kind, nil
		case 2:
			return f.Target, nil
		case 3:
			return f.Protocol, nil
		case 4:
			if f.Active {
				return "ACTIVE", &st.bad
			}
			return "idle", &st.dim
		case 5:
			if f.Active {
				return ageSince(now, f.Since), nil
			}
		}
		return "", nil
	})...)
}
