package normalize

import (
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestClockSkewRule(t *testing.T) {
	runRuleTests(t, AlertClockSkew, []ruleTest{
		{
			name: "per source", target: "s",
			steps: []ruleStep{
				{d: time.Minute, raw: 1.0, src: -2 * time.Second, want: never},
				{d: 2 * time.Minute, raw: 1.0, src: -7 * time.Second, want: raised},
				{d: 3 * time.Minute, raw: 1.0, want: cleared},
			},
			msg: "clock skew: source clock 7s behind on site/l/m/v (limit 5s)",
		},
		{
			name: "ahead", target: "s",
			steps: []ruleStep{
				{d: time.Minute, raw: 1.0, want: never},
				{d: 2 * time.Minute, raw: 1.0, src: 9 * time.Second, want: raised},
			},
			msg: "source clock 9s ahead",
		},
		{
			name: "off", cfg: pointCfg(&Rules{ClockSkew: -1}, 0), target: "s",
			steps: []ruleStep{{d: time.Minute, raw: 1.0, want: never}, {d: 2 * time.Minute, raw: 1.0, src: -time.Hour, want: never}},
		},
	})
}

// An unchanged value carries the time it last changed: the first
// notification of a subscription for a tag that has been steady for a
// minute is not clock skew, nor is a constant whose server timestamp is
// newer than its source time. A server timestamp, when present, is the
// reference for a fresh value; the endpoint's alert stays while any of its
// tags is skewed.
func TestClockSkewJudgesFreshValues(t *testing.T) {
	n := newN(t, Config{Points: []Point{
		{Source: "s", Address: "a", Asset: "site/m", Tag: "a"},
		{Source: "s", Address: "b", Asset: "site/m", Tag: "b"},
	}})
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	log := newCondLog(t)
	var out Output
	read := func(addr string, at, src, server time.Time) {
		n.Apply(connectors.Reading{Source: "s", Address: addr, Raw: 1.0, SourceTime: src, ServerTime: server, Received: at}, &out)
		log.take(&out)
	}
	state := func() condState { return log.state["clock_skew:s"] }

	read("a", t0, t0.Add(-time.Minute), time.Time{}) // steady for a minute, first sample
	read("b", t0, t0.Add(-time.Minute), t0)          // a constant the server took a minute later
	if st := state(); st != never {
		t.Fatalf("first samples of steady tags raised skew: %v", st)
	}
	read("a", t0.Add(time.Second), t0.Add(-time.Minute), time.Time{}) // same value re-read
	if st := state(); st != never {
		t.Fatalf("re-read of an unchanged value raised skew: %v", st)
	}
	read("a", t0.Add(2*time.Second), t0.Add(-8*time.Second), time.Time{}) // a new value, 10s late
	if st := state(); st != raised {
		t.Fatalf("fresh value 10s behind: %v, want raised", st)
	}
	// b's next change is 30s behind its server's timestamp.
	read("b", t0.Add(3*time.Second), t0.Add(-27*time.Second), t0.Add(3*time.Second))
	// a is back in step; the endpoint stays skewed because of b.
	read("a", t0.Add(5*time.Second), t0.Add(5*time.Second), time.Time{})
	if st := state(); st != raised {
		t.Fatalf("skew cleared while b is 30s off its server: %v", st)
	}
	read("b", t0.Add(6*time.Second), t0.Add(6*time.Second), t0.Add(6*time.Second))
	if st := state(); st != cleared {
		t.Fatalf("every tag back in step: %v, want cleared", st)
	}
}

// A device clock that steps back: its values are still new by the server's
// clock, so they are kept (not dropped as out of order) and the skew shows.
func TestClockStepBackKeepsDataAndShowsSkew(t *testing.T) {
	n := newN(t, Config{Points: []Point{{Source: "s", Address: "a", Asset: "site/m", Tag: "a"}}})
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	log := newCondLog(t)
	var out Output
	apply := func(v float64, src, srv time.Time) bool {
		ok := n.Apply(connectors.Reading{Source: "s", Address: "a", Raw: v, SourceTime: src, ServerTime: srv, Received: srv}, &out)
		log.take(&out)
		return ok
	}
	if !apply(1, t0, t0) || !apply(2, t0.Add(time.Second), t0.Add(time.Second)) {
		t.Fatal("in-step values dropped")
	}
	if !apply(3, t0.Add(-28*time.Second), t0.Add(2*time.Second)) {
		t.Fatalf("a value stamped 30s behind by a stepped-back clock was dropped (out of order: %d)", n.Stats().OutOfOrder)
	}
	if st := log.state["clock_skew:s"]; st != raised {
		t.Fatalf("clock skew %v, want raised", st)
	}
	if apply(4, t0.Add(-27*time.Second), t0.Add(time.Second+500*time.Millisecond)) {
		t.Fatal("a value older by the server's clock was kept")
	}
}
