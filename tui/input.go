package tui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// lineInput is the one-line editor of the bottom line (commands, filters,
// comments): runes are inserted at the cursor; backspace, delete, ←/→,
// home/end, ctrl+u and ctrl+w edit.
type lineInput struct {
	Prompt string
	value  []rune
	pos    int
}

func (l *lineInput) SetValue(v string) { l.value = []rune(v); l.pos = len(l.value) }
func (l *lineInput) Value() string     { return string(l.value) }

// update applies one key; it reports whether the key was consumed.
func (l *lineInput) update(k tea.KeyMsg) bool {
	switch k.Type {
	case tea.KeyRunes, tea.KeySpace:
		r := k.Runes
		if k.Type == tea.KeySpace {
			r = []rune{' '}
		}
		v := make([]rune, 0, len(l.value)+len(r))
		v = append(append(append(v, l.value[:l.pos]...), r...), l.value[l.pos:]...)
		l.value = v
		l.pos += len(r)
	case tea.KeyBackspace:
		if l.pos > 0 {
			l.value = append(l.value[:l.pos-1], l.value[l.pos:]...)
			l.pos--
		}
	case tea.KeyDelete:
		if l.pos < len(l.value) {
			l.value = append(l.value[:l.pos], l.value[l.pos+1:]...)
		}
	case tea.KeyLeft:
		if l.pos > 0 {
			l.pos--
		}
	case tea.KeyRight:
		if l.pos < len(l.value) {
			l.pos++
		}
	case tea.KeyHome, tea.KeyCtrlA:
		l.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		l.pos = len(l.value)
	case tea.KeyCtrlU:
		l.value = append([]rune(nil), l.value[l.pos:]...)
		l.pos = 0
	case tea.KeyCtrlW:
		i := l.pos
		for i > 0 && l.value[i-1] == ' ' {
			i--
		}
		for i > 0 && l.value[i-1] != ' ' {
			i--
		}
		l.value = append(l.value[:i], l.value[l.pos:]...)
		l.pos = i
	default:
		return false
	}
	return true
}

// view renders prompt, value and a block cursor.
func (l *lineInput) view() string {
	var b strings.Builder
	b.WriteString(l.Prompt)
	b.WriteString(string(l.value[:l.pos]))
	b.WriteString("█")
	b.WriteString(string(l.value[l.pos:]))
	return b.String()
}
