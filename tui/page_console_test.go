package tui_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/tui"
)

// TestConsole drives the instructor console: each key calls the Trainer
// (in order), and the view and the status line show the result.
func TestConsole(t *testing.T) {
	cases := []struct {
		name  string
		keys  []string
		fail  bool
		wait  []string // in the output, once the actions are done
		then  []string // more keys, once wait is drawn
		wait2 []string // in the output after then
		calls []string // exactly, in order
		want  []string // in the final view
	}{
		{name: "enter starts the selected exercise", keys: []string{"enter"}, wait: []string{"started exercise frozen-torque", "running 1"},
			calls: []string{"start frozen-torque"}, want: []string{"frozen-torque", "1/2 running"}},
		{name: "down then enter starts the second", keys: []string{"j", "enter"}, wait: []string{"started exercise pallet-jam", "1/1 done"},
			calls: []string{"start pallet-jam"}},
		{name: "space pauses", keys: []string{" "}, wait: []string{"clock paused", "PAUSED"}, calls: []string{"pause"}},
		{name: "space twice resumes", keys: []string{" ", " "}, wait: []string{"clock running"}, calls: []string{"pause", "resume"}, want: []string{"RUNNING"}},
		{name: "plus doubles", keys: []string{"+", "+"}, wait: []string{"speed 4×"}, calls: []string{"speed 2", "speed 4"}, want: []string{"speed 4×"}},
		{name: "minus halves", keys: []string{"-"}, wait: []string{"speed 0.5×"}, calls: []string{"speed 0.5"}},
		{name: "speed stops at 64", keys: []string{"++++++"}, wait: []string{"speed 64×"}, then: []string{"+"}, wait2: []string{"speed stays at 64×"},
			calls: []string{"speed 2", "speed 4", "speed 8", "speed 16", "speed 32", "speed 64"}},
		{name: "speed stops at a quarter", keys: []string{"--"}, wait: []string{"speed 0.25×"}, then: []string{"-"}, wait2: []string{"speed stays at 0.25×"},
			calls: []string{"speed 0.5", "speed 0.25"}},
		{name: "d writes the debrief", keys: []string{"d"}, wait: []string{"debrief written to otwin-debrief-20261121-120000/debrief.md"}, calls: []string{"debrief"}},
		{name: "a refusal shows in the status line", keys: []string{" "}, fail: true, wait: []string{"pause: refused: operators cannot pause the clock"},
			calls: []string{"pause"}, want: []string{"RUNNING"}},
		{name: "f opens the fault panel", keys: []string{"f"}, wait: []string{"[Faults]", "robot1-torque-stuck"}},
		{name: "c comes back", keys: []string{"f"}, wait: []string{"[Faults]"}, then: []string{"c"}, wait2: []string{"[Console]"}, want: []string{"SCOREBOARD"}},
		{name: ":console", keys: []string{"tab"}, wait: []string{"[Tree]"}, then: []string{":console", "enter"}, wait2: []string{"[Console]"}, want: []string{"SCOREBOARD"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newConsoleSession(t, 80, 24, time.Hour)
			if c.fail {
				s.class.Fail = errors.New("refused: operators cannot pause the clock")
			}
			s.waitOutput("olga")
			s.keys(c.keys...)
			s.waitOutput(c.wait...)
			if len(c.then) > 0 {
				s.keys(c.then...)
				s.waitOutput(c.wait2...)
			}
			v := s.final()
			if got := s.class.Calls(); !slices.Equal(got, c.calls) {
				t.Errorf("calls %q, want %q", got, c.calls)
			}
			for _, w := range c.want {
				if !strings.Contains(v, w) {
					t.Errorf("view lacks %q:\n%s", w, v)
				}
			}
		})
	}
}

// TestConsoleRefresh: the open console re-reads the scoreboard by itself.
func TestConsoleRefresh(t *testing.T) {
	s := newConsoleSession(t, 80, 24, 20*time.Millisecond)
	s.waitOutput("olga")
	s.class.SetScore(tui.Score{User: "olga", Role: "operator", Online: true, AlertsSeen: 5, Acks: 4, MeanAck: 31 * time.Second, Comments: 2})
	s.waitOutput("31s")
	v := s.final()
	if !strings.Contains(v, "31s") {
		t.Errorf("scoreboard not refreshed:\n%s", v)
	}
}

// TestNoConsole: without a Trainer there is no console, whatever the
// role; a trainer opens on the fault panel.
func TestNoConsole(t *testing.T) {
	for _, role := range []tui.Role{tui.RoleTrainer, tui.RoleOperator} {
		t.Run(string(role), func(t *testing.T) {
			s := newSession(t, role, 80, 24)
			s.keys("c")
			s.waitOutput("no instructor console: it is for trainers in a workshop")
			v := s.final()
			if strings.Contains(v, "Console") || strings.Contains(v, "SCOREBOARD") {
				t.Errorf("console shown:\n%s", v)
			}
		})
	}
}
