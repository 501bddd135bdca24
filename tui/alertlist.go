package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// alertList is the alert list the alerts page, the alert detail and the
// strip below the tree show: the session's alerts in data's order,
// filtered, with a cursor; and the actions on an alert (acknowledge,
// shelve, comment). The cursor follows the newest alert from when an
// alert view opens until the user moves it.
type alertList struct {
	a *app
	// filter is the typed filter (/).
	filter string
	// kinds, when not nil, are the only kinds of alert listed: the role's
	// opening view (roleView.alertKinds), whose role is kindsOf.
	kinds   []normalize.AlertKind
	kindsOf Role
	rows    []int // indices into data.alerts
	pos     widget.Pos
	// follow keeps the cursor on the newest alert (set when an alert
	// view opens, cleared when the user moves the cursor).
	follow bool
	// fold is the path every tag's asset starts with (data.trunk and a
	// "/"), left out of the target column; it never takes a machine.
	fold string
	// curID is the alert under the cursor, which the cursor stays on
	// when alerts come, go and change order.
	curID string
}

// The actions on an alert.
const (
	actAlertAck     action = "alert-ack"
	actAlertShelve  action = "alert-shelve"
	actAlertComment action = "alert-comment"
)

// alertActKeys act on the alert under the cursor wherever alerts are
// shown: the alerts page, the alert detail, the alerts below the tree.
var alertActKeys = keyGroup{title: "On an alert (alerts, alert detail, the alerts below the tree)", bindings: []binding{
	bind(actAlertAck, "a", "acknowledge (with optional comment); on CONF, confirm", "a").footer("a", "ack").needs(PermAck),
	bind(actAlertShelve, "S z", "shelve (reason, then duration: 15m, or empty for one-shot)", "S", "z").footer("S/z", "shelve").needs(PermShelve),
	bind(actAlertComment, "C", "comment: a note in the alert's history, without acknowledging", "C").footer("C", "comment").needs(PermComment),
}}

// setRole resets the filters to the role's opening view: no typed
// filter, and the role's kinds of alert.
func (l *alertList) setRole(r Role, view roleView) {
	l.filter = ""
	l.kinds, l.kindsOf = view.alertKinds, r
}

// refresh re-sorts the alerts, re-filters the list keeping the cursor on
// its alert (or on the newest, when following), and recounts the alerts
// per tree node.
func (l *alertList) refresh() {
	d := l.a.d
	keep := l.curID
	d.sortAlerts()
	f := strings.ToLower(l.filter)
	l.rows = l.rows[:0]
	for i := range d.alerts {
		a := &d.alerts[i]
		if l.kinds != nil && !slices.Contains(l.kinds, a.Kind) {
			continue
		}
		if f != "" && !strings.Contains(strings.ToLower(a.ID+" "+a.Target+" "+a.Message+" "+stateName(a.State)), f) && !a.Context.Match(f) {
			continue
		}
		l.rows = append(l.rows, i)
		if a.ID == keep {
			l.pos.Cur = len(l.rows) - 1
		}
	}
	if l.follow {
		l.pos.Cur = l.newest()
	}
	l.pos.Clamp(len(l.rows))
	l.setCur()
	l.fold = ""
	if d.trunk != "" {
		l.fold = d.trunk + "/"
	}
	d.countAlerts()
}

// newest is the row of the most recently raised alert, those neither
// shelved nor acknowledged first (0 when there are none).
func (l *alertList) newest() int {
	d := l.a.d
	now := l.a.now().UnixNano()
	rank := func(a *normalize.Alert) int { // lower comes first
		switch {
		case shelved(a, now):
			return 2
		case !a.Unacked():
			return 1
		}
		return 0
	}
	best, bestRank := -1, 0
	for r, i := range l.rows {
		a := &d.alerts[i]
		k := rank(a)
		if best < 0 || k < bestRank || k == bestRank && a.LastActive.After(d.alerts[l.rows[best]].LastActive) {
			best, bestRank = r, k
		}
	}
	return max(best, 0)
}

// selectNewest puts the cursor on the newest alert and keeps it there as
// alerts come, until the user moves it (an alert view opens).
func (l *alertList) selectNewest() {
	l.follow = true
	l.refresh()
}

