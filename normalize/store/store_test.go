package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func smp(id string, v float64, seq uint64) normalize.Sample {
	return normalize.Sample{ID: id, Value: v, Seq: seq, SourceTime: t0.Add(time.Duration(seq) * time.Second)}
}

// next waits for a batch, failing the test after a deadline.
func next(t *testing.T, sub *Subscription) Batch {
	t.Helper()
	select {
	case b, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no batch within 5s")
	}
	return Batch{}
}

// waitValue reads batches until tag id shows value v; it returns the
// batches read.
func waitValue(t *testing.T, sub *Subscription, id string, v float64) []Batch {
	t.Helper()
	var bs []Batch
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b, ok := <-sub.C():
			if !ok {
				t.Fatal("closed")
			}
			bs = append(bs, b)
			for _, s := range b.Samples {
				if s.ID == id && s.Value == v {
					return bs
				}
			}
		case <-deadline:
			t.Fatalf("value %g of %s never delivered (%d batches)", v, id, len(bs))
		}
	}
}

func TestLatestSnapshotHistory(t *testing.T) {
	s := New(Config{History: 3})
	for i := 1; i <= 5; i++ {
		s.Publish(smp("b", float64(i), uint64(i)))
	}
	s.Publish(smp("a", 9, 1))
	bad := smp("b", 0, 6)
	bad.Status = connectors.BadSensorFailure
	s.Publish(bad)
	if l, ok := s.Latest("b"); !ok || l.Seq != 6 {
		t.Fatalf("latest %+v %v", l, ok)
	}
	snap := s.Snapshot()
	if len(snap) != 2 || snap[0].ID != "a" || snap[1].ID != "b" {
		t.Fatalf("snapshot %+v", snap)
	}
	// History keeps 3: 4, 5 and the bad one, which has no value.
	if h := s.History("b", nil); fmt.Sprint(h) != "[4 5]" {
		t.Fatalf("history %v", h)
	}
	hs := s.HistorySamples("b")
	if len(hs) != 3 || hs[2].Status != connectors.BadSensorFailure || !hs[0].Time.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("history samples %+v", hs)
	}
	stale := smp("b", 5, 7)
	stale.Status = connectors.UncertainLastUsableValue
	s.Publish(stale, smp("b", 8, 8))
	if h := s.History("b", nil); fmt.Sprint(h) != "[8]" {
		t.Fatalf("history with a re-emitted value %v", h)
	}
	if h := s.History("nope", nil); len(h) != 0 {
		t.Fatalf("unknown tag history %v", h)
	}
	if st := s.Stats(); st.Published != 9 || st.Tags != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSubscribeFirstBatchIsState(t *testing.T) {
	s := New(Config{FrameInterval: 5 * time.Millisecond})
	s.Publish(smp("a", 1, 1), smp("b", 2, 1))
	s.SetHealth(connectors.Health{Source: "plc", State: connectors.Connected})
	sub := s.Subscribe()
	defer sub.Close()
	b := next(t, sub)
	if len(b.Samples) != 2 || b.Samples[0].ID != "a" || len(b.Health) != 1 {
		t.Fatalf("%+v", b)
	}
}

func TestCoalescingKeepsLatestAndCountsDrops(t *testing.T) {
	s := New(Config{FrameInterval: 5 * time.Millisecond})
	sub := s.Subscribe()
	defer sub.Close()
	// Nobody reads while 1000 values are published in one burst: whatever
	// the frame timing, the latest arrives and every lost value is counted.
	for i := 1; i <= 1000; i++ {
		s.Publish(smp("x", float64(i), uint64(i)))
	}
	bs := waitValue(t, sub, "x", 1000)
	delivered := 0
	for _, b := range bs {
		delivered += len(b.Samples)
	}
	last := bs[len(bs)-1]
	if last.Dropped+uint64(delivered) != 1000 {
		t.Fatalf("dropped %d + delivered %d != 1000", last.Dropped, delivered)
	}
	if sub.Dropped() != last.Dropped || s.Stats().Dropped != last.Dropped {
		t.Fatalf("counters disagree: %d %d %d", sub.Dropped(), s.Stats().Dropped, last.Dropped)
	}
}

