package widget

import (
	"io"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

func plainRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// The prompt's keys edit the text at the cursor; plain, the cursor is a
// "█" before its cell and the line has no escape codes.
func TestPromptEditing(t *testing.T) {
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	k := func(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }
	alt := func(m tea.KeyMsg) tea.KeyMsg { m.Alt = true; return m }
	cases := []struct {
		name string
		keys []tea.KeyMsg
		want string
		line string // the start of the line, where the cursor is not at the end
	}{
		{"typed", []tea.KeyMsg{runes("a"), runes("b"), k(tea.KeySpace), runes("c")}, "ab c", ""},
		{"backspace", []tea.KeyMsg{runes("abc"), k(tea.KeyBackspace)}, "ab", ""},
		{"left insert", []tea.KeyMsg{runes("ac"), k(tea.KeyLeft), runes("b")}, "abc", ":ab█c"},
		{"home end", []tea.KeyMsg{runes("bc"), k(tea.KeyHome), runes("a"), k(tea.KeyEnd), runes("d")}, "abcd", ""},
		{"ctrl+a ctrl+e", []tea.KeyMsg{runes("b"), k(tea.KeyCtrlA), runes("a"), k(tea.KeyCtrlE), runes("c")}, "abc", ""},
		{"delete", []tea.KeyMsg{runes("abc"), k(tea.KeyHome), k(tea.KeyDelete)}, "bc", ":█bc"},
		{"ctrl+u", []tea.KeyMsg{runes("ab cd"), k(tea.KeyLeft), k(tea.KeyCtrlU)}, "d", ":█d"},
		{"ctrl+k", []tea.KeyMsg{runes("ab cd"), k(tea.KeyLeft), k(tea.KeyLeft), k(tea.KeyCtrlK)}, "ab ", ""},
		{"ctrl+w", []tea.KeyMsg{runes("ab cd"), k(tea.KeyCtrlW)}, "ab ", ""},
		{"word back", []tea.KeyMsg{runes("ab cd"), alt(k(tea.KeyLeft)), runes("x")}, "ab xcd", ":ab x█cd"},
		{"paste", []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("a\tb"), Paste: true}}, "a b", ""},
		{"ctrl+v reads no clipboard", []tea.KeyMsg{runes("a"), k(tea.KeyCtrlV)}, "a", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPrompt(plainRenderer(), true, 40)
			p.Open(":", "")
			for _, key := range c.keys {
				if cmd := p.Update(key); cmd != nil && key.Type == tea.KeyCtrlV {
					t.Errorf("ctrl+v returned a command")
				}
			}
			if got := p.Value(); got != c.want {
				t.Errorf("value %q, want %q", got, c.want)
			}
			line := p.View(40)
			start := c.line
			if start == "" {
				start = ":" + c.want + "█"
			}
			if !strings.HasPrefix(line, start) || strings.ReplaceAll(line, "█", "") != Fit(":"+c.want, 39) || strings.Contains(line, "\x1b") || Width(line) != 40 {
				t.Errorf("line %q, want %q… padded to 40", line, start)
			}
		})
	}
}

// Long text scrolls within the width, and the line never draws an
// ellipsis; with colour the cursor is a reverse-video cell.
func TestPromptScrolls(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	p := NewPrompt(r, false, 20)
	if cmd := p.Open("/", ""); cmd != nil {
		if msg := cmd(); msg != nil {
			t.Errorf("opening the prompt sent %T", msg)
		}
	}
	p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("ab")})
	if line := p.View(20); !strings.Contains(line, "\x1b[7m") || ansi.Strip(line) != Fit("/ab", 20) {
		t.Errorf("colour line %q: want a reverse-video cursor after /ab", line)
	}
	p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(strings.Repeat("x", 30) + "END")})
	if line := ansi.Strip(p.View(20)); !strings.Contains(line, "END") || Width(line) != 20 {
		t.Errorf("long line %q, want its end visible in 20 cells", line)
	}

	q := NewPrompt(plainRenderer(), true, 20)
	q.Open(":", strings.Repeat("x", 30)+"END")
	q.Update(tea.KeyMsg{Type: tea.KeyLeft})
	if line := q.View(20); !strings.Contains(line, "EN█D") || strings.Contains(line, "…") || Width(line) != 20 {
		t.Errorf("plain long line %q, want EN█D visible in 20 cells", line)
	}
	q.Close()
	if q.IsOpen() || q.Value() != "" {
		t.Errorf("closed prompt: open %v value %q", q.IsOpen(), q.Value())
	}
}

// A prompt wider than the line leaves the text MinInput cells: it is cut
// from the left, keeping the question; a prompt given for the width is
// asked again when the width changes.
func TestPromptKeepsRoomForText(t *testing.T) {
	p := NewPrompt(plainRenderer(), true, 40)
	p.Open("ack out_of_range:acme/plant/press/line1/press1/temp comment: ", "")
	p.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("checked")})
	line := p.View(40)
	if !strings.HasPrefix(line, "…") || !strings.Contains(line, "comment: checked█") || Width(line) != 40 {
		t.Errorf("cut prompt %q: want its end and the text", line)
	}
	asked := []int{}
	q := NewPrompt(plainRenderer(), true, 80)
	q.OpenFor(func(w int) string { asked = append(asked, w); return "x" + strings.Repeat("y", w/4) + ": " }, "")
	q.SetWidth(60)
	if len(asked) != 2 || asked[0] != 80 || asked[1] != 60 || !strings.HasPrefix(q.View(60), "x"+strings.Repeat("y", 15)+": █") {
		t.Errorf("asked for widths %v; line %q", asked, q.View(60))
	}
}
