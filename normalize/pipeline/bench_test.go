package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/store"
)

// floodConn sends n good readings over its addresses as fast as the
// pipeline takes them.
type floodConn struct {
	addrs []string
	n     int
}

func (f *floodConn) Name() string { return "flood" }
func (f *floodConn) Health() connectors.Health {
	return connectors.Health{Source: "flood", State: connectors.Connected}
}
func (f *floodConn) Run(ctx context.Context, out chan<- connectors.Reading) error {
	for i := 0; i < f.n; i++ {
		t := t0.Add(time.Duration(i) * time.Microsecond)
		select {
		case out <- connectors.Reading{Source: "flood", Address: f.addrs[i%len(f.addrs)], Raw: float64(i % 100), SourceTime: t, Received: t}:
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

// BenchmarkPipeline measures readings/s from a connector through the
// normalizer into the store, with one subscriber, over 1000 tags.
func BenchmarkPipeline(b *testing.B) { benchPipeline(b, false) }

// BenchmarkPipelineScorecard is BenchmarkPipeline with the scorecard
// board counting every sample.
func BenchmarkPipelineScorecard(b *testing.B) { benchPipeline(b, true) }

func benchPipeline(b *testing.B, scored bool) {
	cfg := normalize.Config{}
	addrs := make([]string, 1000)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("holding:%d:float32", 2*i)
		cfg.Points = append(cfg.Points, normalize.Point{Source: "flood", Address: addrs[i], Asset: "site/line/m", Tag: fmt.Sprint("t", i), Range: &normalize.Range{Low: 0, High: 100}})
	}
	n, err := normalize.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(store.Config{})
	defer st.Close()
	sub := st.Subscribe()
	go func() {
		for range sub.C() {
		}
	}()
	initial := uint64(len(addrs))
	b.ReportAllocs()
	b.ResetTimer()
	p := &Pipeline{Connectors: []connectors.Connector{&floodConn{addrs: addrs, n: b.N}}, Normalizer: n, Store: st, TickInterval: time.Hour}
	if scored {
		sc := score.Config{Sources: []score.Source{{Name: "flood", Poll: time.Millisecond}}}
		for _, pt := range cfg.Points {
			sc.Points = append(sc.Points, score.Point{ID: pt.ID(), Asset: pt.Asset, Source: pt.Source})
		}
		p.Scorecard = score.New(sc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for st.Stats().Published < initial+uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}
