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
// interval. An item gets at most one sample per slot of its granted
// sampling interval (the interval's multiples of Unix time), and an item
// whose tag did not change costs nothing: the work follows the engine's
// changes, not the number of items times their sampling rate. Items on
// other nodes (the stack's own Server object, properties) stay with the
// stack's poller.
//
// The pump hands over the changed tags (mark) right after it set their
// values: an item not yet sampled in its current slot is sampled there and
// then, so it takes exactly the value of that change, and the publisher
// runs the publish cycle of each subscription sampled. A sampling round
// that waited for a tick would read whatever value the tag has by then: on
// a busy machine, a tick delayed past the engine's next step reads the
// later value and the earlier change is never sampled. An item already
// sampled in its slot is marked instead, and the goroutine of its interval
// samples the marked items at the start of the next slot (with the latest
// value, as sampling does) and then runs the publish cycle of each
// subscription it sampled. The stack queues every value the sampler polled
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

	// The subscriptions the pump sampled, for the publisher (publishLoop).
	pubMu   sync.Mutex
	pubSubs map[uint32]*server.Session
	pubWake chan struct{}
	due     []*tracked // mark's buffer (the pump's goroutine only)

	done chan struct{}
	wg   sync.WaitGroup
}

// tracked is one monitored item of a tag variable.
type tracked struct {
	mi     *server.DataChangeMonitoredItem
	sess   *server.Session // of the subscription
	sub    uint32
	tag    int
	group  *sampleGroup
	dirty  atomic.Bool  // queued in group.dirty
	gone   atomic.Bool  // dropped: never poll again
	slot   atomic.Int64 // the slot of its interval it was last sampled in
	parked atomic.Bool  // out of the stack's map (park.go); set under subEntry.pmu
}

// claim reserves slot for a sample of t and reports whether t was not
// sampled in it yet.
func (t *tracked) claim(slot int64) bool {
	last := t.slot.Load()
	return last < slot && t.slot.CompareAndSwap(last, slot)
}

// subEntry is a subscription with tracked items.
type subEntry struct {
	sess    *server.Session
	adopted time.Time // when its first item was tracked
	items   int

	// Parking (park.go), under pmu.
	pmu    sync.Mutex
	active []*tracked          // tracked items in the stack's map (and gone ones)
	parked map[uint32]*tracked // tracked items taken out of it
	woken  []*tracked          // parked items sampled since, to put back
	late   []*tracked          // parked items to sample under the subscription's lock
	busy   bool                // pollLate is running
	hold   int                 // requests on the items in progress: park nothing
	calm   time.Time           // park nothing before
	noPark bool                // the subscription has triggering links
	capped atomic.Bool         // its last response seen had MoreNotifications
}

// sampleGroup polls the marked items of one sampling interval.
type sampleGroup struct {
	interval time.Duration
	ns       int64 // interval in nanoseconds
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
		pubSubs: make(map[uint32]*server.Session),
		pubWake: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	sp.wg.Add(1)
	go sp.publishLoop()
	for i, n := range nodes {
		if n != nil {
			sp.nodeTag[n.NodeID()] = i
		}
	}
	return sp
}

// mark samples the items of the changed tags that were not sampled in
// their current slot yet, and queues the others for the start of their
// next slot. It is called by the pump right after it set the tags' values
// (one goroutine).
func (sp *sampler) mark(tags []int) {
	now := time.Now().UnixNano()
	due := sp.due[:0]
	sp.mu.RLock()
	for _, i := range tags {
		if i < 0 || i >= len(sp.byTag) {
			continue
		}
		for _, t := range sp.byTag[i] {
			g := t.group
			if t.claim(now / g.ns) {
				t.dirty.Store(false)
				due = append(due, t)
				continue
			}
			if !t.dirty.Swap(true) {
				g.mu.Lock()
				g.dirty = append(g.dirty, t)
				g.mu.Unlock()
			}
		}
	}
	sp.mu.RUnlock()
	sp.sample(due, sp.queuePublish)
	sp.due = due
}

// queuePublish hands subscription sub, just sampled, to the publisher.
func (sp *sampler) queuePublish(sess *server.Session, sub uint32) {
	sp.pubMu.Lock()
	sp.pubSubs[sub] = sess
	sp.pubMu.Unlock()
	select {
	case sp.pubWake <- struct{}{}:
	default:
	}
}

