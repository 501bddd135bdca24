package twin

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/recording"
	"github.com/otwin/otwin/scenarios"
)

// writeRecording writes a recording of two points of source "plc": a
// float every 250 ms (value i, status Bad_SensorFailure from 1 s to
// 1.5 s, a link-down reading at 2 s) and a string every second, until
// 3 s; it returns the file's path.
func writeRecording(t *testing.T) string {
	t.Helper()
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "plc.otwrec")
	w, err := recording.Create(path, recording.Header{Start: start})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= 12; i++ {
		at := start.Add(time.Duration(i) * 250 * time.Millisecond)
		r := recording.Reading{Received: at, Value: float64(i)}
		switch {
		case i == 8:
			r = recording.Reading{Received: at, Status: 0x80310000, LinkDown: true}
		case i >= 4 && i < 6:
			r.Status = 0x808C0000
		case i == 6:
			r = recording.Reading{Received: at, Status: 0x80890000} // Bad, no value
		}
		if err := w.Write("plc", "speed", r); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			w.Write("plc", "state", recording.Reading{Received: at, Value: []string{"Idle", "Run", "Stop", "Idle"}[i/4]})
		}
	}
	if err := w.Close("done"); err != nil {
		t.Fatal(err)
	}
	return path
}

func replayTag(name string, typ scenarios.DataType, r scenarios.Replay) scenarios.Tag {
	return scenarios.Tag{Name: name, Type: typ, Writable: true, Model: &scenarios.Model{Replay: &r}}
}

// TestReplayServesValuesAndStatus: each tick serves the value and status
// of the last reading received at or before it; before the first reading
// the tag waits for initial data; a reading without value keeps the
// previous value; link-down readings are left out; time_scale, from and
// loop move the playback; a write holds until the next recorded change.
func TestReplayServesValuesAndStatus(t *testing.T) {
	path := writeRecording(t)
	sc := scenario(
		replayTag("speed", scenarios.Float64, scenarios.Replay{File: path, Source: "plc", Address: "speed"}),
		replayTag("speed_i", scenarios.Int16, scenarios.Replay{File: path, Source: "plc", Address: "speed", From: dur(time.Second)}),
		replayTag("fast", scenarios.Float64, scenarios.Replay{File: path, Source: "plc", Address: "speed", TimeScale: 2, Loop: true}),
		replayTag("state", scenarios.String, scenarios.Replay{File: path, Source: "plc", Address: "state"}),
	)
	sc.Tick = dur(125 * time.Millisecond)
	e := newEngine(t, sc)
	type v struct {
		val    any
		status uint32
	}
	get := func(id string) v {
		i, _ := e.Lookup("m1/" + id)
		x := e.Value(i)
		return v{x.V, x.Status}
	}
	// tick k is at k × 125 ms.
	checks := map[int]map[string]v{
		0:  {"speed": {0.0, 0}, "speed_i": {int16(4), 0x808C0000}, "fast": {0.0, 0}, "state": {"Idle", 0}},
		1:  {"speed": {0.0, 0}, "fast": {1.0, 0}},
		2:  {"speed": {1.0, 0}, "fast": {2.0, 0}},
		8:  {"speed": {4.0, 0x808C0000}, "speed_i": {int16(7), 0}, "state": {"Run", 0}},
		12: {"speed": {5.0, 0x80890000}},                   // no value: the previous one
		16: {"speed": {7.0, 0}},                            // the link-down reading at 2 s is left out
		18: {"speed": {9.0, 0}, "fast": {5.0, 0x80890000}}, // 2.25 s; fast has looped: 4.5 s of a 3 s recording is 1.5 s
		40: {"speed": {12.0, 0}, "speed_i": {int16(12), 0}, "state": {"Idle", 0}},
	}
	for k := 0; k <= 40; k++ {
		if k > 0 {
			e.Step(1)
		}
		for id, want := range checks[k] {
			if got := get(id); got != want {
				t.Errorf("tick %d (%s): %s = %v (status 0x%08X), want %v (0x%08X)", k, time.Duration(k)*125*time.Millisecond, id, got.val, got.status, want.val, want.status)
			}
		}
	}
	i, _ := e.Lookup("m1/state")
	if err := e.Write(i, "Manual"); err != nil {
		t.Fatal(err)
	}
	e.Step(1)
	if got := get("state"); got.val != "Manual" {
		t.Errorf("state after a write: %v, want the write to hold", got.val)
	}
}

