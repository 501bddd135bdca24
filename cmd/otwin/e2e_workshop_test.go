package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/tui/sshserve"
)

// workshopScenario is sshScenario with the roles of a class and an
// exercise: the press overheats 2s in; the operator must acknowledge
// within 30s, maintenance comment within 5m.
const workshopScenario = sshScenario + `
roles:
  - {name: operator, description: Runs the press.}
  - {name: maintenance, description: Fixes the press.}
  - {name: trainer, description: Runs the exercise.}
exercises:
  - name: hot-press
    description: The press overheats. Acknowledge it and say what you did.
    steps:
      - at: 2s
        fault: overheat
        expect:
          - {role: operator, action: acknowledge, within: 30s, hint: "Look at the temperature."}
          - {role: maintenance, action: comment, within: 5m}
`

// workshopFixture is a workshop built in-process the way otwin workshop
// builds it.
type workshopFixture struct {
	*sshFixture
	ws *workshop.Workshop
	tw *e2eTwin
	// reports is where the debrief is written.
	reports string
}

// startWorkshop builds a workshop in-process the way otwin workshop does:
// the scenario file loaded as the command loads it, the twin, the
// collector over the exported sources, the workshop following the store,
// and the SSH server whose sessions and actions feed the workshop, with
// the instructor console on trainers' sessions. users are {name, role}.
func startWorkshop(t *testing.T, users ...[2]string) *workshopFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "press.yaml")
	if err := os.WriteFile(path, []byte(workshopScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := loadScenarioArg([]string{path})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	tw := startE2ETwin(t, sc)
	col := startE2ECollector(t, exportFast(t, sc, tw.Endpoints))
	ws := workshop.New(sc, tw.Engine, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		followWorkshop(ctx, ws, col.collector, e2eLogger())
	}()
	t.Cleanup(func() { cancel(); <-done })
	reports := filepath.Join(t.TempDir(), "debrief")
	debrief := &debriefWriter{ws: ws, dir: reports}
	f := serveSSH(t, tw, col, "workshop · "+sc.Name, sshOpts{users: users, record: filepath.Join(reports, "casts")}, workshopHooks(ws, tw.Engine, debrief))
	ws.SetRoster(rosterOf(f.svc.srv.Users()))
	return &workshopFixture{sshFixture: f, ws: ws, tw: tw, reports: reports}
}

// TestE2EWorkshopExercise: trainer, operator and maintenance join over
// SSH; the trainer starts the exercise from the console; its fault fires
// on time; the alert
// reaches the operator, who acknowledges it over SSH; maintenance's
// attempt to inject a fault is refused; the debrief (Markdown and HTML)
// lists the fault, the alert, the ack with its response time and the
// refusal.
func TestE2EWorkshopExercise(t *testing.T) {
	t.Parallel()
	wf := startWorkshop(t, [2]string{"tom", "trainer"}, [2]string{"olga", "operator"}, [2]string{"max", "maintenance"})
	f, ws := wf.sshFixture, wf.ws
	trainer := openTerm(t, f.dial(t, "tom"))
	op := openTerm(t, f.dial(t, "olga"))
	mx := openTerm(t, f.dial(t, "max"))
	trainer.waitText(10*time.Second, "tom (trainer)", "[Console]", "hot-press")
	op.waitText(10*time.Second, "olga (operator)", "press1/temp")
	mx.waitText(10*time.Second, "max (maintenance)")
	waitUntil(t, 5*time.Second, "three participants online", func() bool {
		n := 0
		for _, p := range ws.Participants() {
			if p.Online {
				n++
			}
		}
		return n == 3
	})

	// The trainer starts the exercise from the console.
	trainer.Mark()
	trainer.send("\r")
	trainer.waitText(5*time.Second, "started exercise hot-press")
	started := time.Now()
	if err := ws.StartExercise("hot-press"); err == nil {
		t.Error("a running exercise started twice")
	}
	waitUntil(t, 10*time.Second, "the exercise's fault", func() bool { return f.faultActive("overheat") })
	fired := time.Since(started)
	if fired < 1500*time.Millisecond || fired > 4*time.Second { // started is read after the console confirms
		t.Errorf("fault at: 2s fired %s after the start", fired)
	}
	evs, _ := f.tw.Engine.Events(0)
	var injected time.Time
	for _, e := range evs {
		if e.Kind == "inject" && e.Fault == "overheat" {
			injected = e.Time
		}
	}
	if injected.IsZero() {
		t.Fatalf("the twin logged no injection of overheat: %+v", evs)
	}

	// The operator sees the alert and acknowledges it with a comment.
	op.waitText(10*time.Second, "value 150 above high limit 100")
	op.showAlerts("out_of_range")
	op.Mark()
	op.send("a")
	op.waitText(5*time.Second, "ack "+overheatAlert+" comment:")
	op.send("press stopped, cooling\r")
	op.waitText(5*time.Second, "acknowledged "+overheatAlert)
	acked := time.Now()

	// Maintenance tries the fault panel: refused on the server.
	mx.send("f")
	mx.waitText(5*time.Second, "[Faults]", "jam")
	mx.send("j")
	mx.Mark()
	mx.send("\r")
	mx.waitText(5*time.Second, "refused: maintenances cannot inject or clear faults")

	if !pollUntil(5*time.Second, func() bool {
		var ack, refused bool
		for _, s := range ws.Scoreboard() {
			ack = ack || (s.User == "olga" && s.Acks == 1 && s.MeanAck > 0)
			refused = refused || (s.User == "max" && s.Refused == 1)
		}
		return ack && refused
	}) {
		rep := ws.Debrief()
		t.Fatalf("the workshop did not record olga's ack (with a time) and max's refusal: scores %+v\ntimeline %+v", rep.Scores, rep.Timeline)
	}

	rep := ws.Debrief()
	var opOutcome, mxOutcome *workshop.Outcome
	for i := range rep.Outcomes {
		o := &rep.Outcomes[i]
		switch o.Role {
		case "operator":
			opOutcome = o
		case "maintenance":
			mxOutcome = o
		}
	}
	if opOutcome == nil || mxOutcome == nil {
		t.Fatalf("outcomes: %+v", rep.Outcomes)
	}
	if opOutcome.Result != "met" || opOutcome.By != "olga" || opOutcome.Fault != "overheat" {
		t.Errorf("operator outcome: %+v", *opOutcome)
	}
	// The response runs from the injection to the ack.
	if max := acked.Sub(opOutcome.Injected); opOutcome.Response <= 0 || opOutcome.Response > max {
		t.Errorf("operator response %s, want in (0, %s]", opOutcome.Response, max)
	}
	if d := opOutcome.Injected.Sub(injected); d < -time.Second || d > time.Second {
		t.Errorf("outcome injected at %s, the twin at %s", opOutcome.Injected, injected)
	}
	if mxOutcome.Result != "pending" {
		t.Errorf("maintenance outcome %q within its open window, want pending", mxOutcome.Result)
	}

	dir := t.TempDir()
	mdPath, err := writeDebrief(ws, dir)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "debrief.html"))
	if err != nil {
		t.Fatal(err)
	}
	resp := opOutcome.Response.Round(100 * time.Millisecond).String()
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"debrief.md", string(md), []string{
			"# Workshop debrief: sshline",
			"fault overheat injected on press1/temp",
			"alert " + overheatAlert + " raised: value 150 above high limit 100",
			`olga (operator) acknowledge ` + overheatAlert + ` — "press stopped, cooling"`,
			"| hot-press | overheat |",
			"| operator | acknowledge | 30s | olga | " + resp + " | met |",
			"| maintenance | comment | 5m0s | — | — | pending |",
			"refused: maintenances cannot inject or clear faults",
			"| olga | operator |",
		}},
		{"debrief.html", string(html), []string{
			"<h1>Workshop debrief: sshline</h1>",
			"fault overheat injected on press1/temp",
			"alert " + overheatAlert + " raised: value 150 above high limit 100",
			"olga (operator) acknowledge " + overheatAlert,
			"press stopped, cooling",
			"<td>olga</td><td>" + resp + `</td><td class="met">met</td>`,
			"refused: maintenances cannot inject or clear faults",
		}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.doc, w) {
				t.Errorf("%s lacks %q:\n%s", tc.name, w, tc.doc)
			}
		}
		if strings.Contains(tc.doc, "refused: refused") {
			t.Errorf("%s repeats \"refused\":\n%s", tc.name, tc.doc)
		}
	}

	// Leaving is seen by the workshop and audited; a second session of
	// the same person closing leaves them online.
	online := func(user string) bool {
		for _, p := range ws.Participants() {
			if p.User == user {
				return p.Online
			}
		}
		return false
	}
	op2 := openTerm(t, f.dial(t, "olga"))
	op2.waitText(10*time.Second, "olga (operator)")
	op2.sess.Close()
	waitUntil(t, 5*time.Second, "olga's second session to end", func() bool { return f.svc.srv.Active() == 3 })
	f.waitAudit(t, "olga's first logout", func(e sshserve.AuditEvent) bool { return e.Event == "logout" && e.User == "olga" })
	if !online("olga") {
		t.Error("olga offline while her first session is still open")
	}
	op.sess.Close()
	waitUntil(t, 5*time.Second, "olga offline", func() bool { return !online("olga") })
}

