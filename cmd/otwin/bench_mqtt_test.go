package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// BenchmarkE2EMQTTLatency10k: 40 machines × 250 tags (10k) change at
// every 1s tick of the twin; one OPC UA connector subscribes to all of
// them (publishing and sampling 100ms: the twin's server polls 100k items
// a second, about half a core, in this process), the pipeline normalizes them and
// the publisher sends them (JSON, with the command line's defaults: QoS 0
// and a 5 s retain interval to the embedded broker, QoS 1 and every
// sample retained to mosquitto) to the broker, where
// mosquitto_sub (QoS 0, a process of its own) receives them. The latency of a sample
// is its arrival at mosquitto_sub minus its source time (the wall time of
// the twin's tick that changed it); its collector share is the arrival
// minus the time the connector received it (pipeline, publisher, broker,
// subscriber), and of that the pipeline's share is until the pipeline
// hands it to the publisher. Each iteration collects one second of
// samples; it reports p50-ms, p99-ms and max-ms of the whole,
// collector-p50-ms, collector-p99-ms, pipeline-p50-ms, pipeline-p99-ms,
// and samples/s received, for the embedded broker and for mosquitto (the
// command line's defaults for each). Run with -benchtime 10x.
func BenchmarkE2EMQTTLatency10k(b *testing.B) {
	b.Run("broker=embedded", func(b *testing.B) {
		benchMQTTLatency(b, "--broker", "embedded", "--broker-listen", "127.0.0.1:0")
	})
	b.Run("broker=mosquitto", func(b *testing.B) {
		m := mqtttest.StartMosquitto(b)
		benchMQTTLatency(b, "--broker", m.URL())
	})
}

func benchMQTTLatency(b *testing.B, brokerArgs ...string) {
	sc := parseScenario(b, "e2ebig", bigScenario(40, 250))
	tw := startE2ETwin(b, sc)
	exp := exportFast(b, sc, tw.Endpoints)
	f := &sources.File{Defaults: exp.Defaults}
	s := exp.Sources[0]
	s.Name, s.Points = "big", nil
	for _, src := range exp.Sources {
		s.Points = append(s.Points, src.Points...)
	}
	o := *s.Config.(*opcua.Config)
	o.PublishingInterval, o.SamplingInterval, o.QueueSize, o.Timeout = 100*time.Millisecond, 100*time.Millisecond, 2, 30*time.Second
	s.Config = &o
	f.Sources = []sources.Source{s}

	fs := pflag.NewFlagSet("mqtt", pflag.ContinueOnError)
	var opts mqttOptions
	opts.register(fs)
	if err := fs.Parse(append(brokerArgs, "--mqtt-node", "bench")); err != nil {
		b.Fatal(err)
	}
	dataDir := b.TempDir()
	col, err := newCollector(f, dataDir, nil, e2eLogger())
	if err != nil {
		b.Fatal(err)
	}
	col.Pipeline.Buffer = 1 << 16
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	stop, err := opts.startMQTT(ctx, col, dataDir, &out, e2eLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	// The pipeline's share: from the connector's receipt to the moment the
	// pipeline hands the sample on (to the publisher, after this hook).
	var (
		pmu      sync.Mutex
		pipe     []time.Duration
		pcollect bool
	)
	next := col.Pipeline.OnEvent
	col.Pipeline.OnEvent = func(e pipeline.Event) {
		if e.Type == pipeline.EventSample && !e.Sample.Received.IsZero() {
			pmu.Lock()
			if pcollect {
				pipe = append(pipe, time.Since(e.Sample.Received))
			}
			pmu.Unlock()
		}
		next(e)
	}
	url := brokerURLIn(b, out.String())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var (
		mu      sync.Mutex
		lats    []time.Duration
		cols    []time.Duration
		good    = map[string]bool{}
		collect bool
	)
	mqtttest.MosquittoSub(b, url, "acme/#", func(m mqtttest.Message) {
		src, recv := mqtttest.JSONTime(m.Payload, "source_time"), mqtttest.JSONTime(m.Payload, "received")
		mu.Lock()
		defer mu.Unlock()
		if !collect {
			if bytes.Contains(m.Payload, []byte(`"quality":"Good"`)) {
				good[m.Topic] = true
			}
			return
		}
		if !src.IsZero() {
			lats = append(lats, m.At.Sub(src))
			cols = append(cols, m.At.Sub(recv))
		}
	})
	ids := pointIDs(f)
	waitUntil(b, 5*time.Minute, "every tag Good at the subscriber", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(good) == len(ids)
	})
	mu.Lock()
	collect = true
	mu.Unlock()
	pmu.Lock()
	pcollect = true
	pmu.Unlock()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		pollUntil(time.Second, func() bool { return false })
	}
	b.StopTimer()
	mu.Lock()
	collect = false
	got, col2 := slices.Clone(lats), slices.Clone(cols)
	mu.Unlock()
	if len(got) == 0 {
		b.Fatal("no samples received")
	}
	mqtttest.ReportLatency(b, "", got)
	mqtttest.ReportLatency(b, "collector-", col2)
	pmu.Lock()
	mqtttest.ReportLatency(b, "pipeline-", pipe)
	pmu.Unlock()
	b.ReportMetric(float64(len(got))/time.Since(start).Seconds(), "samples/s")
	b.Logf("%d samples; store %+v; publisher %+v", len(got), col.Store.Stats(), opts.pub.Stats())
}

// brokerURLIn returns the broker URL the MQTT start line names.
func brokerURLIn(t testing.TB, out string) string {
	t.Helper()
	for _, prefix := range []string{"to the embedded broker on ", "to broker "} {
		if _, rest, ok := strings.Cut(out, prefix); ok {
			if url, _, ok := strings.Cut(rest, " "); ok {
				return url
			}
		}
	}
	t.Fatalf("no broker URL in %q", out)
	return ""
}
