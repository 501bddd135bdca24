// Package memlimit keeps a process's memory close to what its heap holds.
// With the Go runtime's default pacing a heap grows to twice what is live
// before a collection, and the pages it used stay resident; a process
// holding 500 MB then sits near 1 GB. Follow sets the runtime's soft
// memory limit to the live heap plus a headroom, again and again as the
// live heap changes, so the heap is collected before it grows far past
// what it holds and the runtime hands the rest back to the operating
// system; the default pacing still applies below the limit. It imports
// nothing of otwin, so both halves use it.
package memlimit

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Policy is how much room the heap gets above what is live.
type Policy struct {
	// Floor is the lowest limit ever set: below it the default pacing
	// alone rules, and a small process pays nothing.
	Floor int64
	// Headroom is the room above the live heap, at least MinHeadroom and
	// at least Fraction of the live heap.
	MinHeadroom int64
	Fraction    float64
	// Ceiling, when positive, is the highest limit ever set.
	Ceiling int64
	// Every is how often the live heap is read. Default 1 s.
	Every time.Duration
}

// Limit is the soft limit the policy sets for a live heap of live bytes
// and other bytes of runtime memory that are not heap (stacks, the
// collector's metadata).
func (p Policy) Limit(live, other int64) int64 {
	room := max(p.MinHeadroom, int64(float64(live)*p.Fraction))
	limit := max(p.Floor, live+room+other)
	if p.Ceiling > 0 {
		limit = min(limit, p.Ceiling)
	}
	return limit
}

// Follow sets the soft memory limit from p now and then every p.Every
// until done closes, and reports whether it does: it does nothing when
// the GOMEMLIMIT environment variable is set (the user's limit rules).
func Follow(p Policy, done <-chan struct{}) bool {
	if os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	every := p.Every
	if every <= 0 {
		every = time.Second
	}
	set := func() { debug.SetMemoryLimit(p.Limit(read())) }
	set()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				set()
			}
		}
	}()
	return true
}

// names are the runtime metrics read: the heap live after the last
// collection, all the memory the runtime maps, and its heap classes.
var names = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// read returns the live heap and the runtime's memory that is not heap.
func read() (live, other int64) {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := make([]int64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	return v[0], max(0, v[1]-v[2]-v[3]-v[4]-v[5])
}
