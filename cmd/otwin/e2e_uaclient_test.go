package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/role"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/twin/alarms"
	"github.com/otwin/otwin/twin/control"
)

// Our own connector and dashboard against the twin's Alarms and
// Conditions and HistoryRead: a fault raises a twin alarm that appears in
// the store and the dashboard's alert list; the dashboard's
// acknowledgement reaches the twin; a reconnect brings the retained alarms
// back through ConditionRefresh; the tag detail charts the server's
// history. The OPC UA sources run isolated (in child processes), as by
// default.

// alarmLine is the bottling twin with a collector reading it.
type alarmLine struct {
	tw  *e2eTwin
	col *e2eCollector
}

// startAlarmLine serves the bottling line and reads it with its exported
// sources, the OPC UA connectors in child processes supervised as iso
// says.
func startAlarmLine(t *testing.T, iso isolate.Options) *alarmLine {
	t.Helper()
	tw, f := startScadaTwin(t)
	col := startE2ECollectorWith(t, f, iso)
	isolated := 0
	for _, c := range col.Connectors {
		if _, ok := c.(*isolate.Connector); ok && c.Health().Protocol == opcua.Name {
			isolated++
		}
	}
	if isolated == 0 {
		t.Fatal("no OPC UA source runs isolated: the tests must cover the child-process path")
	}
	return &alarmLine{tw: tw, col: col}
}

// startScadaTwin serves the bottling line with a user who may call
// methods, and returns its sources file, whose OPC UA sources log in as
// that user (anonymous sessions only read: the twin answers
// Bad_UserAccessDenied to an acknowledgement).
func startScadaTwin(t *testing.T) (*e2eTwin, *sources.File) {
	t.Helper()
	sc := shippedScenario(t, "bottling")
	sc.OPCUA.Users = append(sc.OPCUA.Users, scenarios.User{Name: "scada", Password: "s3cret-scada"})
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	for i := range f.Sources {
		if c, ok := f.Sources[i].Config.(*opcua.Config); ok {
			c.Username, c.Password = "scada", "s3cret-scada"
		}
	}
	return tw, f
}

// ownedAlert waits for the alert of kind opcua_alarm on tag (an id ending
// in it) for which cond holds, and returns it.
func (l *alarmLine) ownedAlert(t *testing.T, tag, what string, cond func(normalize.Alert) bool) normalize.Alert {
	t.Helper()
	var got normalize.Alert
	waitUntil(t, 20*time.Second, what, func() bool {
		for _, a := range l.col.Store.Alerts() {
			if a.Kind == "opcua_alarm" && strings.HasSuffix(a.Target, "/"+tag) && cond(a) {
				got = a
				return true
			}
		}
		return false
	})
	return got
}

// twinAlarm returns the twin's state of alarm name (GET /v1/alarms).
func (l *alarmLine) twinAlarm(t *testing.T, name string) alarms.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := l.tw.Control.Alarms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("the twin has no alarm %s", name)
	return alarms.Status{}
}

func (l *alarmLine) inject(t *testing.T, fault string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.tw.Control.InjectNamed(ctx, fault); err != nil {
		t.Fatalf("inject %s: %v", fault, err)
	}
}

// dashboard is one dashboard program on the collector, as user, its
// screen written to a buffer.
type dashboard struct {
	t   *testing.T
	p   *tea.Program
	b   *storeBackend
	out *lockedBuffer
	// seen is how much of out earlier waits consumed.
	seen int
	// done is closed when the program ended, with its last model.
	done chan struct{}
	last tea.Model
}

// from is what l holds after its first n bytes.
func (l *lockedBuffer) from(n int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	return []byte(s[min(n, len(s)):])
}

func openDashboard(t *testing.T, col *collector, user string, w, h int) *dashboard {
	t.Helper()
	sess := &session{user: user, role: string(role.Operator), policy: localPolicy}
	b := col.backend(sess)
	m := tui.New(b, tui.Options{User: user, Role: role.Operator, NoColor: true, FaultRefresh: time.Hour, Width: w, Height: h})
	d := &dashboard{t: t, b: b, out: &lockedBuffer{}, done: make(chan struct{})}
	d.p = tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(d.out), tea.WithoutSignals())
	go func() {
		defer close(d.done)
		d.last, _ = d.p.Run()
	}()
	d.p.Send(tea.WindowSizeMsg{Width: w, Height: h})
	t.Cleanup(func() {
		d.p.Quit()
		<-d.done
		m.Close()
	})
	return d
}

