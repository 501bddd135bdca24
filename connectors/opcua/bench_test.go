package opcua

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

func BenchmarkFromDataValue(b *testing.B) {
	now := time.Now()
	for _, bc := range []struct {
		name string
		dv   *ua.DataValue
	}{
		{"double", goodValue(21.5, now)},
		{"int32", goodValue(int32(7), now)},
		{"string", goodValue("recipe A-42", now)},
		{"bad status", statusValue(nil, ua.StatusBadSensorFailure, now)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink valueFields
			for b.Loop() {
				sink = fromDataValue(bc.dv)
			}
			_ = sink
		})
	}
}

// BenchmarkSubscription10k measures readings per second through one
// subscription of 10 000 monitored items. gopcua's server cannot serve it:
// it sends publish responses larger than the client's 64 KiB receive
// buffer as one chunk (beyond ~2000 changes per publish) and the client
// drops the connection. awcullen's server is used instead. Each iteration
// changes every value once and waits until all 10 000 new values arrived.
func BenchmarkSubscription10k(b *testing.B) {
	const n = 10000
	const perFolder = 250
	der, key := serverIdentity(b, "server")
	var vars []awVar
	var nodes []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("V%05d", i)
		vars = append(vars, awVar{name: name, folder: fmt.Sprintf("F%02d", i/perFolder), value: float64(i)})
		nodes = append(nodes, nodeAddr(name))
	}
	aw := startAwcullenServer(b, der, key, true, vars)
	c, err := New(Config{Name: "bench", URL: aw.url, Nodes: nodes, PublishingInterval: 100 * time.Millisecond,
		SamplingInterval: 100 * time.Millisecond, Timeout: 30 * time.Second, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan connectors.Reading, 4096)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out) }()
	defer func() {
		cancel()
		<-done
	}()

	// collect waits until every address delivered a value ≥ floor.
	seen := map[string]float64{}
	collect := func(floor float64) {
		b.Helper()
		got := 0
		deadline := time.After(60 * time.Second)
		for got < n {
			select {
			case r := <-out:
				v, ok := r.Raw.(float64)
				if ok && v >= floor && seen[r.Address] < floor+0.5 {
					seen[r.Address] = floor + 1
					got++
				}
			case <-deadline:
				b.Fatalf("values ≥ %v: %d of %d after 60s; health %+v", floor, got, n, c.Health())
			}
		}
	}
	collect(0)

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		floor := float64((i + 1) * n)
		t := time.Now()
		for j, v := range vars {
			aw.set(v.name, floor+float64(j), t)
		}
		collect(floor)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "readings/s")
	if st := c.Stats(); st.OutOfOrder != 0 || c.Health().SequenceGaps != 0 {
		b.Errorf("out of order %d, gaps %d", st.OutOfOrder, c.Health().SequenceGaps)
	}
}

// BenchmarkProcess is the connector's own cost per data change: decoding
// one notification message of 1000 items into readings on a channel.
func BenchmarkProcess(b *testing.B) {
	const n = 1000
	c, err := New(Config{Name: "bench", URL: "opc.tcp://127.0.0.1:4840", BrowseRoot: "nsu=urn:x;s=Root", Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	out := make(chan connectors.Reading, 1024)
	go func() {
		for range out {
		}
	}()
	defer close(out)
	s := &session{c: c, out: out}
	dcn := &ua.DataChangeNotification{}
	now := time.Now()
	for i := 0; i < n; i++ {
		addr := fmt.Sprintf("nsu=urn:x;s=V%d", i)
		s.items = append(s.items, &item{ref: addr, state: c.point(addr)})
		dcn.MonitoredItems = append(dcn.MonitoredItems, &ua.MonitoredItemNotification{ClientHandle: uint32(i), Value: goodValue(float64(i), now)})
	}
	msg := &ua.NotificationMessage{NotificationData: []*ua.ExtensionObject{ua.NewExtensionObject(dcn)}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.process(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "readings/s")
}
