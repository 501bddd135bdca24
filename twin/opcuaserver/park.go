package opcuaserver

import (
	"math"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"
)

// Parking: the stack walks every monitored item of a subscription twice
// in every publish cycle, even when a response is full (the client's
// MaxNotificationsPerPublish) and even when nothing changed, and runs a
// cycle every publishing interval besides those the sampler and
// honourMore ask for. The sampler therefore keeps the items of tags that
// have nothing to send out of the subscription's item map (subItems) and
// puts an item back when it samples it, before the cycle that sends the
// sample:
//
//   - sampled items go back as many at a time as one response carries
//     (the client's MaxNotificationsPerPublish); the others wait parked
//     with their samples, and the next batch goes back when the client's
//     next Publish request arrives (honourMore), so that a subscriber that
//     takes 10,000 notifications per response (gopcua) of 100k changes
//     makes ten cycles of 10,000 items each, not ten of 100k;
//   - after a response that left notifications behind (MoreNotifications),
//     and after the last response of such a series, the items it emptied
//     are parked at once, so that each further cycle walks only what is
//     left to send (afterResponse);
//   - the janitor parks items not sampled for parkIdle with nothing
//     queued, so that tags that do not change cost the stack's own cycles
//     nothing, while items that change every few intervals stay put;
//   - a request that finds, changes or lists a subscription's items
//     (ModifyMonitoredItems, SetMonitoringMode, SetTriggering,
//     DeleteMonitoredItems, and Call, for GetMonitoredItems and
//     ResendData) puts every parked item of the subscription back before
//     the stack handles it, and nothing is parked until it is done (and,
//     after a Call, for parkIdle more); a subscription with triggering
//     links is never parked.
//
// Only items in reporting mode with no queued value are parked; a parked
// item's state (queue, last value, filter) is the stack's and untouched.
// A subscription deleted while items are parked (session closed or timed
// out, lifetime expired) deletes the items in its map; the parked ones
// are not polled by the stack and are dropped by the sampler's sweep.
//
// Locks: a subscription's lock before its entry's pmu, pmu before an
// item's lock; the pump takes only pmu (and an item's lock), never a
// subscription's write lock, so a cycle writing to a slow client does not
// hold it up.

// parkIdle is how long an item must have gone without a sample before the
// janitor parks it.
const parkIdle = 2 * time.Second

// parking reports whether the stack's fields that parking uses resolved.
func parking() bool { return subFieldsErr == nil }

// entry returns the entry of subscription id, nil if none.
func (sp *sampler) entry(id uint32) *subEntry {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return sp.bySub[id]
}

// unparkWoken samples the parked items the pump left to it and puts
// parked items sampled since they were parked back into sub's map, before
// the cycle that sends their samples: as many as one response carries
// (maxPerResponse), so that the cycle walks what it sends and no more.
// The others stay parked with their samples (the backlog) for the
// following responses (honourMore).
func (sp *sampler) unparkWoken(sub *server.Subscription, e *subEntry) {
	e.pmu.Lock()
	n := len(e.woken) + len(e.late)
	e.pmu.Unlock()
	if n == 0 || !parking() {
		return
	}
	m, unlock := lockBoth(sub, e)
	defer unlock()
	e.pollLateLocked(*m != nil)
	if *m == nil {
		clear(e.woken)
		e.woken = e.woken[:0]
		return
	}
	budget, k := maxPerResponse(sub), 0
	for ; k < len(e.woken) && budget > 0; k++ {
		if t := e.woken[k]; t.parked.Load() {
			e.unparkLocked(*m, t)
			budget--
		}
	}
	left := copy(e.woken, e.woken[k:])
	clear(e.woken[left:])
	e.woken = e.woken[:left]
}

// pollLate samples the parked items of e that the pump could not sample
// without sub's lock, once it has the lock, and hands subscription id to
// the publisher.
func (sp *sampler) pollLate(sub *server.Subscription, e *subEntry, id uint32, sess *server.Session) {
	defer sp.wg.Done()
	sub.RLock()
	e.pmu.Lock()
	e.pollLateLocked(*subItems(sub) != nil)
	e.busy = false
	e.pmu.Unlock()
	sub.RUnlock()
	sp.queuePublish(sess, id)
}

// pollLateLocked samples the parked items in e.late, which then wait in
// e.woken, when the subscription is alive, and empties e.late; the caller
// holds the subscription's lock (read or write), which keeps it from
// being deleted meanwhile, and e.pmu.
func (e *subEntry) pollLateLocked(alive bool) {
	for _, t := range e.late {
		if alive && t.parked.Load() && !t.gone.Load() && !ended(t.sess) {
			pollItem(t.sess, t)
			e.woken = append(e.woken, t)
		}
	}
	clear(e.late)
	e.late = e.late[:0]
}

// backlog is the number of parked items of subscription id with samples
// waiting for a response.
func (sp *sampler) backlog(id uint32) int {
	e := sp.entry(id)
	if e == nil {
		return 0
	}
	e.pmu.Lock()
	defer e.pmu.Unlock()
	return len(e.woken) + len(e.late)
}

// lockBoth locks sub and then e, the order every user of both keeps, and
// returns sub's item map (nil once sub is deleted) and the unlock.
func lockBoth(sub *server.Subscription, e *subEntry) (*map[uint32]server.MonitoredItem, func()) {
	sub.Lock()
	e.pmu.Lock()
	return subItems(sub), func() {
		e.pmu.Unlock()
		sub.Unlock()
	}
}

