package tui

import (
	"fmt"
	"strconv"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// The alert detail, over the alerts page: every field of the alert and
// its history, newest first; acknowledge, shelve, and t for the alert's
// tag or endpoint.

const pageAlertDetail = "alert-detail"

var alertDetailDef = pageDef{
	id: pageAlertDetail, title: "Alert",
	keys: []*keyGroup{&detailKeys, &alertActKeys, &alertDetailKeys},
	new:  func(a *app) page { return &alertDetailPage{scrolled: scrolled{a: a}} },
}

const actAlertTarget action = "alert-target"

var alertDetailKeys = keyGroup{title: "Alert detail", bindings: []binding{
	bind(actAlertTarget, "t", "the alert's target: its tag, or its endpoint", "t").footer("t", "target"),
}}

type alertDetailPage struct {
	scrolled // the app, and the id it was opened about (arg)
}

func (p *alertDetailPage) keys() []*keyGroup { return alertDetailDef.keys }

func (p *alertDetailPage) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := p.scrolled.update(msg); ok {
		return cmd
	}
	if msg, ok := msg.(doMsg); ok {
		switch msg.act {
		case actAlertAck, actAlertShelve, actAlertComment:
			return p.a.alerts.do(msg.act, p.a.d.alertByID(p.arg))
		case actAlertTarget:
			return p.target()
		}
	}
	return nil
}

// target shows the alert's tag, or the endpoint it is about.
func (p *alertDetailPage) target() tea.Cmd {
	a := p.a.d.alertByID(p.arg)
	switch {
	case a == nil:
		return nil
	case p.a.d.tag(a.Target) != nil:
		return p.a.nav.show(pageTagDetail, a.Target)
	case p.a.d.endpoint(a.Target) >= 0:
		return p.a.nav.show(pageEndpoint, a.Target)
	}
	p.a.setMsg(a.Target+" is neither a tag nor an endpoint here", true)
	return nil
}

func (p *alertDetailPage) view(w, h int) []string {
	st := &p.a.st
	a := p.a.d.alertByID(p.arg)
	if a == nil {
		return []string{widget.Fit(" alert "+p.arg+" is no longer active", w)}
	}
	now := p.a.now()
	shelf := "no"
	if a.ShelvedOneShot {
		shelf = "until it clears (one-shot) by " + a.ShelvedBy + ": " + a.ShelveReason
	} else if !a.ShelvedUntil.IsZero() && a.ShelvedUntil.After(now) {
		shelf = "until " + fmtTime(a.ShelvedUntil) + " by " + a.ShelvedBy + ": " + a.ShelveReason
	}
	acked := "—"
	if a.AckedBy != "" {
		acked = a.AckedBy + " at " + fmtTime(a.AckedAt)
		if a.Comment != "" {
			acked += ": " + a.Comment
		}
	}
	none := widget.Paint{}
	lines := []string{p.a.caption("ALERT "+shortAlert(a.ID, w-7), w)}
	lines = st.kvLines(lines, w, "kind", string(a.Kind), none)
	lines = st.kvLines(lines, w, "target", a.Target, none)
	state := stateText(a.State)
	if a.AwaitsConfirm() {
		state += "; acknowledged, kept by " + a.Owner.Name + " until confirmed (a confirms)"
	}
	lines = append(lines, st.kvPaint(w, "severity", sevName(a.Severity), st.sevStyle(a.Severity)))
	lines = st.kvLines(lines, w, "state", state, none)
	lines = ownerLines(st, lines, w, a, now)
	lines = st.kvLines(lines, w, "message", a.Message, none)
	if !a.Context.Empty() {
		lines = st.kvLines(lines, w, "context", contextLine(a.Context), none)
	}
	lines = append(lines,
		st.kv(w, "first active", fmtTime(a.FirstActive)),
		st.kv(w, "last active", fmtTime(a.LastActive)+"  ("+ageSince(now, a.LastActive)+" ago)"),
		st.kv(w, "cleared", fmtTime(a.Cleared)),
		st.kv(w, "count", strconv.Itoa(a.Count)))
	lines = st.kvLines(lines, w, "acked", acked, none)
	lines = st.kvLines(lines, w, "shelved", shelf, none)
	lines = append(lines, p.a.caption("HISTORY (newest first)", w))
	hist := p.a.b.AlertHistory(a.ID)
	for i := len(hist) - 1; i >= 0; i-- {
		e := hist[i]
		l := fmt.Sprintf("%s  %-9s %-5s %s", fmtTime(e.At), e.What, stateName(e.State), e.User)
		if e.Comment != "" {
			l += "  " + strconv.Quote(e.Comment)
		}
		for k, part := range widget.Wrap(l, w-4) {
			if k > 0 {
				part = "   " + part // under the time
			}
			lines = append(lines, widget.Fit(" "+part, w))
		}
	}
	if len(hist) == 0 {
		lines = append(lines, widget.Fit(" (none)", w))
	}
	return p.window(lines, h)
}

// ownerLines appends who holds an owned alert's state and whether it is
// current.
func ownerLines(st *styles, lines []string, w int, a *normalize.Alert, now time.Time) []string {
	o := a.Owner
	if o == nil {
		return lines
	}
	none := widget.Paint{}
	lines = st.kvLines(lines, w, "owner", o.Name+", condition "+o.Ref+"; acknowledgements go there", none)
	current := "yes: as " + o.Name + " last said"
	if !o.Current {
		current = "no: shown as last known"
		if !o.Lost.IsZero() {
			current += " since " + fmtTime(o.Lost) + " (" + ageSince(now, o.Lost) + " ago)"
		}
		if o.Why != "" {
			current += "; " + o.Why
		}
	}
	return st.kvLines(lines, w, "current", current, none)
}
