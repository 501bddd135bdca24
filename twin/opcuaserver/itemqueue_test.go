package opcuaserver

import (
	"os"
	"regexp"
	"testing"
	"time"
	"unsafe"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"
	"github.com/gammazero/deque"
	"github.com/gopcua/opcua"

	"github.com/otwin/otwin/internal/testkit"
)

// TestItemQueuesPinned fails when the queue library is not the version
// itemqueue.go mirrors, or the monitored item's queues moved.
func TestItemQueuesPinned(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/gammazero/deque (\S+)`).FindSubmatch(mod)
	if m == nil || string(m[1]) != "v1.0.0" {
		t.Errorf("go.mod does not require github.com/gammazero/deque v1.0.0 (%q): itemqueue.go mirrors that version's Deque", m)
	}
	if itemQueueErr != nil {
		t.Error(itemQueueErr)
	}
}

// TestTrimQueueKeepsOrder: a queue trimmed with values in it (wrapped
// around its buffer) gives them back in order, then grows and shrinks as
// the library's own queue does, from one value.
func TestTrimQueueKeepsOrder(t *testing.T) {
	val := func(k int) ua.DataValue { return ua.DataValue{Value: float64(k)} }
	var q deque.Deque[ua.DataValue]
	for k := range 14 {
		q.PushBack(val(k))
	}
	for range 12 {
		q.PopFront()
	}
	for k := 14; k < 17; k++ { // wraps around the 16-value buffer
		q.PushBack(val(k))
	}
	l := (*dequeLayout)(unsafe.Pointer(&q))
	trimQueue(l)
	if q.Cap() != 8 || q.Len() != 5 {
		t.Fatalf("trimmed queue of 5 values: cap %d len %d, want 8 and 5", q.Cap(), q.Len())
	}
	for k := 12; k < 17; k++ {
		if v := q.PopFront(); v.Value != float64(k) {
			t.Fatalf("value %v, want %d", v.Value, k)
		}
	}
	if q.Cap() > 2 {
		t.Errorf("empty queue keeps %d values, want at most 2", q.Cap())
	}
	for k := range 40 {
		q.PushBack(val(k))
	}
	for k := range 40 {
		if v := q.PopFront(); v.Value != float64(k) {
			t.Fatalf("after growing: value %v, want %d", v.Value, k)
		}
	}
	var empty deque.Deque[ua.DataValue]
	trimQueue((*dequeLayout)(unsafe.Pointer(&empty)))
	empty.PushBack(val(1))
	if empty.Cap() != 1 || empty.Front().Value != 1.0 {
		t.Errorf("first value of a trimmed empty queue: cap %d, front %v", empty.Cap(), empty.Front().Value)
	}
}

// TestItemQueuesTrimmed: the monitored items a client creates hold one
// or two values in each of their queues, not the library's 16, and every
// change still reaches the client (queue sizes 1 and 4).
func TestItemQueuesTrimmed(t *testing.T) {
	t.Parallel()
	const n = 200
	f, s := limitServer(t, n, nil)
	c := connect(t, s.URL())
	params := &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond, MaxNotificationsPerPublish: 10 * n}
	ch := make(chan *opcua.PublishNotificationData, 1024)
	got := counter(ch)
	sub, err := c.Subscribe(t.Context(), params, ch)
	if err != nil {
		t.Fatal(err)
	}
	nodes := tagNodes(s)
	monitorAll(t, sub, nodes[:n/2], func(int) float64 { return 0 }, 1)
	monitorAll(t, sub, nodes[n/2:], func(int) float64 { return 0 }, 4)
	testkit.Eventually(t, 20*time.Second, "initial values", func() bool { return got.Load() == n })
	caps := func() (items, most int) {
		ss, ok := s.ua.SubscriptionManager().Get(sub.SubscriptionID)
		if !ok {
			t.Fatal("the subscription is gone")
		}
		for _, it := range ss.Items() {
			mi, ok := it.(*server.DataChangeMonitoredItem)
			if !ok {
				continue
			}
			items++
			mi.Lock()
			for _, off := range itemQueueOffsets {
				most = max(most, len((*dequeLayout)(unsafe.Add(unsafe.Pointer(mi), off)).buf))
			}
			mi.Unlock()
		}
		return items, most
	}
	if items, most := caps(); items != n || most > 2 {
		t.Errorf("%d items, largest queue buffer %d values; want %d items, at most 2", items, most, n)
	}
	for k := 1; k <= 3; k++ {
		vals := map[int]any{}
		for i := range n {
			vals[i] = float64(k)
		}
		f.set(vals)
		testkit.Eventually(t, 20*time.Second, "every change", func() bool { return got.Load() == int64((k+1)*n) })
	}
	if items, most := caps(); items != n || most > 4 {
		t.Errorf("after changes: %d items, largest queue buffer %d values; want %d items, at most 4", items, most, n)
	}
}