// final quits the program and returns its last view, the whole screen.
func (d *dashboard) final() string {
	d.t.Helper()
	d.p.Quit()
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.t.Fatal("the dashboard did not quit")
	}
	if d.last == nil {
		d.t.Fatal("the dashboard ended without a model")
	}
	return d.last.View()
}

// checkScreen asserts view fills at most w×h cells: h lines, none wider
// than w.
func checkScreen(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d:\n%s", len(lines), h, view)
	}
	for i, l := range lines {
		if n := lipgloss.Width(l); n > w {
			t.Errorf("line %d is %d cells wide, want at most %d: %q", i+1, n, w, l)
		}
	}
}

// keys sends tokens: "enter", "esc", or text typed.
func (d *dashboard) keys(tokens ...string) {
	for _, k := range tokens {
		switch k {
		case "enter":
			d.p.Send(tea.KeyMsg{Type: tea.KeyEnter})
		case "esc":
			d.p.Send(tea.KeyMsg{Type: tea.KeyEsc})
		default:
			for _, r := range k {
				d.p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			}
		}
	}
}

// waitOutput waits until the program drew every text since the previous
// wait, and consumes what it read.
func (d *dashboard) waitOutput(texts ...string) {
	d.t.Helper()
	var got []byte
	if !pollUntil(30*time.Second, func() bool {
		got = d.out.from(d.seen)
		for _, s := range texts {
			if !bytes.Contains(got, []byte(s)) {
				return false
			}
		}
		return true
	}) {
		tail := got[max(len(got)-3000, 0):]
		if f := os.Getenv("OTWIN_DASH_DUMP"); f != "" {
			_ = os.WriteFile(f, d.out.from(0), 0o644)
		}
		d.t.Fatalf("timed out waiting for the dashboard to show %q; its last output:\n%s", texts, tail)
	}
	d.seen += len(got)
}

