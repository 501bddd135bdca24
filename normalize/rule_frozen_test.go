package normalize

import (
	"testing"
	"time"
)

func TestFrozenRule(t *testing.T) {
	runRuleTests(t, AlertFrozen, []ruleTest{
		{
			name: "on readings of the same value", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 5 * time.Second, raw: 5.0, want: never},
				{d: 10 * time.Second, raw: 5.0, want: raised},
				{d: 11 * time.Second, raw: 6.0, want: cleared},
			},
			msg: "value 5 unchanged for 10s (limit 10s)",
		},
		{
			// A subscription's server sends nothing while a value holds:
			// its progress marks say the value held until them.
			name: "on progress marks", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 9 * time.Second, mark: true, want: never},
				{d: 12 * time.Second, tick: true, want: never}, // the mark says 9s
				{d: 12 * time.Second, mark: true, want: never},
				{d: 12 * time.Second, tick: true, want: raised},
				{d: 13 * time.Second, raw: 6.0, want: cleared},
			},
			msg: "value 5 unchanged for 12s (limit 10s)",
		},
		{
			// No reading is no evidence: the collector may have fallen
			// behind an endpoint that marks no progress.
			name: "not on the absence of readings", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 30 * time.Second, tick: true, want: never},
				{d: time.Hour, tick: true, want: never},
			},
		},
		{
			name: "off by default", cfg: pointCfg(nil, 0),
			steps: []ruleStep{{d: 0, raw: 5.0, want: never}, {d: time.Hour, raw: 5.0, want: never}, {d: 2 * time.Hour, tick: true, want: never}},
		},
		{
			// Nothing is known of the value while the endpoint is lost: the
			// same value after its return is timed afresh.
			name: "timed afresh after the endpoint's return", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 5 * time.Second, lost: true, want: never},
				{d: 15 * time.Second, tick: true, want: never},
				{d: 20 * time.Second, raw: 5.0, want: never},
				{d: 29 * time.Second, mark: true, want: never},
				{d: 29 * time.Second, tick: true, want: never},
				{d: 30 * time.Second, mark: true, want: never},
				{d: 30 * time.Second, tick: true, want: raised},
			},
		},
		{
			// A mark from before the outage says nothing of the value
			// after it.
			name: "marks count from the endpoint's return", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 5 * time.Second, mark: true, want: never},
				{d: 6 * time.Second, lost: true, want: never},
				{d: 7 * time.Second, raw: 5.0, want: never},
				{d: 16 * time.Second, mark: true, want: never},
				{d: 16 * time.Second, tick: true, want: never},
				{d: 17 * time.Second, mark: true, want: never},
				{d: 17 * time.Second, tick: true, want: raised},
			},
		},
		{
			// A source standing still on purpose (a paused simulator): the
			// held time does not count; the time
			// before and after the hold does.
			name: "held time left out", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 4 * time.Second, hold: true, want: never},
				{d: 30 * time.Second, raw: 5.0, want: never},
				{d: 40 * time.Second, tick: true, want: never},
				{d: 45 * time.Second, resume: true, want: never},
				{d: 50 * time.Second, raw: 5.0, want: never},
				{d: 51 * time.Second, raw: 5.0, want: raised},
			},
			msg: "value 5 unchanged for 10s (limit 10s)",
		},
		{
			// A hold does not clear what is raised; a change still does.
			name: "raised before the hold stays, a change clears it", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 10 * time.Second, raw: 5.0, want: raised},
				{d: 11 * time.Second, hold: true, want: raised},
				{d: 20 * time.Second, raw: 6.0, want: cleared},
				{d: 40 * time.Second, raw: 6.0, want: cleared},
			},
		},
	})
}
