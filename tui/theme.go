package tui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// styles are the theme, built once per session from its renderer.
type styles struct {
	header, tab, tabActive, title    lipgloss.Style
	status, statusErr, hint, dim     lipgloss.Style
	colHead, selected, focusBorder   lipgloss.Style
	good, uncertain, bad             lipgloss.Style
	sev                              [5]lipgloss.Style
	linkUp, linkConnecting, linkDown lipgloss.Style
	label, spark                     lipgloss.Style
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
		header:         r.NewStyle().Background(a("236", "254")).Foreground(a("252", "236")),
		tab:            r.NewStyle().Background(a("236", "254")).Foreground(a("245", "242")),
		tabActive:      r.NewStyle().Background(c("31")).Foreground(c("231")).Bold(true),
		title:          r.NewStyle().Background(a("236", "254")).Foreground(a("45", "25")).Bold(true),
		status:         r.NewStyle().Background(a("235", "253")).Foreground(a("250", "238")),
		statusErr:      r.NewStyle().Foreground(a("203", "160")).Bold(true),
		hint:           r.NewStyle().Foreground(a("243", "245")),
		dim:            r.NewStyle().Foreground(a("242", "246")),
		colHead:        r.NewStyle().Foreground(a("110", "25")).Bold(true),
		selected:       r.NewStyle().Background(a("24", "153")).Foreground(a("231", "16")),
		focusBorder:    r.NewStyle().Foreground(c("31")),
		good:           r.NewStyle().Foreground(a("78", "28")),
		uncertain:      r.NewStyle().Foreground(a("220", "130")),
		bad:            r.NewStyle().Foreground(a("203", "160")).Bold(true),
		linkUp:         r.NewStyle().Foreground(a("78", "28")),
		linkConnecting: r.NewStyle().Foreground(a("220", "130")),
		linkDown:       r.NewStyle().Foreground(a("203", "160")).Bold(true),
		label:          r.NewStyle().Foreground(a("110", "25")),
		spark:          r.NewStyle().Foreground(a("75", "26")),
	}
	s.sev[0] = r.NewStyle()
	s.sev[normalize.SeverityLow] = r.NewStyle().Foreground(a("75", "26"))
	s.sev[normalize.SeverityMedium] = r.NewStyle().Foreground(a("220", "130"))
	s.sev[normalize.SeverityHigh] = r.NewStyle().Foreground(a("208", "166")).Bold(true)
	s.sev[normalize.SeverityCritical] = r.NewStyle().Foreground(c("196")).Bold(true)
	return s
}

func (s *styles) sevStyle(v normalize.AlertSeverity) lipgloss.Style {
	if v < 0 || int(v) >= len(s.sev) {
		return s.sev[0]
	}
	return s.sev[v]
}

func (s *styles) quality(c connectors.StatusCode) lipgloss.Style {
	switch c.Severity() {
	case connectors.SeverityGood:
		return s.good
	case connectors.SeverityUncertain:
		return s.uncertain
	default:
		return s.bad
	}
}

func (s *styles) link(st connectors.LinkState) lipgloss.Style {
	switch st {
	case connectors.Connected:
		return s.linkUp
	case connectors.Down:
		return s.linkDown
	default:
		return s.linkConnecting
	}
}
