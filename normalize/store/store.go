// Package store is otwin's live store: the latest normalized sample and a
// short history per tag, the alerts, the endpoints' health, and a
// non-blocking fan-out to subscribers (the TUI, SSH sessions, exporters).
//
// The store alone owns the alert lifecycle (ISA-18.2 / OPC UA Part 9): the
// normalizer's rules feed it conditions (PublishConditions), users act on
// alerts (Act: acknowledge, shelve, unshelve, comment), timed shelves
// expire (Expire). Each transition is numbered, kept in a bounded log
// (AlertChanges, AlertHistory), handed to the journal (Config.Journal)
// and published once.
//
// A store can start from a previous run's alert state (Config.Restored,
// e.g. from alertdb): alerts come back as they were, acknowledged,
// shelved and commented. A restored active alert whose condition is
// raised again keeps its acknowledgement and shelve (a raise of an active
// alert changes nothing); one whose condition is neither raised nor
// cleared within Config.RestoreGrace of the first Expire (the pipeline's
// first tick) returns to normal through the lifecycle, as a clear would:
// ActiveAcked becomes Normal, ActiveUnacked becomes RTNUnacked and still
// waits for an acknowledgement, and a one-shot shelve ends. The clear's
// history entry says why. So no restored alert stays active on a stale
// condition.
//
// Publish never waits for a subscriber: it takes one short lock, updates
// the tag and marks it dirty for every subscriber. Each subscriber's own
// goroutine sends, on its frame timer, one Batch with the latest sample of
// every tag that changed since its previous batch. A subscriber that does
// not keep up skips frames; the tags stay dirty, so it loses intermediate
// values, never the latest, and the values it lost are counted.
package store

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// Defaults of Config.
const (
	DefaultHistory       = 300
	DefaultFrameInterval = 100 * time.Millisecond
)

// Config configures a Store.
type Config struct {
	// History is how many samples are kept per tag. Default 300.
	History int
	// FrameInterval is how often subscribers get a batch. Default 100ms.
	FrameInterval time.Duration
	// AlertHistory is how many alert transitions are kept. Default
	// DefaultAlertHistory.
	AlertHistory int
	// Now is the clock of user actions (Act). Default time.Now.
	Now func() time.Time
	// Journal, when set, receives every alert transition as it is made
	// (see Journal); alertdb.DB writes them to the data directory.
	Journal Journal
	// Restored, when set, is a previous run's alert state to start from
	// (see the package doc).
	Restored *Restored
	// RestoreGrace is how long after the first Expire a restored active
	// alert waits for its condition to be raised again before it returns
	// to normal. Default DefaultRestoreGrace; negative: it waits until
	// its condition clears.
	RestoreGrace time.Duration
}

// Batch is what a subscriber receives per frame.
type Batch struct {
	// Samples are the latest sample of each tag that changed since the
	// previous batch, sorted by ID.
	Samples []normalize.Sample
	// Alerts are the alerts that changed, in their latest state, sorted
	// by ID.
	Alerts []normalize.Alert
	// Health are the endpoints whose health changed, sorted by Source.
	Health []connectors.Health
	// Dropped counts, since Subscribe, the sample updates this subscriber
	// never received because a newer value of the same tag replaced them
	// before its next batch.
	Dropped uint64
}

// HistoryPoint is one kept sample of a tag.
type HistoryPoint struct {
	// Time is the sample's source time, or its received time when the
	// source has none.
	Time   time.Time
	Value  float64               // the sample's Value
	Status connectors.StatusCode // the sample's Status
}

type histPoint struct {
	t  int64
	v  float64
	st connectors.StatusCode
}

type entry struct {
	id     string
	latest normalize.Sample
	hist   []histPoint
	pos    int // next write when len(hist) == cap
}

func (e *entry) push(p histPoint, max int) {
	if n := len(e.hist); n > max {
		// The bound was lowered (KeepHistory): the newest max-1 and p.
		kept := make([]histPoint, 0, max)
		for i := n - max + 1; i < n; i++ {
			kept = append(kept, e.hist[(e.pos+i)%n])
		}
		e.hist, e.pos = append(kept, p), 0
		return
	}
	if len(e.hist) < max {
		if len(e.hist) == cap(e.hist) {
			// Grown as append would, but never past max: a full history
			// takes max points, not the next size up (64 for 41).
			// (In order from the oldest: a ring that turned under a lower
			// bound grows again when KeepHistory raises it.)
			n := len(e.hist)
			grown := make([]histPoint, n, min(max, 2*cap(e.hist)+4))
			for i := range n {
				grown[i] = e.hist[(e.pos+i)%n]
			}
			e.hist, e.pos = grown, 0
		}
		e.hist = append(e.hist, p)
		return
	}
	e.hist[e.pos] = p
	e.pos = (e.pos + 1) % max
}

// each calls f on the kept points, oldest first.
func (e *entry) each(f func(histPoint)) {
	n := len(e.hist)
	for i := 0; i < n; i++ {
		f(e.hist[(e.pos+i)%n])
	}
}

// Stats are the store's counters.
type Stats struct {
	// Published samples.
	Published uint64
	// Dropped sample updates, summed over subscribers (see
	// Batch.Dropped).
	Dropped uint64
	// Skipped frames: a subscriber had not taken its previous batch.
	Skipped uint64
	// Tags and Subscribers now.
	Tags, Subscribers int
}

// Store is the live store. All methods are safe for concurrent use;
// Publish, PublishConditions and SetHealth never block on subscribers.
type Store struct {
	cfg Config

	mu        sync.RWMutex
	tags      map[string]*entry
	order     []*entry // every entry; sorted by id when idsSorted
	idsSorted bool
	health    map[string]connectors.Health
	alerts    alertBook
	subs      map[*Subscription]struct{}
	closed    bool

	published atomic.Uint64
	dropped   atomic.Uint64
	skipped   atomic.Uint64
}

