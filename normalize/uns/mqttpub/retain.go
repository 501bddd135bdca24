package mqttpub

import (
	"hash/fnv"
	"time"
)

// retainer decides, with Config.RetainInterval set, which samples are
// published retained. A tag's sample is retained when the tag's last
// retained publish is at least the interval old (the leading edge), and
// otherwise published without retain and kept as the tag's pending
// newest. A tag whose newest sample is pending while its retained one
// is twice the interval old has stopped changing that fast: tick
// publishes that newest sample again, retained (the trailing edge; live
// subscribers see it a second time, with the same seq). So a tag's
// retained message is never more than twice the interval behind its
// newest sample, and in steady state no sample is published twice: a
// tag changing faster than the interval meets the leading edge before
// twice the interval.
type retainer struct {
	every time.Duration
	tags  map[string]*retained // by sample id
}

// retained is a tag's retained state.
type retained struct {
	at      time.Time // when the tag was last published retained
	pending []byte    // the newest payload, published without retain; nil when the retained one is the newest
}

func newRetainer(every time.Duration) *retainer {
	if every <= 0 {
		return nil
	}
	return &retainer{every: every, tags: make(map[string]*retained)}
}

// take says whether the sample of tag id, about to be published now with
// payload, is published retained. A nil retainer retains every sample.
func (r *retainer) take(id string, payload []byte, now time.Time) bool {
	if r == nil {
		return true
	}
	t := r.tags[id]
	if t == nil {
		// A new tag is retained at once. Its next retained publish comes
		// a phase of its own earlier than the interval, so that tags that
		// appear together (every tag of a collector at its start) do not
		// reach the leading edge together for ever after.
		h := fnv.New64a()
		h.Write([]byte(id))
		r.tags[id] = &retained{at: now.Add(-time.Duration(h.Sum64() % uint64(r.every)))}
		return true
	}
	if now.Sub(t.at) >= r.every {
		t.at, t.pending = now, nil
		return true
	}
	t.pending = payload
	return false
}

// lost says the sample of tag id that take let go out retained was not
// published: payload becomes the tag's pending newest, due at the next
// flush.
func (r *retainer) lost(id string, payload []byte) {
	if r == nil {
		return
	}
	if t := r.tags[id]; t != nil {
		t.at, t.pending = time.Time{}, payload
	}
}

// flush publishes, retained, the pending newest sample of every tag whose
// retained one is twice the interval old, or of every tag with all (the
// publisher stops). It stops at the first send that fails (the buffer is
// filling, the connection is down): the rest wait for the next flush. It
// returns how many it published.
func (r *retainer) flush(now time.Time, all bool, send func(id string, payload []byte) bool) (n int) {
	if r == nil {
		return 0
	}
	for id, t := range r.tags {
		if t.pending == nil || (!all && now.Sub(t.at) < 2*r.every) {
			continue
		}
		if !send(id, t.pending) {
			return n
		}
		t.at, t.pending = now, nil
		n++
	}
	return n
}
