package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/tui/sshserve"
)

// TestE2EWorkshopConsole: the workshop as otwin workshop wires it, with
// the instructor console. Only the trainer's session gets the console
// (the operator's c is refused by the UI because the server gave it
// none); the trainer pauses, resumes and changes the speed of the twin's
// clock, starts the exercise, sees its fault fire and the operator's ack
// reach the scoreboard, and writes the debrief. Every console action is
// audited with the trainer's name and lands in the debrief.
func TestE2EWorkshopConsole(t *testing.T) {
	t.Parallel()
	wf := startWorkshop(t, [2]string{"tom", "trainer"}, [2]string{"olga", "operator"})
	f, ws, tw, reports := wf.sshFixture, wf.ws, wf.tw, wf.reports
	tom := openTerm(t, f.dial(t, "tom"))
	tom.waitText(10*time.Second, "tom (trainer)", "[Console]", "hot-press", "0/1 idle", "SCOREBOARD")
	olga := openTerm(t, f.dial(t, "olga"))
	olga.waitText(10*time.Second, "olga (operator)", "press1/temp")
	olga.send("c")
	olga.waitText(5*time.Second, "no instructor console: it is for trainers in a workshop")

	// The clock: pause, resume, faster, slower, each on the twin itself.
	clockSteps := []struct {
		key, shown string
		paused     bool
		speed      float64
	}{
		{" ", "clock paused", true, 1},
		{" ", "clock running", false, 1},
		{"+", "speed 2×", false, 2},
		{"-", "speed 1×", false, 1},
	}
	for _, st := range clockSteps {
		tom.Mark()
		tom.send(st.key)
		tom.waitText(5*time.Second, st.shown)
		s := tw.Engine.Status()
		if s.Paused != st.paused || s.Speed != st.speed {
			t.Errorf("after %q the twin's clock is paused=%v speed=%v, want %v %v", st.key, s.Paused, s.Speed, st.paused, st.speed)
		}
	}

	// Start the exercise: its fault fires 2s later, the operator acks.
	tom.Mark()
	tom.send("\r")
	tom.waitText(5*time.Second, "started exercise hot-press")
	waitUntil(t, 10*time.Second, "the exercise's fault", func() bool { return f.faultActive("overheat") })
	tom.waitText(5*time.Second, "1/1 done")
	olga.waitText(10*time.Second, "value 150 above high limit 100")
	olga.send(":")
	olga.waitText(2*time.Second, ":")
	olga.send("alerts\r")
	olga.waitText(5*time.Second, "[Alerts]")
	olga.send("/")
	olga.send("out_of_range\r")
	olga.Mark()
	olga.send("a")
	olga.waitText(5*time.Second, "ack "+overheatAlert+" comment:")
	olga.send("cooling down\r")
	olga.waitText(5*time.Second, "acknowledged "+overheatAlert)

	// The trainer's scoreboard shows the ack (olga, operator, online,
	// the alerts she saw, one ack), refreshed by itself.
	var seen int
	waitUntil(t, 5*time.Second, "olga's ack on the scoreboard", func() bool {
		for _, s := range ws.Scoreboard() {
			if s.User == "olga" && s.Acks == 1 {
				seen = s.AlertsSeen
				return true
			}
		}
		return false
	})
	tom.waitText(5*time.Second, fmt.Sprintf("olga operator yes %d 1", seen))

	tom.Mark()
	tom.send("d")
	tom.waitText(5*time.Second, "debrief written to "+filepath.Join(reports, "debrief.md"))
	md, err := os.ReadFile(filepath.Join(reports, "debrief.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"tom (trainer) clock pause",
		"tom (trainer) clock resume",
		"tom (trainer) clock speed 2",
		"tom (trainer) exercise hot-press",
		"olga (operator) acknowledge " + overheatAlert,
	} {
		if !strings.Contains(string(md), w) {
			t.Errorf("debrief.md lacks %q:\n%s", w, md)
		}
	}
	if _, err := os.Stat(filepath.Join(reports, "debrief.html")); err != nil {
		t.Error(err)
	}

	for _, w := range []struct{ event, target string }{
		{"clock", "pause"}, {"clock", "resume"}, {"clock", "speed 2"}, {"clock", "speed 1"},
		{"exercise", "hot-press"}, {"debrief", filepath.Join(reports, "debrief.md")},
	} {
		f.waitAudit(t, w.event+" "+w.target, func(e sshserve.AuditEvent) bool {
			return e.Event == w.event && e.Target == w.target && e.User == "tom" && e.Role == "trainer" && e.Result == "ok" && e.Remote != ""
		})
	}
}

// TestTrainerConsoleRefusesWithoutPolicy: a console handed to a session
// whose policy does not allow control (which startSSH never does) still
// refuses, leaves the twin alone and audits the refusal.
func TestTrainerConsoleRefusesWithoutPolicy(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "press.yaml", workshopScenario)
	tw := startE2ETwin(t, sc)
	ws := workshop.New(sc, tw.Engine, nil)
	var buf strings.Builder
	audit := sshserve.NewAuditLog(&buf)
	var recorded []workshop.Action
	sess := &session{user: "olga", role: "operator", policy: rolePolicy("operator", false), audit: audit,
		onAction: func(r actionResult) {
			recorded = append(recorded, workshop.Action{User: r.User, Role: r.Role, Kind: r.Kind, Target: r.Target, Refused: r.Refused})
		}}
	c := consoleHook(ws, tw.Engine, &debriefWriter{ws: ws, dir: t.TempDir()})(sess)
	actions := []struct {
		name string
		do   func() error
	}{
		{"pause", c.Pause},
		{"resume", c.Resume},
		{"speed", func() error { return c.SetSpeed(8) }},
		{"start", func() error { return c.StartExercise("hot-press") }},
		{"debrief", func() error { _, err := c.WriteDebrief(); return err }},
	}
	for _, a := range actions {
		if err := a.do(); err == nil || !strings.Contains(err.Error(), "refused: operators cannot") {
			t.Errorf("%s: err = %v, want a refusal", a.name, err)
		}
	}
	if st := tw.Engine.Status(); st.Paused || st.Speed != 1 {
		t.Errorf("twin clock changed: paused=%v speed=%v", st.Paused, st.Speed)
	}
	for _, e := range ws.ExerciseStates() {
		if e.Running || e.Fired > 0 {
			t.Errorf("exercise started: %+v", e)
		}
	}
	if len(recorded) != len(actions) {
		t.Fatalf("recorded %d actions, want %d: %+v", len(recorded), len(actions), recorded)
	}
	for _, r := range recorded {
		if r.User != "olga" || r.Refused == "" {
			t.Errorf("recorded %+v, want olga's refusal", r)
		}
	}
	if n := strings.Count(buf.String(), `"user":"olga"`); n != len(actions) {
		t.Errorf("audit has %d lines of olga, want %d:\n%s", n, len(actions), buf.String())
	}
}
