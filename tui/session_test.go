package tui_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/tuifake"
)

// waitLimit bounds every wait for the screen or the program's end; the
// waits poll, so a generous limit costs nothing when the machine is
// fast and keeps a loaded one (-race, parallel packages) from failing.
const waitLimit = 30 * time.Second

// session runs one TUI program on the fake line.
type session struct {
	t     *testing.T
	plant *tuifake.Plant
	class *tuifake.Class // the trainer's console, when given
	m     tui.Model
	tm    *teatest.TestModel
}

// newConsoleSession is tom the trainer's session with the fake class as
// its console, re-read every refresh.
func newConsoleSession(t *testing.T, w, h int, refresh time.Duration) *session {
	t.Helper()
	p := tuifake.NewLine()
	p.User, p.Role = "tom", tui.RoleTrainer
	cl := tuifake.NewClass()
	m := tui.New(p, tui.Options{User: "tom", Role: tui.RoleTrainer, Faults: p, Trainer: cl, Now: fixedNow, NoColor: true,
		FaultRefresh: time.Hour, ConsoleRefresh: refresh})
	t.Cleanup(m.Close)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	return &session{t: t, plant: p, class: cl, m: m, tm: tm}
}

func fixedNow() time.Time { return tuifake.Epoch }

func newSession(t *testing.T, role tui.Role, w, h int) *session {
	t.Helper()
	p := tuifake.NewLine()
	p.User, p.Role = "alice", role
	return newSessionOn(t, p, role, w, h)
}

func newSessionOn(t *testing.T, p *tuifake.Plant, role tui.Role, w, h int) *session {
	t.Helper()
	m := tui.New(p, tui.Options{User: "alice", Role: role, Faults: p, Now: fixedNow, NoColor: true, FaultRefresh: time.Hour})
	t.Cleanup(m.Close)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	return &session{t: t, plant: p, m: m, tm: tm}
}

// keys sends tokens: "enter", "esc", "tab", "shift+tab", "backspace",
// "up", "down", "left", "right", "size:WxH"; anything else is typed.
func (s *session) keys(tokens ...string) {
	special := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
		"backspace": tea.KeyBackspace, "up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
	}
	for _, k := range tokens {
		if kt, ok := special[k]; ok {
			s.tm.Send(tea.KeyMsg{Type: kt})
			continue
		}
		var w, h int
		if n, _ := fmt.Sscanf(k, "click:%d,%d", &w, &h); n == 2 {
			s.tm.Send(tea.MouseMsg{X: w, Y: h, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
			continue
		}
		if n, _ := fmt.Sscanf(k, "size:%dx%d", &w, &h); n == 2 {
			s.tm.Send(tea.WindowSizeMsg{Width: w, Height: h})
			continue
		}
		s.tm.Type(k)
	}
}

// waitOutput waits until the program has drawn every text (in output
// not consumed by an earlier wait).
func (s *session) waitOutput(texts ...string) {
	s.t.Helper()
	teatest.WaitFor(s.t, s.tm.Output(), func(b []byte) bool {
		for _, t := range texts {
			if !bytes.Contains(b, []byte(t)) {
				return false
			}
		}
		return true
	},
		teatest.WithDuration(waitLimit), teatest.WithCheckInterval(5*time.Millisecond))
}

// final quits the program and returns its last view.
func (s *session) final() string {
	s.t.Helper()
	if err := s.tm.Quit(); err != nil {
		s.t.Fatal(err)
	}
	fm := s.tm.FinalModel(s.t, teatest.WithFinalTimeout(waitLimit))
	return fm.View()
}

// checkFrame asserts a view fills exactly w×h cells.
func checkFrame(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, lw, w, l)
		}
	}
}
