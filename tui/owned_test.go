package tui_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/tuifake"
)

// ownerPlant is the fake plant with what a backend of a line with OPC UA
// alarms and history adds: confirmations, and the endpoints' history.
type ownerPlant struct {
	*tuifake.Plant
	mu       sync.Mutex
	confirms []string
	reads    []string
	// series is what TagHistory returns, per tag; err its error.
	series map[string][]float64
	err    map[string]error
}

func (p *ownerPlant) Confirm(id, comment string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.confirms = append(p.confirms, id+" "+comment)
	return nil
}

func (p *ownerPlant) TagHistory(_ context.Context, id string, from, to time.Time, n int) (tui.HistorySeries, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads = append(p.reads, fmt.Sprintf("%s %d %s", id, n, to.Sub(from)))
	if err := p.err[id]; err != nil {
		return tui.HistorySeries{}, err
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.NaN()
		if s := p.series[id]; len(s) > 0 {
			vals[i] = s[i%len(s)]
		}
	}
	return tui.HistorySeries{Values: vals, From: from, To: to, Aggregate: "Average"}, nil
}

func (p *ownerPlant) calls() (confirms, reads []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.confirms...), append([]string(nil), p.reads...)
}

func newOwnerSession(t *testing.T, w, h int) (*session, *ownerPlant) {
	t.Helper()
	p := &ownerPlant{Plant: tuifake.NewLine(), series: map[string][]float64{}, err: map[string]error{}}
	p.User, p.Role = "alice", tui.RoleOperator
	m := tui.New(p, tui.Options{User: "alice", Role: tui.RoleOperator, Faults: p, Now: fixedNow, NoColor: true, FaultRefresh: time.Hour})
	t.Cleanup(m.Close)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	return &session{t: t, plant: p.Plant, m: m, tm: tm}, p
}

const ownedID = "opcua_alarm:acme/berlin/body/line1/press1/pressure/press1-overpressure"

// ownedAlarm is an OPC UA alarm of press-plc in state st.
func ownedAlarm(st normalize.AlertState, confirmed, current bool) normalize.Alert {
	return normalize.Alert{
		ID: ownedID, Kind: "opcua_alarm", Target: "acme/berlin/body/line1/press1/pressure",
		Severity: normalize.SeverityHigh, State: st, Message: "Press pressure (HighHigh)",
		FirstActive: tuifake.Epoch.Add(-time.Minute), LastActive: tuifake.Epoch.Add(-time.Minute), Count: 1,
		Owner: &normalize.AlertOwner{Name: "press-plc", Ref: "nsu=urn:otwin:line1;s=press1.pressure/press1-overpressure",
			Retain: true, Confirmable: true, Confirmed: confirmed, Current: current,
			Lost: tuifake.Epoch.Add(-5 * time.Second), Why: "EOF"},
	}
}

// TestOwnedAlarmKeys: an OPC UA alarm its server keeps for confirmation
// is listed (CONF) though Normal in the lifecycle; a on it confirms
// through the backend, a on an unacknowledged one acknowledges; an alarm
// whose link is lost is marked ? and its detail says so.
func TestOwnedAlarmKeys(t *testing.T) {
	s, p := newOwnerSession(t, 120, 30)
	s.keys(":alerts", "enter")
	s.waitOutput("ALERTS")
	p.Publish(tui.Update{Alerts: []normalize.Alert{ownedAlarm(normalize.ActiveUnacked, true, true)}})
	s.keys("/", "opcua_alarm", "enter")
	s.waitOutput("Press pressure (HighHigh)")
	s.keys("a")
	s.waitOutput("ack opcua_alarm")
	s.keys("seen", "enter")
	s.waitOutput("acknowledged opcua_alarm", "press-plc answered Good")
	if calls := p.Calls(); len(calls) == 0 || calls[len(calls)-1] != "ack "+ownedID+" seen" {
		t.Fatalf("backend calls %v, want the acknowledgement", calls)
	}

	// The server's next event: inactive, acknowledged, waiting for its
	// confirmation. Listed, CONF; a confirms.
	p.Publish(tui.Update{Alerts: []normalize.Alert{ownedAlarm(normalize.Normal, false, true)}})
	s.waitOutput("CONF")
	s.keys("a")
	s.waitOutput("confirm opcua_alarm")
	s.keys("valve checked", "enter")
	s.waitOutput("confirmed opcua_alarm")
	if confirms, _ := p.calls(); len(confirms) != 1 || confirms[0] != ownedID+" valve checked" {
		t.Fatalf("confirmations %v", confirms)
	}

	// The link to its server is lost: ? and the detail says why.
	p.Publish(tui.Update{Alerts: []normalize.Alert{ownedAlarm(normalize.ActiveUnacked, true, false)}})
	s.keys("enter")
	s.waitOutput("owner", "press-plc, condition nsu=urn:otwin:line1;s=press1.pressure/press1-overpressure", "no: shown as last known", "EOF")
	v := s.final()
	if !strings.Contains(v, "current") {
		t.Errorf("alert detail lacks the current line:\n%s", v)
	}
}

