package normalize

import (
	"fmt"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

// BenchmarkApply normalizes good numeric readings of 1000 points with
// range, scaling and the default rules on.
func BenchmarkApply(b *testing.B) {
	const points = 1000
	cfg := Config{}
	for i := range points {
		cfg.Points = append(cfg.Points, Point{
			Source: "plc", Address: fmt.Sprintf("holding:%d:float32", i*2), Asset: "site/area/line/m", Tag: fmt.Sprintf("t%d", i),
			Unit: "degC", Range: &Range{Low: -1e9, High: 1e9}, Scale: 0.1, Interval: time.Second,
		})
	}
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]connectors.Reading, points)
	for i := range rs {
		rs[i] = connectors.Reading{Source: "plc", Address: cfg.Points[i].Address, Raw: float64(i)}
	}
	var out Output
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := &rs[i%points]
		r.Received = t0.Add(time.Duration(i))
		r.SourceTime = r.Received
		if i%64 == 0 {
			out.Reset()
		}
		if !n.Apply(*r, &out) {
			b.Fatal("dropped")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkTick runs the time-driven rules over 100k tags.
func BenchmarkTick(b *testing.B) {
	cfg := Config{}
	for i := range 100_000 {
		cfg.Points = append(cfg.Points, Point{Source: "plc", Address: fmt.Sprint(i), Asset: "a", Tag: fmt.Sprintf("t%d", i), Interval: time.Second})
	}
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var out Output
	n.Tick(t0, &out)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		out.Reset()
		n.Tick(t0.Add(time.Duration(i)*time.Millisecond%time.Second), &out)
	}
}

// BenchmarkApplyContext is BenchmarkApply with the points under a line
// whose MES gives a work order and a batch: every sample is stamped with
// the line's context, and every 100th reading is a context point's
// (repeating its value, as a polled MES tag does).
func BenchmarkApplyContext(b *testing.B) {
	const points = 1000
	cfg := Config{Points: []Point{
		{Source: "mes", Address: "wo", Asset: "site/area/line/mes", Tag: "work_order", Context: "work_order"},
		{Source: "mes", Address: "batch", Asset: "site/area/line/mes", Tag: "batch", Context: "batch"},
	}}
	for i := range points {
		cfg.Points = append(cfg.Points, Point{
			Source: "plc", Address: fmt.Sprintf("holding:%d:float32", i*2), Asset: fmt.Sprintf("site/area/line/m%d", i%10), Tag: fmt.Sprintf("t%d", i),
			Unit: "degC", Range: &Range{Low: -1e9, High: 1e9}, Scale: 0.1, Interval: time.Second,
		})
	}
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]connectors.Reading, points)
	for i := range rs {
		rs[i] = connectors.Reading{Source: "plc", Address: cfg.Points[i+2].Address, Raw: float64(i)}
	}
	wo := connectors.Reading{Source: "mes", Address: "wo", Raw: "WO-4711"}
	batch := connectors.Reading{Source: "mes", Address: "batch", Raw: int64(2401)}
	var out Output
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := &rs[i%points]
		switch i % 100 {
		case 0:
			r = &wo
		case 50:
			r = &batch
		}
		r.Received = t0.Add(time.Duration(i))
		r.SourceTime = r.Received
		if i%64 == 0 {
			out.Reset()
		}
		if !n.Apply(*r, &out) {
			b.Fatal("dropped")
		}
	}
	if out.Samples[0].Context == nil {
		b.Fatal("no context")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
