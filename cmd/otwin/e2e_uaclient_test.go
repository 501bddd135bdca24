package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize"
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
	sc := shippedScenario(t, "bottling")
	// The collector logs in as a user who may call methods (anonymous
	// sessions only read: the twin answers Bad_UserAccessDenied).
	sc.OPCUA.Users = append(sc.OPCUA.Users, scenarios.User{Name: "scada", Password: "s3cret-scada"})
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	for i := range f.Sources {
		if c, ok := f.Sources[i].Config.(*opcua.Config); ok {
			c.Username, c.Password = "scada", "s3cret-scada"
		}
	}
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
	out *syncBuffer
	// seen is how much of out earlier waits consumed.
	seen int
}

// syncBuffer is a buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) from(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes()[min(n, s.buf.Len()):])
}

func openDashboard(t *testing.T, col *collector, user string, w, h int) *dashboard {
	t.Helper()
	sess := &session{user: user, role: string(role.Operator), policy: localPolicy}
	b := col.backend(sess)
	m := tui.New(b, tui.Options{User: user, Role: role.Operator, NoColor: true, FaultRefresh: time.Hour, Width: w, Height: h})
	d := &dashboard{t: t, b: b, out: &syncBuffer{}}
	d.p = tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(d.out), tea.WithoutSignals())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = d.p.Run()
	}()
	d.p.Send(tea.WindowSizeMsg{Width: w, Height: h})
	t.Cleanup(func() {
		d.p.Quit()
		<-done
		m.Close()
	})
	return d
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
}

// TestE2EOPCUAAlarmRefresh: the connector process of the filler's source
// is killed while two alarms are retained; its alarms are kept, marked not
// current; while it is gone a second operator acknowledges and confirms
// the CO2 alarm after its fault cleared (the twin then retains it no
// more). The restarted connector's ConditionRefresh brings the retained
// sensor alarm back, current, in the same state and with no new raise, and
// the CO2 alarm leaves the list. Then a dropped connection (a disconnect
// fault, the connector's own reconnect) does the same for the sensor
// alarm.
func TestE2EOPCUAAlarmRefresh(t *testing.T) {
	l := startAlarmLine(t, isolate.Options{MinBackoff: 3 * time.Second, MaxBackoff: 3 * time.Second})
	l.inject(t, "co2-overpressure")
	l.inject(t, "product-temp-sensor-bad")
	co2 := l.ownedAlert(t, "filler1/co2_pressure", "the CO2 alarm", func(a normalize.Alert) bool { return a.Active() })
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
	// While the connector is gone: the CO2 fault clears, a second operator
	// acknowledges and confirms its alarm; the twin no longer retains it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.tw.Control.Clear(ctx, "co2-overpressure"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the CO2 alarm inactive on the twin", func() bool { return !l.twinAlarm(t, "filler1-co2-pressure").State.Active })
	for _, verb := range []string{"ack", "confirm"} {
		if _, err := l.tw.Control.AlarmAct(ctx, "filler1-co2-pressure", verb, control.AlarmAction{User: "shift lead", Comment: "checked"}); err != nil {
			t.Fatalf("%s on the twin: %v", verb, err)
		}
	}
	if st := l.twinAlarm(t, "filler1-co2-pressure"); st.State.Retain {
		t.Fatalf("twin still retains the CO2 alarm: %+v", st)
	}
	if child.Stats().PID != 0 {
		t.Log("the connector process was restarted before the twin's alarm changed: the test proves less")
	}

	back := l.ownedAlert(t, "filler1/product_temp", "the sensor alarm current again", func(a normalize.Alert) bool { return !a.NotCurrent() && child.Stats().Starts >= 2 })
	if back.State != sensor.State || back.Count != 1 || back.Message != sensor.Message {
		t.Errorf("sensor alarm after the refresh: %v count %d %q, want as before", back.State, back.Count, back.Message)
	}
	waitUntil(t, 15*time.Second, "the CO2 alarm out of the list", func() bool {
		a, ok := l.col.Store.Alert(co2.ID)
		return ok && a.State == normalize.Normal && !a.Retained()
	})
	if seen := states.seen(); !seen.notCurrent || !seen.currentAfter {
		t.Errorf("the sensor alarm's subscribers saw not current %v, current again %v", seen.notCurrent, seen.currentAfter)
	}
	raises := 0
	for _, e := range l.col.Store.AlertHistory(sensor.ID) {
		if e.What == normalize.EventRaised {
			raises++
		}
	}
	if raises != 1 {
		t.Errorf("sensor alarm raised %d times, want once (the refresh is no new raise)", raises)
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
	if a, _ := l.col.Store.Alert(sensor.ID); a.Count != 1 || a.State != sensor.State {
		t.Errorf("sensor alarm after the reconnect: %v count %d", a.State, a.Count)
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
