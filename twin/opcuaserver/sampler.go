package opcuaserver

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"
)

// sampler samples the monitored items of the twin's tags when their value
// changed, instead of the stack's polling of every item at every sampling
// interval. An item still gets the value its sampling interval would have
// sampled — the latest value at each tick of its interval, which the stack
// then queues and publishes as usual — but an item whose tag did not
// change costs nothing: the work follows the engine's changes, not the
// number of items times their sampling rate. Items on other nodes (the
// stack's own Server object, properties) stay with the stack's poller.
//
// The pump marks the items of changed tags (mark); one goroutine per
// granted sampling interval polls the marked items of that interval at
// every tick and then runs the publish cycle of each subscription it
// polled (pollSub). The stack queues every value the sampler polled
// (takeEverySample) rather than the last of each sampling interval since
// its previous cycle: the sampler already takes at most one per interval.
// Items the stack deleted (DeleteMonitoredItems, a deleted or
// expired subscription) are dropped by sweep, which also deletes the
// subscriptions whose session has ended: this stack cannot transfer a
// subscription to another session, so nobody could ever publish it again.
// Methods are safe for concurrent use.
type sampler struct {
	srv     *server.Server
	nodeTag map[ua.NodeID]int // node id of a tag variable -> engine tag index

	mu     sync.RWMutex
	byTag  [][]*tracked        // engine tag index -> its tracked items
	byID   map[uint32]*tracked // monitored item id -> tracked item
	bySub  map[uint32]*subEntry
	groups map[time.Duration]*sampleGroup
	closed bool

	done chan struct{}
	wg   sync.WaitGroup
}

// tracked is one monitored item of a tag variable.
type tracked struct {
	mi    *server.DataChangeMonitoredItem
	sess  *server.Session // of the subscription
	sub   uint32
	tag   int
	group *sampleGroup
	dirty atomic.Bool // queued in group.dirty
	gone  atomic.Bool // dropped: never poll again
}

// subEntry is a subscription with tracked items.
type subEntry struct {
	sess    *server.Session
	adopted time.Time // when its first item was tracked
	items   int
}

// sampleGroup polls the marked items of one sampling interval.
type sampleGroup struct {
	interval time.Duration
	mu       sync.Mutex
	dirty    []*tracked
	spare    []*tracked
}

func newSampler(srv *server.Server, nodes []*server.VariableNode) *sampler {
	sp := &sampler{
		srv:     srv,
		nodeTag: make(map[ua.NodeID]int),
		byTag:   make([][]*tracked, len(nodes)),
		byID:    make(map[uint32]*tracked),
		bySub:   make(map[uint32]*subEntry),
		groups:  make(map[time.Duration]*sampleGroup),
		done:    make(chan struct{}),
	}
	for i, n := range nodes {
		if n != nil {
			sp.nodeTag[n.NodeID()] = i
		}
	}
	return sp
}

// mark queues the items of the changed tags for their next sampling tick.
func (sp *sampler) mark(tags []int) {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	for _, i := range tags {
		if i < 0 || i >= len(sp.byTag) {
			continue
		}
		for _, t := range sp.byTag[i] {
			if !t.dirty.Swap(true) {
				g := t.group
				g.mu.Lock()
				g.dirty = append(g.dirty, t)
				g.mu.Unlock()
			}
		}
	}
}