func TestBlockedSubscriberDoesNotSlowPublish(t *testing.T) {
	s := New(Config{FrameInterval: time.Millisecond})
	blocked := s.Subscribe() // never read until the end
	defer blocked.Close()
	fast := s.Subscribe()
	defer fast.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range fast.C() {
		}
	}()
	const n = 50_000
	for i := 1; i <= n; i++ {
		s.Publish(smp(fmt.Sprint("t", i%100), float64(i), uint64(i)))
	}
	// Publish returned with a subscriber that reads nothing: it never
	// waited on it. The blocked one skipped frames...
	testkit.Eventually(t, 5*time.Second, "a frame skipped for the blocked subscriber", func() bool { return s.Stats().Skipped > 0 })
	// ...and still gets the latest value of every tag.
	waitValue(t, blocked, "t0", n)
	if blocked.Dropped() == 0 {
		t.Fatal("no drops counted")
	}
	fast.Close()
	wg.Wait()
}

func TestManySubscribers(t *testing.T) {
	s := New(Config{FrameInterval: 2 * time.Millisecond})
	subs := make([]*Subscription, 20)
	for i := range subs {
		subs[i] = s.Subscribe()
	}
	for i := 1; i <= 100; i++ {
		s.Publish(smp("m", float64(i), uint64(i)))
	}
	for _, sub := range subs {
		waitValue(t, sub, "m", 100)
	}
	if st := s.Stats(); st.Subscribers != 20 {
		t.Fatalf("%+v", st)
	}
	s.Close()
	for _, sub := range subs {
		for range sub.C() { // drains and ends: the channel is closed
		}
	}
	if st := s.Stats(); st.Subscribers != 0 {
		t.Fatalf("after close %+v", st)
	}
}

func TestCloseIdempotentAndAfterStoreClose(t *testing.T) {
	s := New(Config{FrameInterval: time.Millisecond})
	sub := s.Subscribe()
	sub.Close()
	sub.Close()
	if _, ok := <-sub.C(); ok {
		t.Fatal("channel open after Close")
	}
	s.Close()
	late := s.Subscribe()
	if _, ok := <-late.C(); ok {
		t.Fatal("subscription after store Close is open")
	}
	late.Close()
	s.Publish(smp("a", 1, 1)) // still fine
}

// TestHistoryCapacity: a tag's history takes room for the points it keeps
// and no more, at every size (41 kept: room for 41, not for 64), and
// keeps the newest in order.
func TestHistoryCapacity(t *testing.T) {
	for _, keep := range []int{1, 3, 30, 41, 300} {
		s := New(Config{History: keep})
		for i := 1; i <= 2*keep+5; i++ {
			s.Publish(smp("b", float64(i), uint64(i)))
			e := s.tags["b"]
			if n := cap(e.hist); n > keep || len(e.hist) != min(i, keep) {
				t.Fatalf("keep %d, after %d: %d points in room for %d", keep, i, len(e.hist), n)
			}
		}
		h := s.History("b", nil)
		if len(h) != keep || h[0] != float64(keep+6) || h[keep-1] != float64(2*keep+5) {
			t.Fatalf("keep %d: history %v", keep, h)
		}
	}
}

// TestKeepHistory: lowering the history keeps a tag's newest points, in
// order, in room for the new bound; raising it lets the history grow
// again.
func TestKeepHistory(t *testing.T) {
	s := New(Config{History: 5})
	for i := 1; i <= 7; i++ { // kept: 3 4 5 6 7, the ring turned
		s.Publish(smp("b", float64(i), uint64(i)))
	}
	s.KeepHistory(2)
	s.Publish(smp("b", 8, 8))
	if h := s.History("b", nil); fmt.Sprint(h) != "[7 8]" || cap(s.tags["b"].hist) != 2 {
		t.Fatalf("lowered to 2: %v (room for %d)", h, cap(s.tags["b"].hist))
	}
	s.Publish(smp("b", 9, 9))
	if h := s.History("b", nil); fmt.Sprint(h) != "[8 9]" {
		t.Fatalf("after one more: %v", h)
	}
	s.KeepHistory(4)
	for i := 10; i <= 13; i++ {
		s.Publish(smp("b", float64(i), uint64(i)))
	}
	if h := s.History("b", nil); fmt.Sprint(h) != "[10 11 12 13]" {
		t.Fatalf("raised to 4: %v", h)
	}
}
