package tui_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/charmbracelet/x/exp/teatest"
	"github.com/otwin/otwin/role"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/tuifake"
)

// session runs one TUI program on the demo line.
type session struct {
	t     *testing.T
	plant *tuifake.Plant
	class *tuifake.Class // the trainer's console, when given
	m     tui.Model
	tm    *teatest.TestModel
}

// newConsoleSession is tom the trainer's session with the demo class as
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
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// final quits the program and returns its last view.
func (s *session) final() string {
	s.t.Helper()
	if err := s.tm.Quit(); err != nil {
		s.t.Fatal(err)
	}
	fm := s.tm.FinalModel(s.t, teatest.WithFinalTimeout(5*time.Second))
	return fm.View()
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name    string
		role    tui.Role
		keys    []string
		wait    string // drawn once the view is complete
		console bool   // the session has the demo class as its console
	}{
		{"tree", tui.RoleOperator, nil, "ASSETS", false},
		{"tags_engineer", tui.RoleEngineer, nil, "ADDRESS", false},
		{"alerts", tui.RoleSupervisor, nil, "ALERTS", false},
		{"alert_detail", tui.RoleSupervisor, []string{"j", "enter"}, "HISTORY", false},
		{"tag_detail_bad", tui.RoleEngineer, []string{"jjjj", "enter"}, "why bad?", false},
		{"tag_detail_good", tui.RoleEngineer, []string{"jjj", "enter"}, "HISTORY", false},
		{"connections", tui.RoleMaintenance, []string{":conn", "enter"}, "CONNECTIONS", false},
		{"faults", tui.RoleTrainer, nil, "robot1-torque-stuck", false},
		{"help", tui.RoleOperator, []string{"?"}, "Everywhere", false},
		{"console", tui.RoleTrainer, nil, "olga", true},
		{"console_started", tui.RoleTrainer, []string{"enter"}, "running 1", true},
	}
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s_%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				var s *session
				if c.console {
					s = newConsoleSession(t, size[0], size[1], time.Hour)
				} else {
					s = newSession(t, c.role, size[0], size[1])
				}
				if c.console && len(c.keys) > 0 {
					s.waitOutput("olga") // the console has read the class
				}
				s.keys(c.keys...)
				s.waitOutput(c.wait)
				v := s.final()
				checkFrame(t, v, size[0], size[1])
				golden.RequireEqual(t, []byte(v))
			})
		}
	}
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

