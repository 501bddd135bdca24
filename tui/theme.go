package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
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

// newInput returns the bottom line's editor, styled by r. The cursor never
// blinks (no ticks, so no redraws of their own): with colour it is a static
// reverse-video cell; under noColor the library's cursor is hidden and the
// line is plain text with a "█" before the cell the cursor is on (see
// inputCursorCells). ctrl+v is unbound: the clipboard the library would
// read is the server's, not the user's (a terminal paste arrives as keys
// and is inserted).
func newInput(r *lipgloss.Renderer, noColor bool) textinput.Model {
	r = sessionRenderer(r, noColor)
	in := textinput.New()
	in.Prompt = ""
	in.PromptStyle = r.NewStyle()
	in.TextStyle = r.NewStyle()
	in.PlaceholderStyle = r.NewStyle()
	in.CompletionStyle = r.NewStyle()
	in.Cursor.Style = r.NewStyle()
	in.Cursor.TextStyle = r.NewStyle()
	in.KeyMap.Paste = key.NewBinding(key.WithDisabled())
	mode := cursor.CursorStatic
	if noColor {
		mode = cursor.CursorHide
		// a hidden cursor renders its cell in TextStyle
		in.Cursor.TextStyle = r.NewStyle().Transform(func(cell string) string { return "█" + cell })
	}
	in.Cursor.SetMode(mode)
	return in
}

// inputCursorCells is how many cells the cursor adds to the editor's text.
func inputCursorCells(noColor bool) int {
	if noColor {
		return 2 // the mark and the cell after the text
	}
	return 1
}

func newStyles(r *lipgloss.Renderer, noColor bool) styles {
	r = sessionRenderer(r, noColor)
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
