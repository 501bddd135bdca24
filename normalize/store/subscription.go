package store

import (
	"sort"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// Subscription delivers batches of changes to one consumer. Its goroutine
// owns and closes the channel.
type Subscription struct {
	st          *Store
	ch          chan Batch
	dirty       map[string]struct{}
	dirtyAlerts map[string]struct{}
	dirtyHealth map[string]struct{}
	dropped     uint64 // under st.mu
	stop        chan struct{}
	done        chan struct{}
	once        sync.Once
}

// Subscribe registers a subscriber. Its first batch carries the whole
// current state (every tag, alert and endpoint); later batches carry what
// changed. The subscriber must call Close.
func (s *Store) Subscribe() *Subscription {
	sub := &Subscription{
		st:          s,
		ch:          make(chan Batch, 1),
		dirty:       make(map[string]struct{}),
		dirtyAlerts: make(map[string]struct{}),
		dirtyHealth: make(map[string]struct{}),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		close(sub.ch)
		close(sub.done)
		sub.once.Do(func() { close(sub.stop) })
		return sub
	}
	for id := range s.tags {
		sub.dirty[id] = struct{}{}
	}
	for id := range s.alerts.byID {
		sub.dirtyAlerts[id] = struct{}{}
	}
	for id := range s.health {
		sub.dirtyHealth[id] = struct{}{}
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	go sub.run(s.cfg.FrameInterval)
	return sub
}

// C is the channel of batches; it is closed by Close (or the store's
// Close).
func (sub *Subscription) C() <-chan Batch { return sub.ch }

// Dropped returns how many sample updates this subscriber lost (see
// Batch.Dropped).
func (sub *Subscription) Dropped() uint64 {
	sub.st.mu.RLock()
	defer sub.st.mu.RUnlock()
	return sub.dropped
}

// Close stops the deliveries and closes C; it is idempotent and returns
// once the subscription's goroutine has exited.
func (sub *Subscription) Close() {
	sub.once.Do(func() { close(sub.stop) })
	<-sub.done
}

func (sub *Subscription) run(every time.Duration) {
	defer close(sub.done)
	defer close(sub.ch)
	defer func() {
		sub.st.mu.Lock()
		delete(sub.st.subs, sub)
		sub.st.mu.Unlock()
	}()
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-sub.stop:
			return
		case <-tk.C:
		}
		if len(sub.ch) == cap(sub.ch) {
			// The consumer has not taken the previous batch: keep
			// everything dirty, coalescing into the next frame.
			sub.st.skipped.Add(1)
			continue
		}
		b, ok := sub.collect()
		if !ok {
			continue
		}
		select {
		case sub.ch <- b:
		default: // cannot happen: only this goroutine sends
		}
	}
}

func (sub *Subscription) collect() (Batch, bool) {
	st := sub.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(sub.dirty) == 0 && len(sub.dirtyAlerts) == 0 && len(sub.dirtyHealth) == 0 {
		return Batch{}, false
	}
	var b Batch
	if len(sub.dirty) > 0 {
		b.Samples = make([]normalize.Sample, 0, len(sub.dirty))
		for id := range sub.dirty {
			if e, ok := st.tags[id]; ok {
				b.Samples = append(b.Samples, e.latest)
			}
		}
		clear(sub.dirty)
		sort.Slice(b.Samples, func(i, j int) bool { return b.Samples[i].ID < b.Samples[j].ID })
	}
	if len(sub.dirtyAlerts) > 0 {
		b.Alerts = make([]normalize.Alert, 0, len(sub.dirtyAlerts))
		for id := range sub.dirtyAlerts {
			b.Alerts = append(b.Alerts, *st.alerts.byID[id])
		}
		clear(sub.dirtyAlerts)
		sort.Slice(b.Alerts, func(i, j int) bool { return b.Alerts[i].ID < b.Alerts[j].ID })
	}
	if len(sub.dirtyHealth) > 0 {
		b.Health = make([]connectors.Health, 0, len(sub.dirtyHealth))
		for id := range sub.dirtyHealth {
			b.Health = append(b.Health, st.health[id])
		}
		clear(sub.dirtyHealth)
		sort.Slice(b.Health, func(i, j int) bool { return b.Health[i].Source < b.Health[j].Source })
	}
	b.Dropped = sub.dropped
	return b, true
}
