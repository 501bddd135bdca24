package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// alertList is the alert list the alerts page, the alert detail and the
// strip below the tree show: the session's alerts in data's order,
// filtered, with a cursor; and the acknowledge and shelve actions.
type alertList struct {
	a      *app
	filter string
	rows   []int // indices into data.alerts
	pos    widget.Pos
}

// setRole resets the filter to the role's (quality: out-of-range alerts).
func (l *alertList) setRole(r Role) {
	l.filter = ""
	if r == RoleQuality {
		l.filter = string(normalize.AlertOutOfRange)
	}
}

// refresh re-sorts the alerts, re-filters the list keeping the cursor on
// its alert, and recounts the alerts per tree node.
func (l *alertList) refresh() {
	d := l.a.d
	keep := ""
	if l.pos.Cur < len(l.rows) && l.rows[l.pos.Cur] < len(d.alerts) {
		keep = d.alerts[l.rows[l.pos.Cur]].ID
	}
	d.sortAlerts()
	f := strings.ToLower(l.filter)
	l.rows = l.rows[:0]
	for i := range d.alerts {
		a := &d.alerts[i]
		if f != "" && !strings.Contains(strings.ToLower(a.ID+" "+a.Target+" "+a.Message+" "+stateName(a.State)), f) {
			continue
		}
		l.rows = append(l.rows, i)
		if a.ID == keep {
			l.pos.Cur = len(l.rows) - 1
		}
	}
	l.pos.Clamp(len(l.rows))
	d.countAlerts()
}

// cur is the alert under the cursor, or nil.
func (l *alertList) cur() *normalize.Alert {
	if l.pos.Cur >= len(l.rows) {
		return nil
	}
	return &l.a.d.alerts[l.rows[l.pos.Cur]]
}

func (l *alertList) move(d int) {
	l.pos.Cur += d
	l.pos.Clamp(len(l.rows))
}

// startFilter opens the filter prompt; the list follows the typing, esc
// clears the filter.
func (l *alertList) startFilter() tea.Cmd {
	return l.a.nav.prompt("/", l.filter, promptSpec{
		change: func(v string) tea.Cmd {
			l.filter = v
			l.pos = widget.Pos{}
			l.refresh()
			return nil
		},
		cancel: func() tea.Cmd {
			l.filter = ""
			l.refresh()
			return nil
		},
	})
}

// clearFilter drops the filter (esc).
func (l *alertList) clearFilter() {
	if l.filter != "" {
		l.filter = ""
		l.refresh()
	}
}

// ack asks for a comment and acknowledges a.
func (l *alertList) ack(a *normalize.Alert) tea.Cmd {
	if a == nil {
		return nil
	}
	id, b := a.ID, l.a.b
	return l.a.nav.prompt("ack "+id+" comment: ", "", promptSpec{submit: func(comment string) tea.Cmd {
		return func() tea.Msg {
			if err := b.Ack(id, comment); err != nil {
				return actionMsg{"ack " + id, err}
			}
			return actionMsg{"acknowledged " + id, nil}
		}
	}})
}

// shelve asks for a reason, then a duration, and shelves a.
func (l *alertList) shelve(a *normalize.Alert) tea.Cmd {
	if a == nil {
		return nil
	}
	id := a.ID
	return l.a.nav.prompt("shelve "+id+" reason: ", "", promptSpec{submit: func(reason string) tea.Cmd {
		return l.a.nav.prompt("shelve for (e.g. 15m; empty = one-shot): ", "", promptSpec{submit: func(dur string) tea.Cmd {
			return l.shelveFor(id, reason, dur)
		}})
	}})
}

// shelveFor shelves alert id for dur ("" or "once": until it clears).
func (l *alertList) shelveFor(id, reason, dur string) tea.Cmd {
	var d time.Duration
	oneShot := false
	switch strings.ToLower(dur) {
	case "", "once", "oneshot", "one-shot":
		oneShot = true
	default:
		var err error
		d, err = time.ParseDuration(dur)
		if err != nil || d <= 0 {
			l.a.setMsg(fmt.Sprintf("shelve %s: bad duration %q (e.g. 15m, 2h, or empty for one-shot)", id, dur), true)
			return nil
		}
	}
	b := l.a.b
	return func() tea.Msg {
		if err := b.Shelve(id, reason, d, oneShot); err != nil {
			return actionMsg{"shelve " + id, err}
		}
		if oneShot {
			return actionMsg{"shelved " + id + " until it clears", nil}
		}
		return actionMsg{"shelved " + id + " for " + d.String(), nil}
	}
}

// alertCols are the alert table's columns.
var alertCols = []widget.Column{
	{Title: "SEV", W: 4, Prio: 9},
	{Title: "STATE", W: 5, Prio: 8},
	{Title: "Z", W: 1, Prio: 6},
	{Title: "AGE", W: 6, Right: true, Prio: 5},
	{Title: "CNT", W: 3, Right: true, Prio: 3},
	{Title: "TARGET", W: 16, Flex: 2, Tail: true, Prio: 7, Max: 56},
	{Title: "MESSAGE", W: 10, Flex: 3, Prio: 4},
	{Title: "KIND", W: 17, Prio: 2, From: 120},
	{Title: "ACKED BY", W: 10, Prio: 1, From: 140},
}

// table renders the list in w×h cells with the list's cursor when
// focused, else its first rows without one.
func (l *alertList) table(w, h int, focused bool) []string {
	st := &l.a.st
	now := l.a.now()
	nowN := now.UnixNano()
	pos := &l.pos
	if !focused {
		pos = &widget.Pos{} // the strip below the tree shows the first rows
	}
	return widget.Table(w, h, alertCols, len(l.rows), pos, focused, st.table, func(r, c, cw int) (string, *widget.Paint) {
		a := &l.a.d.alerts[l.rows[r]]
		switch c {
		case 0:
			p := st.sevStyle(a.Severity)
			return sevName(a.Severity), &p
		case 1:
			if a.State == normalize.ActiveUnacked {
				p := st.sevStyle(a.Severity)
				return "UNACK", &p
			}
			return stateName(a.State), nil
		case 2:
			if shelved(a, nowN) {
				return "Z", &st.dim
			}
			return "", nil
		case 3:
			return ageSince(now, a.LastActive), nil
		case 4:
			return strconv.Itoa(a.Count), nil
		case 5:
			return a.Target, nil
		case 6:
			if shelved(a, nowN) {
				return a.Message, &st.dim
			}
			return a.Message, nil
		case 7:
			return string(a.Kind), nil
		case 8:
			return a.AckedBy, nil
		}
		return "", nil
	})
}
