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
	cfg, rs := benchPoints(func(int) string { return "site/area/line/m" })
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	benchApply(b, n, func(i int) *connectors.Reading { return &rs[i%len(rs)] })
}

// BenchmarkApplyContext is BenchmarkApply with the points under a line
// whose MES gives a work order and a batch: every sample is stamped with
// its asset's context, and every 100th reading is a context point's
// (repeating its value, as a polled MES tag does).
func BenchmarkApplyContext(b *testing.B) {
	cfg, rs := benchPoints(func(i int) string { return fmt.Sprintf("site/area/line/m%d", i%10) })
	cfg.Points = append(cfg.Points,
		Point{Source: "mes", Address: "wo", Asset: "site/area/line/mes", Tag: "work_order", Context: "work_order"},
		Point{Source: "mes", Address: "batch", Asset: "site/area/line/mes", Tag: "batch", Context: "batch"})
	n, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	wo := connectors.Reading{Source: "mes", Address: "wo", Raw: "WO-4711"}
	batch := connectors.Reading{Source: "mes", Address: "batch", Raw: int64(2401)}
	out := benchApply(b, n, func(i int) *connectors.Reading {
		switch i % 100 {
		case 0:
			return &wo
		case 50:
			return &batch
		}
		return &rs[i%len(rs)]
	})
	if out.Samples[0].Context == nil {
		b.Fatal("no context")
	}
}

// benchPoints is 1000 points with a range, scaling and a unit, each of
// the asset assetOf gives, and a good reading of each.
func benchPoints(assetOf func(i int) string) (Config, []connectors.Reading) {
	const points = 1000
	var cfg Config
	rs := make([]connectors.Reading, points)
	for i := range points {
		addr := fmt.Sprintf("holding:%d:float32", i*2)
		cfg.Points = append(cfg.Points, Point{
			Source: "plc", Address: addr, Asset: assetOf(i), Tag: fmt.Sprintf("t%d", i),
			Unit: "degC", Range: &Range{Low: -1e9, High: 1e9}, Scale: 0.1, Interval: time.Second,
		})
		rs[i] = connectors.Reading{Source: "plc", Address: addr, Raw: float64(i)}
	}
	return cfg, rs
}

// benchApply times b.N readings next gives through n, and returns the
// output of the last 64.
func benchApply(b *testing.B, n *Normalizer, next func(i int) *connectors.Reading) *Output {
	var out Output
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := next(i)
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
	return &out
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
