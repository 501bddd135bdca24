//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/store/alertdb"
)

// The alert state across restarts: a collector process (this test binary
// as a child, wired as otwin watch is: the data directory's alert
// database, newCollector) reads a twin run by the test, is stopped with
// SIGTERM and started again on the same data directory.

// Environment of the child process (TestE2EAlertStateChild).
const (
	envAlertData    = "OTWIN_E2E_ALERT_DATA"
	envAlertSources = "OTWIN_E2E_ALERT_SOURCES"
	envAlertGrace   = "OTWIN_E2E_ALERT_GRACE"
)

// childRequest is what the test asks the child on its stdin, one JSON
// object a line; the child answers with one childReply line on stdout.
type childRequest struct {
	Op     string        `json:"op"` // alerts, history, act
	ID     string        `json:"id,omitempty"`
	Action *store.Action `json:"action,omitempty"`
}

type childReply struct {
	Alerts  []normalize.Alert      `json:"alerts,omitempty"`
	History []normalize.AlertEvent `json:"history,omitempty"`
	Err     string                 `json:"err,omitempty"`
	Stopped bool                   `json:"stopped,omitempty"`
}

// TestE2EAlertStateChild is the collector process of
// TestE2EAlertStateSurvivesRestart: it runs until SIGTERM, then stops as
// the commands do (the collector, then the alert state) and says so.
func TestE2EAlertStateChild(t *testing.T) {
	dir := os.Getenv(envAlertData)
	if dir == "" {
		t.Skip("the child process of TestE2EAlertStateSurvivesRestart")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	f, err := sources.Load(os.Getenv(envAlertSources))
	if err != nil {
		t.Fatal(err)
	}
	opts := alertStateOptions{keepEvents: alertdb.DefaultKeepEvents, keepAge: alertdb.DefaultKeepAge}
	if opts.grace, err = time.ParseDuration(os.Getenv(envAlertGrace)); err != nil {
		t.Fatal(err)
	}
	state, err := opts.open(dir, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	col, err := newCollector(f, dir, state, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	col.Pipeline.TickInterval = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			var req childRequest
			var rep childReply
			if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
				rep.Err = err.Error()
			}
			switch req.Op {
			case "alerts":
				rep.Alerts = col.Store.Alerts()
			case "history":
				rep.History = col.Store.AlertHistory(req.ID)
			case "act":
				if _, err := col.Store.Act(*req.Action); err != nil {
					rep.Err = err.Error()
				}
			}
			mu.Lock()
			out.Encode(rep)
			mu.Unlock()
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	col.Store.Close()
	if err := state.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out.Encode(childReply{Stopped: true})
	mu.Unlock()
}

// collectorProc is a running child collector.
type collectorProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan childReply
	exited  chan struct{}
}

func startCollectorProc(t *testing.T, dataDir, sourcesPath string, grace time.Duration) *collectorProc {
	t.Helper()
	cmd, in, out := startTestProcess(t, "TestE2EAlertStateChild",
		envAlertData+"="+dataDir, envAlertSources+"="+sourcesPath, envAlertGrace+"="+grace.String())
	p := &collectorProc{t: t, cmd: cmd, in: in, replies: make(chan childReply, 16), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r childReply
			if l := sc.Bytes(); len(l) > 0 && l[0] == '{' && json.Unmarshal(l, &r) == nil {
				p.replies <- r
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	return p
}

func (p *collectorProc) call(req childRequest) childReply {
	p.t.Helper()
	b, _ := json.Marshal(req)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("to the collector process: %v", err)
	}
	select {
	case r := <-p.replies:
		return r
	case <-p.exited:
		p.t.Fatal("the collector process exited")
	case <-time.After(10 * time.Second):
		p.t.Fatalf("no answer to %s within 10s", b)
	}
	return childReply{}
}

func (p *collectorProc) act(x store.Action) {
	p.t.Helper()
	if r := p.call(childRequest{Op: "act", Action: &x}); r.Err != "" {
		p.t.Fatalf("%s %s: %s", x.Kind, x.AlertID, r.Err)
	}
}

// alert returns the listed alert id.
func (p *collectorProc) alert(id string) (normalize.Alert, bool) {
	for _, a := range p.call(childRequest{Op: "alerts"}).Alerts {
		if a.ID == id {
			return a, true
		}
	}
	return normalize.Alert{}, false
}

// waitAlert polls until alert id satisfies ok.
func (p *collectorProc) waitAlert(what, id string, ok func(normalize.Alert) bool) normalize.Alert {
	p.t.Helper()
	var a normalize.Alert
	waitUntil(p.t, 30*time.Second, what, func() bool {
		var found bool
		a, found = p.alert(id)
		return found && ok(a)
	})
	return a
}

// stop sends SIGTERM and waits for a clean exit.
func (p *collectorProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case r := <-p.replies:
		if !r.Stopped {
			p.t.Fatalf("after SIGTERM the process said %+v", r)
		}
	case <-time.After(10 * time.Second):
		p.t.Fatal("the collector process did not stop within 10s of SIGTERM")
	}
	<-p.exited
	if !p.cmd.ProcessState.Success() {
		p.t.Fatalf("the collector process exited with %v", p.cmd.ProcessState)
	}
}

// TestE2EAlertStateSurvivesRestart: faults injected into the twin raise
// alerts in a collector process; an operator acknowledges one, a
// technician shelves another and notes a comment; the process stops
// cleanly and starts again on the same data directory: the ack, the shelve
// and the comment are there, and stay when the conditions (the faults
// still on) are raised again. Then a fault is cleared while the collector
// is down: after the restart its alert returns to normal through the
// lifecycle once the grace is over, while the one still raised keeps its
// acknowledgement.
func TestE2EAlertStateSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs collector processes; skipped with -short")
	}
	t.Parallel()
	sc := parseScenario(t, "sshline", sshScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	setRules(t, f, "acme/plant/press/line1/press1/strokes", sources.Rules{Frozen: time.Second})
	dir := t.TempDir()
	srcPath, dataDir := filepath.Join(dir, "sources.yaml"), filepath.Join(dir, "data")
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(srcPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, fault := range []string{"overheat", "jam"} {
		if _, err := tw.Control.InjectNamed(ctx, fault); err != nil {
			t.Fatalf("inject %s: %v", fault, err)
		}
	}
	const hot, jammed = overheatAlert, "frozen:acme/plant/press/line1/press1/strokes"

	p := startCollectorProc(t, dataDir, srcPath, time.Minute)
	p.waitAlert("the overheat alert", hot, func(a normalize.Alert) bool { return a.Active() })
	p.waitAlert("the jam alert", jammed, func(a normalize.Alert) bool { return a.Active() })
	p.act(store.Action{Kind: store.ActAck, AlertID: hot, User: "olga", Comment: "cooling checked"})
	p.act(store.Action{Kind: store.ActShelve, AlertID: jammed, User: "max", Comment: "jam being cleared", Until: time.Now().Add(time.Hour)})
	p.act(store.Action{Kind: store.ActComment, AlertID: hot, User: "max", Comment: "fan bearing worn, replacing"})
	wantHot, _ := p.alert(hot)
	wantJam, _ := p.alert(jammed)
	p.stop()
	if _, err := os.Stat(filepath.Join(dataDir, alertdb.PIDFileName)); !os.IsNotExist(err) {
		t.Errorf("the pid file is left after a clean stop: %v", err)
	}

	// Again on the same data directory, the faults still on.
	p = startCollectorProc(t, dataDir, srcPath, time.Minute)
	checkKept := func(when string) {
		t.Helper()
		a, _ := p.alert(hot)
		if a.State != normalize.ActiveAcked || a.AckedBy != "olga" || a.Comment != "cooling checked" || !a.AckedAt.Equal(wantHot.AckedAt) || a.Count != wantHot.Count {
			t.Fatalf("%s: %+v, want it acknowledged by olga as before", when, a)
		}
		j, _ := p.alert(jammed)
		if !j.Shelved || j.ShelvedBy != "max" || j.ShelveReason != "jam being cleared" || !j.ShelvedUntil.Equal(wantJam.ShelvedUntil) {
			t.Fatalf("%s: %+v, want it still shelved by max", when, j)
		}
		var note *normalize.AlertEvent
		for _, e := range p.call(childRequest{Op: "history", ID: hot}).History {
			if e.What == normalize.EventCommented {
				note = &e
			}
		}
		if note == nil || note.User != "max" || note.Comment != "fan bearing worn, replacing" || note.State != normalize.ActiveAcked {
			t.Fatalf("%s: the comment in the history is %+v", when, note)
		}
	}
	checkKept("right after the restart")
	if j, _ := p.alert(jammed); j.State != normalize.ActiveUnacked {
		t.Fatalf("the jam alert after the restart: %v, want still active and unacknowledged", j.State)
	}
	p.stop()

	// The jam is cleared while the collector is down. Started again with a
	// grace of 5s: the overheat is raised again within it and keeps its
	// ack; the jam's condition never comes back, so once the grace is
	// over its alert returns to normal through the lifecycle (still
	// unacknowledged, RTN; its timed shelve goes on).
	if err := tw.Control.Clear(ctx, "jam"); err != nil {
		t.Fatal(err)
	}
	p = startCollectorProc(t, dataDir, srcPath, 5*time.Second)
	j := p.waitAlert("the jam alert back to normal after the grace", jammed, func(a normalize.Alert) bool { return !a.Active() })
	if j.State != normalize.RTNUnacked || !j.Shelved {
		t.Fatalf("the jam alert after the grace: %+v, want RTN unacknowledged and still shelved", j)
	}
	var why string
	for _, e := range p.call(childRequest{Op: "history", ID: jammed}).History {
		if e.What == normalize.EventCleared {
			why = e.Comment
		}
	}
	if !strings.Contains(why, "not raised again within 5s of the restart") {
		t.Errorf("the jam alert's clear says %q", why)
	}
	checkKept("after the grace, the overheat raised again")
	p.stop()
}