// setCur notes the alert under the cursor.
func (l *alertList) setCur() {
	l.curID = ""
	if a := l.cur(); a != nil {
		l.curID = a.ID
	}
}

// cur is the alert under the cursor, or nil.
func (l *alertList) cur() *normalize.Alert {
	if l.pos.Cur >= len(l.rows) {
		return nil
	}
	return &l.a.d.alerts[l.rows[l.pos.Cur]]
}

// move moves the cursor by d rows; the cursor no longer follows the
// newest alert.
func (l *alertList) move(d int) {
	l.follow = false
	l.pos.Cur += d
	l.pos.Clamp(len(l.rows))
	l.setCur()
}

// startFilter opens the filter prompt; the list follows the typing, esc
// clears the filter.
func (l *alertList) startFilter() tea.Cmd {
	return l.a.nav.prompt("/", l.filter, promptSpec{
		change: func(v string) tea.Cmd {
			l.filter = v
			l.selectNewest()
			return nil
		},
		cancel: func() tea.Cmd {
			l.filter = ""
			l.refresh()
			return nil
		},
	})
}

// clearFilter drops the typed filter, or when there is none the role's
// kinds (esc).
func (l *alertList) clearFilter() {
	switch {
	case l.filter != "":
		l.filter = ""
	case l.kinds != nil:
		l.kinds = nil
	default:
		return
	}
	l.refresh()
}

// filterNote says how the list is filtered ("" when it is not): the
// role's kinds ("quality view"), the typed filter, and how many of all
// the alerts are shown.
func (l *alertList) filterNote() string {
	var parts []string
	if l.kinds != nil {
		parts = append(parts, string(l.kindsOf)+" view")
	}
	if l.filter != "" {
		parts = append(parts, "filter /"+l.filter)
	}
	if parts == nil {
		return ""
	}
	return fmt.Sprintf("%s: %d of %d (esc clears)", strings.Join(parts, " · "), len(l.rows), len(l.a.d.alerts))
}

// do runs one of alertActKeys on alert a (nil: no alert there).
func (l *alertList) do(act action, a *normalize.Alert) tea.Cmd {
	if a == nil {
		l.a.setMsg("no alert selected", false)
		return nil
	}
	switch act {
	case actAlertAck:
		if c, ok := l.a.b.(Confirmer); ok && a.AwaitsConfirm() {
			return l.confirm(a.ID, c)
		}
		return l.ack(a)
	case actAlertShelve:
		return l.shelve(a.ID)
	case actAlertComment:
		return l.comment(a.ID)
	}
	return nil
}

// msgWidth is the width status messages about an alert are made to fit,
// their id shortened as needed: the smallest first-class screen.
const msgWidth = 80 - 2

// msgID is alert id shortened to fit a status message of msgWidth with
// the rest of its text around it (an id always gets 16 cells).
func msgID(id, around string) string {
	return shortAlert(id, max(msgWidth-widget.Width(around), 16))
}

// alertPrompt is a prompt about alert id: verb, the id shortened to
// leave the text typed room on a line w cells wide, then what is asked.
func alertPrompt(verb, id, ask string) func(w int) string {
	return func(w int) string {
		room := w - min(widget.MinInput, w/2) - 2 - widget.Width(verb) - widget.Width(ask) - 1
		return verb + " " + shortAlert(id, room) + ask
	}
}

// attempt runs a backend action for alert id in a tea.Cmd; its result
// says done (a format with one %s, the id), or "<verb> <id>: <error>".
func attempt(verb, id, done string, f func() error) tea.Cmd {
	return func() tea.Msg {
		if err := f(); err != nil {
			return actionMsg{verb + " " + msgID(id, verb+"  : "+err.Error()), err}
		}
		return actionMsg{fmt.Sprintf(done, msgID(id, fmt.Sprintf(done, ""))), nil}
	}
}

// ask asks about alert id ("<verb> <id><question>") and runs then with
// the answer. A session the backend refuses perm is not asked: now runs
// at once, sending the attempt to the backend, which refuses (and
// audits) it.
func (l *alertList) ask(perm Permission, verb, id, question string, then func(text string) tea.Cmd, now func() tea.Cmd) tea.Cmd {
	if !l.a.may(perm) {
		return now()
	}
	return l.a.nav.promptFor(alertPrompt(verb, id, question), promptSpec{submit: then})
}