// adopt takes over the sampling of the given items of subscription subID
// from the stack: an item on a tag variable leaves the stack's poll group
// and joins the sampler's group of its interval. Items already adopted are
// moved when their interval changed (ModifyMonitoredItems and
// SetMonitoringMode put them back with the stack's poller). With ids nil,
// every item of the subscription the sampler does not have yet is adopted.
// sess is the session the request came on.
func (sp *sampler) adopt(sess *server.Session, subID uint32, ids []uint32) {
	sub, ok := sp.srv.SubscriptionManager().Get(subID)
	if !ok || sess == nil {
		return
	}
	var items []server.MonitoredItem
	if ids == nil {
		sp.mu.RLock()
		for _, it := range sub.Items() {
			if _, ok := sp.byID[it.ID()]; !ok {
				items = append(items, it)
			}
		}
		sp.mu.RUnlock()
	}
	for _, id := range ids {
		if it, ok := sub.FindItem(id); ok {
			items = append(items, it)
		}
	}
	for _, item := range items {
		mi, ok := item.(*server.DataChangeMonitoredItem)
		if !ok {
			continue
		}
		rv := mi.ItemToMonitor()
		if rv.AttributeID != ua.AttributeIDValue || rv.IndexRange != "" || rv.DataEncoding.Name != "" {
			continue
		}
		tag, ok := sp.nodeTag[rv.NodeID]
		if !ok {
			continue
		}
		interval := time.Duration(mi.SamplingInterval()) * time.Millisecond
		// The stack subscribed the item to the poll group of its interval
		// (clamped to the stack's minimum, as GetPollGroup does).
		sp.srv.Scheduler().GetPollGroup(interval).Unsubscribe(mi)
		takeEverySample(mi)
		sp.track(&tracked{mi: mi, sess: sess, sub: subID, tag: tag}, interval)
	}
}

func (sp *sampler) track(t *tracked, interval time.Duration) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return
	}
	if old, ok := sp.byID[t.mi.ID()]; ok {
		sp.dropLocked(old)
	}
	t.group = sp.groupLocked(interval)
	sp.byID[t.mi.ID()] = t
	sp.byTag[t.tag] = append(sp.byTag[t.tag], t)
	e := sp.bySub[t.sub]
	if e == nil {
		e = &subEntry{sess: t.sess, adopted: time.Now()}
		sp.bySub[t.sub] = e
	}
	e.items++
}

// groupLocked returns the group of interval, starting it if needed.
func (sp *sampler) groupLocked(interval time.Duration) *sampleGroup {
	if g, ok := sp.groups[interval]; ok {
		return g
	}
	g := &sampleGroup{interval: interval}
	sp.groups[interval] = g
	sp.wg.Add(1)
	go sp.run(g)
	return g
}

// run polls g's marked items every interval until the sampler closes,
// and after each round publishes what it polled.
func (sp *sampler) run(g *sampleGroup) {
	defer sp.wg.Done()
	tick := time.NewTicker(g.interval)
	defer tick.Stop()
	for {
		select {
		case <-sp.done:
			return
		case <-tick.C:
		}
		g.mu.Lock()
		batch := g.dirty
		g.dirty, g.spare = g.spare[:0], nil
		g.mu.Unlock()
		sp.round(batch)
		g.mu.Lock()
		if g.spare == nil {
			g.spare = batch[:0]
		}
		g.mu.Unlock()
	}
}

// round polls the items of batch, subscription by subscription, and
// clears batch.
func (sp *sampler) round(batch []*tracked) {
	bySub := func(a, b *tracked) int { return cmp.Compare(a.sub, b.sub) }
	if !slices.IsSortedFunc(batch, bySub) {
		slices.SortStableFunc(batch, bySub)
	}
	for lo := 0; lo < len(batch); {
		hi := lo + 1
		for hi < len(batch) && batch[hi].sub == batch[lo].sub {
			hi++
		}
		sp.pollSub(batch[lo:hi])
		lo = hi
	}
	clear(batch)
}

// pollSub takes a sample of each of items, all of one subscription, and
// then runs the subscription's publish cycle if it has a Publish request
// queued, so that the values just polled go out before the next round
// polls newer ones. Left to the stack's own cycle, which walks every item
// of the subscription every publishing interval and falls behind on a
// busy machine, a round could poll a tag's next change before a cycle
// took the previous one, and an item with a queue of one (node-opcua's
// default) would keep only the newer value. The subscription's read lock
// keeps the stack's cycle from sending half a round. A subscription that
// is late (no request was queued at its last cycle) is answered by the
// stack when the next request arrives, one without a queued request at
// its next cycle: a cycle without a request would count down the
// subscription's lifetime.
func (sp *sampler) pollSub(items []*tracked) {
	sess := items[0].sess
	sub, ok := sp.srv.SubscriptionManager().Get(items[0].sub)
	polled := false
	if ok {
		sub.RLock()
	}
	for _, t := range items {
		t.dirty.Store(false)
		// A disabled item's samples would pile up unread; an ended
		// session's items are being deleted.
		if ok && !t.gone.Load() && t.mi.MonitoringMode() != ua.MonitoringModeDisabled && !ended(sess) {
			// The stack reads the session's identity unlocked while it
			// polls; holding the session's read lock orders that read
			// with the session's deletion.
			sess.RLock()
			t.mi.Poll()
			sess.RUnlock()
			polled = true
		}
	}
	if !ok {
		return
	}
	sub.RUnlock()
	if !polled || ended(sess) {
		return
	}
	if _, late, _ := subState(sub); !late && queuedRequests(sess) > 0 {
		_ = publishNow(sub, time.Now().UTC())
	}
}