func TestReplayBefore(t *testing.T) {
	path := writeRecording(t)
	sc := scenario(replayTag("late", scenarios.Float64, scenarios.Replay{File: path, Source: "plc", Address: "speed", From: -dur(time.Second)}))
	e := newEngine(t, sc)
	i, _ := e.Lookup("m1/late")
	if v := e.Value(i); v.Status != StatusBadWaitingForInitialData || v.V != 0.0 {
		t.Errorf("before the first reading: %v 0x%08X, want 0 Bad_WaitingForInitialData", v.V, v.Status)
	}
}

// TestReplayErrors: a point the recording lacks is named with the points
// it has; a corrupt recording is refused with its byte offset; a
// recording cut mid-write plays up to the cut.
func TestReplayErrors(t *testing.T) {
	path := writeRecording(t)
	_, err := New(scenario(replayTag("x", scenarios.Float64, scenarios.Replay{File: path, Source: "plc", Address: "sped"})), Options{Logger: discard})
	if err == nil || !strings.Contains(err.Error(), `has no point "sped" of source "plc" (its points of that source: speed, state)`) || !strings.Contains(err.Error(), "machine m1 tag x") {
		t.Errorf("missing point: %v", err)
	}
	_, err = New(scenario(replayTag("x", scenarios.Float64, scenarios.Replay{File: path, Source: "plcx", Address: "speed"})), Options{Logger: discard})
	if err == nil || !strings.Contains(err.Error(), "(its sources: plc)") {
		t.Errorf("missing source: %v", err)
	}
	data, _ := os.ReadFile(path)
	bad := filepath.Join(t.TempDir(), "bad.otwrec")
	b := append([]byte(nil), data...)
	b[len(b)/2] ^= 0x55
	os.WriteFile(bad, b, 0o644)
	_, err = New(scenario(replayTag("x", scenarios.Float64, scenarios.Replay{File: bad, Source: "plc", Address: "speed"})), Options{Logger: discard})
	if err == nil || !strings.Contains(err.Error(), "corrupt at byte") || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt recording: %v", err)
	}
	cut := filepath.Join(t.TempDir(), "cut.otwrec")
	os.WriteFile(cut, data[:len(data)-40], 0o644)
	var log strings.Builder
	e, err := New(scenario(replayTag("x", scenarios.Float64, scenarios.Replay{File: cut, Source: "plc", Address: "speed"})), Options{Logger: newTextLogger(&log)})
	if err != nil {
		t.Fatalf("cut recording: %v", err)
	}
	if !strings.Contains(log.String(), "recording cut mid-write") || !strings.Contains(log.String(), "stops_at_byte=") {
		t.Errorf("log of a cut recording:\n%s", log.String())
	}
	e.Step(40)
	i, _ := e.Lookup("m1/x")
	if v := e.Value(i).V.(float64); v < 9 || v > 12 {
		t.Errorf("cut recording's last value %v", v)
	}
}

func newTextLogger(w *strings.Builder) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// TestReplayUnderFaults: faults act on a replayed tag as on any other: a
// quality fault's status wins over the recorded one, stuck freezes the
// recorded value.
func TestReplayUnderFaults(t *testing.T) {
	path := writeRecording(t)
	sc := scenario(replayTag("speed", scenarios.Float64, scenarios.Replay{File: path, Source: "plc", Address: "speed"}))
	sc.Faults = []scenarios.Fault{
		{Name: "bad", Kind: scenarios.BadQuality, Target: "m1/speed", Status: "Bad_DeviceFailure"},
		{Name: "stuck", Kind: scenarios.Stuck, Target: "m1/speed"},
	}
	e := newEngine(t, sc)
	i, _ := e.Lookup("m1/speed")
	e.Step(2) // 200 ms: value 0
	if err := e.InjectNamed("stuck"); err != nil {
		t.Fatal(err)
	}
	e.Step(10) // 1.2 s: recorded 4, Bad_SensorFailure
	if v := e.Value(i); v.V != 0.0 || v.Status != 0x808C0000 {
		t.Errorf("stuck: %v 0x%08X, want the value frozen at 0 and the recorded status", v.V, v.Status)
	}
	if err := e.InjectNamed("bad"); err != nil {
		t.Fatal(err)
	}
	if v := e.Value(i); v.Status != StatusBadDeviceFailure {
		t.Errorf("bad_quality: status 0x%08X, want Bad_DeviceFailure over the recorded Bad_SensorFailure", v.Status)
	}
}
