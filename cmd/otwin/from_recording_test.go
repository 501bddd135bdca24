package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/recording"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

const recordedSources = `sources:
  - name: plc-ua
    opcua: {url: "opc.tcp://127.0.0.1:48499"}
    points:
      - {node: "nsu=urn:x;s=line/speed", asset: a/line, tag: speed}
      - {node: "nsu=urn:x;i=1001", asset: a/line, tag: numeric}
      - {node: "nsu=urn:y;s=other/temp", asset: a/line, tag: temp}
      - {node: "nsu=urn:x;s=line/never", asset: a/line, tag: never}
  - name: plc-mb
    modbus: {address: "127.0.0.1:50299", unit_id: 3}
    points:
      - {register: "holding:0:float32:CDAB", asset: a/line, tag: sp}
      - {register: "holding:1:uint16", asset: a/line, tag: overlap}
      - {register: "input:5:bool", asset: a/line, tag: flag}
      - {register: "input:9:int16", asset: a/line, tag: refused}
`

// writeSourcesRecording writes a recording of recordedSources.
func writeSourcesRecording(t *testing.T, path string) {
	t.Helper()
	start := time.Now().Add(-time.Minute)
	w, err := recording.Create(path, recording.Header{Start: start, SourcesFile: "plant.yaml", Sources: recordedSources})
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) time.Time { return start.Add(d) }
	w.Info("plc-ua", "nsu=urn:x;s=line/speed", []byte(`{"DataType":"Float","HasUnit":true,"UnitSymbol":"rpm","HasRange":true,"Low":0,"High":1500,"Writable":true}`))
	for i := 0; i < 5; i++ {
		d := time.Duration(i) * time.Second
		w.Write("plc-ua", "nsu=urn:x;s=line/speed", recording.Reading{Received: at(d), Value: float64(100 * i)})
		w.Write("plc-ua", "nsu=urn:x;i=1001", recording.Reading{Received: at(d), Value: int64(i)})
		w.Write("plc-ua", "nsu=urn:y;s=other/temp", recording.Reading{Received: at(d), Value: 20.5})
		w.Write("plc-mb", "holding:0:float32:CDAB", recording.Reading{Received: at(d), Value: 1.5})
		w.Write("plc-mb", "holding:1:uint16", recording.Reading{Received: at(d), Value: uint64(7)})
		w.Write("plc-mb", "input:5:bool", recording.Reading{Received: at(d), Value: i%2 == 0})
		w.Write("plc-mb", "input:9:int16", recording.Reading{Received: at(d), Status: 0x80890000, Err: "exception 2 (illegal data address)"})
	}
	w.Link(recording.Link{Source: "plc-mb", Time: at(2 * time.Second), State: "down"})
	w.Link(recording.Link{Source: "plc-mb", Time: at(3 * time.Second), State: "connected"})
	if err := w.Close("done"); err != nil {
		t.Fatal(err)
	}
}