// unparkLocked puts t back into the stack's map m; the caller holds the
// subscription's lock and e.pmu.
func (e *subEntry) unparkLocked(m map[uint32]server.MonitoredItem, t *tracked) {
	if !t.parked.Load() {
		return
	}
	t.parked.Store(false)
	delete(e.parked, t.mi.ID())
	if t.gone.Load() {
		return
	}
	m[t.mi.ID()] = t.mi
	e.active = append(e.active, t)
}

// prune parks the items of e in sub's map that have nothing queued and
// whose last sample started before idleBefore (Unix ns). It does nothing
// while a request on the items is handled.
func (sp *sampler) prune(sub *server.Subscription, e *subEntry, idleBefore int64) {
	if !parking() {
		return
	}
	m, unlock := lockBoth(sub, e)
	defer unlock()
	if *m == nil || e.hold > 0 || e.noPark || time.Now().Before(e.calm) {
		return
	}
	if e.parked == nil {
		e.parked = make(map[uint32]*tracked)
	}
	keep := e.active[:0]
	for _, t := range e.active {
		switch {
		case t.gone.Load():
		case t.slot.Load()*t.group.ns < idleBefore &&
			t.mi.MonitoringMode() == ua.MonitoringModeReporting && queuedValues(t.mi) == 0:
			delete(*m, t.mi.ID())
			t.parked.Store(true)
			e.parked[t.mi.ID()] = t
		default:
			keep = append(keep, t)
		}
	}
	clear(e.active[len(keep):])
	e.active = keep
}

// afterResponse parks the items of subscription id that its last
// response emptied, when that response or the one before was one of a
// series (MoreNotifications, or a backlog of parked samples): each further
// response of the series then walks only what is left, and after the last
// one nothing is walked until the next samples. Called after a response of id may have gone out, by the
// stack's cycle, the late Publish handling or publishNow.
func (sp *sampler) afterResponse(sub *server.Subscription, id uint32) {
	e := sp.entry(id)
	if e == nil {
		return
	}
	more, _, _ := subState(sub)
	e.pmu.Lock()
	series := more || len(e.woken)+len(e.late) > 0
	e.pmu.Unlock()
	if was := e.capped.Swap(series); series || was {
		sp.prune(sub, e, math.MaxInt64)
	}
}

// pruneIdle parks, in every subscription, the items not sampled for
// parkIdle with nothing queued.
func (sp *sampler) pruneIdle(now time.Time) {
	sp.mu.RLock()
	ids := make([]uint32, 0, len(sp.bySub))
	entries := make([]*subEntry, 0, len(sp.bySub))
	for id, e := range sp.bySub {
		ids = append(ids, id)
		entries = append(entries, e)
	}
	sp.mu.RUnlock()
	for i, id := range ids {
		if sub, ok := sp.srv.SubscriptionManager().Get(id); ok {
			sp.prune(sub, entries[i], now.Add(-parkIdle).UnixNano())
		}
	}
}

// hold puts every parked item of the subscriptions that req finds,
// changes or lists back into their maps before the stack handles req,
// and parks nothing in them until the returned release is called.
// sessionOf returns the session req was made on.
func (sp *sampler) hold(req ua.ServiceRequest, sessionOf func() *server.Session) (release func()) {
	if !parking() {
		return func() {}
	}
	var ids []uint32
	triggering, call := false, false
	switch r := req.(type) {
	case *ua.ModifyMonitoredItemsRequest:
		ids = []uint32{r.SubscriptionID}
	case *ua.SetMonitoringModeRequest:
		ids = []uint32{r.SubscriptionID}
	case *ua.DeleteMonitoredItemsRequest:
		ids = []uint32{r.SubscriptionID}
	case *ua.SetTriggeringRequest:
		ids, triggering = []uint32{r.SubscriptionID}, true
	case *ua.CallRequest:
		sess := sessionOf()
		if sess == nil {
			return func() {}
		}
		call = true
		sp.mu.RLock()
		for id, e := range sp.bySub {
			if e.sess == sess {
				ids = append(ids, id)
			}
		}
		sp.mu.RUnlock()
	default:
		return func() {}
	}
	var held []*subEntry
	for _, id := range ids {
		e := sp.entry(id)
		sub, ok := sp.srv.SubscriptionManager().Get(id)
		if e == nil || !ok {
			continue
		}
		m, unlock := lockBoth(sub, e)
		if *m != nil {
			for _, t := range e.parked {
				e.unparkLocked(*m, t)
			}
		}
		e.hold++
		e.noPark = e.noPark || triggering
		unlock()
		held = append(held, e)
	}
	return func() {
		for _, e := range held {
			e.pmu.Lock()
			e.hold--
			if call {
				e.calm = time.Now().Add(parkIdle)
			}
			e.pmu.Unlock()
		}
	}
}

// parkedItems is the number of items parked now.
func (sp *sampler) parkedItems() int {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	n := 0
	for _, e := range sp.bySub {
		e.pmu.Lock()
		n += len(e.parked)
		e.pmu.Unlock()
	}
	return n
}

// unparkBacklog puts the next response's worth of the backlog of
// subscription id back into sub's map.
func (sp *sampler) unparkBacklog(sub *server.Subscription, id uint32) {
	if e := sp.entry(id); e != nil {
		sp.unparkWoken(sub, e)
	}
}
