package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

const testLine = `
name: test-line
tick: 100ms
machines:
  - name: m1
    opcua: {port: 0}
    modbus: {port: 0}
    tags:
      - {name: level, range: {low: 0, high: 100}, model: {sine: {offset: 50, amplitude: 10, period: 10s}}, modbus: {table: input, address: 0, type: float32}}
      - {name: sp, writable: true, range: {low: 0, high: 100}, model: {constant: {value: 50}}, modbus: {table: holding, address: 0, type: float32}}
faults:
  - {name: drop, kind: disconnect, target: m1}
timeline:
  - {at: 3s, fault: drop}
checks:
`

// runTest runs otwin test on a scenario of testLine plus checks, with
// args, and returns its exit code and its JSON report.
func runTest(t *testing.T, checks string, args ...string) (int, []byte, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "line.yaml")
	if err := os.WriteFile(path, []byte(testLine+checks), 0o644); err != nil {
		t.Fatal(err)
	}
	junit, js := filepath.Join(dir, "r.xml"), filepath.Join(dir, "r.json")
	argv := append([]string{"test", path, "--ephemeral", "--data-dir", t.TempDir(), "--junit", junit, "--json", js, "--log-level", "error"}, args...)
	code := run(context.Background(), argv)
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatalf("no JUnit report (exit %d): %v", code, err)
	}
	var doc struct {
		Results []struct{ Name, Status, Message string } `json:"results"`
	}
	b, err := os.ReadFile(js)
	if err != nil || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("JSON report: %v %s", err, b)
	}
	st := map[string]string{}
	for _, r := range doc.Results {
		st[r.Name] = r.Status + ": " + r.Message
	}
	return code, x, st
}

// TestOtwinTestAllPass: a client (otwin watch, started by otwin test)
// that reconnects, polls and writes nothing wrong passes every check:
// exit status 0 and a JUnit report without failures.
func TestOtwinTestAllPass(t *testing.T) {
	t.Setenv("PATH", otwinOnPath(t))
	code, x, st := runTest(t, `
  - {name: back, kind: resubscribe, fault: drop, within: 5s}
  - {name: polled, kind: polled, machine: m1, every: 3s, grace: 5s}
  - {name: range, kind: write_range}
`, "--command-log", filepath.Join(t.TempDir(), "cmd.log"), "--", "otwin", "watch", "$OTWIN_SOURCES", "--headless")
	if code != 0 {
		t.Errorf("exit status %d, want 0; %v", code, st)
	}
	rep := checkJUnit(t, x)
	if rep.tests != 3 || rep.failures != 0 || rep.errors != 0 || rep.skipped != 0 {
		t.Errorf("JUnit %+v, want 3 passed; %v", rep, st)
	}
}

// TestOtwinTestNeverFiredAndUndecided: without a client, checks whose
// event has nobody to react are never fired (JUnit skipped with the
// reason), a check whose window outlasts the run is undecided (JUnit
// error); either fails the run (exit status 1), and none passes.
func TestOtwinTestNeverFiredAndUndecided(t *testing.T) {
	code, x, st := runTest(t, `
  - {name: back, kind: resubscribe, fault: drop, within: 5s}
  - {name: sessions, kind: max_sessions, max: 1}
  - {name: written, kind: written, tag: m1/sp, value: 20, at: 1s, within: 30s}
`, "--duration", "4s")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	rep := checkJUnit(t, x)
	if rep.tests != 3 || rep.failures != 0 || rep.skipped != 2 || rep.errors != 1 {
		t.Errorf("JUnit %+v, want 2 skipped and 1 error", rep)
	}
	for name, want := range map[string]string{
		"back":     "never_fired: no client read or subscribed m1",
		"sessions": "never_fired: no client connected",
		"written":  "undecided:",
	} {
		if !strings.HasPrefix(st[name], want) {
			t.Errorf("%s: %q, want %q…", name, st[name], want)
		}
	}
	if !strings.Contains(string(x), `<skipped message="never fired: no client read or subscribed m1`) {
		t.Errorf("JUnit lacks the reason of the skipped check:\n%s", x)
	}
}

// TestRunLength: by default a test runs to its last timeline event or
// fault, plus the longest check window and a second; a scenario with
// neither needs --duration.
func TestRunLength(t *testing.T) {
	at := func(d time.Duration) *scenarios.Duration { x := scenarios.Duration(d); return &x }
	sc := &scenarios.Scenario{
		Timeline: []scenarios.Event{{At: scenarios.Duration(5 * time.Second)}},
		Faults:   []scenarios.Fault{{Start: at(8 * time.Second), Duration: scenarios.Duration(4 * time.Second)}},
		Checks:   []scenarios.Check{{Within: scenarios.Duration(10 * time.Second)}, {Every: scenarios.Duration(3 * time.Second)}},
	}
	if d, err := runLength(sc); err != nil || d != 23*time.Second {
		t.Errorf("runLength = %v, %v; want 12s + 10s + 1s", d, err)
	}
	if _, err := runLength(&scenarios.Scenario{Checks: sc.Checks}); err == nil || !strings.Contains(err.Error(), "--duration") {
		t.Errorf("no timeline: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "256MiB": 256 << 20, "1GB": 1e9, "64 KiB": 64 << 10, "100000": 100000, "2gib": 2 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"lots", "-5MB", "10KB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// TestOtwinTestWaitClient: with --wait-client the clock holds until a
// client connects; a client that never comes fails the test at once
// (exit status 2, saying so), a command that connects starts the clock.
func TestOtwinTestWaitClient(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "line.yaml")
	os.WriteFile(path, []byte(testLine+"  - {name: range, kind: write_range}\n"), 0o644)
	start := time.Now()
	out, err := execOtwin("test", path, "--ephemeral", "--data-dir", dir, "--wait-client", "1s", "--log-level", "error")
	if code, ok := err.(exitError); !ok || code.code != 2 || !strings.Contains(out, "no client connected within --wait-client 1s") {
		t.Errorf("no client: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %s", d)
	}
	t.Setenv("PATH", otwinOnPath(t))
	code, _, st := runTest(t, "  - {name: range, kind: write_range}\n", "--wait-client", "20s", "--duration", "2s",
		"--command-log", filepath.Join(dir, "cmd.log"), "--", "otwin", "watch", "$OTWIN_SOURCES", "--headless")
	if code != 0 || !strings.HasPrefix(st["range"], "passed") {
		t.Errorf("with a client: exit %d, %v", code, st)
	}
}

// TestOtwinTestChildCallsControl: the command under test finds the twin's
// control API and its token in its environment ($OTWIN_CONTROL,
// $OTWIN_TOKEN): otwin fault list, run as that command, lists the
// scenario's fault instead of being answered 401.
func TestOtwinTestChildCallsControl(t *testing.T) {
	t.Setenv("PATH", otwinOnPath(t))
	t.Setenv("OTWIN_TOKEN", "")
	log := filepath.Join(t.TempDir(), "cmd.log")
	runTest(t, `
  - {name: sessions, kind: max_sessions, max: 1}
`, "--duration", "2s", "--command-log", log, "--", "otwin", "fault", "list")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "drop") || strings.Contains(string(b), "401") {
		t.Errorf("otwin fault list under otwin test printed:\n%s", b)
	}
}
