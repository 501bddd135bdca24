package opcua

// maxRepublish caps how many missing notifications one gap asks the
// server to retransmit; larger gaps are counted, not recovered.
const maxRepublish = 64

// seqTracker follows the sequence numbers of one subscription's
// notification messages (OPC UA Part 4 §7.21) and finds the ones never
// received. Data messages consume a number; a keep-alive carries the
// number the next data message will have. Numbers run 1..2^32-1 and wrap
// to 1 (0 is never used). It is pure logic, not safe for concurrent use.
type seqTracker struct {
	// next is the expected number of the next data message; 0 before the
	// first message.
	next uint32
}

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

// observe records a message with number seq (keepAlive: a message without
// notifications) and returns how many data messages were skipped before
// it. Old or repeated numbers (a server replaying, or a republished
// message) return 0 and do not move the tracker back.
func (t *seqTracker) observe(seq uint32, keepAlive bool) (missing uint32) {
	if seq == 0 {
		return 0
	}
	if t.next == 0 {
		if keepAlive {
			t.next = seq
		} else {
			t.next = nextSeq(seq)
		}
		return 0
	}
	gap, ok := distance(t.next, seq)
	if !ok {
		return 0
	}
	if keepAlive {
		t.next = seq
	} else {
		t.next = nextSeq(seq)
	}
	return gap
}

// missingBefore lists up to max numbers of the gap of size n that ends
// just before seq, oldest first.
func missingBefore(seq, n uint32, max int) []uint32 {
	if n == 0 || max <= 0 {
		return nil
	}
	if int(n) > max {
		n = uint32(max)
	}
	out := make([]uint32, n)
	s := seq
	for i := int(n) - 1; i >= 0; i-- {
		if s == 1 {
			s = 0xFFFFFFFF
		} else {
			s--
		}
		out[i] = s
	}
	return out
}
