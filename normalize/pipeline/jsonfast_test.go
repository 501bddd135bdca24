package pipeline

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/units"
)

// TestAppendSampleMatchesJSON: the fast encoding of a sample is, byte for
// byte, what json.Marshal makes of its SampleRecord, for every kind of
// value, status, text, time and production context.
func TestAppendSampleMatchesJSON(t *testing.T) {
	degC, _ := units.Lookup("degC")
	texts := []string{"", "plain", `quo"te\back`, "tab\tnew\nline\r\x01\x1f", "<b>&amp;</b>", "line\u2028sep\u2029", "bad\xffutf8\xc3", "ünïcødé °C", "\x7f"}
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 123.456, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 1.7976931348623157e308, 0.1 + 0.2, 42}
	times := []time.Time{{}, time.Date(2026, 12, 6, 23, 1, 2, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600)), time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC)}
	statuses := []connectors.StatusCode{connectors.Good, connectors.UncertainLastUsableValue, connectors.BadNoCommunication, connectors.UncertainNoCommunicationLastUsableValue, 0x0480, connectors.BadWaitingForInitialData}
	contexts := []*normalize.Context{nil, normalize.NewContext([ctxrole.N]string{}, time.Time{}),
		normalize.NewContext([ctxrole.N]string{"WO-<4711>", "cola&0.5l"}, times[2]), normalize.NewContext([ctxrole.N]string{5: "night \"shift\""}, times[1])}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return rng.IntN(n) }
	for i := range 5000 {
		s := normalize.Sample{
			ID: texts[pick(len(texts))], Asset: "a/b", Tag: texts[pick(len(texts))], Kind: normalize.Kind(pick(3)),
			Value: floats[pick(len(floats))], Text: texts[pick(len(texts))], Status: statuses[pick(len(statuses))],
			Err: texts[pick(len(texts))], SourceTime: times[pick(len(times))], ServerTime: times[pick(len(times))],
			Received: times[pick(len(times))], Source: "src", Address: texts[pick(len(texts))], Seq: rng.Uint64(),
			Context: contexts[pick(len(contexts))],
		}
		if pick(2) == 0 {
			s.Unit = degC
		}
		if pick(2) == 0 {
			s.HasLastGood, s.LastGood, s.LastGoodText, s.LastGoodTime = true, floats[pick(len(floats))], texts[pick(len(texts))], times[pick(len(times))]
		}
		want, err := json.Marshal(SampleRecord(&s))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSample(nil, &s); !bytes.Equal(got, want) {
			t.Fatalf("sample %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestJSONLinesBatched: a batched JSONLines writes nothing until Flush,
// then every line at once, each a JSON object.
func TestJSONLinesBatched(t *testing.T) {
	var buf bytes.Buffer
	j := NewJSONLines(&buf).Batched()
	for i := range 3 {
		j.Handle(Event{Type: EventSample, Sample: &normalize.Sample{ID: "a/b/t", Seq: uint64(i)}})
	}
	if buf.Len() != 0 {
		t.Fatalf("written before Flush: %q", buf.String())
	}
	j.Flush()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 || j.Err() != nil {
		t.Fatalf("%d lines, err %v: %q", len(lines), j.Err(), buf.String())
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil || v["type"] != "sample" {
			t.Errorf("line %q: %v", l, err)
		}
	}
}

// BenchmarkJSONLines: a sample a line, as otwin watch --headless writes
// them, against encoding/json.
func BenchmarkJSONLines(b *testing.B) {
	degC, _ := units.Lookup("degC")
	now := time.Now()
	s := &normalize.Sample{ID: "acme/scale/a/l00/m0001/t001", Asset: "acme/scale/a/l00/m0001", Tag: "t001", Value: 123.456, Unit: degC,
		Status: connectors.Good, SourceTime: now, ServerTime: now, Received: now, Source: "opcua-4920",
		Address: "nsu=urn:otwin:scale;s=acme/scale/a/l00/m0001/t001", Seq: 12345, HasLastGood: true, LastGood: 123.456, LastGoodTime: now}
	b.Run("fast", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = appendSample(buf[:0], s)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(Event{Type: EventSample, Sample: s}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