func TestInteraction(t *testing.T) {
	cases := []struct {
		name   string
		role   tui.Role
		keys   []string
		wait   string
		want   []string // in the final view
		absent []string
		order  []string // appear in this order
	}{
		{name: "tree to parent", role: tui.RoleOperator, keys: []string{"h"}, want: []string{"TAGS acme/berlin/body · 7 ·"}},
		{name: "expand then tags then detail", role: tui.RoleOperator, keys: []string{"l", "l", "j", "enter"},
			want: []string{"TAG acme/berlin/body/line1/press1/recipe", "door-left-v4"}},
		{name: "enter on a machine goes to its tags", role: tui.RoleMaintenance, keys: []string{"enter", "j", "enter"},
			want: []string{"TAG acme/berlin/body/line1/press1/recipe"}},
		{name: "tree down selects next node", role: tui.RoleOperator, keys: []string{"j"}, want: []string{"TAGS acme/berlin/paint · 3 ·"}},
		{name: "collapse", role: tui.RoleOperator, keys: []string{"h", "enter"}, want: []string{"▸ body"}, absent: []string{"▸ line1"}},
		{name: "collapse and expand", role: tui.RoleOperator, keys: []string{"h", "enter", "enter"}, want: []string{"▾ body", "▸ line1"}},
		{name: "filter id", role: tui.RoleEngineer, keys: []string{"/", "temp", "enter"}, want: []string{"TAGS all · 4 · sort name↑ · /temp"}},
		{name: "filter status", role: tui.RoleEngineer, keys: []string{"/", "uncertain"}, want: []string{"· 2 ·", "press1/pressure", "oven1/zone2_temp"}, absent: []string{"robot1"}},
		{name: "esc clears filter", role: tui.RoleEngineer, keys: []string{"/", "temp", "enter", "esc"}, want: []string{"TAGS all · 10 ·"}},
		{name: "bad only", role: tui.RoleEngineer, keys: []string{"b"}, want: []string{"· 3 ·", "bad/uncertain"}},
		{name: "quality role opens on bad tags and out-of-range alerts", role: tui.RoleQuality, keys: []string{"tab"},
			want: []string{"filter /out_of_range (1 shown)", "212.4 bar > high limit"}, absent: []string{"press2-mb"}},
		{name: "sort by value", role: tui.RoleEngineer, keys: []string{"s"}, order: []string{"press1/running", "oven1/zone2_temp", "robot1/speed", "press1/recipe"}},
		{name: "sort by value reversed", role: tui.RoleEngineer, keys: []string{"s", "S"}, order: []string{"press1/recipe", "robot1/speed", "press1/running"}},
		{name: "sort keeps the cursor on its tag", role: tui.RoleEngineer, keys: []string{"jj", "s"}, want: []string{">…line1/press1/running"}},
		{name: "sort by quality", role: tui.RoleEngineer, keys: []string{"ss"}, order: []string{"press2/temperature", "press1/pressure", "press1/recipe"}},
		{name: "role switch", role: tui.RoleOperator, keys: []string{":role supervisor", "enter"}, want: []string{"[Alerts]", "supervisor", "role supervisor"}},
		{name: "unknown role", role: tui.RoleOperator, keys: []string{":role boss", "enter"}, want: []string{"unknown role \"boss\""}},
		{name: "unknown command", role: tui.RoleOperator, keys: []string{":frobnicate", "enter"}, want: []string{"unknown command"}},
		{name: "tab cycles", role: tui.RoleOperator, keys: []string{"tab", "tab"}, want: []string{"[Alerts]"}},
		{name: "tab wraps (operator has no faults)", role: tui.RoleOperator, keys: []string{"tab", "tab", "tab", "tab"}, want: []string{"[Tree]"}, absent: []string{"Faults"}},
		{name: "operator has no fault panel", role: tui.RoleOperator, keys: []string{"f"}, want: []string{"no fault panel"}},
		{name: "alerts filter", role: tui.RoleSupervisor, keys: []string{"/", "press1"}, want: []string{"(1 shown)"}, absent: []string{"press2-mb"}},
		{name: "command esc cancels", role: tui.RoleOperator, keys: []string{":alerts", "esc"}, want: []string{"[Tree]", "cancelled"}},
		{name: "resize", role: tui.RoleOperator, keys: []string{"size:100x30"}, want: []string{"ASSETS"}},
		{name: "connection last error", role: tui.RoleMaintenance, keys: []string{":conn", "enter", "j", "enter"},
			want: []string{"press2-mb: dial tcp 10.0.4.12:502: connect: connection refused"}},
		{name: "alert detail to its tag", role: tui.RoleSupervisor, keys: []string{"j", "enter", "t"},
			want: []string{"TAG acme/berlin/body/line1/press1/pressure", "why bad?"}},
		{name: "endpoint alert to its endpoint", role: tui.RoleSupervisor, keys: []string{"enter", "t"}, want: []string{"[Conn]", ">press2-mb"}},
		{name: "click a tab", role: tui.RoleOperator, keys: []string{"click:30,0"}, want: []string{"[Conn]"}},
		{name: "click a tag twice opens it", role: tui.RoleEngineer, keys: []string{"click:10,5", "click:10,5"}, want: []string{"TAG acme/berlin/body/line1/press1/running"}},
		{name: "click an alert", role: tui.RoleSupervisor, keys: []string{"click:10,6"}, want: []string{">HIGH UNACK"}},
		{name: "click a tree node", role: tui.RoleOperator, keys: []string{"click:5,7"}, want: []string{"TAGS acme/berlin/paint · 3"}},
		{name: "help scroll", role: tui.RoleOperator, keys: []string{"?", "G"}, want: []string{":role NAME"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t, c.role, 80, 24)
			s.keys(c.keys...)
			v := s.final()
			for _, w := range c.want {
				if !strings.Contains(v, w) {
					t.Errorf("view lacks %q:\n%s", w, v)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(v, a) {
					t.Errorf("view has %q:\n%s", a, v)
				}
			}
			last := -1
			for _, o := range c.order {
				i := strings.Index(v, o)
				if i < 0 || i < last {
					t.Errorf("%q out of order (at %d, previous at %d):\n%s", o, i, last, v)
				}
				last = i
			}
		})
	}
}

