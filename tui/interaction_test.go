package tui_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/tuifake"
)

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
		{name: "filter id", role: tui.RoleEngineer, keys: []string{"/", "temp", "enter"}, want: []string{"TAGS all, under acme/berlin · 4 · sort name↑ · /temp"}},
		{name: "filter status", role: tui.RoleEngineer, keys: []string{"/", "uncertain"}, want: []string{"· 2 ·", "press1/pressure", "oven1/zone2_temp"}, absent: []string{"robot1"}},
		{name: "esc clears filter", role: tui.RoleEngineer, keys: []string{"/", "temp", "enter", "esc"}, want: []string{"TAGS all, under acme/berlin · 10 ·"}},
		{name: "bad only", role: tui.RoleEngineer, keys: []string{"b"}, want: []string{"· 3 ·", "bad/uncertain"}},
		{name: "quality role opens on bad tags and the alerts of values", role: tui.RoleQuality, keys: []string{"tab"},
			want: []string{"quality view: 4 of 5 (esc clears)", "212.4 bar > high limit", "value unchanged for 60s", "no update for 3m0s", "rate of change 2.1"}, absent: []string{"press2-mb"}},
		{name: "quality's esc lists every kind", role: tui.RoleQuality, keys: []string{"tab", "esc"},
			want: []string{"press2-mb", "212.4 bar > high limit"}, absent: []string{"quality view"}},
		{name: "quality's typed filter within its kinds, esc drops it first", role: tui.RoleQuality, keys: []string{"tab", "/", "press", "enter", "esc"},
			want: []string{"quality view: 4 of 5"}, absent: []string{"filter /press"}},
		{name: "sort by value", role: tui.RoleEngineer, keys: []string{"s"}, order: []string{"press1/running", "oven1/zone2_temp", "robot1/speed", "press1/recipe"}},
		{name: "sort by value reversed", role: tui.RoleEngineer, keys: []string{"s", "S"}, order: []string{"press1/recipe", "robot1/speed", "press1/running"}},
		{name: "sort keeps the cursor on its tag", role: tui.RoleEngineer, keys: []string{"jj", "s"}, want: []string{">…/press1/running"}},
		{name: "sort by quality", role: tui.RoleEngineer, keys: []string{"ss"}, order: []string{"press2/temperature", "press1/pressure", "press1/recipe"}},
		{name: "role switch", role: tui.RoleOperator, keys: []string{":role supervisor", "enter"}, want: []string{"[Alerts]", "supervisor", "role supervisor"}},
		{name: "unknown role", role: tui.RoleOperator, keys: []string{":role boss", "enter"}, want: []string{"unknown role \"boss\""}},
		{name: "unknown command", role: tui.RoleOperator, keys: []string{":frobnicate", "enter"}, want: []string{"no command, view, machine or tag called \"frobnicate\""}},
		{name: "tab cycles", role: tui.RoleOperator, keys: []string{"tab", "tab"}, want: []string{"[Alerts]"}},
		{name: "tab wraps", role: tui.RoleOperator, keys: []string{"tab", "tab", "tab", "tab", "tab"}, want: []string{"[Tree]"}},
		{name: "the operator's fault panel is marked refused", role: tui.RoleOperator, keys: []string{"f"},
			want: []string{"[Faults]", "refused: operators cannot inject or clear faults", "enter:inject/clear✗"}},
		{name: "alerts filter", role: tui.RoleSupervisor, keys: []string{"/", "press1"}, want: []string{"filter /press1: 1 of 5"}, absent: []string{"press2-mb"}},
		{name: "command esc cancels", role: tui.RoleOperator, keys: []string{":alerts", "esc"}, want: []string{"[Tree]", "cancelled"}},
		{name: "resize", role: tui.RoleOperator, keys: []string{"size:100x30"}, want: []string{"ASSETS"}},
		{name: "endpoint detail", role: tui.RoleMaintenance, keys: []string{":conn", "enter", "j", "enter"},
			want: []string{"ENDPOINT press2-mb", "last error   dial tcp 10.0.4.12:502: connect: connection refused", "CRIT UNACK   no answer"}},
		{name: "alert detail to its tag", role: tui.RoleSupervisor, keys: []string{"j", "enter", "t"},
			want: []string{"TAG acme/berlin/body/line1/press1/pressure", "why bad?"}},
		{name: "endpoint alert to its endpoint", role: tui.RoleSupervisor, keys: []string{"enter", "t"}, want: []string{"[Alerts]", "ENDPOINT press2-mb"}},
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
	if !strings.Contains(v, "TAGS all, under acme/berlin · 11 ·") || !strings.Contains(v, "press3/temperature") {
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
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(waitLimit))
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
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("ASSETS")) }, teatest.WithDuration(waitLimit))
	cancel()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("live data stopped")) }, teatest.WithDuration(waitLimit))
	if n := p.Subscribers(); n != 0 {
		t.Errorf("subscribers = %d after the context ended", n)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	checkFrame(t, tm.FinalModel(t, teatest.WithFinalTimeout(waitLimit)).View(), 100, 30)
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

// Every role has the fault panel; the tree's "/" filters the selected
// node's tags.
func TestOperatorFaultsAndTreeFilter(t *testing.T) {
	s := newSession(t, tui.RoleOperator, 80, 24)
	s.keys("/", "temp", "enter")
	s.waitOutput("/temp")
	s.keys("f")
	v := s.final()
	if !strings.Contains(v, "[Faults]") || !strings.Contains(v, "refused: operators cannot inject or clear faults") {
		t.Errorf("the operator's fault panel, marked refused:\n%s", v)
	}
}
