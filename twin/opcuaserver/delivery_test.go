package opcuaserver

import (
	"fmt"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// TestNodeClientDefaultsEveryChange: node-opcua's client with its
// defaults (publishing 100 ms, keep-alive 10, lifetime 60, unlimited
// notifications per publish, five Publish requests in flight, sampling 0,
// queue 0 = 1, discard newest) receives every change of tags that all
// change at 5 Hz. With a queue of one, a change survives only if a publish
// cycle takes it before the tag's next change is sampled: the server
// publishes each sampling round as soon as it is taken, instead of
// leaving it to a cycle that walks every item of the subscription every
// publishing interval and falls behind on a busy machine.
func TestNodeClientDefaultsEveryChange(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector slows the server several times over: delivery at 5 Hz is measured without it")
	}
	const tags, ticks = 10_000, 10
	w := deliveryWorkload{"10k-5Hz", tags, 200 * time.Millisecond, ticks}
	e, s := deliveryServer(t, w)
	var ids []string
	for _, tg := range s.Tags() {
		ids = append(ids, fmt.Sprintf("ns=%d;s=%s", s.NamespaceIndex(), tg.NodeID))
	}
	c := nodeClient(t, s.URL(), ids)
	if _, err := c.await("ready", time.Minute); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, time.Minute, "every initial value", func() bool { return c.count.Load() >= tags })
	base := c.count.Load()
	if base != tags {
		t.Fatalf("%d initial values for %d items", base, tags)
	}
	tick := time.NewTicker(w.tick)
	defer tick.Stop()
	for range ticks {
		<-tick.C
		e.Step(1)
	}
	want := int64(tags * (ticks + 1))
	// What is delivered arrives within a few publishing intervals; what
	// was lost never does.
	if !testkit.Poll(10*time.Second, func() bool { return c.count.Load() >= want }) {
		t.Errorf("node-opcua client received %d of %d changes (%.1f %%)",
			c.count.Load()-base, want-base, 100*float64(c.count.Load()-base)/float64(want-base))
	}
}
