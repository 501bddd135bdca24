package tui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// styles are the theme, built once per session from its renderer.
type styles struct {
	header, tab, tabActive, title    widget.Paint
	status, statusErr, hint, dim     widget.Paint
	colHead, selected                widget.Paint
	good, uncertain, bad             widget.Paint
	sev                              [5]widget.Paint
	linkUp, linkConnecting, linkDown widget.Paint
	label, spark                     widget.Paint
	table                            widget.TableStyle
	footer                           widget.FooterStyle
}

// sessionRenderer is the renderer a session's styles use: r, the default
// renderer when r is nil, or a plain-text (Ascii) one under noColor.
func sessionRenderer(r *lipgloss.Renderer, noColor bool) *lipgloss.Renderer {
	if noColor {
		nr := lipgloss.NewRenderer(nil)
		nr.SetColorProfile(termenv.Ascii)
		return nr
	}
	if r == nil {
		return lipgloss.DefaultRenderer()
	}
	return r
}

func newStyles(r *lipgloss.Renderer, noColor bool) styles {
	r = sessionRenderer(r, noColor)
	c := func(s string) lipgloss.TerminalColor { return lipgloss.Color(s) }
	// a: dark-background colour, light-background colour
	a := func(dark, light string) lipgloss.TerminalColor {
		return lipgloss.AdaptiveColor{Dark: dark, Light: light}
	}
	s := styles{
		header:         widget.NewPaint(r.NewStyle().Background(a("236", "254")).Foreground(a("252", "236"))),
		tab:            widget.NewPaint(r.NewStyle().Background(a("236", "254")).Foreground(a("245", "242"))),
		tabActive:      widget.NewPaint(r.NewStyle().Background(c("31")).Foreground(c("231")).Bold(true)),
		title:          widget.NewPaint(r.NewStyle().Background(a("236", "254")).Foreground(a("45", "25")).Bold(true)),
		status:         widget.NewPaint(r.NewStyle().Background(a("235", "253")).Foreground(a("250", "238"))),
		statusErr:      widget.NewPaint(r.NewStyle().Foreground(a("203", "160")).Bold(true)),
		hint:           widget.NewPaint(r.NewStyle().Foreground(a("243", "245"))),
		dim:            widget.NewPaint(r.NewStyle().Foreground(a("242", "246"))),
		colHead:        widget.NewPaint(r.NewStyle().Foreground(a("110", "25")).Bold(true)),
		selected:       widget.NewPaint(r.NewStyle().Background(a("24", "153")).Foreground(a("231", "16"))),
		good:           widget.NewPaint(r.NewStyle().Foreground(a("78", "28"))),
		uncertain:      widget.NewPaint(r.NewStyle().Foreground(a("220", "130"))),
		bad:            widget.NewPaint(r.NewStyle().Foreground(a("203", "160")).Bold(true)),
		linkUp:         widget.NewPaint(r.NewStyle().Foreground(a("78", "28"))),
		linkConnecting: widget.NewPaint(r.NewStyle().Foreground(a("220", "130"))),
		linkDown:       widget.NewPaint(r.NewStyle().Foreground(a("203", "160")).Bold(true)),
		label:          widget.NewPaint(r.NewStyle().Foreground(a("110", "25"))),
		spark:          widget.NewPaint(r.NewStyle().Foreground(a("75", "26"))),
	}
	s.table = widget.TableStyle{Head: s.colHead, Selected: s.selected, Empty: s.dim}
	// a key the session may not use: struck through and dim; plain text
	// has no attributes, so a mark follows it
	s.footer = widget.FooterStyle{On: s.hint, Off: widget.NewPaint(r.NewStyle().Foreground(a("240", "249")).Strikethrough(true))}
	if r.ColorProfile() == termenv.Ascii {
		s.footer.OffMark = offMark
	}
	s.sev[0] = widget.NewPaint(r.NewStyle())
	s.sev[normalize.SeverityLow] = widget.NewPaint(r.NewStyle().Foreground(a("75", "26")))
	s.sev[normalize.SeverityMedium] = widget.NewPaint(r.NewStyle().Foreground(a("220", "130")))
	s.sev[normalize.SeverityHigh] = widget.NewPaint(r.NewStyle().Foreground(a("208", "166")).Bold(true))
	s.sev[normalize.SeverityCritical] = widget.NewPaint(r.NewStyle().Foreground(c("196")).Bold(true))
	return s
}

func (s *styles) sevStyle(v normalize.AlertSeverity) widget.Paint {
	if v < 0 || int(v) >= len(s.sev) {
		return s.sev[0]
	}
	return s.sev[v]
}

func (s *styles) quality(c connectors.StatusCode) widget.Paint {
	switch c.Severity() {
	case connectors.SeverityGood:
		return s.good
	case connectors.SeverityUncertain:
		return s.uncertain
	default:
		return s.bad
	}
}

func (s *styles) link(st connectors.LinkState) widget.Paint {
	switch st {
	case connectors.Connected:
		return s.linkUp
	case connectors.Down:
		return s.linkDown
	default:
		return s.linkConnecting
	}
}

// caption renders a pane's title line.
func (s *styles) caption(text string, w int) string {
	return s.label.Render(widget.Fit(" "+text, w))
}

// kvWidth is the label column of a detail page.
const kvWidth = 14

// kv renders a "label  value" line of a detail page.
func (s *styles) kv(w int, label, value string) string {
	return s.kvPaint(w, label, value, widget.Paint{})
}

// kvLines appends a "label  value" entry to dst whose value wraps, the
// lines after the first indented under it: a long message or error is
// read whole.
func (s *styles) kvLines(dst []string, w int, label, value string, p widget.Paint) []string {
	vw := w - kvWidth
	if vw < 8 {
		return append(dst, s.kvPaint(w, label, value, p))
	}
	for i, l := range widget.Wrap(value, vw) {
		if i == 0 {
			dst = append(dst, s.label.Render(widget.Fit(" "+label, kvWidth))+p.Render(widget.Fit(l, vw)))
		} else {
			dst = append(dst, widget.Fit("", kvWidth)+p.Render(widget.Fit(l, vw)))
		}
	}
	return dst
}

// kvPaint is kv with the value painted.
func (s *styles) kvPaint(w int, label, value string, p widget.Paint) string {
	return s.label.Render(widget.Fit(" "+label, kvWidth)) + p.Render(widget.Fit(value, w-kvWidth))
}
