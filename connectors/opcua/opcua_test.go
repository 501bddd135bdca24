package opcua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
)

// nodeAddr is the configured address of a test variable.
func nodeAddr(name string) string { return "nsu=" + testNS + ";s=" + name }

// harness runs a connector and records what it delivers.
type harness struct {
	t    testing.TB
	c    *Connector
	stop context.CancelFunc
	done chan error

	mu       sync.Mutex
	readings []connectors.Reading
	// marks are the times of the progress marks (Reading.Mark), kept
	// apart from the readings of addresses.
	marks []time.Time
}

// testLogger discards logs unless -v.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func runConnector(t testing.TB, cfg Config) *harness {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "plc1"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, c: c, stop: cancel, done: make(chan error, 1)}
	out := make(chan connectors.Reading, 256)
	go func() {
		h.done <- c.Run(ctx, out)
	}()
	go func() {
		for {
			select {
			case r := <-out:
				h.mu.Lock()
				if r.Mark {
					h.marks = append(h.marks, r.Received)
				} else {
					h.readings = append(h.readings, r)
				}
				h.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return h
}

// all returns a copy of the readings so far.
func (h *harness) all() []connectors.Reading {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]connectors.Reading(nil), h.readings...)
}

// waitFor polls until cond holds on the readings, failing after d.
func (h *harness) waitFor(d time.Duration, what string, cond func([]connectors.Reading) bool) []connectors.Reading {
	h.t.Helper()
	var rs []connectors.Reading
	if !testkit.Poll(d, func() bool { rs = h.all(); return cond(rs) }) {
		h.t.Fatalf("timed out after %v waiting for %s; health %+v; %d readings: %s", d, what, h.c.Health(), len(rs), summary(rs))
	}
	return rs
}

// waitMark polls until a progress mark after t has come, failing after
// d; it returns the marks so far.
func (h *harness) waitMark(d time.Duration, t time.Time) []time.Time {
	h.t.Helper()
	var marks []time.Time
	if !testkit.Poll(d, func() bool {
		h.mu.Lock()
		marks = append([]time.Time(nil), h.marks...)
		h.mu.Unlock()
		return len(marks) > 0 && marks[len(marks)-1].After(t)
	}) {
		h.t.Fatalf("timed out after %v waiting for a progress mark after %v; %d marks", d, t, len(marks))
	}
	return marks
}

// waitHealth polls until cond holds on Health.
func (h *harness) waitHealth(d time.Duration, what string, cond func(connectors.Health) bool) connectors.Health {
	h.t.Helper()
	var hl connectors.Health
	if !testkit.Poll(d, func() bool { hl = h.c.Health(); return cond(hl) }) {
		h.t.Fatalf("timed out after %v waiting for %s; health %+v", d, what, hl)
	}
	return hl
}

func summary(rs []connectors.Reading) string {
	s := ""
	for i, r := range rs {
		if i == 40 {
			return s + " …"
		}
		s += fmt.Sprintf("\n  %s=%v status=%v src=%s", r.Address, r.Raw, r.Status, r.SourceTime.Format("15:04:05.000"))
	}
	return s
}

// latest returns the last reading of addr matching cond.
func latest(rs []connectors.Reading, addr string, cond func(connectors.Reading) bool) (connectors.Reading, bool) {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Address == addr && (cond == nil || cond(rs[i])) {
			return rs[i], true
		}
	}
	return connectors.Reading{}, false
}

// hasValue says rs holds a Good reading of addr with value v.
func hasValue(addr string, v any) func([]connectors.Reading) bool {
	return func(rs []connectors.Reading) bool {
		_, ok := latest(rs, addr, func(r connectors.Reading) bool { return r.Status == nil && r.Raw == v })
		return ok
	}
}

// plantVars are variables of several types, one with unit and range,
// named prefix+"Temp" and so on.
func plantVars(prefix string) []testVar {
	vars := []testVar{
		{name: "Temp", value: float64(21.5), dataType: id.Double, unit: &ua.EUInformation{
			NamespaceURI: "http://www.opcfoundation.org/UA/units/un/cefact", UnitID: 4408652,
			DisplayName: ua.NewLocalizedText("°C"), Description: ua.NewLocalizedText("degree Celsius"),
		}, rng: &ua.Range{Low: -20, High: 120}, writable: true},
		{name: "Count", value: int32(-7), dataType: id.Int32},
		{name: "Big", value: uint16(65000), dataType: id.UInt16},
		{name: "Running", value: true, dataType: id.Boolean},
		{name: "Recipe", value: "A-42", dataType: id.String},
		{name: "Ratio", value: float32(0.25), dataType: id.Float},
	}
	for i := range vars {
		vars[i].name = prefix + vars[i].name
	}
	return vars
}

func plantNodes(prefix string) []string {
	var ns []string
	for _, v := range plantVars(prefix) {
		ns = append(ns, nodeAddr(v.name))
	}
	return ns
}

// browseFolders and browseVars are the tree below Plant.
var browseFolders = []string{"Plant", "Plant.Line1", "Plant.Line2", "Other", "Mixed"}

func browseVars() []testVar {
	return []testVar{
		{name: "Plant.Line1.Temp", parent: "Plant.Line1", value: 20.0, dataType: id.Double, rng: &ua.Range{Low: 0, High: 100}},
		{name: "Plant.Line1.Speed", parent: "Plant.Line1", value: int32(1200), dataType: id.Int32},
		{name: "Plant.Line2.Count", parent: "Plant.Line2", value: uint32(5), dataType: id.UInt32},
		{name: "Plant.State", parent: "Plant", value: "run", dataType: id.String},
		{name: "Other.Hidden", parent: "Other", value: 1.0, dataType: id.Double},
		// Values that cannot be readings: a structure and an array.
		{name: "Mixed.Range", parent: "Mixed", value: ua.NewExtensionObject(&ua.Range{Low: 1, High: 2}), dataType: id.Range},
		{name: "Mixed.Samples", parent: "Mixed", value: []float64{1, 2, 3}, dataType: id.Double, array: true},
		{name: "Mixed.Pair", parent: "Mixed", value: ua.NewExtensionObject(&ua.Range{Low: 3, High: 4}), dataType: id.Range},
		{name: "Mixed.Level", parent: "Mixed", value: 7.5, dataType: id.Double},
	}
}