// publishLoop runs the publish cycles of the subscriptions the pump
// sampled, on its own goroutine so that the pump is back for the engine's
// next step while they are sent.
func (sp *sampler) publishLoop() {
	defer sp.wg.Done()
	subs := map[uint32]*server.Session{}
	for {
		select {
		case <-sp.done:
			return
		case <-sp.pubWake:
		}
		sp.pubMu.Lock()
		subs, sp.pubSubs = sp.pubSubs, subs
		sp.pubMu.Unlock()
		for id, sess := range subs {
			sp.publish(sess, id)
		}
		clear(subs)
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
	e.pmu.Lock()
	e.active = append(e.active, t)
	e.pmu.Unlock()
}

// groupLocked returns the group of interval, starting it if needed.
func (sp *sampler) groupLocked(interval time.Duration) *sampleGroup {
	if g, ok := sp.groups[interval]; ok {
		return g
	}
	g := &sampleGroup{interval: interval, ns: max(1, int64(interval))}
	sp.groups[interval] = g
	sp.wg.Add(1)
	go sp.run(g)
	return g
}

// run samples g's marked items at the start of every slot of its
// interval until the sampler closes, and after each round publishes what
// it sampled.
func (sp *sampler) run(g *sampleGroup) {
	defer sp.wg.Done()
	next := func() time.Duration { return time.Duration(g.ns - time.Now().UnixNano()%g.ns) }
	tick := time.NewTimer(next())
	defer tick.Stop()
	var keep []*tracked
	for {
		select {
		case <-sp.done:
			return
		case <-tick.C:
		}
		slot := time.Now().UnixNano() / g.ns
		g.mu.Lock()
		batch := g.dirty
		g.dirty, g.spare = g.spare[:0], nil
		g.mu.Unlock()
		// Items the pump sampled meanwhile are done; an item sampled in
		// this slot already (the pump's, on a late tick) waits for the
		// next.
		n := 0
		for _, t := range batch {
			switch {
			case !t.dirty.Load() || t.gone.Load():
			case t.claim(slot):
				t.dirty.Store(false)
				batch[n] = t
				n++
			default:
				keep = append(keep, t)
			}
		}
		clear(batch[n:])
		sp.sample(batch[:n], sp.publish)
		g.mu.Lock()
		g.dirty = append(g.dirty, keep...)
		if g.spare == nil {
			g.spare = batch[:0]
		}
		g.mu.Unlock()
		clear(keep)
		keep = keep[:0]
		tick.Reset(next())
	}
}

// sample polls the items of batch, subscription by subscription, calls
// publish for each subscription it polled, and clears batch.
func (sp *sampler) sample(batch []*tracked, publish func(sess *server.Session, sub uint32)) {
	bySub := func(a, b *tracked) int { return cmp.Compare(a.sub, b.sub) }
	if !slices.IsSortedFunc(batch, bySub) {
		slices.SortStableFunc(batch, bySub)
	}
	for lo := 0; lo < len(batch); {
		hi := lo + 1
		for hi < len(batch) && batch[hi].sub == batch[lo].sub {
			hi++
		}
		if sp.pollSub(batch[lo:hi]) {
			publish(batch[lo].sess, batch[lo].sub)
		}
		lo = hi
	}
	clear(batch)
}

// pollSub takes a sample of each of items, all of one subscription, and
// reports whether it took any. The subscription's read lock, when free,
// keeps the stack's cycle from sending half a round; when a cycle holds
// it, the items in the stack's map are polled anyway (the rest goes with
// the next cycle): a cycle writing to a slow client must not hold up the
// pump, which samples for every client. A parked item (park.go) is polled
// only under that lock, which keeps the subscription from being deleted
// meanwhile (the stack deletes only the items in its map); without it, a
// goroutine of the subscription's polls the item as soon as it gets the
// lock (pollLate), which waits for the cycle under way only.
func (sp *sampler) pollSub(items []*tracked) bool {
	sess := items[0].sess
	sub, ok := sp.srv.SubscriptionManager().Get(items[0].sub)
	if !ok {
		return false
	}
	e := sp.entry(items[0].sub)
	if e == nil {
		return false
	}
	polled := false
	locked := sub.TryRLock()
	if locked {
		defer sub.RUnlock()
	}
	e.pmu.Lock()
	defer e.pmu.Unlock()
	for _, t := range items {
		// A disabled item's samples would pile up unread; an ended
		// session's items are being deleted.
		if !t.gone.Load() && t.mi.MonitoringMode() != ua.MonitoringModeDisabled && !ended(sess) {
			switch {
			case !t.parked.Load():
				pollItem(sess, t)
			case locked:
				pollItem(sess, t)
				e.woken = append(e.woken, t)
			default:
				e.late = append(e.late, t)
			}
			polled = true
		}
	}
	if len(e.late) > 0 && !e.busy {
		e.busy = true
		sp.wg.Add(1)
		go sp.pollLate(sub, e, items[0].sub, sess)
	}
	return polled
}

// pollItem polls t's item. The stack reads the session's identity
// unlocked while it polls; holding the session's read lock orders that
// read with the session's deletion.
func pollItem(sess *server.Session, t *tracked) {
	sess.RLock()
	t.mi.Poll()
	sess.RUnlock()
}

// publish runs the publish cycle of subscription id, just sampled, if
// its client has a Publish request queued, so that the values just polled
// go out before newer ones are. Left to the stack's own cycle, which walks
// every item of the subscription every publishing interval and falls
// behind on a busy machine, an item could be sampled again before a cycle
// took its previous sample, and an item with a queue of one (node-opcua's
// default) would keep only the newer value. A subscription that is late
// (no request was queued at its last cycle) is answered by the stack when
// the next request arrives, one without a queued request at its next
// cycle: a cycle without a request would count down the subscription's
// lifetime.
//
// Parked items just sampled go back into the subscription's map first;
// when the subscription's responses are capped (MoreNotifications), the
// items the cycle emptied are parked at once (afterResponse).
func (sp *sampler) publish(sess *server.Session, id uint32) {
	sub, ok := sp.srv.SubscriptionManager().Get(id)
	if !ok || ended(sess) {
		return
	}
	// While a series of capped responses runs, the backlog waits for it.
	if more, _, _ := subState(sub); !more {
		if e := sp.entry(id); e != nil {
			sp.unparkWoken(sub, e)
		}
	}
	if _, late, _ := subState(sub); late || queuedRequests(sess) == 0 || !answered(sub) {
		return
	}
	_ = publishNow(sub, time.Now().UTC())
	sp.afterResponse(sub, id)
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
		if t, ok := sp.byID[id]; ok && !have[t.mi] && !t.parked.Load() {
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
			if !have[t.mi] && !t.parked.Load() {
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
		if t.parked.Load() {
			e.pmu.Lock()
			delete(e.parked, t.mi.ID())
			e.pmu.Unlock()
		}
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