// execOtwin runs otwin with args in this process and returns its output
// and error.
func execOtwin(args ...string) (string, error) {
	root := newRoot()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestFromRecording: the scenario of a recording serves each source on
// its port (OPC UA: a machine per namespace, with the node ids, data type,
// unit, range and access; Modbus: the unit id and registers), plays every
// point, turns the link going down into a comm_loss fault, names the
// recording relative to the scenario, and lists what it leaves out.
func TestFromRecording(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec", "plant.otwrec")
	os.MkdirAll(filepath.Dir(rec), 0o755)
	writeSourcesRecording(t, rec)
	out := filepath.Join(dir, "scn", "plant.yaml")
	os.MkdirAll(filepath.Dir(out), 0o755)
	text, err := execOtwin("scenario", "from-recording", rec, "-o", out, "--loop")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, want := range []string{
		`source plc-ua point nsu=urn:x;i=1001: the twin serves only string node ids`,
		`source plc-ua point nsu=urn:x;s=line/never: never read in the recording`,
		`source plc-mb point holding:1:uint16: overlaps point holding:0:float32:CDAB`,
		`source plc-mb point input:9:int16: the device refused every read (exception 2 (illegal data address))`,
	} {
		if !strings.Contains(text, "left out: "+want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	sc, err := scenarios.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*scenarios.Machine{}
	for i := range sc.Machines {
		byName[sc.Machines[i].Name] = &sc.Machines[i]
	}
	ua, ua2, mb := byName["plc-ua"], byName["plc-ua-2"], byName["plc-mb"]
	if ua == nil || ua2 == nil || mb == nil || len(sc.Machines) != 3 {
		t.Fatalf("machines %v", byName)
	}
	speed := ua.Tags[0]
	if ua.OPCUA.Port != 48499 || ua.OPCUA.Namespace != "urn:x" || ua2.OPCUA.Namespace != "urn:y" || len(ua.Tags) != 1 ||
		speed.NodeID != "line/speed" || speed.Type != scenarios.Float32 || speed.Unit != "rpm" || speed.Range == nil || speed.Range.High != 1500 || !speed.Writable {
		t.Errorf("OPC UA machines %+v %+v; speed %+v", ua, ua2, speed)
	}
	if r := speed.Model.Replay; r == nil || r.File != "../rec/plant.otwrec" || r.Source != "plc-ua" || !r.Loop {
		t.Errorf("speed's model %+v", speed.Model)
	}
	if mb.Modbus.Port != 50299 || mb.Modbus.UnitID != 3 || len(mb.Tags) != 2 ||
		*mb.Tags[0].Modbus != (scenarios.Register{Table: "holding", Address: 0, Type: scenarios.Float32, Order: "CDAB", Scale: 1}) ||
		mb.Tags[1].Type != scenarios.Uint16 || mb.Tags[1].Modbus.Table != "input" || mb.Tags[1].Modbus.Address != 5 {
		t.Errorf("Modbus machine %+v: %+v %+v", mb, mb.Tags[0].Modbus, mb.Tags[1].Modbus)
	}
	if len(sc.Faults) != 1 || sc.Faults[0].Kind != scenarios.CommLoss || sc.Faults[0].Target != "plc-mb" || sc.Faults[0].Start.D() != 2*time.Second || sc.Faults[0].Duration.D() != time.Second {
		t.Errorf("faults %+v", sc.Faults)
	}
	// The twin plays it (the recording found relative to the scenario).
	eng, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	eng.Step(25)
	i, _ := eng.Lookup("plc-ua/speed")
	if v := eng.Value(i).V; v != float32(200) {
		t.Errorf("speed at 2.5 s: %v, want 200", v)
	}
}

// TestSimReplayBadInput: a corrupt recording is refused with its byte
// offset; a recording that is no recording, and a scenario given with
// --replay, are refused with what to do.
func TestSimReplayBadInput(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "plant.otwrec")
	writeSourcesRecording(t, rec)
	data, _ := os.ReadFile(rec)
	data[len(data)/2] ^= 0x40
	bad := filepath.Join(dir, "bad.otwrec")
	os.WriteFile(bad, data, 0o644)
	text, err := execOtwin("sim", "--replay", bad, "--ephemeral", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "corrupt at byte") || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt recording: %v\n%s", err, text)
	}
	os.WriteFile(bad, []byte(recordedSources), 0o644)
	if _, err := execOtwin("scenario", "from-recording", bad); err == nil || !strings.Contains(err.Error(), "not an otwin recording") {
		t.Errorf("not a recording: %v", err)
	}
	if _, err := execOtwin("sim", "bottling", "--replay", rec); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("scenario and --replay: %v", err)
	}
	cut := filepath.Join(dir, "cut.otwrec")
	whole, _ := os.ReadFile(rec)
	os.WriteFile(cut, whole[:len(whole)-20], 0o644)
	text, err = execOtwin("scenario", "from-recording", cut)
	if err != nil || !strings.Contains(text, "cut mid-write") || !strings.Contains(text, "recording is read up to byte") {
		t.Errorf("a cut recording: %v\n%s", err, text)
	}
}
