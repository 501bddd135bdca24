package mqttpub

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// collectorWith runs a pipeline of one connector reading tag acme/m1/t,
// published by pub.
func collectorWith(t *testing.T, pub *Publisher) (*mqtttest.Feed, *store.Store, *pipeline.Pipeline) {
	t.Helper()
	n, err := normalize.New(normalize.Config{Points: []normalize.Point{{Source: "plc", Address: "a", Asset: "acme/m1", Tag: "t"}}})
	must(t, err)
	st := store.New(store.Config{})
	t.Cleanup(st.Close)
	feed := mqtttest.NewFeed()
	p := &pipeline.Pipeline{Connectors: []connectors.Connector{feed}, Normalizer: n, Store: st, TickInterval: 50 * time.Millisecond}
	Attach(pub, p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return feed, st, p
}

func activeAlert(st *store.Store, id string) bool {
	for _, a := range st.Alerts() {
		if a.ID == id {
			return a.Active()
		}
	}
	return false
}

// TestOutageBuffer: through a broker outage, the publisher buffers up to
// Config.Buffer messages; at 80 % it raises mqtt_buffer (in the store and
// on the dashboard like any alert), before anything is dropped; when full
// it drops, counts and raises mqtt_dropped; when the broker is back every
// buffered sample is delivered and the alerts clear. The endpoints'
// health and the publisher's own are published on their topics.
func TestOutageBuffer(t *testing.T) {
	m := mqtttest.StartMosquitto(t)
	sub := mqtttest.Subscribe(t, m.URL(), "buffer-sub", false, 1, "#")
	pub, err := New(Config{Broker: m.URL(), Node: "edge1", Buffer: 100, Logger: testLogger(t)})
	must(t, err)
	feed, st, _ := collectorWith(t, pub)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, pub.Start(ctx))
	defer pub.Close()

	var mu sync.Mutex
	next := 0
	read := func(k int) {
		for i := 0; i < k; i++ {
			mu.Lock()
			next++
			at := t0.Add(time.Duration(next) * time.Second)
			mu.Unlock()
			feed.Ch <- connectors.Reading{Source: "plc", Address: "a", Raw: float64(next), SourceTime: at, Received: at}
		}
	}
	read(1)
	testkit.Eventually(t, 10*time.Second, "the health topics", func() bool {
		_, plc := sub.Last("_otwin/edge1/health/plc")
		_, own := sub.Last("_otwin/edge1/health/mqtt")
		return plc && own
	})
	if h, _ := sub.Last("_otwin/edge1/health/plc"); !strings.Contains(string(h.Payload), `"protocol":"modbus"`) {
		t.Errorf("health %s", h.Payload)
	}
	testkit.Eventually(t, 10*time.Second, "the first sample", func() bool { _, ok := sub.Last("acme/m1/t"); return ok })

	m.Stop()
	testkit.Eventually(t, 10*time.Second, "the publisher to see the broker gone", func() bool { return pub.Health().State == connectors.Down })
	read(85)
	testkit.Eventually(t, 10*time.Second, "mqtt_buffer raised", func() bool { return activeAlert(st, "mqtt_buffer:mqtt") })
	if d := pub.Stats().Dropped; d != 0 {
		t.Fatalf("%d dropped before the buffer was full", d)
	}
	read(40)
	testkit.Eventually(t, 10*time.Second, "drops counted and mqtt_dropped raised", func() bool {
		return pub.Stats().Dropped > 0 && activeAlert(st, "mqtt_dropped:mqtt")
	})
	st0 := pub.Stats()
	if st0.Buffered < 100 || st0.Buffered > 105 {
		t.Errorf("buffered %d, want the buffer's 100 samples and the few alerts past it", st0.Buffered)
	}
	t.Logf("stats during the outage: %+v", st0)

	m.Restart()
	testkit.Eventually(t, 20*time.Second, "the alerts cleared after the reconnection", func() bool {
		return !activeAlert(st, "mqtt_buffer:mqtt") && !activeAlert(st, "mqtt_dropped:mqtt")
	})
	delivered := st0.Samples // every sample the publisher accepted reaches the subscriber
	testkit.Eventually(t, 20*time.Second, "the buffered samples delivered", func() bool {
		return uint64(sub.Count(func(m mqtttest.Message) bool { return m.Topic == "acme/m1/t" })) >= delivered
	})
	// The alerts, raised and cleared, went out on the collector's topics.
	testkit.Eventually(t, 10*time.Second, "the alert topics", func() bool {
		a, ok := sub.Last("_otwin/edge1/alert/mqtt_buffer/mqtt")
		return ok && strings.Contains(string(a.Payload), `"transition":"cleared"`)
	})
	h := st.Health()
	found := false
	for _, x := range h {
		found = found || (x.Source == "mqtt" && x.State == connectors.Connected)
	}
	if !found {
		t.Errorf("the publisher's health is not in the store: %+v", h)
	}
}

// TestStalledBroker: a broker that stops reading (connected, but stalled)
// backs the publisher up into its hand-off: mqtt_buffer is raised at
// 80 %, before the first drop; then samples are dropped, counted, and
// mqtt_dropped raised.
func TestStalledBroker(t *testing.T) {
	m := mqtttest.StartMosquitto(t)
	px := startProxy(t, m.Addr())
	pub, err := New(Config{Broker: px.URL(), Node: "edge1", Buffer: 200, QoS: 0, QoSSet: true, Logger: testLogger(t)})
	must(t, err)
	_, st, _ := collectorWith(t, pub)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, pub.Start(ctx))
	defer pub.Close()
	px.Pause()
	defer px.Resume()
	// 100 samples at a time, each batch once the previous one is taken (or
	// after 2s): the publisher keeps up until the socket and its buffers
	// are full.
	s := num("acme/m1/t", 1, 1)
	for i := 0; pub.Stats().Dropped == 0 && i < 5000; i++ {
		for k := 0; k < 100; k++ {
			s.Seq++
			pub.Sample(&s)
		}
		pollUntilTimeout(2*time.Second, func() bool { return len(pub.in) == 0 })
	}
	st0 := pub.Stats()
	if st0.Dropped == 0 || st0.Samples < 1000 {
		t.Fatalf("stats %+v: want samples published until the broker stalled, then drops", st0)
	}
	testkit.Eventually(t, 10*time.Second, "mqtt_buffer and mqtt_dropped raised", func() bool {
		return activeAlert(st, "mqtt_buffer:mqtt") && activeAlert(st, "mqtt_dropped:mqtt")
	})
	var buffer, dropped int = -1, -1
	for i, a := range st.AlertHistory("") {
		switch {
		case a.AlertID == "mqtt_buffer:mqtt" && a.What == "raised" && buffer < 0:
			buffer = i
		case a.AlertID == "mqtt_dropped:mqtt" && a.What == "raised" && dropped < 0:
			dropped = i
		}
	}
	if buffer < 0 || dropped < 0 || dropped < buffer {
		t.Errorf("mqtt_buffer raised as transition %d, mqtt_dropped as %d: want the buffer alert first", buffer, dropped)
	}
	t.Logf("stats %+v", st0)
}

// pollUntilTimeout polls cond every millisecond for at most d.
func pollUntilTimeout(d time.Duration, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() && time.Now().Before(deadline) {
		<-time.After(time.Millisecond)
	}
}
