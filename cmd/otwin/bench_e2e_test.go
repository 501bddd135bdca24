package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/sources"
)

// End-to-end benchmarks of the collector against the twin: the whole path
// twin → OPC UA server → connector → normalizer → store, in one process on
// 127.0.0.1. They run only with -bench.

// BenchmarkE2ELatencyOPCUA measures the time from a twin value change to
// the store over OPC UA at 125ms publishing: each iteration writes a new
// value to a setpoint (as a client would) and waits for it in the
// pipeline's events, which are emitted after Store.Publish. The latency
// is the event's time minus the sample's SourceTime, the engine's wall
// time of the tick that changed the value. Writes come at a random phase
// of the publishing cycle. Reports p50-ms, p99-ms and max-ms. The sampling interval is the connector's default (half the
// publishing interval).
func BenchmarkE2ELatencyOPCUA(b *testing.B) {
	sc := parseScenario(b, "e2elatency", `
name: e2elatency
tick: 10ms
opcua: {security: [none]}
machines:
  - name: m
    opcua: {port: 4910}
    tags:
      - {name: sp, writable: true, range: {low: 0, high: 1000000}, model: {constant: {value: 0}}}
`)
	tw := startE2ETwin(b, sc)
	f := exportFast(b, sc, tw.Endpoints)
	o := f.Sources[0].Config.(*opcua.Config)
	o.PublishingInterval = 125 * time.Millisecond
	o.SamplingInterval = 0
	o.Timeout = 5 * time.Second
	col, err := newCollector(f, b.TempDir(), nil, e2eLogger())
	if err != nil {
		b.Fatal(err)
	}
	type seen struct {
		v   float64
		lat time.Duration
	}
	ch := make(chan seen, 1024)
	col.Pipeline.OnEvent = func(e pipeline.Event) {
		if e.Type == pipeline.EventSample && e.Sample.ID == "m/sp" && e.Sample.Status.IsGood() {
			ch <- seen{e.Sample.Value, time.Since(e.Sample.SourceTime)}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	idx, ok := tw.Engine.Lookup("m/sp")
	if !ok {
		b.Fatal("no tag m/sp")
	}
	waitUntil(b, 20*time.Second, "m/sp Good", func() bool {
		s, ok := col.Store.Latest("m/sp")
		return ok && s.Status.IsGood()
	})
	lats := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < b.N; i++ {
		// Write at a random phase of the publishing cycle: right after
		// the previous arrival every write would wait a whole interval.
		b.StopTimer()
		<-time.After(time.Duration(rng.Int64N(int64(125 * time.Millisecond))))
		b.StartTimer()
		v := float64(i + 1)
		if err := tw.Engine.Write(idx, v); err != nil {
			b.Fatal(err)
		}
		deadline := time.After(5 * time.Second)
	wait:
		for {
			select {
			case s := <-ch:
				if s.v == v {
					lats = append(lats, s.lat)
					break wait
				}
			case <-deadline:
				b.Fatalf("value %g not in the store within 5s", v)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lats)
	pct := func(p float64) float64 {
		k := int(math.Ceil(p*float64(len(lats)))) - 1
		return float64(lats[max(k, 0)]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}

// bigScenario is a line of machines × tags float tags, every one changing
// every 1s tick, served by one OPC UA endpoint.
func bigScenario(machines, tags int) string {
	return testkit.Line{Name: "e2ebig", Machines: machines, Tags: tags, OPCUAPort: 4920}.YAML()
}

// BenchmarkE2EThroughputOPCUA100k: 400 machines × 250 tags (100k) change
// every second on one twin OPC UA endpoint; 4 or 16 connectors (25k or
// 6250 nodes each, one subscription each) subscribe at 1s publishing and
// feed one pipeline into the store. After every tag has arrived, it
// counts the samples the pipeline publishes over 10s and reports changes/s
// (target 100k/s) and the samples not Good. Each sub-benchmark takes about
// a minute: run with -benchtime=1x. Needs ~2-3 GB of memory.
func BenchmarkE2EThroughputOPCUA100k(b *testing.B) {
	for _, conns := range []int{4, 16} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { benchThroughput(b, 400, 250, conns, true) })
	}
}

// BenchmarkE2EThroughputOPCUA10k is BenchmarkE2EThroughputOPCUA100k at
// a tenth of the size (40 machines, 1 connector), with the connector in
// its own process (OPC UA's default) and in the collector's: the cost of
// isolation against a real server.
func BenchmarkE2EThroughputOPCUA10k(b *testing.B) {
	for _, isolated := range []bool{true, false} {
		b.Run(fmt.Sprintf("isolated=%v", isolated), func(b *testing.B) { benchThroughput(b, 40, 250, 1, isolated) })
	}
}

func benchThroughput(b *testing.B, machines, tags, conns int, isolated bool) {
	setup := time.Now()
	sc := parseScenario(b, "e2ebig", bigScenario(machines, tags))
	tw := startE2ETwin(b, sc)
	b.Logf("twin of %d tags up in %s", machines*tags, time.Since(setup).Round(time.Millisecond))
	exp := exportFast(b, sc, tw.Endpoints)
	// One source per connector instead of one per machine.
	f := &sources.File{Defaults: exp.Defaults}
	per := (len(exp.Sources) + conns - 1) / conns
	for k := 0; k < len(exp.Sources); k += per {
		s := exp.Sources[k]
		s.Name = fmt.Sprintf("big%d", k/per)
		s.Points = nil
		for _, src := range exp.Sources[k:min(k+per, len(exp.Sources))] {
			s.Points = append(s.Points, src.Points...)
		}
		o := *s.Config.(*opcua.Config)
		o.PublishingInterval = time.Second
		o.SamplingInterval = 500 * time.Millisecond
		o.QueueSize = 2
		o.Timeout = 30 * time.Second
		s.Config = &o
		s.Isolate = &isolated
		f.Sources = append(f.Sources, s)
	}
	col, err := newCollector(f, b.TempDir(), nil, e2eLogger())
	if err != nil {
		b.Fatal(err)
	}
	col.Pipeline.Buffer = 1 << 16
	var count, notGood atomic.Int64
	col.Pipeline.OnEvent = func(e pipeline.Event) {
		if e.Type == pipeline.EventSample {
			count.Add(1)
			if !e.Sample.Status.IsGood() {
				notGood.Add(1)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	ids := pointIDs(f)
	waitUntil(b, 5*time.Minute, "every tag to arrive", func() bool {
		for _, id := range ids {
			if s, ok := col.Store.Latest(id); !ok || !s.Status.IsGood() {
				return false
			}
		}
		return true
	})
	b.Logf("%d tags Good in the store %s after the start", len(ids), time.Since(setup).Round(time.Millisecond))
	b.ResetTimer()
	var rate float64
	for i := 0; i < b.N; i++ {
		c0, bad0, t0 := count.Load(), notGood.Load(), time.Now()
		pollUntil(10*time.Second, func() bool { return false })
		el := time.Since(t0)
		rate = float64(count.Load()-c0) / el.Seconds()
		b.ReportMetric(float64(notGood.Load()-bad0), "not-good")
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(rate, "changes/s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	st := col.Store.Stats()
	b.Logf("store: %+v; normalizer: %+v", st, col.Normalizer.Stats())
	for _, h := range col.Store.Health() {
		b.Logf("%s: %s readings %d gaps %d reconnects %d", h.Source, h.State, h.Readings, h.SequenceGaps, h.Reconnects)
	}
}