// ack asks for a comment and acknowledges alert a: the backend passes
// an owned alert's acknowledgement to its owner, whose answer is shown.
func (l *alertList) ack(a *normalize.Alert) tea.Cmd {
	b, id := l.a.b, a.ID
	done := "acknowledged %s"
	if a.Owner != nil {
		done += ": " + a.Owner.Name + " answered Good"
	}
	send := func(comment string) tea.Cmd {
		return attempt("ack", id, done, func() error { return b.Ack(id, comment) })
	}
	return l.ask(PermAck, "ack", id, " comment: ", send, func() tea.Cmd { return send("") })
}

// confirm asks for a comment and confirms alert id, an acknowledged
// condition its owner keeps until it is confirmed.
func (l *alertList) confirm(id string, c Confirmer) tea.Cmd {
	send := func(comment string) tea.Cmd {
		return attempt("confirm", id, "confirmed %s", func() error { return c.Confirm(id, comment) })
	}
	return l.ask(PermAck, "confirm", id, " comment: ", send, func() tea.Cmd { return send("") })
}

// shelve asks for a reason, then a duration, and shelves alert id.
func (l *alertList) shelve(id string) tea.Cmd {
	then := func(reason string) tea.Cmd {
		return l.a.nav.prompt("shelve for (e.g. 15m; empty = until it clears): ", "", promptSpec{submit: func(dur string) tea.Cmd {
			return l.shelveFor(id, reason, dur)
		}})
	}
	return l.ask(PermShelve, "shelve", id, " reason: ", then, func() tea.Cmd { return l.shelveFor(id, "", "") })
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
			tail := fmt.Sprintf(": bad duration %q (e.g. 15m, 2h, or empty for until it clears)", dur)
			l.a.setMsg("shelve "+msgID(id, "shelve "+tail)+tail, true)
			return nil
		}
	}
	b := l.a.b
	done := "shelved %s for " + d.String()
	if oneShot {
		done = "shelved %s until it clears"
	}
	return attempt("shelve", id, done, func() error { return b.Shelve(id, reason, d, oneShot) })
}

// comment asks for a note and adds it to alert id's history.
func (l *alertList) comment(id string) tea.Cmd {
	b := l.a.b
	send := func(text string) tea.Cmd {
		return attempt("comment on", id, "comment added to %s", func() error { return b.Comment(id, text) })
	}
	then := func(text string) tea.Cmd {
		if text == "" {
			l.a.setMsg("empty comment: nothing added", false)
			return nil
		}
		return send(text)
	}
	return l.ask(PermComment, "comment on", id, ": ", then, func() tea.Cmd { return send("") })
}

// listMessage is an alert's message as the list shows it: an alert
// another system owns (an OPC UA server's alarm) starts with its owner,
// which sets it apart from this collector's data-quality alerts at any
// width.
func listMessage(a *normalize.Alert) string {
	if a.Owner == nil {
		return a.Message
	}
	return a.Owner.Name + ": " + a.Message
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

// table renders the list in w×h cells with the list's cursor, marked
// "›" when not focused.
func (l *alertList) table(w, h int, focused bool) []string {
	st := &l.a.st
	now := l.a.now()
	nowN := now.UnixNano()
	return widget.Table(w, h, alertCols, len(l.rows), &l.pos, focused, st.table, func(r, c, cw int) (string, *widget.Paint) {
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
			if a.State == normalize.Normal && a.AwaitsConfirm() {
				return confirmName, nil
			}
			return stateName(a.State), nil
		case 2:
			if a.NotCurrent() {
				return notCurrentMark, &st.dim
			}
			if shelved(a, nowN) {
				return "Z", &st.dim
			}
			return "", nil
		case 3:
			return ageSince(now, a.LastActive), nil
		case 4:
			return strconv.Itoa(a.Count), nil
		case 5:
			return strings.TrimPrefix(a.Target, l.fold), nil
		case 6:
			if shelved(a, nowN) || a.NotCurrent() {
				return listMessage(a), &st.dim
			}
			return listMessage(a), nil
		case 7:
			return string(a.Kind), nil
		case 8:
			return a.AckedBy, nil
		}
		return "", nil
	})
}