// forget drops the given items of subscription subID if the stack no
// longer has them.
func (sp *sampler) forget(subID uint32, ids []uint32) {
	var have map[server.MonitoredItem]bool
	if sub, ok := sp.srv.SubscriptionManager().Get(subID); ok {
		items := sub.Items()
		have = make(map[server.MonitoredItem]bool, len(items))
		for _, it := range items {
			have[it] = true
		}
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, id := range ids {
		if t, ok := sp.byID[id]; ok && !have[t.mi] {
			sp.dropLocked(t)
		}
	}
}

// ended reports whether sess has been closed or has timed out.
func ended(sess *server.Session) bool { return sess.AuthenticationToken() == nil }

// sweep deletes the subscriptions of ended sessions, drops every item the
// stack no longer has and returns how many items are left. It takes each
// subscription's lock once (its item list), not once per item: the stack
// holds that lock through a whole publish cycle.
func (sp *sampler) sweep() int {
	sm := sp.srv.SubscriptionManager()
	sp.mu.RLock()
	bySub := map[uint32][]*tracked{}
	for _, t := range sp.byID {
		bySub[t.sub] = append(bySub[t.sub], t)
	}
	sp.mu.RUnlock()
	var gone []*tracked
	for id, ts := range bySub {
		sub, ok := sm.Get(id)
		if ok && ended(ts[0].sess) {
			sm.Delete(sub)
			sub.Delete()
			ok = false
		}
		if !ok {
			gone = append(gone, ts...)
			continue
		}
		have := make(map[server.MonitoredItem]bool, len(ts))
		for _, it := range sub.Items() {
			have[it] = true
		}
		for _, t := range ts {
			if !have[t.mi] {
				gone = append(gone, t)
			}
		}
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, t := range gone {
		if sp.byID[t.mi.ID()] == t {
			sp.dropLocked(t)
		}
	}
	return len(sp.byID)
}

func (sp *sampler) dropLocked(t *tracked) {
	t.gone.Store(true)
	delete(sp.byID, t.mi.ID())
	if e := sp.bySub[t.sub]; e != nil {
		if e.items--; e.items <= 0 {
			delete(sp.bySub, t.sub)
		}
	}
	list := sp.byTag[t.tag]
	for i, x := range list {
		if x == t {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		list = nil
	}
	sp.byTag[t.tag] = list
}

// abandoned returns the subscriptions with tracked items whose session
// has sent no Publish request since cutoff (nor were they adopted after
// it); lastPublish gives a session's last request.
func (sp *sampler) abandoned(cutoff time.Time, lastPublish func(*server.Session) time.Time) []uint32 {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	var out []uint32
	for id, e := range sp.bySub {
		if e.adopted.Before(cutoff) && lastPublish(e.sess).Before(cutoff) {
			out = append(out, id)
		}
	}
	return out
}

// session is the session of tracked subscription id, nil if none.
func (sp *sampler) session(id uint32) *server.Session {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	if e := sp.bySub[id]; e != nil {
		return e.sess
	}
	return nil
}

// stats returns the number of tracked items and of sampling groups.
func (sp *sampler) stats() (items, groups int) {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return len(sp.byID), len(sp.groups)
}

// close stops every group and waits for them.
func (sp *sampler) close() {
	sp.mu.Lock()
	if sp.closed {
		sp.mu.Unlock()
		return
	}
	sp.closed = true
	close(sp.done)
	sp.mu.Unlock()
	sp.wg.Wait()
}
