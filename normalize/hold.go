package normalize

import (
	"sort"
	"time"
)

// maxHeldSpans bounds the held spans a Normalizer remembers. When more
// are held, the oldest are forgotten: a timer started before them counts
// them as running time.
const maxHeldSpans = 1024

// rulesClock is the clock the time-driven rules measure their limits on:
// wall time less the spans it was held (Normalizer.Hold, Resume), so that
// a value the source stopped moving while it was held is not frozen, nor
// stale, nor its endpoint lost, for that time. It answers in O(log spans).
type rulesClock struct {
	// start and end of each finished hold, oldest first; cum[i] is the
	// time held up to end[i], forgotten spans (base) included.
	start, end []time.Time
	cum        []time.Duration
	base       time.Duration
	// since is when the hold under way began (zero: not held).
	since time.Time
}

// hold begins a hold at at (no-op when held); at is moved to the end of
// the last hold when before it.
func (k *rulesClock) hold(at time.Time) {
	if !k.since.IsZero() {
		return
	}
	if n := len(k.end); n > 0 && at.Before(k.end[n-1]) {
		at = k.end[n-1]
	}
	k.since = at
}

// resume ends the hold under way at at (no-op when not held; at is moved
// to its start when before it).
func (k *rulesClock) resume(at time.Time) {
	if k.since.IsZero() {
		return
	}
	from := k.since
	k.since = time.Time{}
	if !at.After(from) {
		return
	}
	held := k.base
	if n := len(k.cum); n > 0 {
		held = k.cum[n-1]
	}
	if len(k.end) == maxHeldSpans {
		k.base = k.cum[0]
		k.start, k.end, k.cum = k.start[1:], k.end[1:], k.cum[1:]
	}
	k.start = append(k.start, from)
	k.end = append(k.end, at)
	k.cum = append(k.cum, held+at.Sub(from))
}

// heldBefore is the time held before t.
func (k *rulesClock) heldBefore(t time.Time) time.Duration {
	n := len(k.end)
	// i is the first finished hold that had not ended by t.
	i := sort.Search(n, func(i int) bool { return k.end[i].After(t) })
	held := k.base
	if i > 0 {
		held = k.cum[i-1]
	}
	if i < n && t.After(k.start[i]) {
		held += t.Sub(k.start[i])
	}
	if i == n && !k.since.IsZero() && t.After(k.since) {
		held += t.Sub(k.since)
	}
	return held
}

// elapsed is the time from from to to that was not held.
func (k *rulesClock) elapsed(from, to time.Time) time.Duration {
	d := to.Sub(from)
	if d <= 0 || (len(k.end) == 0 && k.since.IsZero()) {
		return d
	}
	return d - (k.heldBefore(to) - k.heldBefore(from))
}

// Hold stops the clock of the time-driven rules at at: from then until
// Resume, time does not count toward a frozen, stale or comm_loss limit,
// and so they raise nothing new, whether judged by Tick or on a reading.
// What is already raised stays; readings are applied as always (a value
// that changes still clears frozen, a reading still clears stale). Use it
// while the source is known to stand still on purpose (a simulator's
// paused clock). Holding while held does nothing. The last 1024 holds are
// remembered (a timer started before older ones counts them as running).
func (n *Normalizer) Hold(at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.clock.hold(at)
}

// Resume lets the rules' clock run again from at, the time held left out
// of every limit; without a Hold under way it does nothing.
func (n *Normalizer) Resume(at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.clock.resume(at)
}

// Held reports whether the rules' clock is held.
func (n *Normalizer) Held() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.clock.since.IsZero()
}

// since is the time from t to the step's time that counts toward a
// time-driven rule's limit: the held spans left out.
func (c *check) since(t time.Time) time.Duration { return c.n.clock.elapsed(t, c.now) }
