package tui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/tui/widget"
)

// The help page, over any page: every key and command, generated from
// the key groups the router dispatches on; two columns on wide screens.

const pageHelp = "help"

var helpDef = pageDef{
	id: pageHelp, title: "Help", overlay: true,
	cmds: []string{"help"}, cmdHelp: "this screen",
	keys: []*keyGroup{&detailKeys},
	new:  func(a *app) page { return &helpPage{scrolled: scrolled{a: a}} },
}

type helpPage struct {
	scrolled // and the app
}

func (p *helpPage) keys() []*keyGroup { return helpDef.keys }

func (p *helpPage) update(msg tea.Msg) tea.Cmd {
	cmd, _ := p.scrolled.update(msg)
	return cmd
}

func (p *helpPage) view(w, h int) []string {
	lines := helpLines(12, p.a.refusal)
	out := []string{p.a.caption("HELP · keys and commands (esc to go back)", w)}
	if w >= 120 {
		half := (len(lines) + 1) / 2
		// break at a blank line near the middle
		for i := half; i < len(lines); i++ {
			if lines[i] == "" {
				half = i + 1
				break
			}
		}
		cw := w / 2
		for i := 0; i < half; i++ {
			r := ""
			if half+i < len(lines) {
				r = lines[half+i]
			}
			out = append(out, widget.Fit(" "+lines[i], cw)+widget.Fit(" "+r, w-cw))
		}
	} else {
		for _, l := range lines {
			out = appendWrapped(out, l, w)
		}
	}
	return append(out[:1], p.window(out[1:], h-1)...)
}

// helpIndent is where a help line's description starts ("  " and a key
// column of 12 and a space).
const helpIndent = 15

// appendWrapped appends help line l in w cells, a description too long
// for the line wrapped under itself.
func appendWrapped(out []string, l string, w int) []string {
	if widget.Width(l) < w || len(l) <= helpIndent || w-1-helpIndent < 20 {
		return append(out, widget.Fit(" "+l, w))
	}
	pad := strings.Repeat(" ", helpIndent)
	for i, part := range widget.Wrap(l[helpIndent:], w-1-helpIndent) {
		if i == 0 {
			out = append(out, widget.Fit(" "+l[:helpIndent]+part, w))
		} else {
			out = append(out, widget.Fit(" "+pad+part, w))
		}
	}
	return out
}
