package normalize

import (
	"fmt"
	"time"
)

// AlertFrozen is the alert of a tag whose good numeric value stays
// identical for its Frozen limit (a flatlined sensor).
const AlertFrozen AlertKind = "frozen"

// frozenRule raises frozen when a tag's measured value stays identical for
// Rules.Frozen (default off): seen on a reading, or by Tick when no
// reading comes. A changed value clears it. While the tag's endpoint is
// lost nothing is judged, and an unchanged value is timed afresh from the
// endpoint's return.
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
	r.judgeAge(c, t, ft)
}

func (r *frozenRule) tick(c *check) {
	tags := c.tags()
	for i := range r.tags {
		ft := &r.tags[i]
		if ft.limit <= 0 || !ft.set {
			continue
		}
		if t := tags[i]; !t.src.down && t.lastStatus.IsGood() && t.lastValue == ft.value {
			r.judgeAge(c, t, ft)
		}
	}
}

// judgeAge raises frozen on t once its value has been unchanged for the
// limit.
func (r *frozenRule) judgeAge(c *check, t *tagState, ft *frozenTag) {
	if age := c.now.Sub(ft.since); age >= ft.limit && !c.active(&t.subject) {
		c.raise(&t.subject, fmt.Sprintf("value %s unchanged for %s (limit %s)", num(ft.value), age.Round(time.Millisecond), ft.limit))
	}
}
