package tui_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/tuifake"
)

// The keys act on the alert under the cursor: an alert view opens on the
// newest alert (whatever the cursor was on before), the alerts below the
// tree have a cursor of their own that a, S and C act on, and the
// comment key adds a note without acknowledging.

// newAlert is an alert raised at the fake plant's now, newer than any.
var newAlert = normalize.Alert{ID: "stale:acme/berlin/body/line1/robot1/speed", Kind: normalize.AlertStale,
	Target: "acme/berlin/body/line1/robot1/speed", Severity: normalize.SeverityLow, State: normalize.ActiveUnacked,
	Message: "no update for 12s (limit 5s)", FirstActive: tuifake.Epoch, LastActive: tuifake.Epoch, Count: 1}

func hasCall(t *testing.T, p *tuifake.Plant, want string) {
	t.Helper()
	if calls := p.Calls(); !slices.Contains(calls, want) {
		t.Errorf("calls %q lack %q", calls, want)
	}
}

// An alert view opened again selects the newest alert, though the
// cursor was on another one when it was left: a acknowledges that one.
func TestAlertViewOpensOnNewest(t *testing.T) {
	for _, open := range [][]string{{":alerts", "enter"}, {"tab", "tab"}} {
		t.Run(open[0], func(t *testing.T) {
			s := newSession(t, tui.RoleOperator, 80, 24)
			s.keys(":alerts", "enter", "j") // the cursor on an older alert
			s.waitOutput(">HIGH UNACK")
			s.keys(":tree", "enter")
			s.waitOutput("[Tree]")
			s.plant.Publish(tui.Update{Alerts: []normalize.Alert{newAlert}})
			s.waitOutput("no update for 12s")
			s.keys(open...)
			s.keys("a")
			s.waitOutput("ack stale:")
			s.keys("seen", "enter")
			s.waitOutput("acknowledged")
			s.final()
			hasCall(t, s.plant, "ack "+newAlert.ID+" seen")
		})
	}
}

// The alerts below the tree: a on the tree acknowledges the alert marked
// there (the newest); ! moves the cursor into them, j to the next one, a
// acknowledges that one; enter opens it.
func TestStripAlertActions(t *testing.T) {
	s := newSession(t, tui.RoleOperator, 80, 24)
	s.waitOutput("›CRIT UNACK")
	s.keys("a")
	s.waitOutput("ack comm_loss:press2-mb comment:")
	s.keys("on it", "enter")
	s.waitOutput("acknowledged comm_loss:press2-mb")
	s.keys("!", "g") // the first row: the alerts re-sorted, unacknowledged first
	s.waitOutput(">HIGH UNACK")
	s.keys("a", "enter")
	s.waitOutput("acknowledged out_of_range")
	s.keys("enter")
	s.waitOutput("ALERT out_of_range:acme/berlin/body/line1/press1/pressure")
	s.final()
	hasCall(t, s.plant, "ack comm_loss:press2-mb on it")
	hasCall(t, s.plant, "ack out_of_range:acme/berlin/body/line1/press1/pressure ")
}

// C asks for a note and adds it to the alert's history, without
// acknowledging; a role refused comments sends its attempt at once and
// reads the backend's refusal.
func TestComment(t *testing.T) {
	s := newSession(t, tui.RoleSupervisor, 80, 24)
	s.keys("C")
	s.waitOutput("comment on comm_loss:press2-mb:")
	s.keys("gateway rebooting", "enter")
	s.waitOutput("comment added to comm_loss:press2-mb")
	s.keys("enter")
	s.waitOutput(`"gateway rebooting"`)
	v := s.final()
	hasCall(t, s.plant, "comment comm_loss:press2-mb gateway rebooting")
	if !strings.Contains(v, "commented") || !strings.Contains(v, "UNACK: active, not acknowledged") {
		t.Errorf("the note in the history, the alert still unacknowledged:\n%s", v)
	}

	tr := newSession(t, tui.RoleTrainer, 80, 24)
	tr.waitOutput("FAULTS")
	tr.keys(":alerts", "enter", "C")
	tr.waitOutput("comment on comm_loss:press2-mb: refused: trainers cannot comment on alerts")
	tr.final()
	hasCall(t, tr.plant, "comment comm_loss:press2-mb ")
}

