package mqttpub

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// TestPublishRetained: every sample reaches a live subscriber on its
// tag's topic, with the JSON payload; a subscriber that comes later gets
// the last value of every tag (retained) and the collector's status.
func TestPublishRetained(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		live := mqtttest.Subscribe(t, b.URL(), "", true, 1, "acme/#")
		p := startPublisher(t, Config{Broker: b.URL(), Prefix: "acme"})
		ids := []string{"plant1/line1/m1/p", "plant1/line1/m1/q", "plant1/m2/r"} // r: fewer levels
		for seq := uint64(1); seq <= 5; seq++ {
			for k, id := range ids {
				s := num(id, float64(10*k)+float64(seq), seq)
				p.Sample(&s)
			}
		}
		isSample := func(m mqtttest.Message) bool { return !strings.Contains(m.Topic, "_otwin") }
		testkit.Eventually(t, 10*time.Second, "15 samples at the live subscriber", func() bool { return live.Count(isSample) == 15 })
		for _, m := range live.Messages() {
			if !isSample(m) {
				continue
			}
			pl := decodeSample(t, m.Payload)
			if m.Topic != "acme/"+pl.ID || pl.Value == nil || pl.TS == 0 || pl.Seq == 0 {
				t.Errorf("message %s: %s", m.Topic, m.Payload)
			}
		}

		for _, id := range ids {
			retainedSeq(t, b.URL(), "acme/"+id, 5)
		}
		late := mqtttest.Subscribe(t, b.URL(), "", true, 1, "acme/#")
		for k, id := range ids {
			testkit.Eventually(t, 10*time.Second, id+" retained at a late subscriber", func() bool {
				m, ok := late.Last("acme/" + id)
				return ok && m.Retained
			})
			m, _ := late.Last("acme/" + id)
			if pl := decodeSample(t, m.Payload); pl.Seq != 5 || *pl.Value != float64(10*k)+5 {
				t.Errorf("%s: retained %s, want seq 5", id, m.Payload)
			}
		}
		testkit.Eventually(t, 10*time.Second, "the status online at the late subscriber", func() bool {
			m, ok := late.Last("acme/_otwin/edge1/status")
			return ok && strings.Contains(string(m.Payload), `"online"`)
		})
		if st := p.Stats(); st.Samples != 15 || st.Dropped != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestBrokerRestartLosesNothing: samples published while the broker
// restarts (QoS 1, persistent sessions on both sides) all reach the
// subscriber, and each tag's retained value is its last one.
func TestBrokerRestartLosesNothing(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		sub := mqtttest.Subscribe(t, b.URL(), "restart-sub", false, 1, "plant/#")
		p := startPublisher(t, Config{Broker: b.URL()})
		const tags = 20
		var next atomic.Uint64 // last seq fed, for every tag
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // 20 tags at 20 Hz: 400 samples/s
			defer wg.Done()
			tk := time.NewTicker(50 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				seq := next.Add(1)
				for k := 0; k < tags; k++ {
					s := num(fmt.Sprintf("plant/m%d/t", k), float64(seq), seq)
					p.Sample(&s)
				}
			}
		}()
		testkit.Eventually(t, 10*time.Second, "publishing under way", func() bool { return next.Load() > 10 })
		b.Stop()
		testkit.Eventually(t, 10*time.Second, "the publisher to see the broker gone", func() bool { return p.Health().State.String() == "down" })
		downAt := next.Load()
		testkit.Eventually(t, 10*time.Second, "samples buffered through the outage", func() bool { return next.Load() > downAt+10 })
		b.Start(t)
		testkit.Eventually(t, 20*time.Second, "the publisher back", func() bool { return p.Health().State.String() == "connected" })
		upAt := next.Load()
		testkit.Eventually(t, 10*time.Second, "publishing after the restart", func() bool { return next.Load() > upAt+10 })
		close(stop)
		wg.Wait()
		last := next.Load()

		got := make(map[string]map[uint64]bool)
		defer func() {
			if t.Failed() {
				for id, seqs := range got {
					var miss []uint64
					for q := uint64(1); q <= last; q++ {
						if !seqs[q] {
							miss = append(miss, q)
						}
					}
					if len(miss) > 0 {
						t.Logf("%s: missing %v (outage from seq %d to %d)", id, miss, downAt, upAt)
					}
				}
			}
		}()
		testkit.Eventually(t, 30*time.Second, "every sample at the subscriber", func() bool {
			clear(got)
			for _, m := range sub.Messages() {
				pl := decodeSample(t, m.Payload)
				if got[pl.ID] == nil {
					got[pl.ID] = make(map[uint64]bool)
				}
				got[pl.ID][pl.Seq] = true
			}
			n := 0
			for _, seqs := range got {
				n += len(seqs)
			}
			return n == tags*int(last)
		})
		t.Logf("%d samples over %d tags, %d of them during the outage; stats %+v", tags*int(last), tags, tags*int(upAt-downAt), p.Stats())
		if st := p.Stats(); st.Dropped != 0 || st.Reconnects == 0 {
			t.Errorf("stats %+v: want no drop, a reconnect", st)
		}

		for k := 0; k < tags; k++ {
			retainedSeq(t, b.URL(), fmt.Sprintf("plant/m%d/t", k), last) // each tag's retained value is its last
		}
	})
}

