package widget

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Width is the display width of s in cells (ANSI sequences count zero);
// plain ASCII, the common case, skips grapheme segmentation.
func Width(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c < 0x20 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// Fit truncates plain s to w cells (ending in "…" when cut) and pads it
// with spaces to exactly w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := Width(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = Width(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// TrimPath shortens a "/"-separated path to at most w cells by folding
// whole leading segments into "…": "…/press1/temperature". Only when the
// last segment alone does not fit is it cut, keeping its end. A path that
// fits is returned as it is; the result is not padded.
func TrimPath(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := Width(s)
	if sw <= w {
		return s
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' && i+1 < len(s) {
			if rest := s[i:]; Width(rest)+1 <= w {
				return "…" + rest
			}
		}
	}
	return ansi.TruncateLeft(s, sw-w+1, "…")
}

// FitPath is TrimPath padded to exactly w cells.
func FitPath(s string, w int) string {
	s = TrimPath(s, w)
	if sw := Width(s); sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// Wrap breaks plain s into lines of at most w cells, at spaces, and after
// "/", ";", "," or "-" within a long word; a word longer than a line is
// broken where it must. It returns at least one line.
func Wrap(s string, w int) []string {
	if w <= 0 {
		return []string{""}
	}
	if Width(s) <= w && !strings.Contains(s, "\n") {
		return []string{s}
	}
	// the library breaks after every "-": an arrow ("a->b", in network
	// errors) stays whole behind a look-alike hyphen
	const arrow, kept = "->", "\u2010>"
	out := ansi.Wrap(strings.ReplaceAll(s, arrow, kept), w, "/;,")
	return strings.Split(strings.ReplaceAll(out, kept, arrow), "\n")
}

// FitRight is Fit aligned right.
func FitRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := Width(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-sw) + s
}

// Paint is a style reduced to the escape sequences around its text,
// computed once: applying it is a concatenation, not a lipgloss render.
// It suits single-line text without padding, borders or widths. The zero
// Paint leaves text as it is.
type Paint struct{ pre, suf string }

// NewPaint reduces st to a Paint.
func NewPaint(st lipgloss.Style) Paint {
	const mark = "\x00"
	r := st.Render(mark)
	i := strings.Index(r, mark)
	if i < 0 {
		return Paint{}
	}
	return Paint{pre: r[:i], suf: r[i+len(mark):]}
}

// Render returns text in the style.
func (p Paint) Render(text string) string {
	if p.pre == "" && p.suf == "" {
		return text
	}
	return p.pre + text + p.suf
}
