package tui

import (
	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/tui/widget"
)

// detailKeys are the keys of every page shown over another (esc, the
// global back, works there too).
var detailKeys = keyGroup{title: "Detail views", bindings: []binding{
	bind(actBack, "backspace", "back", "backspace"),
}}

// scrolled is what the pages shown over another share: what the page
// was opened about, a text scrolled by the move keys, shown from its top
// when the page opens, and back.
type scrolled struct {
	a      *app
	arg    string // the openMsg's: a tag id, an alert id, an endpoint
	scroll widget.Pos
}

// update handles opening, moves and back; it reports whether msg was
// one of them.
func (s *scrolled) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case openMsg:
		s.arg, s.scroll = msg.arg, widget.Pos{}
	case moveMsg:
		s.scroll.Top = max(s.scroll.Top+msg.d, 0)
	case doMsg:
		if msg.act != actBack {
			return nil, false
		}
		return s.a.nav.back(), true
	default:
		return nil, false
	}
	return nil, true
}

// window is the part of lines shown in h lines.
func (s *scrolled) window(lines []string, h int) []string {
	return widget.Window(lines, h, &s.scroll)
}
