package opcuaserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// nodeAlarmReport is what testdata/node/alarms.js reports.
type nodeAlarmReport struct {
	Raised, Acked, Confirmed map[string]any
	UnknownEventID           string `json:"unknownEventId"`
	Ack, AckAgain            string
	Confirm, ConfirmAgain    string
	Refresh                  string
	RefreshEvents            []struct {
		Type, Condition string
		Retain, Acked   any
	}
	AlarmList []struct {
		Condition, EventType string
		Retain               bool
	}
}

// TestNodeOPCUAAlarms: node-opcua, a client that is not ours, receives
// the alarm a fault raises through an event subscription on the Server
// object (a where clause and select clauses of its own making),
// acknowledges and confirms it by EventId with a comment (the condition's
// own methods, found by browse path), gets the refusals, and after a
// reconnect gets the retained conditions between RefreshStartEvent and
// RefreshEndEvent; its alarm list (installAlarmMonitoring) shows them.
func TestNodeOPCUAAlarms(t *testing.T) {
	node, dir := nodePeer(t)
	f := alarmServer(t)
	plan, _ := json.Marshal(map[string]string{"url": f.s.URL(), "alarm": "co2-high"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "alarms.js"), string(plan))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var report *nodeAlarmReport
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var line struct {
			Step   string
			Report *nodeAlarmReport
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("node-opcua printed %q: %v", sc.Text(), err)
		}
		switch {
		case line.Step == "subscribed":
			// The fault raises co2-high (and co2-nonex); door-open goes
			// active and back: retained, unacknowledged.
			f.write(t, "filler/door", true)
			f.write(t, "filler/door", false)
			f.injectAndStep(t, "co2-over", 3)
		case line.Report != nil:
			report = line.Report
		}
	}
	if err := cmd.Wait(); err != nil || report == nil {
		t.Fatalf("node-opcua alarm client: %v\n%s", err, stderr.String())
	}

	for k, want := range map[string]any{
		"ConditionName": "co2-high", "ActiveState.Id": true, "AckedState.Id": false, "Retain": true,
		"LimitState.CurrentState": "HighHigh", "SourceName": "filler/co2", "EventType": "ns=0;i=9341",
		"Message": "CO2 pressure (HighHigh)", "Severity": 800.0,
	} {
		if got := report.Raised[k]; got != want {
			t.Errorf("raised %s = %v, want %v", k, got, want)
		}
	}
	if id, _ := report.Raised["ConditionId"].(string); !strings.HasSuffix(id, "/filler/co2/co2-high") {
		t.Errorf("ConditionId %v", report.Raised["ConditionId"])
	}
	for what, got := range map[string][2]string{
		"acknowledge with an unknown EventId": {report.UnknownEventID, "BadEventIdUnknown"},
		"acknowledge":                         {report.Ack, "Good"},
		"second acknowledge":                  {report.AckAgain, "BadConditionBranchAlreadyAcked"},
		"confirm":                             {report.Confirm, "Good"},
		"second confirm":                      {report.ConfirmAgain, "BadConditionBranchAlreadyConfirmed"},
		"ConditionRefresh":                    {report.Refresh, "Good"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %s, want %s", what, got[0], got[1])
		}
	}
	if report.Acked["Comment"] != "seen by node-opcua" || report.Acked["ClientUserId"] != "anonymous" || report.Acked["ConfirmedState.Id"] != false {
		t.Errorf("acknowledged event %v", report.Acked)
	}
	if report.Confirmed["Comment"] != "confirmed by node-opcua" || report.Confirmed["Retain"] != true {
		t.Errorf("confirmed event %v (the fault is still on: retained)", report.Confirmed)
	}

	// The refresh: start, the retained conditions, end, nothing else
	// between (the where clause selects alarms; the bracket gets through).
	evs := report.RefreshEvents
	start := slices.IndexFunc(evs, func(e struct {
		Type, Condition string
		Retain, Acked   any
	}) bool {
		return e.Type == "ns=0;i=2787"
	})
	if start < 0 || evs[len(evs)-1].Type != "ns=0;i=2788" {
		t.Fatalf("refresh events %+v: want RefreshStartEvent ... RefreshEndEvent", evs)
	}
	var names []string
	for _, e := range evs[start+1 : len(evs)-1] {
		names = append(names, e.Condition)
		if e.Retain != true {
			t.Errorf("refreshed %s not retained", e.Condition)
		}
	}
	slices.Sort(names)
	if want := []string{"co2-high", "co2-nonex", "door-open"}; !slices.Equal(names, want) {
		t.Errorf("refreshed conditions %v, want %v", names, want)
	}
	var listed []string
	for _, a := range report.AlarmList {
		listed = append(listed, a.Condition[strings.LastIndex(a.Condition, "/")+1:])
	}
	slices.Sort(listed)
	if want := []string{"co2-high", "co2-nonex", "door-open"}; !slices.Equal(listed, want) {
		t.Errorf("node-opcua's alarm list %v, want %v\n%s", listed, want, stderr.String())
	}
}