// TestQoS0 publishes at QoS 0: nothing is kept through an outage, and
// what it loses is counted.
func TestQoS0(t *testing.T) {
	m := mqtttest.StartMosquitto(t)
	sub := mqtttest.Subscribe(t, m.URL(), "", true, 0, "q/#")
	p := startPublisher(t, Config{Broker: m.URL(), QoS: 0, QoSSet: true})
	s := num("q/m/t", 1, 1)
	p.Sample(&s)
	testkit.Eventually(t, 10*time.Second, "the QoS 0 sample", func() bool { return len(sub.Messages()) == 1 })
	if sub.Messages()[0].QoS != 0 {
		t.Errorf("QoS %d", sub.Messages()[0].QoS)
	}
	m.Stop()
	testkit.Eventually(t, 10*time.Second, "the publisher to see the broker gone", func() bool { return p.Health().State.String() == "down" })
	s = num("q/m/t", 2, 2)
	p.Sample(&s)
	testkit.Eventually(t, 5*time.Second, "the drop counted", func() bool { return p.Stats().Dropped == 1 })
}

// TestFileStoreSurvivesRestart: with Config.StoreDir, what the broker has
// not acknowledged when the collector stops is in files, and the next
// start with the same client id sends it.
func TestFileStoreSurvivesRestart(t *testing.T) {
	m := mqtttest.StartMosquitto(t)
	sub := mqtttest.Subscribe(t, m.URL(), "store-sub", false, 1, "fs/#")
	dir := t.TempDir()
	cfg := Config{Broker: m.URL(), Node: "edge1", ClientID: "fs-pub", StoreDir: dir, Logger: testLogger(t)}
	p, err := New(cfg)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, p.Start(ctx))
	m.Stop()
	testkit.Eventually(t, 10*time.Second, "the publisher to see the broker gone", func() bool { return p.Health().State.String() == "down" })
	for seq := uint64(1); seq <= 20; seq++ {
		s := num("fs/m/t", float64(seq), seq)
		p.Sample(&s)
	}
	testkit.Eventually(t, 10*time.Second, "20 samples in the store", func() bool { return p.Stats().Buffered >= 20 })
	p.Close()
	files, _ := os.ReadDir(dir)
	if len(files) < 20 {
		t.Fatalf("%d files in the store after the stop, want the 20 samples", len(files))
	}

	m.Restart()
	p2 := startPublisher(t, cfg)
	testkit.Eventually(t, 20*time.Second, "the 20 samples of the previous run", func() bool {
		seqs := map[uint64]bool{}
		for _, msg := range sub.Messages() {
			if msg.Topic == "fs/m/t" {
				seqs[decodeSample(t, msg.Payload).Seq] = true
			}
		}
		return len(seqs) == 20
	})
	testkit.Eventually(t, 10*time.Second, "the store emptied", func() bool { return p2.Stats().Buffered == 0 })
	late := mqtttest.Subscribe(t, m.URL(), "", true, 1, "fs/#")
	testkit.Eventually(t, 10*time.Second, "the retained value", func() bool { _, ok := late.Last("fs/m/t"); return ok })
	if r, _ := late.Last("fs/m/t"); decodeSample(t, r.Payload).Seq != 20 {
		t.Errorf("retained %s, want the last sample, seq 20", r.Payload)
	}
}