// TestE2EOPCUAAlarmAck: a trainer's fault raises the twin's CO2 alarm; it
// appears in the store as an alert the OPC UA source owns, with the
// twin's message and severity, and in the dashboard's alert list; the
// dashboard's acknowledgement (a, a comment) reaches the twin with the
// user and the comment, and the store follows the twin's next event; a
// second acknowledgement gets the server's refusal; a on the acknowledged
// alarm confirms it.
func TestE2EOPCUAAlarmAck(t *testing.T) {
	l := startAlarmLine(t, isolate.Options{})
	l.inject(t, "co2-overpressure")
	a := l.ownedAlert(t, "filler1/co2_pressure", "the CO2 alarm in the store", func(a normalize.Alert) bool {
		return a.State == normalize.ActiveUnacked
	})
	if a.Message != "Filler CO2 pressure (HighHigh)" || a.Severity != normalize.SeverityHigh || a.Owner == nil ||
		!a.Owner.Current || !a.Owner.Confirmable || !strings.HasSuffix(a.Owner.Ref, "/filler1-co2-pressure") {
		t.Fatalf("alert %+v owner %+v: want the twin's message and severity 800 as high, owned by its source", a, a.Owner)
	}
	if src := sourceOf(t, l.col.Sources, a.Target); a.Owner.Name != src.Name {
		t.Errorf("owner %s, want the source reading %s (%s)", a.Owner.Name, a.Target, src.Name)
	}

	// Beside the collector's own alerts on the same tag (its limit rule
	// sees the pressure too), set apart by its owner, at 80×24.
	waitUntil(t, 20*time.Second, "a data-quality alert on the CO2 pressure", func() bool {
		for _, x := range l.col.Store.Alerts() {
			if x.Target == a.Target && x.Owner == nil && x.Active() {
				return true
			}
		}
		return false
	})
	small := openDashboard(t, l.col.collector, "olga", 80, 24)
	small.keys(":alerts", "enter")
	small.waitOutput(a.Owner.Name + ": Filler")
	v := small.final()
	checkScreen(t, v, 80, 24)
	var owned, own int
	for _, row := range strings.Split(v, "\n") {
		if !strings.Contains(row, "/filler1/co2_pressure ") || !strings.Contains(row, " UNACK ") {
			continue
		}
		if strings.Contains(row, " "+a.Owner.Name+": ") {
			owned++
		} else {
			own++
		}
	}
	if owned != 1 || own < 1 {
		t.Errorf("alert list at 80×24: %d rows of the server's alarm (want 1, starting with its owner), %d of the collector's own (want ≥1):\n%s", owned, own, v)
	}

	d := openDashboard(t, l.col.collector, "olga", 140, 40)
	d.keys(":alerts", "enter")
	d.waitOutput("opcua_alarm", "Filler CO2 pressure (HighHigh)")
	d.keys("/", "opcua_alarm:", "enter", "a")
	d.waitOutput("comment:")
	d.keys("venting", "enter")
	d.waitOutput("answered Good")

	st := l.twinAlarm(t, "filler1-co2-pressure")
	if !st.State.Acked || st.State.Comment != "olga: venting" || st.State.User != "scada" || st.State.Confirmed {
		t.Fatalf("twin alarm after the dashboard's ack: %+v; want acknowledged by the connector's user scada with comment %q", st.State, "olga: venting")
	}
	acked := l.ownedAlert(t, "filler1/co2_pressure", "the acknowledgement in the store", func(a normalize.Alert) bool {
		return a.State == normalize.ActiveAcked
	})
	if acked.AckedBy != "scada" || acked.Comment != "olga: venting" || !acked.AwaitsConfirm() {
		t.Errorf("store after the twin's event: acked by %q %q, awaits confirm %v", acked.AckedBy, acked.Comment, acked.AwaitsConfirm())
	}

	// The server's answer is what the user sees: a second acknowledgement
	// is refused by the twin.
	err := d.b.Ack(acked.ID, "again")
	if code, ok := connectors.StatusOf(err); !ok || code != connectors.StatusCode(0x80CF0000) || !strings.Contains(err.Error(), "Bad_ConditionBranchAlreadyAcked") {
		t.Errorf("second ack: %v, want the server's Bad_ConditionBranchAlreadyAcked", err)
	}
	// a on the acknowledged alarm, once the dashboard shows it so,
	// confirms it.
	d.waitOutput(">HIGH ACK ")
	d.keys("a")
	d.waitOutput("confirm opcua_alarm")
	d.keys("relief valve checked", "enter")
	d.waitOutput("confirmed opcua_alarm")
	waitUntil(t, 10*time.Second, "the twin's confirmation", func() bool {
		st := l.twinAlarm(t, "filler1-co2-pressure")
		return st.State.Confirmed && st.State.Comment == "olga: relief valve checked"
	})
	l.ownedAlert(t, "filler1/co2_pressure", "the confirmation in the store", func(a normalize.Alert) bool {
		return a.State == normalize.ActiveAcked && !a.AwaitsConfirm()
	})
	var whats []string
	for _, e := range l.col.Store.AlertHistory(acked.ID) {
		whats = append(whats, e.What)
	}
	if got := strings.Join(whats, " "); got != "raised acked confirmed" {
		t.Errorf("alert history %q, want raised acked confirmed (what the twin's events said)", got)
	}

	// An acknowledgement made at the server (a second operator, through
	// the twin's control API) shows in the dashboard: the alarm's row
	// turns ACK, its detail says by whom.
	l.inject(t, "product-temp-sensor-bad")
	sensor := l.ownedAlert(t, "filler1/product_temp", "the sensor alarm", func(a normalize.Alert) bool {
		return a.State == normalize.ActiveUnacked
	})
	d.waitOutput("Filler product temperature sensor")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.tw.Control.AlarmAct(ctx, "filler1-product-temp-sensor", "ack", control.AlarmAction{User: "shift lead", Comment: "sensor swapped"}); err != nil {
		t.Fatalf("ack on the twin: %v", err)
	}
	d.waitOutput(">MED  ACK ")
	d.keys("enter")
	d.waitOutput("shift lead", "sensor swapped")
	got := l.ownedAlert(t, "filler1/product_temp", "the server's acknowledgement in the store", func(a normalize.Alert) bool {
		return a.ID == sensor.ID && a.State == normalize.ActiveAcked
	})
	if got.AckedBy != "shift lead" || got.Comment != "sensor swapped" {
		t.Errorf("sensor alarm acked by %q %q, want the twin's user and comment", got.AckedBy, got.Comment)
	}
}

