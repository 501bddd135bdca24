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
	s := styles{
		header:         r.NewStyle().Background(c("236")).Foreground(c("252")),
		tab:            r.NewStyle().Background(c("236")).Foreground(c("245")),
		tabActive:      r.NewStyle().Background(c("31")).Foreground(c("231")).Bold(true),
		title:          r.NewStyle().Background(c("236")).Foreground(c("45")).Bold(true),
		status:         r.NewStyle().Background(c("235")).Foreground(c("250")),
		statusErr:      r.NewStyle().Background(c("235")).Foreground(c("203")).Bold(true),
		hint:           r.NewStyle().Foreground(c("243")),
		dim:            r.NewStyle().Foreground(c("242")),
		colHead:        r.NewStyle().Foreground(c("110")).Bold(true),
		selected:       r.NewStyle().Background(c("24")).Foreground(c("231")),
		focusBorder:    r.NewStyle().Foreground(c("31")),
		good:           r.NewStyle().Foreground(c("78")),
		uncertain:      r.NewStyle().Foreground(c("220")),
		bad:            r.NewStyle().Foreground(c("203")).Bold(true),
		linkUp:         r.NewStyle().Foreground(c("78")),
		linkConnecting: r.NewStyle().Foreground(c("220")),
		linkDown:       r.NewStyle().Foreground(c("203")).Bold(true),
		label:          r.NewStyle().Foreground(c("110")),
		spark:          r.NewStyle().Foreground(c("75")),
	}
	s.sev[0] = r.NewStyle()
	s.sev[normalize.SeverityLow] = r.NewStyle().Foreground(c("75"))
	s.sev[normalize.SeverityMedium] = r.NewStyle().Foreground(c("220"))
	s.sev[normalize.SeverityHigh] = r.NewStyle().Foreground(c("208")).Bold(true)
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
