package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/scenarios"
)

func TestFrozenWatch(t *testing.T) {
	noisy := &scenarios.Model{Noise: &scenarios.Noise{StdDev: 0.5}}
	quiet := &scenarios.Model{Noise: &scenarios.Noise{StdDev: 0.05}}
	walk := &scenarios.Model{RandomWalk: &scenarios.RandomWalk{Step: 0.2}}
	ramp := &scenarios.Model{Ramp: &scenarios.Ramp{Min: 0, Max: 100}}
	reg := func(typ scenarios.DataType, scale float64) *scenarios.Register {
		return &scenarios.Register{Table: "input", Type: typ, Scale: scale}
	}
	cases := []struct {
		name      string
		tag       scenarios.Tag
		viaModbus bool
		want      bool
	}{
		{"noise over OPC UA", scenarios.Tag{Type: scenarios.Float64, Model: noisy}, false, true},
		{"random walk over OPC UA", scenarios.Tag{Type: scenarios.Float64, Model: walk}, false, true},
		{"no noise", scenarios.Tag{Type: scenarios.Float64, Model: ramp}, false, false},
		{"no model", scenarios.Tag{Type: scenarios.Float64}, false, false},
		{"noise above the register step", scenarios.Tag{Type: scenarios.Float64, Model: noisy, Modbus: reg(scenarios.Int16, 0.1)}, true, true},
		{"noise below the register step", scenarios.Tag{Type: scenarios.Float64, Model: quiet, Modbus: reg(scenarios.Int16, 0.1)}, true, false},
		{"float register keeps the noise", scenarios.Tag{Type: scenarios.Float64, Model: quiet, Modbus: reg(scenarios.Float32, 1)}, true, true},
		{"integer tag", scenarios.Tag{Type: scenarios.Int32, Model: noisy}, false, false},
	}
	for _, c := range cases {
		if got := frozenWatch(&c.tag, c.viaModbus); got != c.want {
			t.Errorf("%s: frozenWatch = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestExportUnit(t *testing.T) {
	for in, want := range map[string]string{"degC": "CEL", "l/h": "E32", "bottles/min": "bottles/min", "": "", "furlongs": "furlongs"} {
		if got := exportUnit(in); got != want {
			t.Errorf("exportUnit(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExportProtocols: a machine served on both protocols is read over
// both by default (the Modbus point named "<tag>.modbus"), once over OPC
// UA with "opcua", over Modbus where it has a register with "modbus";
// a machine served over one protocol is read over it whatever the choice.
// Machines behind one OPC UA server are one source, named after its port;
// a Modbus source is one device (address and unit id).
func TestExportProtocols(t *testing.T) {
	sc := shippedScenario(t, "bottling")
	var eps []endpoint
	for _, m := range sc.Machines {
		if m.OPCUA != nil {
			eps = append(eps, endpoint{Machine: m.Name, Protocol: "opcua", URL: fmt.Sprintf("opc.tcp://127.0.0.1:%d", m.OPCUA.Port), Namespace: m.OPCUA.Namespace})
		}
		if m.Modbus != nil {
			eps = append(eps, endpoint{Machine: m.Name, Protocol: "modbus", Address: "127.0.0.1:5020", UnitID: m.Modbus.UnitID})
		}
	}
	count := func(f *sources.File) map[string]int {
		n := map[string]int{}
		for _, s := range f.Sources {
			n[s.Name] = len(s.Points)
		}
		return n
	}
	both, ua, mb := count(exportSources(sc, eps, exportBoth)), count(exportSources(sc, eps, exportOPCUA)), count(exportSources(sc, eps, exportModbus))
	// filler1: 15 tags, 11 with a register; labeler1 Modbus only (5 with a register);
	// capper1 OPC UA only (10) and the MES (5 tags, 3 with a register) on
	// filler1's server (port 4840); palletizer1: 5 tags, 4 with a
	// register, and the site clock (2 tags, OPC UA only) on port 4841.
	want := []struct {
		source        string
		both, ua, mbc int
	}{
		{"opcua-4840", 15 + 10 + 5, 15 + 10 + 5, 4 + 10 + 2},
		{"filler1-modbus", 11, 0, 11},
		{"mes-modbus", 3, 0, 3},
		{"labeler1-modbus", 5, 5, 5},
		{"opcua-4841", 5 + 2, 5 + 2, 1 + 2},
		{"palletizer1-modbus", 4, 0, 4},
	}
	if len(both) != len(want) {
		t.Errorf("sources %v, want %d", both, len(want))
	}
	for _, w := range want {
		if both[w.source] != w.both || ua[w.source] != w.ua || mb[w.source] != w.mbc {
			t.Errorf("%s: both %d, opcua %d, modbus %d points; want %d, %d, %d", w.source, both[w.source], ua[w.source], mb[w.source], w.both, w.ua, w.mbc)
		}
	}
	f := exportSources(sc, eps, exportBoth)
	for _, s := range f.Sources {
		for _, p := range s.Points {
			dual := s.Name == "filler1-modbus" || s.Name == "palletizer1-modbus" || s.Name == "mes-modbus"
			if strings.HasSuffix(p.Tag, modbusTagSuffix) != dual {
				t.Errorf("%s: point %s", s.Name, p.Tag)
			}
		}
	}
	// The bottling line ticks every 100ms: sampled every half tick,
	// published every 250ms, 5 samples and one more queued; 3 changes of
	// a point in a publishing interval, 2,500 points a subscription.
	c := sourceNamed(t, f, "opcua-4841").Config.(*opcua.Config)
	if c.SamplingInterval != 50*time.Millisecond || c.PublishingInterval != 250*time.Millisecond || c.QueueSize != 6 || c.MaxItemsPerSubscription != 2500 {
		t.Errorf("subscription %v sampling, %v publishing, queue %d, %d items a subscription", c.SamplingInterval, c.PublishingInterval, c.QueueSize, c.MaxItemsPerSubscription)
	}
	if c.Timeout != 5*time.Second {
		t.Errorf("timeout %v of 25 points, want 5s", c.Timeout)
	}
	// A line of 100,000 points ticking every second: sampled every 500ms,
	// published every second, 7,500 points a subscription, 15 s timeout.
	if c := exportOPCUAConfig("opc.tcp://x:4840", time.Second, 100000); c.SamplingInterval != 500*time.Millisecond || c.PublishingInterval != time.Second || c.QueueSize != 3 || c.MaxItemsPerSubscription != 7500 || c.Timeout != 15*time.Second {
		t.Errorf("1s tick: %v sampling, %v publishing, queue %d, %d items a subscription, timeout %v", c.SamplingInterval, c.PublishingInterval, c.QueueSize, c.MaxItemsPerSubscription, c.Timeout)
	}
	if err := checkExportChoice("both"); err != nil {
		t.Error(err)
	}
	if err := checkExportChoice("mqtt"); err == nil || !strings.Contains(err.Error(), "both, opcua, modbus") {
		t.Errorf("bad choice: %v", err)
	}
}

// sourceNamed returns the source of f named name.
func sourceNamed(t testing.TB, f *sources.File, name string) *sources.Source {
	t.Helper()
	for i := range f.Sources {
		if f.Sources[i].Name == name {
			return &f.Sources[i]
		}
	}
	t.Fatalf("no source %s", name)
	return nil
}

// TestDemoModbusFault: the line demo runs (its twin and the collector of
// its exported sources) reads a machine served on both protocols over
// both, so a comm_loss fault on its Modbus endpoint alone raises the
// Modbus source's comm-loss alert, and the fault list names the protocol.
func TestDemoModbusFault(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	line, err := startLocalLine(ctx, shippedScenario(t, "bottling"), t.TempDir(), nil, nil, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	rec := newEventRecorder()
	line.Collector.Pipeline.OnEvent = rec.Handle
	line.Collector.Pipeline.TickInterval = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- line.Collector.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		line.Close()
	})
	waitUntil(t, 20*time.Second, "filler1's Modbus source connected", func() bool {
		h, ok := healthOf(line.Collector.Store, "filler1-modbus")
		return ok && h.State == connectors.Connected
	})
	mark := rec.Mark()
	f := scenarios.Fault{Name: "plc-modbus-down", Kind: scenarios.CommLoss, Target: "filler1", Protocol: "modbus"}
	if _, err := line.Control.Inject(ctx, f); err != nil {
		t.Fatal(err)
	}
	fs, err := line.Control.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range fs {
		if x.Name == f.Name && faultProtocols(x) != "modbus" {
			t.Errorf("fault list: %s hits %q, want modbus", x.Name, faultProtocols(x))
		}
	}
	// comm_loss defaults to 5s; the Modbus poll of the export is 500ms.
	waitUntil(t, 15*time.Second, "comm_loss:filler1-modbus raised", func() bool {
		_, _, ok := rec.AlertSince(mark, "comm_loss:filler1-modbus", "raised")
		return ok
	})
	if _, _, ok := rec.AlertSince(mark, "comm_loss:opcua-4840", "raised"); ok {
		t.Error("the OPC UA source of filler1 lost communication too")
	}
}

// BenchmarkExportSources100k: what `otwin sim --export-sources` spends on
// a line of 1000 machines × 100 tags behind one OPC UA endpoint — every
// point built, then written as one template applied to every machine.
// Reports the file's size.
func BenchmarkExportSources100k(b *testing.B) {
	sc := parseScenario(b, "e2ebig", bigScenario(1000, 100))
	var eps []endpoint
	for _, m := range sc.Machines {
		eps = append(eps, endpoint{Machine: m.Name, Protocol: "opcua", URL: "opc.tcp://127.0.0.1:4920", Namespace: m.OPCUA.Namespace})
	}
	path := filepath.Join(b.TempDir(), "sources.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if err := writeExportedSources(path, sc, exportSources(sc, eps, exportBoth)); err != nil {
			b.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Size()), "file-bytes")
}

// TestExportThousandMachines: a line of 1,000 machines (3 tags each),
// 600 behind one OPC UA server and 400 behind another — more machines than
// either server takes connections (64) — exported as `otwin sim
// --export-sources` writes it, read back from the file and collected:
// one source per server, every machine's every tag turns Good and no
// alert is raised.
func TestExportThousandMachines(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 machines: not in -short")
	}
	t.Parallel()
	var sb strings.Builder
	sb.WriteString("name: thousand\ntick: 1s\nopcua: {security: [none]}\nlocation: {enterprise: acme, site: big, area: a}\n")
	sb.WriteString("templates:\n  T:\n    tags:\n")
	sb.WriteString("      - {name: temp, unit: degC, range: {low: 0, high: 200}, model: {sine: {offset: 100, amplitude: 10, period: 30s}, noise: {stddev: 0.5}}}\n")
	sb.WriteString("      - {name: speed, model: {noise: {mean: 50, stddev: 1}}}\n")
	sb.WriteString("      - {name: count, type: int32, model: {counter: {rate: 1}}}\n")
	sb.WriteString("machines:\n")
	for i := range 1000 {
		port := 4920
		if i >= 600 {
			port = 4921
		}
		fmt.Fprintf(&sb, "  - {name: m%04d, template: T, location: {line: l%02d}, opcua: {port: %d}}\n", i, i/20, port)
	}
	sc := parseScenario(t, "thousand", sb.String())
	tw := startE2ETwin(t, sc)
	path := filepath.Join(t.TempDir(), "sources.yaml")
	if err := writeExportedSources(path, sc, exportSources(sc, tw.Endpoints, exportBoth)); err != nil {
		t.Fatal(err)
	}
	f, err := sources.Load(path)
	if err != nil {
		t.Fatalf("the exported file does not load: %v", err)
	}
	if len(f.Sources) != 2 {
		t.Fatalf("%d sources, want one per OPC UA server (2)", len(f.Sources))
	}
	machines := map[string]bool{}
	for _, s := range f.Sources {
		for _, p := range s.Points {
			machines[p.Asset] = true
		}
	}
	ids := pointIDs(f)
	if len(machines) != 1000 || len(ids) != 3000 {
		t.Fatalf("the sources read %d machines and %d points, want 1000 and 3000", len(machines), len(ids))
	}
	col := startE2ECollector(t, f)
	took := waitUntil(t, 2*time.Minute, "every tag of the 1,000 machines Good", func() bool {
		for _, id := range ids {
			if s, ok := col.Rec.Last(id); !ok || !s.Status.IsGood() {
				return false
			}
		}
		return true
	})
	t.Logf("1,000 machines, 3,000 tags: all Good %v after the collector started", took.Round(10*time.Millisecond))
	for _, a := range col.Rec.Alerts() {
		t.Errorf("alert without a fault: %s %s: %s", a.Transition, a.Alert.ID, a.Alert.Message)
	}
}
