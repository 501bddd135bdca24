package opcuaserver

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/internal/testkit"
)

// stackItems is the number of items in the stack's map of subscription
// id, which its publish cycles walk.
func stackItems(t *testing.T, s *Server, id uint32) int {
	t.Helper()
	sub, ok := s.ua.SubscriptionManager().Get(id)
	if !ok {
		t.Fatalf("no subscription %d", id)
	}
	sub.RLock()
	defer sub.RUnlock()
	return len(*subItems(sub))
}

// TestIdleItemsLeavePublishCycles: the items of tags that do not change
// leave the map of items the stack walks in every publish cycle, and
// come back when their tag changes: every change still reaches the
// client, and the requests that find, change or delete items find them.
func TestIdleItemsLeavePublishCycles(t *testing.T) {
	t.Parallel()
	const tags = 1000
	e, s := deliveryServer(t, deliveryWorkload{tags: tags, tick: time.Second})
	c := connect(t, s.URL())
	ch := make(chan *opcua.PublishNotificationData, 1024)
	log := logValues(ch)
	sub, err := c.Subscribe(context.Background(), &opcua.SubscriptionParameters{Interval: 125 * time.Millisecond, MaxNotificationsPerPublish: 300}, ch)
	if err != nil {
		t.Fatal(err)
	}
	res := monitorAll(t, sub, tagNodes(s), func(int) float64 { return 0 }, 10)
	value := func() uint32 { return e.Value(s.Tags()[0].Index).V.(uint32) }
	testkit.Eventually(t, 10*time.Second, "the initial values", func() bool { return log.every(tags, value()) })
	idle := func() {
		t.Helper()
		testkit.Eventually(t, 10*time.Second, "idle items parked", func() bool { return s.Load().ParkedItems == tags })
		if n := stackItems(t, s, sub.SubscriptionID); n != 0 {
			t.Errorf("%d items in the stack's publish cycles with every tag idle, want 0", n)
		}
	}
	idle()

	// Every change of a parked item is sent (300 per response here, the
	// rest as MoreNotifications).
	for range 3 {
		e.Step(1)
		v := value()
		testkit.Eventually(t, 10*time.Second, "the step's values", func() bool { return log.every(tags, v) })
	}
	idle()

	// Requests on parked items.
	ctx := context.Background()
	mod, err := sub.ModifyMonitoredItems(ctx, gua.TimestampsToReturnBoth, &gua.MonitoredItemModifyRequest{
		MonitoredItemID:     res[5].MonitoredItemID,
		RequestedParameters: &gua.MonitoringParameters{ClientHandle: 5, SamplingInterval: 1000, QueueSize: 10},
	})
	if err != nil || mod.Results[0].StatusCode != gua.StatusOK || mod.Results[0].RevisedSamplingInterval != 1000 {
		t.Fatalf("modify a parked item: %v %+v", err, mod)
	}
	mode, err := sub.SetMonitoringMode(ctx, gua.MonitoringModeReporting, res[6].MonitoredItemID)
	if err != nil || mode.Results[0] != gua.StatusOK {
		t.Fatalf("set the monitoring mode of a parked item: %v %+v", err, mode)
	}
	del, err := sub.Unmonitor(ctx, res[7].MonitoredItemID)
	if err != nil || del.Results[0] != gua.StatusOK {
		t.Fatalf("delete a parked item: %v %+v", err, del)
	}
	e.Step(1)
	v := value()
	testkit.Eventually(t, 10*time.Second, "the values after the requests", func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		for h := range uint32(tags) {
			if h != 7 && !slices.Contains(log.vals[h], v) {
				return false
			}
		}
		return true
	})
	testkit.Eventually(t, 10*time.Second, "idle items parked again", func() bool { return s.Load().ParkedItems == tags-1 })
	if got := s.Load().SampledItems; got != tags-1 {
		t.Errorf("%d items sampled after one was deleted, want %d", got, tags-1)
	}
}
