package normalize

import (
	"fmt"
	"time"
)

// AlertCommLoss is the alert of an endpoint unanswered for its CommLoss
// limit. While it is active it is the only alert its tags raise.
const AlertCommLoss AlertKind = "comm_loss"

// commLossRule raises comm_loss on an endpoint lost (a link-down reading,
// a no-communication status while its link is not up, or a Health that is
// not Connected) for longer than its limit, saying why; the endpoint's
// return clears it at once. The limit is the smallest Rules.CommLoss of
// its points (default 5s). Time held (Normalizer.Hold) does not count.
type commLossRule struct {
	limit []time.Duration // per endpoint; <= 0: off
}

func newCommLossRule() rule                   { return &commLossRule{} }
func (*commLossRule) kind() AlertKind         { return AlertCommLoss }
func (*commLossRule) severity() AlertSeverity { return SeverityCritical }

func (r *commLossRule) addSource(_ *sourceState, defaults *Rules) {
	r.limit = append(r.limit, max(defaults.CommLoss, 0))
}

func (r *commLossRule) addTag(t *tagState, s *tagSettings) {
	l := &r.limit[t.src.idx]
	if s.eff.CommLoss > 0 && (*l <= 0 || s.eff.CommLoss < *l) {
		*l = s.eff.CommLoss
	}
}

func (r *commLossRule) link(c *check, src *sourceState) {
	if !src.down {
		c.clear(&src.subject)
	}
}

func (r *commLossRule) tick(c *check) {
	for _, src := range c.sources() {
		limit := r.limit[src.idx]
		if !src.down || limit <= 0 || c.active(&src.subject) {
			continue
		}
		if lost := c.since(src.downSince); lost >= limit {
			msg := fmt.Sprintf("no answer for %s (limit %s)", lost.Round(time.Millisecond), limit)
			if src.lastErr != "" {
				msg += ": " + src.lastErr
			}
			c.raise(&src.subject, msg)
		}
	}
}