// ":" lists views, machines and tags matching what is typed; enter goes
// to the best match (a tag in its machine's table, a machine in the
// tree), ↓ chooses another, a command runs as such.
func TestJump(t *testing.T) {
	cases := []struct {
		name string
		keys []string
		want []string
	}{
		{"tag", []string{":", "press2 temp", "enter", "enter"}, []string{"TAG acme/berlin/body/line1/press2/temperature"}},
		{"tag cursor in its table", []string{":", "zone2", "enter"}, []string{"[Tree]", "TAGS acme/berlin/paint/line2/oven1 · 2", ">zone2_temp"}},
		{"machine", []string{":", "robot1", "enter"}, []string{"[Tree]", ">          robot1", "TAGS acme/berlin/body/line1/robot1 · 2"}},
		{"fuzzy", []string{":", "rbt1trq", "enter", "enter"}, []string{"TAG acme/berlin/body/line1/robot1/torque"}},
		{"choose", []string{":", "oven1", "down", "enter", "enter"}, []string{"TAG acme/berlin/paint/line2/oven1/zone1_temp"}},
		{"command", []string{":", "conn", "enter"}, []string{"[Conn]", "CONNECTIONS 4"}},
		{"endpoint", []string{":", "press2-mb", "enter"}, []string{"ENDPOINT press2-mb", "connection refused"}},
		{"nothing", []string{":", "qqqzzz"}, []string{"no view, machine, endpoint or tag matches"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t, tui.RoleSupervisor, 80, 24)
			s.keys(c.keys...)
			v := s.final()
			for _, w := range c.want {
				if !strings.Contains(v, w) {
					t.Errorf("view lacks %q:\n%s", w, v)
				}
			}
		})
	}
}

// At 80 columns the prompt about an alert with a long id keeps room for
// the text: the id is shortened by meaning, the question and every typed
// letter stay on the line.
func TestPromptNotBlind(t *testing.T) {
	long := normalize.Alert{ID: "out_of_range:acme/plant/bottling/line1/filler1/bottles_per_min", Kind: normalize.AlertOutOfRange,
		Target: "acme/plant/bottling/line1/filler1/bottles_per_min", Severity: normalize.SeverityCritical, State: normalize.ActiveUnacked,
		Message: "612 bottles/min > high limit 600 bottles/min", FirstActive: tuifake.Epoch, LastActive: tuifake.Epoch, Count: 1}
	for _, w := range []int{80, 60} {
		p := tuifake.NewLine()
		p.User, p.Role = "alice", tui.RoleSupervisor
		p.Publish(tui.Update{Alerts: []normalize.Alert{long}})
		s := newSessionOn(t, p, tui.RoleSupervisor, w, 24)
		s.keys("a")
		s.waitOutput("comment:")
		typed := "reset the counter at the filler, checked twice"
		s.keys(typed)
		v := s.final()
		lines := strings.Split(v, "\n")
		last := lines[len(lines)-1]
		if w == 80 && !strings.HasPrefix(last, "ack out_of_range:…/line1/filler1/bottles_per_min comment: ") {
			t.Errorf("%d columns: prompt %q: want the kind, the machine, the tag and the question", w, last)
		}
		if !strings.Contains(last, " comment: ") {
			t.Errorf("%d columns: prompt %q: the question is cut", w, last)
		}
		if !strings.Contains(last, "checked twice█") {
			t.Errorf("%d columns: prompt %q: the end of the text typed is not shown", w, last)
		}
		checkFrame(t, v, w, 24)
	}
}
