package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// Feed updates reach the screen on the next frame, not at once.
func TestFrameCoalescing(t *testing.T) {
	b := generated(200)
	m := New(b, Options{Now: fixedClock, NoColor: true, Role: RoleEngineer})
	m.Init()
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	before := m.View()
	up := b.tags[0]
	up.Value = 123456
	_, cmd := m.Update(feedMsg{Update{Samples: []normalize.Sample{up}}})
	if cmd == nil {
		t.Fatal("no re-armed feed / frame tick")
	}
	if m.View() != before {
		t.Error("view changed before the frame")
	}
	if !m.s.tickPending {
		t.Error("no frame scheduled")
	}
	m.Update(feedMsg{Update{Samples: []normalize.Sample{up}}})
	m.Update(frameMsg{})
	if v := m.View(); v == before || !strings.Contains(v, "123456") {
		t.Errorf("frame did not show the update:\n%s", v)
	}
}

func TestAlertUpsert(t *testing.T) {
	b := generated(10)
	b.alerts = []normalize.Alert{
		{ID: "stale:a", Target: b.tags[0].ID, Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked},
		{ID: "spike:old", Target: b.tags[2].ID, Severity: normalize.SeverityHigh, State: normalize.Normal},
	}
	m := New(b, Options{Now: fixedClock, NoColor: true})
	d := m.s.a.d
	if len(d.alerts) != 1 {
		t.Fatalf("normal alert shown: %+v", d.alerts)
	}
	if n := d.index[b.tags[0].Asset]; n.alerts != 1 || n.worst != normalize.SeverityHigh {
		t.Fatalf("node alerts %d worst %d", n.alerts, n.worst)
	}
	d.apply(Update{Alerts: []normalize.Alert{
		{ID: "stale:a", Target: b.tags[0].ID, State: normalize.Normal},
		{ID: "frozen:b", Target: b.tags[1].ID, Severity: normalize.SeverityLow, State: normalize.ActiveAcked},
	}})
	m.s.a.alerts.refresh()
	if len(d.alerts) != 1 || d.alerts[0].ID != "frozen:b" {
		t.Fatalf("alerts %+v", d.alerts)
	}
	if n := d.root; n.alerts != 1 || n.worst != normalize.SeverityLow {
		t.Errorf("root alerts %d worst %d", n.alerts, n.worst)
	}
}

// Health updates are upserted by source and give each endpoint a rate.
func TestHealthRates(t *testing.T) {
	now := epoch
	b := generated(10)
	b.health = []connectors.Health{{Source: "plc", Readings: 100}}
	m := New(b, Options{Now: func() time.Time { return now }, NoColor: true})
	d := m.s.a.d
	now = now.Add(2 * time.Second)
	d.apply(Update{Health: []connectors.Health{{Source: "plc", Readings: 300}, {Source: "mb", Readings: 7}}})
	if len(d.health) != 2 || d.health[0].Readings != 300 {
		t.Fatalf("health %+v", d.health)
	}
	if r := d.rates["plc"].perSec; r != 100 {
		t.Errorf("plc rate %v/s, want 100", r)
	}
	if i := d.endpoint("mb"); i != 1 {
		t.Errorf("endpoint(mb) = %d", i)
	}
}

// Values replaced before they were drawn are counted for engineers, in
// words, and not shown to the other roles.
func TestDroppedShown(t *testing.T) {
	m := New(countingStub{generated(10)}, Options{Now: fixedClock, NoColor: true, Role: RoleEngineer})
	m.Init()
	if v := m.View(); strings.Contains(v, "skipped") {
		t.Fatalf("a count before the feed told one:\n%s", v)
	}
	m.Update(clockMsg{})
	if v := m.View(); !strings.Contains(v, "5 older values skipped") {
		t.Errorf("count not shown:\n%s", v)
	}
	op := New(countingStub{generated(10)}, Options{Now: fixedClock, NoColor: true, Role: RoleOperator})
	op.Init()
	op.Update(clockMsg{})
	if v := op.View(); strings.Contains(v, "skipped") {
		t.Errorf("an operator is shown the count:\n%s", v)
	}
}
