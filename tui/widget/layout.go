package widget

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Pad appends lines of w spaces until there are h lines.
func Pad(lines []string, w, h int) []string {
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return lines
}

// Beside appends to dst the lines of left and right joined with sep
// between them, for as many lines as left has (right must have at least
// as many).
func Beside(dst, left, right []string, sep string) []string {
	for i := range left {
		dst = append(dst, left[i]+sep+right[i])
	}
	return dst
}

// Exact cuts (keeping escape sequences) or pads each line to exactly w
// cells, for a screen too small for the panes to size themselves.
func Exact(lines []string, w int) {
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			lines[i] = ansi.Truncate(l, w, "")
		} else if lw < w {
			lines[i] = l + strings.Repeat(" ", w-lw)
		}
	}
}
