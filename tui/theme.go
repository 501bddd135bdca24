package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// paint is a style reduced to the escape sequences around its text,
// computed once: applying it is a concatenation, not a lipgloss render.
// It suits single-line text without padding, borders or widths.
type paint struct{ pre, suf string }

func newPaint(st lipgloss.Style) paint {
	const mark = "\x00"
	r := st.Render(mark)
	i := strings.Index(r, mark)
	if i < 0 {
		return paint{}
	}
	return paint{pre: r[:i], suf: r[i+len(mark):]}
}

// Render returns text in the style.
func (p paint) Render(text string) string {
	if p.pre == "" && p.suf == "" {
		return text
	}
	return p.pre + text + p.suf
}

// styles are the theme, built once per session from its renderer.
type styles struct {
	header, tab, tabActive, title    paint
	status, statusErr, hint, dim     paint
	colHead, selected, focusBorder   paint
	good, uncertain, bad             paint
	sev                              [5]paint
	linkUp, linkConnecting, linkDown paint
	label, spark                     paint
}

func newStyles(r *lipgloss.Renderer, noColor bool) styles {
	if noColor {
		nr := lipgloss.NewRenderer(nil)
		nr.SetColorProfile(termenv.Ascii)
		r = nr
	} else if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	c := func(s string) lipgloss.TerminalColor { return lipgloss.Color(s) }
	// a: dark-background colour, light-background colour
	a := func(dark, light string) lipgloss.TerminalColor {
		return lipgloss.AdaptiveColor{Dark: dark, Light: light}
	}
	s := styles{
		header:         newPaint(r.NewStyle().Background(a("236", "254")).Foreground(a("252", "236"))),
		tab:            newPaint(r.NewStyle().Background(a("236", "254")).Foreground(a("245", "242"))),
		tabActive:      newPaint(r.NewStyle().Background(c("31")).Foreground(c("231")).Bold(true)),
		title:          newPaint(r.NewStyle().Background(a("236", "254")).Foreground(a("45", "25")).Bold(true)),
		status:         newPaint(r.NewStyle().Background(a("235", "253")).Foreground(a("250", "238"))),
		statusErr:      newPaint(r.NewStyle().Foreground(a("203", "160")).Bold(true)),
		hint:           newPaint(r.NewStyle().Foreground(a("243", "245"))),
		dim:            newPaint(r.NewStyle().Foreground(a("242", "246"))),
		colHead:        newPaint(r.NewStyle().Foreground(a("110", "25")).Bold(true)),
		selected:       newPaint(r.NewStyle().Background(a("24", "153")).Foreground(a("231", "16"))),
		focusBorder:    newPaint(r.NewStyle().Foreground(c("31"))),
		good:           newPaint(r.NewStyle().Foreground(a("78", "28"))),
		uncertain:      newPaint(r.NewStyle().Foreground(a("220", "130"))),
		bad:            newPaint(r.NewStyle().Foreground(a("203", "160")).Bold(true)),
		linkUp:         newPaint(r.NewStyle().Foreground(a("78", "28"))),
		linkConnecting: newPaint(r.NewStyle().Foreground(a("220", "130"))),
		linkDown:       newPaint(r.NewStyle().Foreground(a("203", "160")).Bold(true)),
		label:          newPaint(r.NewStyle().Foreground(a("110", "25"))),
		spark:          newPaint(r.NewStyle().Foreground(a("75", "26"))),
	}
	s.sev[0] = newPaint(r.NewStyle())
	s.sev[normalize.SeverityLow] = newPaint(r.NewStyle().Foreground(a("75", "26")))
	s.sev[normalize.SeverityMedium] = newPaint(r.NewStyle().Foreground(a("220", "130")))
	s.sev[normalize.SeverityHigh] = newPaint(r.NewStyle().Foreground(a("208", "166")).Bold(true))
	s.sev[normalize.SeverityCritical] = newPaint(r.NewStyle().Foreground(c("196")).Bold(true))
	return s
}

func (s *styles) sevStyle(v normalize.AlertSeverity) paint {
	if v < 0 || int(v) >= len(s.sev) {
		return s.sev[0]
	}
	return s.sev[v]
}

func (s *styles) quality(c connectors.StatusCode) paint {
	switch c.Severity() {
	case connectors.SeverityGood:
		return s.good
	case connectors.SeverityUncertain:
		return s.uncertain
	default:
		return s.bad
	}
}

func (s *styles) link(st connectors.LinkState) paint {
	switch st {
	case connectors.Connected:
		return s.linkUp
	case connectors.Down:
		return s.linkDown
	default:
		return s.linkConnecting
	}
}
