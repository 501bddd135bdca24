package normalize

import (
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestStaleRule(t *testing.T) {
	runRuleTests(t, AlertStale, []ruleTest{
		{
			name: "from the poll interval", cfg: pointCfg(nil, time.Second),
			steps: []ruleStep{
				{d: 0, tick: true, want: never},
				{d: time.Second, raw: 1.0, want: never},
				{d: 5 * time.Second, tick: true, want: never},
				{d: 7 * time.Second, tick: true, want: raised},
				{d: 8 * time.Second, raw: 2.0, want: cleared},
			},
			msg: "no update for 6s (limit 5s)",
		},
		{
			// Readings still on their way to the normalizer are no
			// fault of the device: the age leaves the backlog out.
			name: "leaves out the collector's backlog", cfg: pointCfg(nil, time.Second),
			steps: []ruleStep{
				{d: 0, tick: true, want: never},
				{d: time.Second, raw: 1.0, want: never},
				{d: 2 * time.Second, health: &connectors.Health{Source: "s", State: connectors.Connected, Backlog: 3 * time.Second}, want: never},
				{d: 9 * time.Second, tick: true, want: never},
				{d: 10 * time.Second, tick: true, want: raised},
			},
			msg: "no update for 9s (limit 5s; the collector is 3s behind)",
		},
		{
			name: "held time left out", cfg: pointCfg(&Rules{Stale: 5 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, tick: true, want: never},
				{d: time.Second, raw: 1.0, want: never},
				{d: 3 * time.Second, hold: true, want: never},
				{d: 60 * time.Second, tick: true, want: never},
				{d: 61 * time.Second, resume: true, want: never},
				{d: 64 * time.Second, tick: true, want: never},
				{d: 65 * time.Second, tick: true, want: raised},
			},
			msg: "no update for 6s (limit 5s)",
		},
		{
			name: "explicit, never read", cfg: pointCfg(&Rules{Stale: 2 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, tick: true, want: never},
				{d: 3 * time.Second, tick: true, want: raised},
			},
			msg: "no reading since start",
		},
		{
			name: "off for event-driven points", cfg: pointCfg(nil, 0),
			steps: []ruleStep{{d: 0, tick: true, want: never}, {d: time.Hour, tick: true, want: never}},
		},
		{
			// An OPC UA connector sends one link-down reading per outage:
			// the silence that follows is the endpoint's, and the age
			// counts again from its return.
			name: "not while the endpoint is lost", cfg: pointCfg(&Rules{Stale: 2 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, tick: true, want: never},
				{d: time.Second, raw: 1.0, want: never},
				{d: 2 * time.Second, lost: true, want: never},
				{d: time.Minute, tick: true, want: never},
				{d: 61 * time.Second, raw: 2.0, want: never},
				{d: 62 * time.Second, tick: true, want: never},
				{d: 64 * time.Second, tick: true, want: raised},
			},
			msg: "no update for 3s (limit 2s)",
		},
		{
			name: "held while the endpoint is lost", cfg: pointCfg(&Rules{Stale: 2 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, tick: true, want: never},
				{d: time.Second, raw: 1.0, want: never},
				{d: 4 * time.Second, tick: true, want: raised},
				{d: 5 * time.Second, lost: true, want: raised},
				{d: 30 * time.Second, raw: 1.0, want: cleared},
			},
		},
	})
}

func TestStaleSample(t *testing.T) {
	n := newN(t, Config{Points: []Point{{Source: "s", Address: "v", Asset: "a", Tag: "v", Interval: time.Second}}})
	var out Output
	n.Tick(at(0), &out)
	n.Apply(rd("s", "v", 4.0, nil, time.Second), &out)
	out.Reset()
	n.Tick(at(10*time.Second), &out)
	if len(out.Samples) != 1 {
		t.Fatalf("got %d samples", len(out.Samples))
	}
	s := out.Samples[0]
	if s.Status != connectors.UncertainLastUsableValue || s.Value != 4 || s.Seq != 2 || !s.SourceTime.Equal(at(time.Second)) ||
		s.Err != "no update for 9s (limit 5s)" {
		t.Fatalf("%+v", s)
	}
	out.Reset()
	if n.Tick(at(20*time.Second), &out); len(out.Samples) != 0 {
		t.Fatalf("stale sample repeated: %+v", out.Samples)
	}
}