// shared is one gopcua server for the tests that do not stop it (its
// start imports the whole standard address space: seconds under -race).
// Each test uses its own variables.
var shared struct {
	once sync.Once
	ts   *testServer
}

func sharedServer(t testing.TB) *testServer {
	t.Helper()
	shared.once.Do(func() {
		var vars []testVar
		for _, p := range []string{"S.", "P.", "U.", "W.", "G.", "M."} {
			vars = append(vars, plantVars(p)...)
		}
		vars = append(vars, browseVars()...)
		shared.ts = startTestServer(t, serverOpts{folders: browseFolders, vars: vars, keep: true})
	})
	if shared.ts == nil {
		t.Fatal("shared test server did not start")
	}
	return shared.ts
}

func TestSubscribeTypesInfoAndStatus(t *testing.T) {
	ts := sharedServer(t)
	a := func(n string) string { return nodeAddr("S." + n) }
	h := runConnector(t, Config{URL: ts.url(), Nodes: plantNodes("S."), PublishingInterval: 50 * time.Millisecond, Timeout: 2 * time.Second})

	want := map[string]any{
		a("Temp"):    float64(21.5),
		a("Count"):   int64(-7),
		a("Big"):     uint64(65000),
		a("Running"): true,
		a("Recipe"):  "A-42",
		a("Ratio"):   float64(0.25),
	}
	rs := h.waitFor(5*time.Second, "first value of every node", func(rs []connectors.Reading) bool {
		for a, v := range want {
			if !hasValue(a, v)(rs) {
				return false
			}
		}
		return true
	})
	first := map[string]connectors.Reading{}
	for _, r := range rs {
		if _, ok := first[r.Address]; !ok {
			first[r.Address] = r
		}
	}
	for a, v := range want {
		r := first[a]
		if r.Raw != v || r.Status != nil {
			t.Errorf("%s: first reading Raw=%#v Status=%v, want %#v Good", a, r.Raw, r.Status, v)
		}
		if r.Source != "plc1" || r.SourceTime.IsZero() || r.ServerTime.IsZero() || r.Received.IsZero() {
			t.Errorf("%s: source %q, timestamps source=%v server=%v received=%v", a, r.Source, r.SourceTime, r.ServerTime, r.Received)
		}
		if r.Info == nil {
			t.Errorf("%s: first reading has no Info", a)
		}
	}
	temp := first[a("Temp")].Info
	if temp != nil {
		wantInfo := connectors.PointInfo{DisplayName: "Display Temp", Description: "Description of S.Temp", DataType: "Double",
			HasUnit: true, UnitID: 4408652, UnitSymbol: "°C", HasRange: true, Low: -20, High: 120, Writable: true}
		if *temp != wantInfo {
			t.Errorf("Temp info = %+v\nwant %+v", *temp, wantInfo)
		}
	}
	if ci := first[a("Count")].Info; ci != nil && (ci.HasUnit || ci.HasRange || ci.DataType != "Int32" || ci.Writable) {
		t.Errorf("Count info = %+v, want Int32 without unit, range or write access", *ci)
	}

	// A change arrives, without Info this time.
	ts.set("S.Temp", goodValue(float64(22.75), time.Now()))
	rs = h.waitFor(5*time.Second, "changed Temp", hasValue(a("Temp"), float64(22.75)))
	if r, _ := latest(rs, a("Temp"), nil); r.Info != nil {
		t.Errorf("second reading of Temp carries Info again")
	}

	// A bad status passes through as the server's StatusCode.
	ts.set("S.Count", statusValue(nil, ua.StatusBadSensorFailure, time.Now()))
	ts.set("S.Ratio", statusValue(float32(0.5), ua.StatusUncertainLastUsableValue, time.Now()))
	rs = h.waitFor(5*time.Second, "bad Count and uncertain Ratio", func(rs []connectors.Reading) bool {
		_, bad := latest(rs, a("Count"), func(r connectors.Reading) bool { return r.Status != nil })
		_, unc := latest(rs, a("Ratio"), func(r connectors.Reading) bool { return r.Status != nil })
		return bad && unc
	})
	bad, _ := latest(rs, a("Count"), nil)
	var sc connectors.StatusCode
	if !errors.As(bad.Status, &sc) || sc != connectors.BadSensorFailure || bad.Raw != nil {
		t.Errorf("Count: Status %v Raw %v, want BadSensorFailure and no value", bad.Status, bad.Raw)
	}
	unc, _ := latest(rs, a("Ratio"), nil)
	if !errors.As(unc.Status, &sc) || !sc.IsUncertain() || unc.Raw != float64(0.5) {
		t.Errorf("Ratio: Status %v Raw %v, want Uncertain with value 0.5", unc.Status, unc.Raw)
	}

	hl := h.c.Health()
	if hl.State != connectors.Connected || hl.Readings < uint64(len(rs)) || hl.Protocol != "opcua" || hl.Endpoint != ts.url() {
		t.Errorf("health = %+v", hl)
	}
	h.waitHealth(5*time.Second, "a measured latency", func(h connectors.Health) bool { return h.Latency > 0 })
}
