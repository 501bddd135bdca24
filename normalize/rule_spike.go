package normalize

import (
	"fmt"
	"math"
)

// AlertSpike is the alert of a tag whose value jumps between two good
// values by more than its Spike limit.
const AlertSpike AlertKind = "spike"

// spikeRule raises spike when a measured value differs from the last good
// one by more than Rules.Spike: a fraction of the range, or an absolute
// change on a tag without a range when the point's own rules set Spike
// (counters and free-running values would otherwise trip a fraction meant
// for ranges). The next measured value within the limit clears it. A
// value whose status says the server's queue overflowed before it (values
// between the two were lost) is no jump the server saw: it is not judged.
type spikeRule struct {
	tags []spikeTag
}

type spikeTag struct {
	limit    float64 // <= 0: off
	absolute bool    // the point's own rules set it: absolute without a range
}

// infoOverflow are the info bits of an OPC UA status that says the
// monitored item's queue overflowed before this value (Part 4 §7.39:
// InfoType DataValue and Overflow).
const infoOverflow = 0x0480

func newSpikeRule() rule                   { return &spikeRule{} }
func (*spikeRule) kind() AlertKind         { return AlertSpike }
func (*spikeRule) severity() AlertSeverity { return SeverityMedium }

func (r *spikeRule) addTag(_ *tagState, s *tagSettings) {
	r.tags = append(r.tags, spikeTag{limit: s.eff.Spike, absolute: s.own != nil && s.own.Spike > 0})
}

func (r *spikeRule) judge(c *check, t *tagState, rd *classified) {
	st := &r.tags[t.idx]
	if st.limit <= 0 || !rd.measured() || !t.hasGood || !(t.hasRange || st.absolute) || rd.orig&infoOverflow == infoOverflow {
		return
	}
	limit := st.limit
	if t.hasRange {
		limit *= t.rng.High - t.rng.Low
	}
	d := math.Abs(rd.value - t.good)
	switch {
	case d <= limit:
		c.clear(&t.subject)
	case !c.active(&t.subject):
		c.raise(&t.subject, fmt.Sprintf("jump of %s from %s to %s (limit %s)", num(d), num(t.good), num(rd.value), num(limit)))
	}
}
