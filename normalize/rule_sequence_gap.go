package normalize

import (
	"fmt"

	"github.com/otwin/otwin/connectors"
)

// AlertSequenceGap is the alert of an endpoint whose OPC UA subscription
// missed notifications (Health.SequenceGaps grew).
const AlertSequenceGap AlertKind = "sequence_gap"

// sequenceGapRule raises sequence_gap on an endpoint whose
// Health.SequenceGaps grew since the previous observation, and clears it
// at the next observation without new gaps. No settings.
type sequenceGapRule struct {
	srcs []gapSource
}

type gapSource struct {
	gaps uint64 // at the previous observation
	seen bool   // there was one
}

func newSequenceGapRule() rule                   { return &sequenceGapRule{} }
func (*sequenceGapRule) kind() AlertKind         { return AlertSequenceGap }
func (*sequenceGapRule) severity() AlertSeverity { return SeverityLow }

func (r *sequenceGapRule) addSource(*sourceState, *Rules) { r.srcs = append(r.srcs, gapSource{}) }

func (r *sequenceGapRule) health(c *check, src *sourceState, h *connectors.Health) {
	g := &r.srcs[src.idx]
	switch {
	case g.seen && h.SequenceGaps > g.gaps:
		if !c.active(&src.subject) {
			c.raise(&src.subject, fmt.Sprintf("%d notifications missed (%d in total)", h.SequenceGaps-g.gaps, h.SequenceGaps))
		}
	default:
		c.clear(&src.subject)
	}
	g.gaps, g.seen = h.SequenceGaps, true
}
