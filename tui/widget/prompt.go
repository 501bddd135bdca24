package widget

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Prompt is a one-line text editor behind a prompt ("/", ":", "ack …
// comment: "), a bubbles textinput made to fit a terminal line and to
// draw no frames of its own. The cursor never blinks: with colour it is a
// static reverse-video cell; plain, the library's cursor is hidden and the
// line is plain text with a "█" before the cell the cursor is on. ctrl+v
// is unbound: the clipboard the library would read is the server's, not
// the user's (a terminal paste arrives as keys and is inserted).
type Prompt struct {
	in    textinput.Model
	plain bool
	open  bool
	w     int
	label func(w int) string // the prompt for a width, when it depends on it
	text  string             // the prompt otherwise
}

// MinInput is the least a prompt leaves for the text typed, in cells
// (less only on a line narrower than twice that): a prompt wider than the
// rest is cut, keeping its end, which asks the question ("comment: ").
const MinInput = 20

// NewPrompt returns a closed prompt styled by r (for plain text, a
// renderer with the Ascii profile) w cells wide.
func NewPrompt(r *lipgloss.Renderer, plain bool, w int) *Prompt {
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
	if plain {
		mode = cursor.CursorHide
		// a hidden cursor renders its cell in TextStyle
		in.Cursor.TextStyle = r.NewStyle().Transform(func(cell string) string { return "█" + cell })
	}
	in.Cursor.SetMode(mode)
	p := &Prompt{in: in, plain: plain}
	p.SetWidth(w)
	return p
}

// cursorCells is how many cells the cursor adds to the text.
func (p *Prompt) cursorCells() int {
	if p.plain {
		return 2 // the mark and the cell after the text
	}
	return 1
}

// SetWidth makes the text scroll within w cells: the prompt, the visible
// text and the cursor cell fill the line, the text at least MinInput
// cells (or half the line when it is narrower than twice that).
func (p *Prompt) SetWidth(w int) {
	p.w = w
	label := p.text
	if p.label != nil {
		label = p.label(w)
	}
	if room := w - min(MinInput, w/2) - p.cursorCells(); Width(label) > room {
		label = ansi.TruncateLeft(label, Width(label)-max(room, 1)+1, "…")
	}
	p.in.Prompt = label
	p.in.Width = max(1, w-Width(label)-p.cursorCells())
	p.in.SetCursor(p.in.Position()) // re-clips the visible text
}

// Open shows prompt with value to edit, the cursor at its end.
func (p *Prompt) Open(prompt, value string) tea.Cmd {
	return p.start(nil, prompt, value)
}

// OpenFor is Open with a prompt that depends on the line's width (an id
// shortened to leave room for the text), asked again on every resize.
func (p *Prompt) OpenFor(label func(w int) string, value string) tea.Cmd {
	return p.start(label, "", value)
}

func (p *Prompt) start(label func(int) string, text, value string) tea.Cmd {
	p.open = true
	p.label, p.text = label, text
	p.in.Reset()
	p.in.SetValue(value)
	p.in.CursorEnd()
	p.SetWidth(p.w)
	return p.in.Focus()
}

// Close hides the prompt and drops its text.
func (p *Prompt) Close() {
	p.open = false
	p.label, p.text = nil, ""
	p.in.Blur()
	p.in.Reset()
}

// IsOpen says whether the prompt takes keys.
func (p *Prompt) IsOpen() bool { return p.open }

// Value is the text typed so far.
func (p *Prompt) Value() string { return p.in.Value() }

// Update edits the text with one key (enter and esc are the caller's).
func (p *Prompt) Update(k tea.KeyMsg) tea.Cmd {
	if k.Type == tea.KeySpace && len(k.Runes) == 0 {
		k.Runes = []rune{' '}
	}
	var cmd tea.Cmd
	p.in, cmd = p.in.Update(k)
	return cmd
}

// View is the prompt line, w cells wide.
func (p *Prompt) View(w int) string { return Fit(p.in.View(), w) }
