package normalize

import (
	"testing"
	"time"
)

// TestRulesClock: the time between two instants less the held spans
// between them, with holds finished, under way, overlapping either end,
// nested calls and calls out of order.
func TestRulesClock(t *testing.T) {
	s := time.Second
	var k rulesClock
	k.hold(at(10 * s))
	k.hold(at(12 * s)) // already held: no-op
	k.resume(at(20 * s))
	k.resume(at(25 * s)) // not held: no-op
	k.hold(at(15 * s))   // before the last hold's end: from there
	k.resume(at(30 * s))
	k.hold(at(40 * s))
	k.resume(at(40 * s)) // empty: nothing held
	k.hold(at(50 * s))   // under way
	for _, c := range []struct {
		from, to, want time.Duration
	}{
		{0, 10 * s, 10 * s},
		{0, 15 * s, 10 * s},
		{0, 20 * s, 10 * s},
		{15 * s, 25 * s, 0},
		{5 * s, 35 * s, 10 * s},
		{20 * s, 45 * s, 15 * s},
		{35 * s, 60 * s, 15 * s},
		{55 * s, 70 * s, 0},
		{30 * s, 20 * s, -10 * s}, // backwards: as is
	} {
		if got := k.elapsed(at(c.from), at(c.to)); got != c.want {
			t.Errorf("elapsed %v..%v = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	k.resume(at(60 * s))
	if got := k.elapsed(at(45*s), at(70*s)); got != 15*s {
		t.Errorf("after the resume: %v, want 15s", got)
	}
	var none rulesClock
	if got := none.elapsed(at(0), at(7*s)); got != 7*s {
		t.Errorf("never held: %v", got)
	}
}

// TestRulesClockForgets: past maxHeldSpans holds the oldest are dropped;
// their time still counts for instants after them.
func TestRulesClockForgets(t *testing.T) {
	var k rulesClock
	for i := range maxHeldSpans + 10 {
		k.hold(at(time.Duration(2*i) * time.Second))
		k.resume(at(time.Duration(2*i+1) * time.Second))
	}
	if len(k.end) != maxHeldSpans {
		t.Fatalf("%d spans kept, want %d", len(k.end), maxHeldSpans)
	}
	end := at(time.Duration(2*(maxHeldSpans+10)) * time.Second)
	// From after the forgotten spans: exact.
	from := at(time.Duration(2*20) * time.Second)
	if got, want := k.elapsed(from, end), time.Duration(maxHeldSpans+10-20)*time.Second; got != want {
		t.Errorf("from the 20th: %v, want %v", got, want)
	}
	// From before them: the forgotten holds count as running.
	if got, want := k.elapsed(at(0), end), time.Duration(maxHeldSpans+10+10)*time.Second; got != want {
		t.Errorf("from the start: %v, want %v", got, want)
	}
}