func TestResizeFrames(t *testing.T) {
	for _, r := range role.All {
		for _, size := range [][2]int{{80, 24}, {200, 60}, {100, 30}, {60, 16}} {
			t.Run(fmt.Sprintf("%s_%dx%d", r, size[0], size[1]), func(t *testing.T) {
				s := newSession(t, r, 80, 24)
				s.keys(fmt.Sprintf("size:%dx%d", size[0], size[1]))
				checkFrame(t, s.final(), size[0], size[1])
			})
		}
	}
}

func TestAckWithComment(t *testing.T) {
	s := newSession(t, tui.RoleSupervisor, 80, 24)
	s.keys("a", "checked on site", "enter")
	s.waitOutput("acknowledged")
	v := s.final()
	want := "ack comm_loss:press2-mb checked on site"
	if calls := s.plant.Calls(); !slices.Contains(calls, want) {
		t.Fatalf("calls %q lack %q", calls, want)
	}
	if !strings.Contains(v, "UNACK 1 ACK 2") {
		t.Errorf("status bar does not show the ack:\n%s", v)
	}
	for _, a := range s.plant.Alerts() {
		if a.ID == "comm_loss:press2-mb" && (a.State != normalize.ActiveAcked || a.AckedBy != "alice" || a.Comment != "checked on site") {
			t.Errorf("alert after ack: %+v", a)
		}
	}
}

func TestAckRefusedShownInStatus(t *testing.T) {
	s := newSession(t, tui.RoleSupervisor, 80, 24)
	// the third row is acknowledged already: the backend refuses
	s.keys("jjj", "a", "enter")
	s.waitOutput("already acknowledged")
	v := s.final()
	if !strings.Contains(v, "ack stale:acme/berlin/paint/line2/oven1/zone2_temp: already acknowledged") {
		t.Errorf("error not in status line:\n%s", v)
	}
}

func TestShelve(t *testing.T) {
	cases := []struct {
		name, reason, dur string
		wantCall          string
		wantMsg           string
	}{
		{"timed", "sensor swap", "15m", "shelve comm_loss:press2-mb sensor swap 15m0s false", "shelved comm_loss:press2-mb for 15m0s"},
		{"one-shot", "test run", "", "shelve comm_loss:press2-mb test run 0s true", "until it clears"},
		{"bad duration", "x", "soon", "", "bad duration \"soon\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t, tui.RoleSupervisor, 80, 24)
			s.keys("z", c.reason, "enter")
			if c.dur != "" {
				s.keys(c.dur)
			}
			s.keys("enter")
			s.waitOutput(c.wantMsg)
			s.final()
			calls := s.plant.Calls()
			if c.wantCall == "" {
				if len(calls) != 0 {
					t.Errorf("unexpected calls %q", calls)
				}
				return
			}
			if !slices.Contains(calls, c.wantCall) {
				t.Errorf("calls %q lack %q", calls, c.wantCall)
			}
		})
	}
}

func TestFaultInject(t *testing.T) {
	s := newSession(t, tui.RoleTrainer, 80, 24)
	s.waitOutput("robot1-torque-stuck")
	s.keys("jj", "enter")
	s.waitOutput("inject robot1-torque-stuck", "active 3")
	s.final()
	if calls := s.plant.Calls(); !slices.Contains(calls, "inject robot1-torque-stuck") {
		t.Errorf("calls %q", calls)
	}
	f, _ := s.plant.Faults()
	if !f[2].Active {
		t.Errorf("fault not active: %+v", f[2])
	}
}

func TestFaultRefusedShownInStatus(t *testing.T) {
	p := tuifake.NewLine()
	p.Role = tui.RoleOperator // the backend refuses; the session claims trainer
	s := newSessionOn(t, p, tui.RoleTrainer, 80, 24)
	s.waitOutput("robot1-torque-stuck")
	s.keys("enter")
	s.waitOutput("refused")
	v := s.final()
	if !strings.Contains(v, "clear press2-unplug: refused: operators cannot inject faults") {
		t.Errorf("refusal not shown:\n%s", v)
	}
}

