package normalize

import (
	"fmt"
	"time"

	"github.com/otwin/otwin/connectors"
)

// AlertStale is the alert of a tag without an update for its Stale
// limit.
const AlertStale AlertKind = "stale"

// MinStale is the smallest automatic stale limit.
const MinStale = 5 * time.Second

// staleRule raises stale when Tick finds no update of a tag for
// Rules.Stale (default 3× its poll interval, at least MinStale; off for
// event-driven points unless set), and re-emits its last value as
// Uncertain_LastUsableValue. The first Tick starts the clock of tags never
// read. Any reading of the tag clears it. While the tag's endpoint is lost
// comm_loss speaks for it; the age counts again from its return. The age
// leaves out how far the collector is behind the endpoint
// (Health.Backlog): an update still on its way is no fault of the device.
// Time held (Normalizer.Hold) does not count.
type staleRule struct {
	tags []staleTag
	// backlog is each endpoint's Health.Backlog at its last observation.
	backlog []time.Duration
}

type staleTag struct {
	limit time.Duration // <= 0: off
	stale bool
}

func newStaleRule() rule                   { return &staleRule{} }
func (*staleRule) kind() AlertKind         { return AlertStale }
func (*staleRule) severity() AlertSeverity { return SeverityMedium }

func (r *staleRule) addTag(_ *tagState, s *tagSettings) {
	limit := s.eff.Stale
	if limit == 0 && s.interval > 0 {
		limit = max(3*s.interval, MinStale)
	}
	r.tags = append(r.tags, staleTag{limit: limit})
}

func (r *staleRule) addSource(*sourceState, *Rules) { r.backlog = append(r.backlog, 0) }

func (r *staleRule) health(_ *check, src *sourceState, h *connectors.Health) {
	r.backlog[src.idx] = h.Backlog
}

func (r *staleRule) fresh(c *check, t *tagState) {
	if st := &r.tags[t.idx]; st.stale {
		st.stale = false
		c.clear(&t.subject)
	}
}

func (r *staleRule) tick(c *check) {
	tags := c.tags()
	for i := range r.tags {
		st := &r.tags[i]
		if st.limit <= 0 || st.stale {
			continue
		}
		t := tags[i]
		if t.src.down {
			continue
		}
		last := t.lastUpdate
		if t.src.upSince.After(last) {
			last = t.src.upSince
		}
		if last.IsZero() {
			last = c.started()
		}
		age, behind := c.since(last), r.backlog[t.src.idx]
		if age-behind <= st.limit {
			continue
		}
		st.stale = true
		var msg string
		if t.emitted {
			msg = fmt.Sprintf("no update for %s (limit %s", age.Round(time.Millisecond), st.limit)
		} else {
			msg = fmt.Sprintf("no reading since start %s ago (limit %s", age.Round(time.Millisecond), st.limit)
		}
		if behind > 0 {
			msg += fmt.Sprintf("; the collector is %s behind", behind.Round(time.Millisecond))
		}
		msg += ")"
		c.raise(&t.subject, msg)
		c.lastUsable(t, msg)
	}
}
