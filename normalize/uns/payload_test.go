package uns

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/units"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 123_000_000, time.UTC)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return m
}

func TestAppendSample(t *testing.T) {
	unit, _ := units.Lookup("rpm")
	s := normalize.Sample{
		ID: "acme/plant1/filler1/speed", Asset: "acme/plant1/filler1", Tag: "speed",
		Kind: normalize.Number, Value: 1180.5, Unit: unit, Status: connectors.Good,
		SourceTime: t0, ServerTime: t0.Add(time.Millisecond), Received: t0.Add(8 * time.Millisecond),
		Source: "filler-plc", Address: "nsu=urn:x;s=speed", Seq: 42,
	}
	m := decode(t, AppendSample(nil, "edge1", &s))
	want := map[string]any{
		"id": "acme/plant1/filler1/speed", "value": 1180.5, "unit": unit.Symbol, "unit_code": "RPM",
		"quality": "Good", "status": "Good", "status_code": 0.0, "timestamp_ms": float64(t0.UnixMilli()),
		"source_time": "2026-12-06T10:00:00.123Z", "server_time": "2026-12-06T10:00:00.124Z",
		"received": "2026-12-06T10:00:00.131Z", "source": "filler-plc", "node": "edge1", "seq": 42.0, "context": map[string]any{},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("payload\n got %v\nwant %v", m, want)
	}

	// A bad value: null, the error, the last good value; no source time:
	// timestamp_ms is the received time.
	bad := normalize.Sample{
		ID: "a/b", Kind: normalize.Bool, Value: 1, Status: connectors.BadNoCommunication, Err: `lost "plc"` + "\n",
		HasLastGood: true, LastGood: 1, LastGoodTime: t0, Received: t0.Add(time.Second), Seq: 7,
	}
	m = decode(t, AppendSample(nil, "edge1", &bad))
	if m["value"] != nil || m["last_good"] != true || m["error"] != "lost \"plc\"\n" ||
		m["status"] != "Bad_NoCommunication" || m["quality"] != "Bad" ||
		m["timestamp_ms"] != float64(t0.Add(time.Second).UnixMilli()) || m["source_time"] != nil {
		t.Errorf("bad sample payload: %v", m)
	}
	if _, ok := m["value"]; !ok {
		t.Error("value field missing: want null")
	}
	text := normalize.Sample{ID: "a/b", Kind: normalize.Text, Text: "batch 7 \u2028 ok", Status: connectors.Good}
	if m = decode(t, AppendSample(nil, "edge1", &text)); m["value"] != "batch 7 \u2028 ok" {
		t.Errorf("text value %v", m["value"])
	}
}

// TestAppendSampleNumbers: every float64 becomes a JSON number that reads
// back exactly, or null when it is not finite.
func TestAppendSampleNumbers(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1e20, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1)} {
		s := normalize.Sample{ID: "a/b", Value: v, Status: connectors.Good}
		m := decode(t, AppendSample(nil, "edge1", &s))
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			if m["value"] != nil {
				t.Errorf("%v: value %v, want null", v, m["value"])
			}
		case m["value"] != v:
			t.Errorf("%v: value %v", v, m["value"])
		}
	}
}

// TestSampleFieldsMatchJSONLines: the MQTT payload has the fields of the
// headless JSON lines, without those the topic says, plus timestamp_ms and
// context: one vocabulary for both.
func TestSampleFieldsMatchJSONLines(t *testing.T) {
	s := normalize.Sample{
		ID: "a/b", Asset: "a", Tag: "b", Kind: normalize.Number, Value: 1, Unit: units.Unit{Symbol: "°C", Code: "CEL"},
		Status: connectors.UncertainLastUsableValue, Err: "stale", HasLastGood: true, LastGood: 1, LastGoodTime: t0,
		SourceTime: t0, ServerTime: t0, Received: t0, Source: "s", Address: "x", Seq: 1,
	}
	lines, err := json.Marshal(pipeline.SampleRecord(&s))
	if err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	want := decode(t, lines)
	for _, k := range []string{"type", "asset", "tag", "address"} {
		delete(want, k)
	}
	want["timestamp_ms"], want["context"], want["node"] = nil, nil, nil
	if got, w := keys(decode(t, AppendSample(nil, "edge1", &s))), keys(want); !slices.Equal(got, w) {
		t.Errorf("fields\n got %v\nwant %v", got, w)
	}
}