// TestE2EOPCUAAlarmRefresh: two alarms are retained — the sensor alarm
// (active, latched) and the CO2 alarm (cleared, not yet acknowledged).
// The connector process of the filler's source is killed: its alarms are
// kept, marked not current. While it is gone a second operator
// acknowledges and confirms the CO2 alarm, which the twin then no longer
// retains. The restarted connector's ConditionRefresh brings the sensor
// alarm back, current, in the same state and with no new raise; the CO2
// alarm, not in the refresh, leaves the list. Then a dropped connection
// (a disconnect fault: the connector's own reconnect, in its process)
// does the same for the sensor alarm.
func TestE2EOPCUAAlarmRefresh(t *testing.T) {
	l := startAlarmLine(t, isolate.Options{MinBackoff: 5 * time.Second, MaxBackoff: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l.inject(t, "co2-overpressure")
	l.inject(t, "product-temp-sensor-bad")
	l.ownedAlert(t, "filler1/co2_pressure", "the CO2 alarm", func(a normalize.Alert) bool { return a.Active() })
	if err := l.tw.Control.Clear(ctx, "co2-overpressure"); err != nil {
		t.Fatal(err)
	}
	co2 := l.ownedAlert(t, "filler1/co2_pressure", "the CO2 alarm back to normal, unacknowledged", func(a normalize.Alert) bool {
		return a.State == normalize.RTNUnacked
	})
	sensor := l.ownedAlert(t, "filler1/product_temp", "the sensor alarm", func(a normalize.Alert) bool { return a.Active() })
	if sensor.Severity != normalize.SeverityMedium {
		t.Errorf("sensor alarm severity %v, want medium (600)", sensor.Severity)
	}
	var child *isolate.Connector
	for _, c := range l.col.Connectors {
		if c.Name() == co2.Owner.Name {
			child, _ = c.(*isolate.Connector)
		}
	}
	if child == nil {
		t.Fatalf("source %s does not run isolated", co2.Owner.Name)
	}
	states := watchAlert(t, l.col.Store, sensor.ID)
	if err := syscall.Kill(child.Stats().PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	lost := l.ownedAlert(t, "filler1/product_temp", "the sensor alarm not current", func(a normalize.Alert) bool { return a.NotCurrent() })
	if lost.State != sensor.State || lost.Count != 1 {
		t.Errorf("alarm after the link loss: %v count %d, want kept as it was", lost.State, lost.Count)
	}
	// The dashboard does not show it as current: ? beside its state, and
	// its detail says why.
	d := openDashboard(t, l.col.collector, "olga", 80, 24)
	d.keys(":alerts", "enter", "/", "filler1-product-temp-sensor", "enter", "enter")
	d.waitOutput("no: shown as last known")
	d.keys("esc")
	d.waitOutput(" ? ")
	v := d.final()
	checkScreen(t, v, 80, 24)
	var row string
	for _, r := range strings.Split(v, "\n") {
		if strings.Contains(r, "/product_temp") && strings.Contains(r, co2.Owner.Name+": ") {
			row = r
		}
	}
	if f := strings.Fields(strings.TrimLeft(row, ">› ")); len(f) < 3 || f[2] != "?" {
		t.Errorf("the sensor alarm's row while its source is gone: %q, want its state marked ?:\n%s", row, v)
	}
	// While the connector is gone a second operator acknowledges and
	// confirms the CO2 alarm; the twin no longer retains it.
	for _, verb := range []string{"ack", "confirm"} {
		if _, err := l.tw.Control.AlarmAct(ctx, "filler1-co2-pressure", verb, control.AlarmAction{User: "shift lead", Comment: "checked"}); err != nil {
			t.Fatalf("%s on the twin: %v", verb, err)
		}
	}
	if st := l.twinAlarm(t, "filler1-co2-pressure"); st.State.Retain {
		t.Fatalf("twin still retains the CO2 alarm: %+v", st.State)
	}
	if child.Stats().Starts != 1 {
		t.Fatal("the connector process was restarted before the twin's alarm changed: raise the backoff")
	}
	if a, _ := l.col.Store.Alert(co2.ID); a.State != normalize.RTNUnacked || !a.NotCurrent() {
		t.Fatalf("CO2 alarm while its source is gone: %v, not current %v; want kept as it was", a.State, a.NotCurrent())
	}

	back := l.ownedAlert(t, "filler1/product_temp", "the sensor alarm current again", func(a normalize.Alert) bool {
		return !a.NotCurrent() && child.Stats().Starts >= 2
	})
	if back.State != sensor.State || back.Count != 1 || back.Message != sensor.Message {
		t.Errorf("sensor alarm after the refresh: %v count %d %q, want as before", back.State, back.Count, back.Message)
	}
	waitUntil(t, 15*time.Second, "the CO2 alarm out of the list", func() bool {
		a, ok := l.col.Store.Alert(co2.ID)
		return ok && a.State == normalize.Normal && !a.Retained() && !a.NotCurrent()
	})
	h := l.col.Store.AlertHistory(co2.ID)
	if last := h[len(h)-1]; last.What != normalize.EventCleared || !strings.Contains(last.Comment, "not retained by "+co2.Owner.Name+" after its refresh") {
		t.Errorf("CO2 alarm's last transition %+v, want cleared: not retained after the refresh", last)
	}
	waitUntil(t, 5*time.Second, "the sensor alarm's subscribers to see it not current, then current again", func() bool {
		s := states.seen()
		return s.notCurrent && s.currentAfter
	})
	raises := func() int {
		n := 0
		for _, e := range l.col.Store.AlertHistory(sensor.ID) {
			if e.What == normalize.EventRaised {
				n++
			}
		}
		return n
	}
	if n := raises(); n != 1 {
		t.Errorf("sensor alarm raised %d times, want once (the refresh is no new raise)", n)
	}

	// A dropped connection: the connector (in its process) reconnects and
	// refreshes.
	states = watchAlert(t, l.col.Store, sensor.ID)
	if _, err := l.tw.Control.Inject(ctx, scenarios.Fault{Name: "filler-drop", Kind: scenarios.Disconnect, Target: "filler1", Protocol: "opcua"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "not current, then current again after the reconnect", func() bool {
		s := states.seen()
		return s.notCurrent && s.currentAfter
	})
	if a, _ := l.col.Store.Alert(sensor.ID); a.Count != 1 || a.State != sensor.State || raises() != 1 {
		t.Errorf("sensor alarm after the reconnect: %v count %d, raised %d times", a.State, a.Count, raises())
	}
	if child.Stats().Starts != 2 {
		t.Errorf("connector process started %d times: the reconnect was the connector's, not a restart", child.Stats().Starts)
	}
}

// alertWatch records what a store subscription said of one alert.
type alertWatch struct {
	mu           sync.Mutex
	notCurrent   bool // seen not current
	currentAfter bool // seen current after that
}

func (w *alertWatch) seen() alertWatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return alertWatch{notCurrent: w.notCurrent, currentAfter: w.currentAfter}
}

// watchAlert watches alert id in st's subscription until the test ends.
func watchAlert(t *testing.T, st *store.Store, id string) *alertWatch {
	t.Helper()
	w := &alertWatch{}
	sub := st.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range sub.C() {
			for _, a := range b.Alerts {
				if a.ID != id {
					continue
				}
				w.mu.Lock()
				if a.NotCurrent() {
					w.notCurrent = true
				} else if w.notCurrent {
					w.currentAfter = true
				}
				w.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { sub.Close(); <-done })
	return w
}

// TestE2EOPCUAHistoryChart: the dashboard's history of an OPC UA tag is
// read from the twin with HistoryRead through the connector in its child
// process. Its interval averages are the twin's own (a direct gopcua
// ReadProcessed of the same span), its raw values the twin's (ReadRaw)
// and hold every value the collector received; a tag the twin does not
// historize and a Modbus tag have none (the chart says so and shows the
// values seen); the tag detail charts the server's history.
func TestE2EOPCUAHistoryChart(t *testing.T) {
	sc := shippedScenario(t, "bottling")
	for i := range sc.Machines {
		if sc.Machines[i].Name != "filler1" {
			continue
		}
		for j := range sc.Machines[i].Tags {
			if sc.Machines[i].Tags[j].Name == "rejects" {
				off := false
				sc.Machines[i].Tags[j].Historizing = &off
			}
		}
	}
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	col := startE2ECollector(t, f)
	var level, rejects string
	for _, id := range pointIDs(f) {
		switch {
		case strings.HasSuffix(id, "/filler1/bowl_level"):
			level = id
		case strings.HasSuffix(id, "/filler1/rejects"):
			rejects = id
		}
	}
	src := sourceOf(t, f, level)
	var conn connectors.Connector
	for _, c := range col.Connectors {
		if c.Name() == src.Name {
			conn = c
		}
	}
	if _, ok := conn.(*isolate.Connector); !ok {
		t.Fatalf("source %s does not run isolated", src.Name)
	}
	start := time.Now()
	waitUntil(t, 20*time.Second, "four seconds of bowl level values", func() bool {
		return col.Rec.Count(level) > 20 && time.Since(start) > 4*time.Second
	})
	to := time.Now().Add(-500 * time.Millisecond)
	from := to.Add(-4 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The twin's own answers, read directly.
	var addr string
	for _, p := range src.Points {
		if p.Asset+"/"+p.Tag == level {
			addr = p.Address
		}
	}
	direct := directHistory(t, src.Config.(*opcua.Config).URL, addr)

	sess := &session{user: "olga", role: string(role.Operator), policy: localPolicy}
	b := col.backend(sess)
	series, err := b.TagHistory(ctx, level, from, to, 8)
	if err != nil {
		t.Fatalf("history of %s: %v", level, err)
	}
	want := direct.average(ctx, t, from, to, 8)
	if series.Aggregate != "Average" || len(series.Values) != 8 {
		t.Fatalf("series %+v", series)
	}
	for i, v := range series.Values {
		if w := want[i]; !(v == w || math.IsNaN(v) && math.IsNaN(w)) {
			t.Errorf("interval %d: %v, the twin's average %v", i, v, w)
		}
	}
	if n := countNumbers(series.Values); n < 6 {
		t.Errorf("only %d of 8 intervals have a value: %v", n, series.Values)
	}

	raw, err := conn.(connectors.HistoryReader).ReadHistory(ctx, connectors.HistoryRequest{Address: addr, Start: from, End: to})
	if err != nil {
		t.Fatal(err)
	}
	twinRaw := direct.raw(ctx, t, from, to)
	if len(raw.Values) != len(twinRaw) || len(raw.Values) < 10 {
		t.Fatalf("%d raw values through the connector, %d read directly", len(raw.Values), len(twinRaw))
	}
	for i, v := range raw.Values {
		x, _ := v.Raw.(float64)
		if !v.Time.Equal(twinRaw[i].t) || x != twinRaw[i].v {
			t.Fatalf("raw value %d: %v at %s, the twin's %v at %s", i, v.Raw, v.Time, twinRaw[i].v, twinRaw[i].t)
		}
	}
	// Every value the collector received in the span is in the history,
	// at or before the time the server sent it: the history is stamped
	// with the tick's time, the live value with its sending (for the
	// subscription's first value that can be well after the tick, so
	// the history is read from the twin's start).
	byValue := map[float64][]time.Time{}
	for _, v := range direct.raw(ctx, t, start.Add(-time.Minute), to) {
		byValue[v.v] = append(byValue[v.v], v.t)
	}
	seen := 0
	for _, s := range col.Rec.Samples(level) {
		if s.ServerTime.Before(from) || !s.ServerTime.Before(to) || !s.Status.IsGood() {
			continue
		}
		seen++
		if !slices.ContainsFunc(byValue[s.Value], func(at time.Time) bool { return !at.After(s.ServerTime) }) {
			t.Errorf("the collector received %v at %s; the history has it at %v", s.Value, s.ServerTime, byValue[s.Value])
		}
	}
	if seen < 10 {
		t.Errorf("only %d values received in the span", seen)
	}

	for _, id := range []string{rejects, level + ".modbus"} {
		if _, err := b.TagHistory(ctx, id, from, to, 8); !errors.Is(err, connectors.ErrNoHistory) {
			t.Errorf("history of %s: %v, want no history", id, err)
		}
	}

	d := openDashboard(t, col.collector, "olga", 100, 40)
	d.keys(":"+level, "enter", "enter")
	d.waitOutput("HISTORY · from the server · last 15m · average of 88 intervals")
	d.keys("esc", ":"+rejects, "enter", "enter")
	d.waitOutput("seen here (the endpoint keeps no history of this tag)")
	d.keys("esc", ":"+level+".modbus", "enter", "enter")
	d.waitOutput("seen here (the endpoint keeps no history of this tag)")

	// The tag detail at 80×24, as a user's terminal shows it.
	small := openDashboard(t, col.collector, "olga", 80, 24)
	small.keys(":"+level, "enter", "enter")
	small.waitOutput("from the server")
	v := small.final()
	checkScreen(t, v, 80, 24)
	lines := strings.Split(v, "\n")
	chart := -1
	for i, l := range lines {
		if strings.Contains(l, "HISTORY · from the server · last 15m · average of ") {
			chart = i
		}
	}
	if chart < 0 || chart+3 >= len(lines) || !strings.Contains(v, "-15m") || !strings.Contains(v, "now") || !strings.Contains(strings.Join(lines[chart:], "\n"), "█") {
		t.Errorf("tag detail at 80×24: want the server's history charted (caption, bars, time axis):\n%s", v)
	}
}

// twinHistory reads a node's history from the twin with gopcua.
type twinHistory struct {
	c    *gopcua.Client
	node *ua.NodeID
}

// rawValue is one raw value read directly.
type rawValue struct {
	t time.Time
	v float64
}

func directHistory(t *testing.T, url, addr string) *twinHistory {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gopcua.NewClient(url, gopcua.SecurityMode(ua.MessageSecurityModeNone), gopcua.AutoReconnect(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	uri, idPart, err := opcua.SplitNode(addr)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.FindNamespace(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	node, err := ua.ParseNodeID(fmt.Sprintf("ns=%d;%s", ns, idPart))
	if err != nil {
		t.Fatal(err)
	}
	return &twinHistory{c: c, node: node}
}

// average is the twin's Average of n intervals of from..to, NaN where it
// has none.
func (h *twinHistory) average(ctx context.Context, t *testing.T, from, to time.Time, n int) []float64 {
	t.Helper()
	res, err := h.c.HistoryReadProcessed(ctx, []*ua.HistoryReadValueID{{NodeID: h.node, DataEncoding: &ua.QualifiedName{}}}, &ua.ReadProcessedDetails{
		StartTime: from, EndTime: to, ProcessingInterval: float64(to.Sub(from)/time.Duration(n)) / float64(time.Millisecond),
		AggregateType:          []*ua.NodeID{ua.NewNumericNodeID(0, id.AggregateFunction_Average)},
		AggregateConfiguration: &ua.AggregateConfiguration{UseServerCapabilitiesDefaults: true},
	})
	if err != nil || connectors.StatusCode(res.Results[0].StatusCode).IsBad() {
		t.Fatalf("read processed: %v %v", err, res)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	step := to.Sub(from) / time.Duration(n)
	for _, dv := range res.Results[0].HistoryData.Value.(*ua.HistoryData).DataValues {
		if connectors.StatusCode(dv.Status).IsBad() || dv.Value == nil {
			continue
		}
		if i := int(dv.SourceTimestamp.Sub(from) / step); i >= 0 && i < n {
			out[i], _ = dv.Value.Value().(float64)
		}
	}
	return out
}

// raw is the twin's raw values of from..to.
func (h *twinHistory) raw(ctx context.Context, t *testing.T, from, to time.Time) []rawValue {
	t.Helper()
	res, err := h.c.HistoryReadRawModified(ctx, []*ua.HistoryReadValueID{{NodeID: h.node, DataEncoding: &ua.QualifiedName{}}}, &ua.ReadRawModifiedDetails{
		StartTime: from, EndTime: to, NumValuesPerNode: 10000,
	})
	if err != nil || connectors.StatusCode(res.Results[0].StatusCode).IsBad() {
		t.Fatalf("read raw: %v %v", err, res)
	}
	var out []rawValue
	for _, dv := range res.Results[0].HistoryData.Value.(*ua.HistoryData).DataValues {
		v, _ := dv.Value.Value().(float64)
		if f, ok := dv.Value.Value().(float32); ok {
			v = float64(f)
		}
		out = append(out, rawValue{t: dv.ServerTimestamp, v: v})
	}
	return out
}

func countNumbers(vals []float64) int {
	n := 0
	for _, v := range vals {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}
