package opcuaserver

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/otwin/otwin/internal/memlimit"
)

// janitor notices when the sessions and subscriptions of clients go away
// (closed, deleted, timed out or expired), drops their monitored items
// from the sampler and hands the memory they held back to the operating
// system; it does the same with the garbage of starting up. Left to itself the Go runtime returns it only after a forced
// collection, minutes later; a 100k-item subscription holds about 0.12 GB.
type janitor struct {
	s     *Server
	pokes chan struct{}
	// releases counts the times memory was handed back; expired the
	// subscriptions deleted for want of Publish requests.
	releases, expired atomic.Uint64
	// published holds when each session's last Publish request arrived.
	published sync.Map // *server.Session -> *atomic.Int64 (Unix ns)
}

// Janitor timing: how often it looks, how long after the last departure
// it releases memory (so that a burst of closing sessions costs one
// collection), and how often it sweeps even when nothing was seen to go.
const (
	janitorEvery  = 250 * time.Millisecond
	releaseDelay  = 2 * time.Second
	sweepInterval = 30 * time.Second
)

func newJanitor(s *Server) *janitor {
	return &janitor{s: s, pokes: make(chan struct{}, 1)}
}

// poke makes the janitor look now. It never blocks.
func (j *janitor) poke() {
	select {
	case j.pokes <- struct{}{}:
	default:
	}
}

// publishSeen records that sess sent a Publish request now.
func (j *janitor) publishSeen(sess *server.Session) {
	now := time.Now().UnixNano()
	if v, ok := j.published.Load(sess); ok {
		v.(*atomic.Int64).Store(now)
		return
	}
	v := new(atomic.Int64)
	v.Store(now)
	j.published.Store(sess, v)
}

// lastPublish is when sess sent its last Publish request (the zero time
// if none).
func (j *janitor) lastPublish(sess *server.Session) time.Time {
	if v, ok := j.published.Load(sess); ok {
		return time.Unix(0, v.(*atomic.Int64).Load())
	}
	return time.Time{}
}

// expire deletes the subscriptions whose session has sent no Publish
// request for the lifetime cap. The stack counts a lifetime in publishing
// intervals, and its ticker drops ticks on a busy machine, so its own
// expiry can come later than the cap in wall time; this one does not. A
// live client's session sends one at least every keep-alive interval,
// which the revisions hold to a quarter of the cap; a subscription whose
// session has a request queued, or that is sending a response, is left
// alone. It reports whether it deleted any.
func (j *janitor) expire(now time.Time) bool {
	ids := j.s.sampler.abandoned(now.Add(-j.s.limits.lifetime), j.lastPublish)
	sm := j.s.ua.SubscriptionManager()
	deleted := false
	for _, id := range ids {
		sub, ok := sm.Get(id)
		if !ok || queuedRequests(j.s.sampler.session(id)) > 0 {
			continue // a request waits for data: the client is there
		}
		if !sub.TryLock() {
			continue // a response is on its way
		}
		sub.Unlock()
		sm.Delete(sub)
		sub.Delete()
		j.expired.Add(1)
		deleted = true
	}
	// Forget the sessions that ended.
	j.published.Range(func(k, _ any) bool {
		if ended(k.(*server.Session)) {
			j.published.Delete(k)
		}
		return true
	})
	return deleted
}

// run looks after the server until done closes.
func (j *janitor) run(done <-chan struct{}) {
	tick := time.NewTicker(janitorEvery)
	defer tick.Stop()
	subs, sessions := 0, 0
	// The garbage of building the address space goes back first.
	releaseAt := time.Now().Add(releaseDelay)
	lastSweep, lastPrune := time.Now(), time.Now()
	for {
		poked := false
		select {
		case <-done:
			return
		case <-tick.C:
		case <-j.pokes:
			poked = true
		}
		now := time.Now()
		expired := j.expire(now)
		su, se := j.s.ua.SubscriptionManager().Len(), j.s.ua.SessionManager().Len()
		gone := su < subs || se < sessions || expired
		subs, sessions = su, se
		if gone || poked || now.Sub(lastSweep) >= sweepInterval {
			before, _ := j.s.sampler.stats()
			after := j.s.sampler.sweep()
			lastSweep = now
			if gone || after < before {
				releaseAt = now.Add(releaseDelay)
			}
		}
		if now.Sub(lastPrune) >= parkIdle/2 {
			j.s.sampler.pruneIdle(now)
			lastPrune = now
		}
		if !releaseAt.IsZero() && !now.Before(releaseAt) {
			releaseAt = time.Time{}
			debug.FreeOSMemory()
			j.releases.Add(1)
		}
	}
}

// Load is what a Server holds for its clients at one moment.
type Load struct {
	// Sessions and Subscriptions are the stack's open sessions and
	// subscriptions (of every client).
	Sessions, Subscriptions int
	// SampledItems are the monitored items of tags the server samples
	// on change; Samplers the sampling intervals in use (one goroutine
	// each); ParkedItems the sampled items with nothing to send, which
	// the stack's publish cycles do not walk.
	SampledItems, Samplers, ParkedItems int
	// EarlyPublishes counts the publish cycles run at once because a
	// subscription's last response had MoreNotifications; MemoryReleases
	// the times memory was handed back after clients went.
	EarlyPublishes, MemoryReleases uint64
}

// Load returns what the server holds for its clients now.
func (s *Server) Load() Load {
	items, groups := s.sampler.stats()
	return Load{
		Sessions:       s.ua.SessionManager().Len(),
		Subscriptions:  s.ua.SubscriptionManager().Len(),
		SampledItems:   items,
		Samplers:       groups,
		ParkedItems:    s.sampler.parkedItems(),
		EarlyPublishes: s.moreSent.Load(),
		MemoryReleases: s.janitor.releases.Load(),
	}
}

// MemoryPolicy is the soft memory limit LimitMemory follows: the live
// heap plus a quarter (at least 96 MiB), never under 256 MiB. A 100k-tag
// twin holds about 0.3 GB of heap idle and 0.45 GB serving a 100k-item
// subscription; the default pacing would let that grow to 0.9 GB before
// a collection.
var MemoryPolicy = memlimit.Policy{Floor: 256 << 20, MinHeadroom: 96 << 20, Fraction: 0.25}

// LimitMemory collects the garbage of building the address spaces, then
// keeps the Go runtime's soft memory limit of the process at
// MemoryPolicy's limit for the heap live now until done closes, unless
// GOMEMLIMIT is set; it reports whether it does. Call it once the address
// spaces are built.
func LimitMemory(done <-chan struct{}) bool {
	runtime.GC()
	return memlimit.Follow(MemoryPolicy, done)
}
