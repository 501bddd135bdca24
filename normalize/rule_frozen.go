package normalize

import (
	"fmt"
	"time"
)

// AlertFrozen is the alert of a tag whose good numeric value stays
// identical for its Frozen limit (a flatlined sensor).
const AlertFrozen AlertKind = "frozen"

// frozenRule raises frozen when the endpoint reported a tag's measured
// value identical for Rules.Frozen (default off): by readings of the same
// value (a polled device), or by progress marks (connectors.Reading.Mark)
// after it, which say the value held until the mark (a subscription,
// whose server sends nothing while a value holds). The mere absence of
// readings is no evidence — it may only mean the collector fell behind —
// so Tick judges a tag only up to its endpoint's last mark. A changed value
// clears it. While the tag's endpoint is lost nothing is judged, and an
// unchanged value is timed afresh from the endpoint's return. Time held
// (Normalizer.Hold) does not count.
type frozenRule struct {
	tags []frozenTag
}

type frozenTag struct {
	limit time.Duration // <= 0: off
	set   bool          // value and since hold
	value float64       // the value unchanged
	since time.Time     // since when
}

func newFrozenRule() rule                   { return &frozenRule{} }
func (*frozenRule) kind() AlertKind         { return AlertFrozen }
func (*frozenRule) severity() AlertSeverity { return SeverityMedium }

func (r *frozenRule) addTag(_ *tagState, s *tagSettings) {
	r.tags = append(r.tags, frozenTag{limit: s.eff.Frozen})
}

func (r *frozenRule) judge(c *check, t *tagState, rd *classified) {
	ft := &r.tags[t.idx]
	if ft.limit <= 0 || !rd.measured() {
		return
	}
	if !ft.set || rd.value != ft.value || ft.since.Before(t.src.upSince) {
		ft.set, ft.value, ft.since = true, rd.value, c.now
		c.clear(&t.subject)
		return
	}
	r.judgeAge(c, t, ft, c.now)
}

func (r *frozenRule) tick(c *check) {
	tags := c.tags()
	for i := range r.tags {
		ft := &r.tags[i]
		if ft.limit <= 0 || !ft.set {
			continue
		}
		if t := tags[i]; !t.src.down && !t.src.through.IsZero() && t.lastStatus.IsGood() && t.lastValue == ft.value {
			r.judgeAge(c, t, ft, t.src.through)
		}
	}
}

// judgeAge raises frozen on t once its value has been reported unchanged
// for the limit, as of at (counted from the endpoint's return at the
// earliest; time held left out).
func (r *frozenRule) judgeAge(c *check, t *tagState, ft *frozenTag, at time.Time) {
	since := ft.since
	if since.Before(t.src.upSince) {
		since = t.src.upSince
	}
	if age := c.n.clock.elapsed(since, at); age >= ft.limit && !c.active(&t.subject) {
		c.raise(&t.subject, fmt.Sprintf("value %s unchanged for %s (limit %s)", num(ft.value), age.Round(time.Millisecond), ft.limit))
	}
}
