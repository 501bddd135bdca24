package normalize

import (
	"fmt"
	"time"

	"github.com/otwin/otwin/connectors"
)

// AlertCollectorBehind is the alert of an endpoint the collector has
// fallen behind (Health.Backlog): its changes reach the store late, and
// some may be lost, until it catches up. It speaks of the collector, not
// of the endpoint's data: while it is active, no rule blames a device for
// what the collector has not taken yet.
const AlertCollectorBehind AlertKind = "collector_behind"

// Thresholds of collector_behind.
const (
	// BehindLimit is how far behind an endpoint the collector may fall
	// before it says so.
	BehindLimit = 5 * time.Second
	// behindFor is how long the backlog must stay above BehindLimit: the
	// first values of a large endpoint come all at once.
	behindFor = 10 * time.Second
	// behindCalm is how long the backlog must stay under half the limit
	// before the alert clears, so that it is said once, not at every
	// swing.
	behindCalm = 30 * time.Second
)

// behindRule raises collector_behind on an endpoint whose Health.Backlog
// stayed above BehindLimit for behindFor, saying by how much, and clears
// it once the backlog has stayed under half the limit for behindCalm. No
// settings.
type behindRule struct {
	srcs []behindSource
}

type behindSource struct {
	over time.Time // since when the backlog is above the limit
	calm time.Time // since when it is under half the limit, while active
}

func newBehindRule() rule                   { return &behindRule{} }
func (*behindRule) kind() AlertKind         { return AlertCollectorBehind }
func (*behindRule) severity() AlertSeverity { return SeverityHigh }

func (r *behindRule) addSource(*sourceState, *Rules) { r.srcs = append(r.srcs, behindSource{}) }

func (r *behindRule) health(c *check, src *sourceState, h *connectors.Health) {
	b := &r.srcs[src.idx]
	switch {
	case h.Backlog > BehindLimit:
		b.calm = time.Time{}
		if b.over.IsZero() {
			b.over = c.now
		}
		if !c.active(&src.subject) && c.now.Sub(b.over) >= behindFor {
			c.raise(&src.subject, fmt.Sprintf("the collector is %s behind this endpoint (for %s): its changes come late and may be lost until it catches up",
				h.Backlog.Round(100*time.Millisecond), c.now.Sub(b.over).Round(time.Second)))
		}
	case h.Backlog <= BehindLimit/2:
		b.over = time.Time{}
		if !c.active(&src.subject) {
			break
		}
		if b.calm.IsZero() {
			b.calm = c.now
		}
		if c.now.Sub(b.calm) >= behindCalm {
			b.calm = time.Time{}
			c.clear(&src.subject)
		}
	default:
		b.over, b.calm = time.Time{}, time.Time{}
	}
}
