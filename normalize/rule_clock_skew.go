package normalize

import (
	"fmt"
	"time"
)

// AlertClockSkew is the alert of an endpoint whose clock is off (source
// timestamps against the server's or the collector's time) by more than
// the ClockSkew limit of one of its tags.
const AlertClockSkew AlertKind = "clock_skew"

// clockSkewRule judges, per tag, the source time of each value whose
// source time moved: an unchanged value (the first notification of a
// subscription, a re-read, a constant) carries the time it last changed,
// which says how old it is, not how wrong the source clock is. Skew is the
// source time against the server's timestamp when the reading has one
// (stamped when the server took the change), else against the time
// received; a tag is skewed while it exceeds its Rules.ClockSkew (default
// 5s). The endpoint's alert is active while any of its tags is skewed.
type clockSkewRule struct {
	tags   []skewTag
	skewed []int // per endpoint: tags skewed now
}

type skewTag struct {
	limit  time.Duration // <= 0: off
	skewed bool
}

func newClockSkewRule() rule                   { return &clockSkewRule{} }
func (*clockSkewRule) kind() AlertKind         { return AlertClockSkew }
func (*clockSkewRule) severity() AlertSeverity { return SeverityLow }

func (r *clockSkewRule) addSource(*sourceState, *Rules) { r.skewed = append(r.skewed, 0) }

func (r *clockSkewRule) addTag(_ *tagState, s *tagSettings) {
	r.tags = append(r.tags, skewTag{limit: s.eff.ClockSkew})
}

func (r *clockSkewRule) judge(c *check, t *tagState, rd *classified) {
	st := &r.tags[t.idx]
	src := rd.sourceTime
	if st.limit <= 0 || src.IsZero() || t.lastSrc.IsZero() || src.Equal(t.lastSrc) {
		return
	}
	ref := rd.serverTime
	if ref.IsZero() {
		ref = rd.received
	}
	if ref.IsZero() {
		return
	}
	skew := ref.Sub(src)
	dir := "behind"
	if skew < 0 {
		skew, dir = -skew, "ahead"
	}
	n := &r.skewed[t.src.idx]
	switch over := skew > st.limit; {
	case over && !st.skewed:
		st.skewed = true
		*n++
		if !c.active(&t.src.subject) {
			c.raise(&t.src.subject, fmt.Sprintf("clock skew: source clock %s %s on %s (limit %s)", skew.Round(time.Millisecond), dir, t.id, st.limit))
		}
	case !over && st.skewed:
		st.skewed = false
		*n--
		if *n == 0 {
			c.clear(&t.src.subject)
		}
	}
}