func TestLiveUpdate(t *testing.T) {
	s := newSession(t, tui.RoleEngineer, 80, 24)
	s.waitOutput("ADDRESS")
	snap := s.plant.Snapshot()
	up := snap[3] // press1/temperature
	up.Value = 99.5
	added := normalize.Sample{ID: "acme/berlin/body/line1/press3/temperature", Asset: "acme/berlin/body/line1/press3", Tag: "temperature", Value: 21, Received: tuifake.Epoch}
	s.plant.Publish(tui.Update{Samples: []normalize.Sample{up, added}})
	s.waitOutput("99.5 °C")
	v := s.final()
	if !strings.Contains(v, "TAGS all · 11 ·") || !strings.Contains(v, "press3/temperature") {
		t.Errorf("new tag not shown:\n%s", v)
	}
}

func TestQuitClosesFeed(t *testing.T) {
	s := newSession(t, tui.RoleOperator, 80, 24)
	s.waitOutput("ASSETS")
	if n := s.plant.Subscribers(); n != 1 {
		t.Fatalf("subscribers = %d, want 1", n)
	}
	s.keys("q")
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if n := s.plant.Subscribers(); n != 0 {
		t.Errorf("subscribers after quit = %d, want 0", n)
	}
}

func TestKeyHelp(t *testing.T) {
	h := tui.KeyHelp()
	for _, w := range []string{"quit", "acknowledge", "shelve", ":role NAME", "filter", "inject"} {
		if !strings.Contains(h, w) {
			t.Errorf("KeyHelp lacks %q", w)
		}
	}
}

func TestContextEndClosesFeed(t *testing.T) {
	p := tuifake.NewLine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := tui.New(p, tui.Options{Role: tui.RoleOperator, Now: fixedNow, NoColor: true, Context: ctx, Width: 100, Height: 30})
	tm := teatest.NewTestModel(t, m)
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("ASSETS")) }, teatest.WithDuration(5*time.Second))
	cancel()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("feed closed")) }, teatest.WithDuration(5*time.Second))
	if n := p.Subscribers(); n != 0 {
		t.Errorf("subscribers = %d after the context ended", n)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	checkFrame(t, tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View(), 100, 30)
}

// Sessions share the backend and nothing else (run with -race).
func TestConcurrentSessions(t *testing.T) {
	p := tuifake.NewLine()
	p.User, p.Role = "alice", tui.RoleTrainer
	a := newSessionOn(t, p, tui.RoleOperator, 80, 24)
	b := newSessionOn(t, p, tui.RoleEngineer, 120, 40)
	a.keys("l", "l", "s", "tab", "tab")
	b.keys("/", "temp", "enter", "s", "S", "?")
	p.Publish(tui.Update{Samples: p.Snapshot()[:3]})
	a.waitOutput("[Alerts]")
	b.waitOutput("Everywhere")
	va, vb := a.final(), b.final()
	if !strings.Contains(va, "[Alerts]") || !strings.Contains(vb, "HELP") {
		t.Errorf("sessions:\n%s\n%s", va, vb)
	}
}

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
			s.waitOutput("no instructor console")
			v := s.final()
			if strings.Contains(v, "Console") || strings.Contains(v, "SCOREBOARD") {
				t.Errorf("console shown:\n%s", v)
			}
		})
	}
}

// A local session (FaultsForAll) offers the fault panel to an operator;
// the tree's "/" filters the selected node's tags.
func TestLocalOperatorFaultsAndTreeFilter(t *testing.T) {
	p := tuifake.NewLine()
	p.User, p.Role = "alice", tui.RoleTrainer // the plant accepts injections
	m := tui.New(p, tui.Options{User: "alice", Role: tui.RoleOperator, Faults: p, FaultsForAll: true, Now: fixedNow, NoColor: true, FaultRefresh: time.Hour})
	t.Cleanup(m.Close)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	s := &session{t: t, plant: p, m: m, tm: tm}
	s.keys("/", "temp", "enter")
	s.waitOutput("/temp")
	s.keys("f")
	v := s.final()
	if !strings.Contains(v, "[Faults]") {
		t.Errorf("local operator did not get the fault panel:\n%s", v)
	}
}
