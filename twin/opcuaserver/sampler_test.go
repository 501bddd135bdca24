package opcuaserver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/internal/testkit"
)

// valueLog records every data change value a subscription receives, by
// client handle.
type valueLog struct {
	mu   sync.Mutex
	vals map[uint32][]uint32
}

func logValues(ch <-chan *opcua.PublishNotificationData) *valueLog {
	l := &valueLog{vals: map[uint32][]uint32{}}
	go func() {
		for d := range ch {
			dc, ok := d.Value.(*gua.DataChangeNotification)
			if !ok {
				continue
			}
			l.mu.Lock()
			for _, it := range dc.MonitoredItems {
				if v, ok := it.Value.Value.Value().(uint32); ok {
					l.vals[it.ClientHandle] = append(l.vals[it.ClientHandle], v)
				}
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// every reports whether each of n handles received value v.
func (l *valueLog) every(n int, v uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for h := range uint32(n) {
		if !slices.Contains(l.vals[h], v) {
			return false
		}
	}
	return true
}

// most is the largest number of values one of n handles received after
// value from.
func (l *valueLog) most(n int, from uint32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := 0
	for h := range uint32(n) {
		k := 0
		for _, v := range l.vals[h] {
			if v > from {
				k++
			}
		}
		m = max(m, k)
	}
	return m
}

// sampledServer serves tags counters stepped by the test to a gopcua
// subscription sampling every second with a queue of 10; it returns the
// step function (which returns once the server has the new values), the
// values received and each tag's value now.
func sampledServer(t *testing.T, tags int) (step func() uint32, log *valueLog) {
	t.Helper()
	e, s := deliveryServer(t, deliveryWorkload{tags: tags, tick: 200 * time.Millisecond})
	c := connect(t, s.URL())
	ch := make(chan *opcua.PublishNotificationData, 1024)
	log = logValues(ch)
	sub, err := c.Subscribe(context.Background(), &opcua.SubscriptionParameters{Interval: 125 * time.Millisecond, MaxNotificationsPerPublish: 100_000}, ch)
	if err != nil {
		t.Fatal(err)
	}
	res := monitorAll(t, sub, tagNodes(s), func(int) float64 { return 1000 }, 10)
	if got := res[0].RevisedSamplingInterval; got != 1000 {
		t.Fatalf("sampling interval granted %v ms, want 1000", got)
	}
	value := func() uint32 { return e.Value(s.Tags()[0].Index).V.(uint32) }
	testkit.Eventually(t, 10*time.Second, "the initial values", func() bool { return log.every(tags, value()) })
	step = func() uint32 {
		want := s.Published() + uint64(tags)
		e.Step(1)
		testkit.Eventually(t, 5*time.Second, "the server has the step's values", func() bool { return s.Published() >= want })
		return value()
	}
	return step, log
}

// TestSampledWhenChangeArrives: an item not yet sampled in the current
// slot of its sampling interval is sampled as its tag's change arrives,
// so a change followed by another within the same interval reaches the
// client too (the second at the start of the next slot). Sampling at the
// interval's tick instead reads only the later value.
func TestSampledWhenChangeArrives(t *testing.T) {
	t.Parallel()
	const tags = 200
	step, log := sampledServer(t, tags)
	first := step()
	second := step()
	testkit.Eventually(t, 5*time.Second, "the second change", func() bool { return log.every(tags, second) })
	if !log.every(tags, first) {
		t.Errorf("the change to %d, followed by another within the sampling interval, did not reach every item", first)
	}
}

// TestSampledOncePerInterval: however often a tag changes, its item is
// sampled at most once per slot of its sampling interval, and the last
// change is sampled.
func TestSampledOncePerInterval(t *testing.T) {
	t.Parallel()
	const tags, steps = 50, 5
	step, log := sampledServer(t, tags)
	start := time.Now()
	from := step() - 1
	var last uint32
	for range steps - 1 {
		last = step()
	}
	span := time.Since(start)
	testkit.Eventually(t, 5*time.Second, "the last change", func() bool { return log.every(tags, last) })
	// Steps within one interval touch at most two slots, and the
	// last is sampled at the start of the next.
	if span < 900*time.Millisecond {
		if got := log.most(tags, from); got > 3 {
			t.Errorf("%d samples of one item for %d changes within %v at a 1 s sampling interval, want at most 3", got, steps, span)
		}
	}
}