// TestE2EWorkshopCommand runs otwin workshop itself (flags and all) on a
// scenario file, started --paused with --exercise: the clock stands still
// (and the exercise waits) until the trainer's go, given here through the
// control API with the ready file's token; the operator acknowledges over
// SSH, and ending the command writes the debrief into --report-dir with
// the link into her recording (in casts/), and the audit into --data-dir.
func TestE2EWorkshopCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	scenario := filepath.Join(dir, "press.yaml")
	if err := os.WriteFile(scenario, []byte(workshopScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	users, usersFile := writeUsers(t, dir, [][2]string{{"tom", "trainer"}, {"olga", "operator"}})
	data, reports, ready := filepath.Join(dir, "data"), filepath.Join(dir, "reports"), filepath.Join(dir, "ready.json")

	root := newRoot()
	var out, errs lockedBuffer
	root.SetOut(&out)
	root.SetErr(&errs)
	root.SetArgs([]string{"workshop", scenario, "--users", usersFile, "--listen", "127.0.0.1:0",
		"--data-dir", data, "--report-dir", reports, "--exercise", "hot-press", "--idle-timeout", "1m", "--log-level", "warn",
		"--paused", "--ready-file", ready})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	addrRE := regexp.MustCompile(`workshop "sshline" on (\S+) \(ssh -p \d+ <host>\); exercises: \[hot-press\]`)
	var addr string
	waitUntil(t, 20*time.Second, "the workshop's address on stdout", func() bool {
		select {
		case err := <-done:
			t.Fatalf("otwin workshop ended: %v\nstderr: %s", err, errs.String())
		default:
		}
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			return true
		}
		return false
	})
	c, err := dialSSH(addr, "olga", gossh.PublicKeys(users["olga"].signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	op := openTerm(t, c)
	op.waitText(10*time.Second, "olga (operator)", "press1/temp")
	if !strings.Contains(out.String(), "the scenario clock is paused") {
		t.Errorf("stdout does not say the clock waits for the go:\n%s", out.String())
	}
	st, err := otwin(t, "clock", "status", "--ready-file", ready)
	if err != nil || !strings.Contains(st, "state:          paused") || !strings.Contains(st, "elapsed:        0s") {
		t.Fatalf("clock before the go: %v\n%s", err, st)
	}
	if _, err := otwin(t, "clock", "resume", "--ready-file", ready); err != nil { // the go
		t.Fatal(err)
	}
	op.waitText(10*time.Second, "value 150 above high limit 100") // the exercise's fault, 2s after the go
	op.showAlerts("out_of_range")
	op.Mark()
	op.send("a")
	op.waitText(5*time.Second, "ack "+overheatAlert+" comment:")
	op.send("on it\r")
	op.waitText(5*time.Second, "acknowledged "+overheatAlert)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("otwin workshop: %v\nstderr: %s", err, errs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("otwin workshop did not end within 20s of its context")
	}
	if !strings.Contains(out.String(), "debrief written to "+filepath.Join(reports, "debrief.md")) {
		t.Errorf("stdout: %s", out.String())
	}
	md, err := os.ReadFile(filepath.Join(reports, "debrief.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"fault overheat injected on press1/temp",
		"olga (operator) acknowledge " + overheatAlert + ` — "on it"`,
		"| hot-press | overheat | +00:02 |",
		"| operator | acknowledge | 30s | olga |",
		"| met |",
		"](casts/olga-",
	} {
		if !strings.Contains(string(md), w) {
			t.Errorf("debrief.md lacks %q:\n%s", w, md)
		}
	}
	if _, err := os.Stat(filepath.Join(reports, "debrief.html")); err != nil {
		t.Error(err)
	}
	audit, err := os.ReadFile(filepath.Join(data, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"event":"login","user":"olga"`, `"event":"acknowledge","user":"olga"`, `"target":"POST /v1/clock","result":"ok"`} {
		if !strings.Contains(string(audit), w) {
			t.Errorf("audit lacks %s:\n%s", w, audit)
		}
	}
}

// TestE2EWorkshopFairness: max (maintenance) acknowledges the exercise's
// alert first, with a comment; olga (operator) then presses a on it too,
// and the store turns her down ("nothing to acknowledge"). Her attempt is
// not credited: no ack on the scoreboard, no response for the operator,
// whose window, still open when the workshop ends, is missed. The
// roster lists sue, who never came; the debrief links each participant's
// recording at the moment of each action.
func TestE2EWorkshopFairness(t *testing.T) {
	t.Parallel()
	wf := startWorkshop(t, [2]string{"olga", "operator"}, [2]string{"max", "maintenance"}, [2]string{"sue", "supervisor"})
	f, ws := wf.sshFixture, wf.ws
	op := openTerm(t, f.dial(t, "olga"))
	mx := openTerm(t, f.dial(t, "max"))
	op.waitText(10*time.Second, "olga (operator)", "press1/temp")
	mx.waitText(10*time.Second, "max (maintenance)")
	if err := ws.StartExercise("hot-press"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the exercise's alert in the store", func() bool {
		for _, a := range f.col.Store.Alerts() {
			if a.ID == overheatAlert {
				return true
			}
		}
		return false
	})
	openAlert := func(tm *term) {
		tm.Mark()
		tm.showAlerts("out_of_range")
		tm.waitText(5*time.Second, "value 150 above high limit 100")
	}
	openAlert(mx)
	mx.Mark()
	mx.send("a")
	mx.waitText(5*time.Second, "ack "+overheatAlert+" comment:")
	mx.send("sensor checked, cooling on\r")
	mx.waitText(5*time.Second, "acknowledged "+overheatAlert)
	openAlert(op)
	op.Mark()
	op.send("a")
	op.waitText(5*time.Second, "ack "+overheatAlert+" comment:")
	op.send("me too\r")
	f.waitAudit(t, "olga's turned-down ack", func(e sshserve.AuditEvent) bool {
		return e.Event == "acknowledge" && e.User == "olga" && strings.Contains(e.Result, "nothing to acknowledge")
	})
	waitUntil(t, 5*time.Second, "both acks recorded", func() bool {
		n := 0
		for _, s := range ws.Scoreboard() {
			if s.User == "max" && s.Acks == 1 {
				n++
			}
		}
		rep := ws.Debrief()
		return n == 1 && strings.Contains(fmt.Sprint(rep.Timeline), "not carried out")
	})
	ws.End()
	rep := ws.Debrief()
	for _, s := range rep.Scores {
		switch s.User {
		case "olga":
			if s.Acks != 0 || s.MeanAck != 0 {
				t.Errorf("olga's turned-down ack was credited: %+v", s)
			}
		case "max":
			if s.Acks != 1 || s.Comments != 1 {
				t.Errorf("max's ack with a comment: %+v", s)
			}
		}
	}
	var users []string
	for _, p := range rep.Participants {
		users = append(users, fmt.Sprintf("%s:%v", p.User, p.Online))
	}
	if got := strings.Join(users, " "); got != "max:true olga:true sue:false" {
		t.Errorf("participants %s, want the whole roster with who is online", got)
	}
	for _, o := range rep.Outcomes {
		switch o.Role {
		case "operator":
			if o.Result != "missed" || o.By != "" || o.Note != "window still open when the workshop ended" {
				t.Errorf("operator outcome %+v, want missed: olga's ack was not carried out", o)
			}
		case "maintenance":
			if o.Result != "met" || o.By != "max" {
				t.Errorf("maintenance outcome %+v, want met by max's commented ack", o)
			}
		}
	}
	md, err := writeDebrief(ws, wf.reports)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	linkRE := regexp.MustCompile(`olga \(operator\) acknowledge ` + regexp.QuoteMeta(overheatAlert) + `[^|]*— not carried out: [^|]*nothing to acknowledge \| \[olga \d+:\d\d\]\(casts/olga-[0-9-]+\.cast#t=\d+\)`)
	if !linkRE.Match(b) {
		t.Errorf("debrief.md lacks olga's turned-down ack with the link into her recording:\n%s", b)
	}
	if !strings.Contains(string(b), "missed (window still open when the workshop ended)") {
		t.Errorf("debrief.md lacks the missed window:\n%s", b)
	}
}