// TestOwnedAlarmMarks: the list marks an alarm whose server link is lost
// with ? in place of the shelve mark, and a CONF alarm by its state; an
// owned alarm's message starts with its owner.
func TestOwnedAlarmMarks(t *testing.T) {
	s, p := newOwnerSession(t, 120, 30)
	lost := ownedAlarm(normalize.ActiveAcked, true, false)
	conf := ownedAlarm(normalize.Normal, false, true)
	conf.ID += "-2"
	p.Publish(tui.Update{Alerts: []normalize.Alert{lost, conf}})
	s.keys(":alerts", "enter", "/", "opcua_alarm", "enter")
	s.waitOutput("filter /opcua_alarm: 2 of 7")
	v := s.final()
	var rows []string
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "Press pressure") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 {
		t.Fatalf("rows %q\n%s", rows, v)
	}
	var sawLost, sawConf bool
	for _, r := range rows {
		if !strings.Contains(r, " press-plc: Press pressure") {
			t.Errorf("row %q: the message does not start with its owner", r)
		}
		f := strings.Fields(strings.TrimLeft(r, ">› "))
		switch {
		case len(f) > 2 && f[1] == "ACK" && f[2] == "?":
			sawLost = true
		case len(f) > 1 && f[1] == "CONF":
			sawConf = true
		}
	}
	if !sawLost || !sawConf {
		t.Errorf("want a row ACK ? (link lost) and a row CONF:\n%s", strings.Join(rows, "\n"))
	}
}

// TestTagDetailServerHistory: the tag detail of an OPC UA tag reads its
// history from the backend in a command, as many values as the chart has
// columns over 15 minutes, and charts them with the time axis; a failed
// read shows the session's values with a note saying why; a tag whose
// endpoint keeps no history (Modbus) shows the session's values and says
// so.
func TestTagDetailServerHistory(t *testing.T) {
	s, p := newOwnerSession(t, 100, 40)
	const opcTag = "acme/berlin/body/line1/press1/temperature"
	const mbTag = "acme/berlin/body/line1/robot1/speed"
	const badTag = "acme/berlin/paint/line2/oven1/zone1_temp"
	p.series[opcTag] = []float64{10, 20, 30, 40}
	p.err[mbTag] = fmt.Errorf("history of %s: source robot-mb: %w", mbTag, connectors.ErrNoHistory)
	p.err[badTag] = errors.New("opcua oven-plc: history: not connected to opc.tcp://10.0.6.3:4840")

	s.keys(":"+opcTag, "enter", "enter")
	s.waitOutput("HISTORY · from the server · last 15m · average of 88 intervals", "-15m", "now", "40", "10")
	if _, reads := p.calls(); len(reads) != 1 || reads[0] != opcTag+" 88 15m0s" {
		t.Errorf("reads %v, want one of 88 values (the chart's columns) over 15m", reads)
	}
	s.keys("esc", ":"+mbTag, "enter", "enter")
	s.waitOutput("HISTORY · 90 values seen here (the endpoint keeps no history of this tag)")
	s.keys("esc", ":"+badTag, "enter", "enter")
	s.waitOutput("HISTORY · 90 values seen here", "server history unavailable: opcua oven-plc: history: not connected")
	// reopened within the cache's life: no second read
	s.keys("esc", ":"+opcTag, "enter", "enter")
	s.waitOutput("from the server")
	if _, reads := p.calls(); len(reads) != 3 {
		t.Errorf("reads %v, want 3 (the first tag's series kept)", reads)
	}
}