// New returns an empty store.
func New(cfg Config) *Store {
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	if cfg.FrameInterval <= 0 {
		cfg.FrameInterval = DefaultFrameInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{
		cfg:       cfg,
		tags:      make(map[string]*entry),
		idsSorted: true,
		health:    make(map[string]connectors.Health),
		alerts:    newAlertBook(cfg.AlertHistory, cfg.Journal, cfg.RestoreGrace),
		subs:      make(map[*Subscription]struct{}),
	}
	if cfg.Restored != nil {
		s.alerts.restore(cfg.Restored)
	}
	return s
}

// KeepHistory sets how many samples are kept per tag from now on (0:
// DefaultHistory); a tag that keeps more drops its oldest at its next
// sample. A collector whose history nobody shows (otwin watch
// --headless) keeps one.
func (s *Store) KeepHistory(n int) {
	if n <= 0 {
		n = DefaultHistory
	}
	s.mu.Lock()
	s.cfg.History = n
	s.mu.Unlock()
}

// Publish stores samples as the latest of their tags, appends them to the
// tags' history and marks them for every subscriber. It never blocks on a
// subscriber.
func (s *Store) Publish(samples ...normalize.Sample) {
	if len(samples) == 0 {
		return
	}
	var dropped uint64
	s.mu.Lock()
	for i := range samples {
		sm := &samples[i]
		e := s.tags[sm.ID]
		if e == nil {
			e = &entry{id: sm.ID}
			s.tags[sm.ID] = e
			s.order = append(s.order, e)
			s.idsSorted = false
		}
		e.latest = *sm
		t := sm.SourceTime
		if t.IsZero() {
			t = sm.Received
		}
		var ts int64
		if !t.IsZero() {
			ts = t.UnixNano()
		}
		e.push(histPoint{t: ts, v: sm.Value, st: sm.Status}, s.cfg.History)
		for sub := range s.subs {
			if _, ok := sub.dirty[sm.ID]; ok {
				sub.dropped++
				dropped++
			} else {
				sub.dirty[sm.ID] = struct{}{}
			}
		}
	}
	s.mu.Unlock()
	s.published.Add(uint64(len(samples)))
	if dropped > 0 {
		s.dropped.Add(dropped)
	}
}

// SetHealth records endpoints' health and marks it for every subscriber.
func (s *Store) SetHealth(hs ...connectors.Health) {
	s.mu.Lock()
	for _, h := range hs {
		s.health[h.Source] = h
		for sub := range s.subs {
			sub.dirtyHealth[h.Source] = struct{}{}
		}
	}
	s.mu.Unlock()
}

// Latest returns the latest sample of tag id.
func (s *Store) Latest(id string) (normalize.Sample, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.tags[id]
	if !ok {
		return normalize.Sample{}, false
	}
	return e.latest, true
}

func (s *Store) sortIDs() {
	if !s.idsSorted {
		sort.Slice(s.order, func(i, j int) bool { return s.order[i].id < s.order[j].id })
		s.idsSorted = true
	}
}

// Snapshot returns the latest sample of every tag, sorted by ID.
func (s *Store) Snapshot() []normalize.Sample { return s.SnapshotInto(nil) }

// SnapshotInto is Snapshot appending to dst[:0], to reuse its memory.
func (s *Store) SnapshotInto(dst []normalize.Sample) []normalize.Sample {
	s.mu.Lock() // sorting the ids writes
	defer s.mu.Unlock()
	s.sortIDs()
	dst = dst[:0]
	if cap(dst) < len(s.order) {
		dst = make([]normalize.Sample, 0, len(s.order))
	}
	for _, e := range s.order {
		dst = append(dst, e.latest)
	}
	return dst
}

// History appends to dst[:0] the kept measured values of tag id, oldest
// first: those of Number and Bool samples whose status is not Bad and not
// a re-emitted last usable value (Uncertain_LastUsableValue,
// Uncertain_NoCommunicationLastUsableValue).
func (s *Store) History(id string, dst []float64) []float64 {
	dst = dst[:0]
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.tags[id]
	if !ok || e.latest.Kind == normalize.Text {
		return dst
	}
	e.each(func(p histPoint) {
		if measured(p.st) {
			dst = append(dst, p.v)
		}
	})
	return dst
}

func measured(st connectors.StatusCode) bool {
	switch st & 0xFFFF0000 {
	case connectors.UncertainLastUsableValue, connectors.UncertainNoCommunicationLastUsableValue:
		return false
	}
	return !st.IsBad()
}

// HistorySamples returns every kept point of tag id, oldest first.
func (s *Store) HistorySamples(id string) []HistoryPoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.tags[id]
	if !ok {
		return nil
	}
	out := make([]HistoryPoint, 0, len(e.hist))
	e.each(func(p histPoint) {
		hp := HistoryPoint{Value: p.v, Status: p.st}
		if p.t != 0 {
			hp.Time = time.Unix(0, p.t).UTC()
		}
		out = append(out, hp)
	})
	return out
}

// Health returns every endpoint's latest health, sorted by Source.
func (s *Store) Health() []connectors.Health {
	s.mu.RLock()
	out := make([]connectors.Health, 0, len(s.health))
	for _, h := range s.health {
		out = append(out, h)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	st := Stats{Tags: len(s.tags), Subscribers: len(s.subs)}
	s.mu.RUnlock()
	st.Published = s.published.Load()
	st.Dropped = s.dropped.Load()
	st.Skipped = s.skipped.Load()
	return st
}

// Close closes every subscription; later Subscribe calls return closed
// subscriptions.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	subs := make([]*Subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.Close()
	}
}
