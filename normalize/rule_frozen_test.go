package normalize

import (
	"testing"
	"time"
)

func TestFrozenRule(t *testing.T) {
	runRuleTests(t, AlertFrozen, []ruleTest{
		{
			name: "on readings and ticks", cfg: pointCfg(&Rules{Frozen: 10 * time.Second}, 0),
			steps: []ruleStep{
				{d: 0, raw: 5.0, want: never},
				{d: 5 * time.Second, raw: 5.0, want: never},
				{d: 10 * time.Second, raw: 5.0, want: raised},
				{d: 11 * time.Second, raw: 6.0, want: cleared},
				{d: 30 * time.Second, tick: true, want: raised},
			},
			msg: "value 5 unchanged for 10s (limit 10s)",
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
				{d: 29 * time.Second, tick: true, want: never},
				{d: 30 * time.Second, tick: true, want: raised},
			},
		},
	})
}
