package normalize

import (
	"testing"
	"time"
)

func TestOutOfRangeRule(t *testing.T) {
	runRuleTests(t, AlertOutOfRange, []ruleTest{
		{
			name: "above and back",
			steps: []ruleStep{
				{d: 0, raw: 50.0, want: never},
				{d: time.Second, raw: 120.0, want: raised},
				{d: 2 * time.Second, raw: 90.0, want: cleared},
			},
			msg: "value 120 above high limit 100",
		},
		{
			name:  "below",
			steps: []ruleStep{{d: 0, raw: -3.5, want: raised}},
			msg:   "value -3.5 below low limit 0",
		},
		{
			// Clamp shows 120; the alert says what was read.
			name: "clamped: the message says the value read",
			cfg:  Config{Points: []Point{{Source: "s", Address: "v", Asset: "site/l/m", Tag: "v", Range: &Range{0, 120}, Clamp: true}}},
			steps: []ruleStep{
				{d: 0, raw: 130.0, want: raised},
				{d: time.Second, raw: 100.0, want: cleared},
			},
			msg: "value 130 above high limit 120",
		},
		{
			name: "held while the endpoint is lost",
			steps: []ruleStep{
				{d: 0, raw: 150.0, want: raised},
				{d: time.Second, lost: true, want: raised},
				{d: time.Minute, tick: true, want: raised},
				{d: 2 * time.Minute, raw: 50.0, want: cleared},
			},
		},
	})
}
