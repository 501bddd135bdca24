package opcua

import (
	"time"

	"github.com/gopcua/opcua/ua"
)

// maxRepublish caps how many missing notifications one gap asks the
// server to retransmit; larger gaps are counted, not recovered.
const maxRepublish = 64

// maxRecovered bounds the numbers remembered as recovered by Republish.
const maxRecovered = 1024

// nextSeq is the number after s.
func nextSeq(s uint32) uint32 {
	if s == 0xFFFFFFFF {
		return 1
	}
	return s + 1
}

// distance is how many numbers lie from a up to b (b excluded), skipping
// 0; ok is false when b is before a (an old or repeated message).
func distance(a, b uint32) (n uint32, ok bool) {
	d := b - a
	if int32(d) < 0 {
		return 0, false
	}
	if b < a { // wrapped past 0, which is never used
		d--
	}
	return d, true
}

// inOrder puts one subscription's notification messages back in the order
// of their sequence numbers (OPC UA Part 4 §7.21) and finds the ones never
// received. Several Publish requests are in flight at once, and their
// responses, handed over in order by the client library, may reach the
// connector in another order: a message ahead of the next expected one is
// held until the ones before it come, or until it has waited for hold —
// then the numbers before it are a gap. Data messages consume a number; a
// keep-alive carries the number the next data message will have. Numbers
// run 1..2^32-1 and wrap to 1 (0 is never used). It is pure logic, not
// safe for concurrent use.
type inOrder struct {
	// next is the number of the next data message expected; 0 before the
	// first message.
	next uint32
	// held are the data messages ahead of next, by number.
	held map[uint32]*ua.NotificationMessage
	// promised is a number a keep-alive announced ahead of next (data
	// messages before it were sent); 0 when none.
	promised uint32
	// since is when the hole before the held messages or the promise
	// opened; zero when none is open.
	since time.Time
	// recovered are numbers released through Republish: the originals,
	// should they come late, are not delivered again.
	recovered map[uint32]bool
}

// open says messages are held or promised: the subscription is not
// current.
func (o *inOrder) open() bool { return len(o.held) > 0 || o.promised != 0 }

// data takes data message m, received at now, and returns the messages to
// process now, in order: m and the held ones that follow it, nothing
// while m waits for the ones before it. A message older than the next
// expected one is returned alone (late, it may still carry news), unless
// it was recovered before.
func (o *inOrder) data(m *ua.NotificationMessage, now time.Time) []*ua.NotificationMessage {
	seq := m.SequenceNumber
	if seq == 0 {
		return []*ua.NotificationMessage{m}
	}
	if o.next == 0 {
		o.next = seq
	}
	d, ahead := distance(o.next, seq)
	switch {
	case !ahead:
		if o.recovered[seq] {
			delete(o.recovered, seq)
			return nil
		}
		return []*ua.NotificationMessage{m}
	case d > 0:
		if o.held == nil {
			o.held = make(map[uint32]*ua.NotificationMessage)
		}
		o.held[seq] = m
		if o.since.IsZero() {
			o.since = now
		}
		return nil
	}
	o.next = nextSeq(seq)
	return o.release([]*ua.NotificationMessage{m})
}

// keepAlive records a keep-alive numbered seq (the next data message's
// number), received at now.
func (o *inOrder) keepAlive(seq uint32, now time.Time) {
	if seq == 0 {
		return
	}
	if o.next == 0 {
		o.next = seq
		return
	}
	if d, ahead := distance(o.next, seq); !ahead || d == 0 {
		return
	}
	if o.promised == 0 {
		o.promised = seq
	} else if _, later := distance(o.promised, seq); later {
		o.promised = seq
	}
	if o.since.IsZero() {
		o.since = now
	}
}

// release appends to out the held messages from next on, in order, and
// closes the hole when nothing is held or promised any more.
func (o *inOrder) release(out []*ua.NotificationMessage) []*ua.NotificationMessage {
	for {
		m, ok := o.held[o.next]
		if !ok {
			break
		}
		delete(o.held, o.next)
		out = append(out, m)
		o.next = nextSeq(o.next)
	}
	if o.promised != 0 {
		if _, ahead := distance(o.next, o.promised); !ahead || o.next == o.promised {
			o.promised = 0
		}
	}
	if !o.open() {
		o.since = time.Time{}
	}
	return out
}

// resolve gives up waiting once the hole has been open for hold at now:
// the numbers missing before the first held message (or the promised
// one) are asked of fetch, oldest first and at most maxRepublish of them
// (nil: not recovered), and the recovered messages and the held ones
// that follow are returned in order. missing counts the numbers of the
// gap, lost those not recovered.
func (o *inOrder) resolve(now time.Time, hold time.Duration, fetch func(seq uint32) *ua.NotificationMessage) (ready []*ua.NotificationMessage, missing, lost uint32) {
	if !o.open() || now.Sub(o.since) < hold {
		return nil, 0, 0
	}
	// The end of the gap: the first held message, else the promise.
	end, found := o.promised, o.promised != 0
	for seq := range o.held {
		if d, _ := distance(o.next, seq); !found || d < mustDistance(o.next, end) {
			end, found = seq, true
		}
	}
	missing = mustDistance(o.next, end)
	for k, seq := uint32(0), o.next; k < missing; k, seq = k+1, nextSeq(seq) {
		var m *ua.NotificationMessage
		if k < maxRepublish && fetch != nil {
			m = fetch(seq)
		}
		if m == nil {
			lost++
			continue
		}
		ready = append(ready, m)
		if len(o.recovered) >= maxRecovered {
			clear(o.recovered)
		}
		if o.recovered == nil {
			o.recovered = make(map[uint32]bool)
		}
		o.recovered[seq] = true
	}
	o.next = end
	o.since = time.Time{}
	ready = o.release(ready)
	if o.open() {
		o.since = now // a further hole: wait for it afresh
	}
	return ready, missing, lost
}

// mustDistance is distance for b not before a.
func mustDistance(a, b uint32) uint32 {
	d, _ := distance(a, b)
	return d
}