func TestAlertAndHealthPayloads(t *testing.T) {
	a := normalize.Alert{
		ID: "stale:a/b", Kind: normalize.AlertStale, Target: "a/b", Severity: normalize.SeverityMedium,
		State: normalize.ActiveUnacked, Message: "no update for 12s", FirstActive: t0, LastActive: t0, Count: 1,
	}
	m := decode(t, AlertPayload("edge1", &a, &normalize.AlertEvent{What: "raised", At: t0, Comment: "no update for 12s"}))
	if m["transition"] != "raised" || m["id"] != "stale:a/b" || m["state"] != "active_unacked" ||
		m["severity"] != "medium" || m["first_active"] != "2026-12-06T10:00:00.123Z" || !reflect.DeepEqual(m["context"], map[string]any{}) ||
		m["node"] != "edge1" || !reflect.DeepEqual(m["event"], map[string]any{"at": "2026-12-06T10:00:00.123Z", "comment": "no update for 12s"}) {
		t.Errorf("alert payload %v", m)
	}
	h := connectors.Health{Source: "plc", Protocol: "modbus", Endpoint: "10.0.0.7:502", State: connectors.Down,
		Since: t0, LastError: connectors.BadNoCommunication, Latency: 1500 * time.Microsecond, Readings: 3, Errors: 2}
	m = decode(t, HealthPayload(&h))
	if m["state"] != "down" || m["latency_ms"] != 1.5 || m["last_error"] == nil || m["errors"] != 2.0 {
		t.Errorf("health payload %v", m)
	}
	m = decode(t, StatusPayload("edge1", true, t0))
	if m["state"] != "online" || m["node"] != "edge1" {
		t.Errorf("status payload %v", m)
	}
}

func BenchmarkAppendSample(b *testing.B) {
	unit, _ := units.Lookup("degC")
	s := normalize.Sample{
		ID: "acme/site1/area1/line01/cell1/m001/t001", Kind: normalize.Number, Value: 21.534, Unit: unit,
		Status: connectors.Good, SourceTime: t0, ServerTime: t0, Received: t0, Source: "big0", Seq: 123456,
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSample(buf[:0], "edge1", &s)
	}
	b.SetBytes(int64(len(buf)))
}

// TestContextInPayloads: a sample's and an alert's production context is
// the payload's context object, as in the JSON lines.
func TestContextInPayloads(t *testing.T) {
	var v [ctxrole.N]string
	v[ctxrole.WorkOrder.Index()], v[ctxrole.Batch.Index()] = "WO-4711", "B-2401"
	c := normalize.NewContext(v, t0)
	s := normalize.Sample{ID: "a/b", Kind: normalize.Number, Value: 1, Status: connectors.Good, Received: t0, Source: "s", Seq: 1, Context: c}
	want := map[string]any{"work_order": "WO-4711", "batch": "B-2401", "since": "2026-12-06T10:00:00.123Z"}
	if m := decode(t, AppendSample(nil, "edge1", &s)); !reflect.DeepEqual(m["context"], want) {
		t.Errorf("sample context %v, want %v", m["context"], want)
	}
	a := normalize.Alert{ID: "stale:a/b", Kind: normalize.AlertStale, Target: "a/b", State: normalize.ActiveUnacked, Context: c}
	if m := decode(t, AlertPayload("edge1", &a, &normalize.AlertEvent{What: "raised"})); !reflect.DeepEqual(m["context"], want) {
		t.Errorf("alert context %v, want %v", m["context"], want)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = AppendSample(make([]byte, 0, 1024), "edge1", &s) }); allocs > 1 {
		t.Errorf("AppendSample with a context allocates %v times", allocs)
	}
}
