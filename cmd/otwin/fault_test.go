package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/control"
)

// controlTwin runs a real engine behind the control API on 127.0.0.1.
func controlTwin(t *testing.T) (*twin.Engine, string) {
	t.Helper()
	d := func(x time.Duration) scenarios.Duration { return scenarios.Duration(x) }
	sc := &scenarios.Scenario{
		Name: "cli", Seed: 1, Tick: d(100 * time.Millisecond), TimeScale: 1,
		Machines: []scenarios.Machine{{Name: "press1", OPCUA: &scenarios.MachineOPCUA{}, Modbus: &scenarios.MachineModbus{UnitID: 1}, Tags: []scenarios.Tag{
			{Name: "force", Type: scenarios.Float64, Model: &scenarios.Model{Sine: &scenarios.Sine{Offset: 50, Amplitude: 5, Period: d(10 * time.Second)}}},
		}}},
		Faults: []scenarios.Fault{
			{Name: "force_stuck", Kind: scenarios.Stuck, Target: "press1/force", Duration: d(time.Minute)},
			{Name: "press_down", Kind: scenarios.CommLoss, Target: "press1"},
		},
	}
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(control.Handler(e, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return e, srv.URL
}

// otwin runs the command line args and returns its output.
func otwin(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestFaultCommands(t *testing.T) {
	e, url := controlTwin(t)
	tests := []struct {
		args    []string
		want    []string // substrings of the output, or of the error
		wantErr bool
	}{
		{[]string{"fault", "list", "--control", url}, []string{"NAME", "force_stuck", "stuck", "press1/force", "no", "scenario"}, false},
		{[]string{"fault", "inject", "force_stuck", "--control", url}, []string{"injected force_stuck (stuck on press1/force) at 0s, until 1m0s"}, false},
		{[]string{"fault", "inject", "--control", url, "--kind", "drift", "--target", "press1/force", "--rate", "0.5", "--duration", "30s"},
			[]string{"injected drift-1 (drift on press1/force)", "until 30s"}, false},
		{[]string{"fault", "inject", "wobble", "--control", url, "--kind", "out_of_range", "--target", "press1/force", "--value", "-1"},
			[]string{"injected wobble"}, false},
		{[]string{"fault", "inject", "modbus_busy", "--control", url, "--kind", "modbus_exception", "--target", "press1", "--exception", "6", "--protocol", "modbus"},
			[]string{"injected modbus_busy"}, false},
		{[]string{"fault", "inject", "behind", "--control", url, "--kind", "clock_skew", "--target", "press1", "--skew", "-30s"},
			[]string{"injected behind (clock_skew on press1)"}, false},
		{[]string{"fault", "inject", "--control", url, "--kind", "latency", "--target", "press1"}, []string{"latency:"}, true},
		{[]string{"fault", "inject", "nope", "--control", url}, []string{"unknown fault", "HTTP 404"}, true},
		{[]string{"fault", "list", "--control", url}, []string{"force_stuck  stuck", "yes", "drift-1", "ad hoc", "PROTOCOL"}, false},
		{[]string{"fault", "clear", "force_stuck", "--control", url}, []string{"cleared force_stuck"}, false},
		{[]string{"fault", "clear", "press_down", "--control", url}, []string{"not active", "HTTP 409"}, true},
	}
	for _, tt := range tests {
		out, err := otwin(t, tt.args...)
		text := out
		if err != nil {
			text += err.Error()
		}
		if (err != nil) != tt.wantErr {
			t.Fatalf("%v: err %v, want error %v; output %s", tt.args, err, tt.wantErr, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Fatalf("%v: output %q lacks %q", tt.args, text, w)
			}
		}
	}
	if i, _ := e.Lookup("press1/force"); e.Value(i).Source.After(time.Now().Add(-29 * time.Second)) {
		t.Fatalf("clock skew fault did not shift the source timestamp: %v", e.Value(i).Source)
	}
	if l := e.Link("press1", "modbus"); l.Exception != 6 {
		t.Fatalf("modbus exception fault did not reach the engine: %+v", l)
	}
}

// TestFaultListProtocols: fault list names the protocols on which clients
// see each fault, as the engine says (a value fault on every protocol that
// serves the tag, quality and clock faults over OPC UA only, transport
// faults on the protocol given or every one of the machine, a Modbus
// exception over Modbus), and "none" for a fault no client can see.
func TestFaultListProtocols(t *testing.T) {
	d := func(x time.Duration) scenarios.Duration { return scenarios.Duration(x) }
	sine := &scenarios.Model{Sine: &scenarios.Sine{Offset: 50, Amplitude: 5, Period: d(10 * time.Second)}}
	sc := &scenarios.Scenario{
		Name: "protocols", Seed: 1, Tick: d(100 * time.Millisecond), TimeScale: 1,
		Machines: []scenarios.Machine{
			{Name: "both", OPCUA: &scenarios.MachineOPCUA{}, Modbus: &scenarios.MachineModbus{UnitID: 1}, Tags: []scenarios.Tag{
				{Name: "reg", Type: scenarios.Float64, Model: sine, Modbus: &scenarios.Register{Table: "input", Address: 0, Type: scenarios.Float32, Order: "ABCD", Scale: 1}},
				{Name: "noreg", Type: scenarios.Float64, Model: sine},
			}},
			{Name: "mbonly", Modbus: &scenarios.MachineModbus{UnitID: 2}, Tags: []scenarios.Tag{
				{Name: "v", Type: scenarios.Float64, Model: sine, Modbus: &scenarios.Register{Table: "input", Address: 0, Type: scenarios.Float32, Order: "ABCD", Scale: 1}},
			}},
		},
		Faults: []scenarios.Fault{
			{Name: "reg_stuck", Kind: scenarios.Stuck, Target: "both/reg"},
			{Name: "noreg_stuck", Kind: scenarios.Stuck, Target: "both/noreg"},
			{Name: "reg_bad", Kind: scenarios.BadQuality, Target: "both/reg"},
			{Name: "mb_bad", Kind: scenarios.BadQuality, Target: "mbonly/v"},
			{Name: "both_down", Kind: scenarios.CommLoss, Target: "both"},
			{Name: "mb_down", Kind: scenarios.CommLoss, Target: "both", Protocol: "modbus"},
			{Name: "busy", Kind: scenarios.ModbusException, Target: "both", Exception: 6},
			{Name: "skew", Kind: scenarios.ClockSkew, Target: "both", Skew: d(-time.Minute)},
		},
	}
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(control.Handler(e, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	out, err := otwin(t, "fault", "list", "--control", srv.URL)
	if err != nil {
		t.Fatalf("fault list: %v\n%s", err, out)
	}
	want := map[string]string{
		"reg_stuck": "opcua+modbus", "noreg_stuck": "opcua", "reg_bad": "opcua", "mb_bad": "none",
		"both_down": "opcua+modbus", "mb_down": "modbus", "busy": "modbus", "skew": "opcua",
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if hdr := strings.Fields(lines[0]); len(hdr) < 4 || hdr[3] != "PROTOCOL" {
		t.Fatalf("header %q: want PROTOCOL fourth", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if w, ok := want[f[0]]; !ok || f[3] != w {
			t.Errorf("%s: protocol %q, want %q (line %q)", f[0], f[3], w, l)
		}
		delete(want, f[0])
	}
	if len(want) > 0 {
		t.Errorf("faults not listed: %v\n%s", want, out)
	}
}

func TestControlLocation(t *testing.T) {
	_, url := controlTwin(t)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	if err := os.WriteFile(ready, []byte(`{"control":"`+url+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("ready file", func(t *testing.T) {
		if out, err := otwin(t, "clock", "status", "--ready-file", ready); err != nil || !strings.Contains(out, "scenario:") {
			t.Fatalf("%s %v", out, err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("OTWIN_CONTROL", url)
		if out, err := otwin(t, "fault", "list"); err != nil || !strings.Contains(out, "force_stuck") {
			t.Fatalf("%s %v", out, err)
		}
	})
	t.Run("nothing given", func(t *testing.T) {
		t.Setenv("OTWIN_CONTROL", "")
		if _, err := otwin(t, "fault", "list"); err == nil || !strings.Contains(err.Error(), "--control") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("not reachable", func(t *testing.T) {
		srv := httptest.NewServer(nil)
		dead := srv.URL
		srv.Close()
		_, err := otwin(t, "clock", "status", "--control", dead)
		if !errors.Is(err, control.ErrUnreachable) || !strings.Contains(err.Error(), "is the twin running") {
			t.Fatalf("got %v", err)
		}
	})
}
