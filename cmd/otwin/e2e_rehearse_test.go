package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/scenarios"
)

// rehearseScenario is sshScenario with exercises some of whose
// expectations can never be met: a drift too slow to leave the range, a
// trainer expected to acknowledge, an operator expected to clear a fault,
// and quality expected to acknowledge the alerts of a lost PLC, which its
// opening view (the alerts of values, not of connections) hides.
const rehearseScenario = sshScenario + `
  - name: creep
    kind: drift
    target: press1/temp
    rate: 0.001
  - name: plc_down
    kind: comm_loss
    target: press1
roles:
  - {name: operator}
  - {name: quality}
  - {name: supervisor}
  - {name: trainer}
exercises:
  - name: hot
    steps:
      - at: 0s
        fault: overheat
        expect:
          - {role: operator, action: acknowledge, within: 30s}
          - {role: trainer, action: acknowledge, within: 1m}
          - {role: operator, action: clear, within: 1m}
  - name: slow
    steps:
      - at: 0s
        fault: creep
        expect:
          - {role: operator, action: acknowledge, within: 20s}
  - name: sensor
    steps:
      - at: 5s
        fault: plc_down
        expect:
          - {role: quality, action: acknowledge, within: 1m}
          - {role: supervisor, action: comment, within: 1m}
`

// TestE2ERehearse plays every exercise on the twin with its real Modbus
// server and the real collector, no participants: the expectations that
// can be met pass, and each one that cannot is reported with why.
func TestE2ERehearse(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "rehearse", rehearseScenario)
	steps, err := rehearse(context.Background(), sc, rehearseConfig{DataDir: t.TempDir(), Speed: 16, Detect: 8 * time.Second, Logger: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Fatalf("%d steps rehearsed, want 3: %+v", len(steps), steps)
	}
	want := map[string][]string{
		"overheat": {
			"trainer must acknowledge within 1m0s, but trainers cannot acknowledge alerts",
			"operator must clear within 1m0s, but operators cannot inject or clear faults",
		},
		"creep": {"operator must acknowledge within 20s, but the fault raises no alert on press1/temp"},
		"plc_down": {
			"quality must acknowledge within 1m0s, but the quality role's alert view filters out ",
		},
	}
	for _, s := range steps {
		if got, w := strings.Join(s.Problems, "\n"), strings.Join(want[s.Fault], "\n"); !strings.HasPrefix(got, w) || len(s.Problems) != len(want[s.Fault]) {
			t.Errorf("%s: problems\n%s\nwant\n%s", s.Fault, got, w)
		}
		if (s.Alert == nil) != (s.Fault == "creep") {
			t.Errorf("%s: alert %+v", s.Fault, s.Alert)
		}
	}
	var out strings.Builder
	if n := printRehearsal(&out, steps); n != 4 {
		t.Errorf("%d problems printed, want 4:\n%s", n, out.String())
	}
	// The overheat raises out_of_range and spike at once: either is first.
	for _, w := range []string{"hot  overheat  ", ":acme/plant/press/line1/press1/temp", "slow      creep  none", "problem: sensor / plc_down: quality must"} {
		if !strings.Contains(squeeze(out.String()), squeeze(w)) {
			t.Errorf("report lacks %q:\n%s", w, out.String())
		}
	}
}

// TestE2ERehearseCommand: otwin workshop --rehearse on a scenario whose
// expectations can all be met exits 0 without a users file.
func TestE2ERehearseCommand(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "press.yaml")
	if err := os.WriteFile(path, []byte(workshopScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := otwin(t, "workshop", path, "--rehearse", "--data-dir", t.TempDir(), "--log-level", "warn")
	if err != nil {
		t.Fatalf("rehearse: %v\n%s", err, out)
	}
	for _, w := range []string{"rehearsing 1 exercises", "hot-press", "overheat", ":acme/plant/press/line1/press1/temp", "every expectation can be met"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	var ee exitError
	if _, err := otwin(t, "workshop", path); err == nil || errors.As(err, &ee) || !strings.Contains(err.Error(), `"users"`) {
		t.Errorf("workshop without --users: %v, want the flag named", err)
	}
}

// TestJudgeAnyAlertShown: the quality role's opening view hides a lost
// connection but shows the out_of_range of a tag read over it: an
// expectation on both can be met. With the comm_loss alone it cannot, and
// the report names it. Its view shows a spike, not only out_of_range.
func TestJudgeAnyAlertShown(t *testing.T) {
	e := scenarios.Expectation{Role: "quality", Action: "acknowledge", Within: scenarios.Duration(time.Minute)}
	id := "acme/plant/press/line1/press1/temp"
	lost := normalize.Alert{ID: "comm_loss:press1-modbus", Kind: normalize.AlertCommLoss, Target: "press1-modbus", Message: "no answer from 127.0.0.1:5020 for 6s", State: normalize.ActiveUnacked}
	oor := normalize.Alert{ID: "out_of_range:" + id, Kind: normalize.AlertOutOfRange, Target: id, Message: "value 150 above high limit 100", State: normalize.ActiveUnacked}
	spike := normalize.Alert{ID: "spike:" + id, Kind: normalize.AlertSpike, Target: id, Message: "jump of 100 from 50 to 150 (limit 50)", State: normalize.ActiveUnacked}
	s := rehearsedStep{Target: "press1", Alert: &workshop.RaisedAlert{ID: lost.ID}}
	if p := judge(e, s, []normalize.Alert{lost, oor}); p != "" {
		t.Errorf("with the out_of_range shown: %q", p)
	}
	if p := judge(e, s, []normalize.Alert{lost}); !strings.HasSuffix(p, "the quality role's alert view filters out "+lost.ID) {
		t.Errorf("with the comm_loss alone: %q", p)
	}
	if p := judge(e, s, []normalize.Alert{spike}); p != "" {
		t.Errorf("with a spike: %q", p)
	}
}

// TestActionPermCoversScenarioActions: every action an exercise may
// expect has the permission the dashboard checks for it.
func TestActionPermCoversScenarioActions(t *testing.T) {
	for _, a := range scenarios.Actions {
		if _, ok := actionPerm[a]; !ok {
			t.Errorf("action %q has no permission", a)
		}
	}
}
