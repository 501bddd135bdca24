package normalize

import (
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestSpikeRule(t *testing.T) {
	runRuleTests(t, AlertSpike, []ruleTest{
		{
			name: "fraction of the range", cfg: pointCfg(&Rules{Spike: 0.2}, 0),
			steps: []ruleStep{
				{d: 0, raw: 10.0, want: never},
				{d: time.Second, raw: 25.0, want: never},
				{d: 2 * time.Second, raw: 60.0, want: raised},
				{d: 3 * time.Second, raw: 61.0, want: cleared},
			},
			msg: "jump of 35 from 25 to 60 (limit 20)",
		},
		{
			name: "absolute on a point without range",
			cfg:  Config{Points: []Point{{Source: "s", Address: "v", Asset: "site/l/m", Tag: "v", Rules: &Rules{Spike: 10}}}},
			steps: []ruleStep{
				{d: 0, raw: 100.0, want: never},
				{d: time.Second, raw: 105.0, want: never},
				{d: 2 * time.Second, raw: 120.0, want: raised},
			},
			msg: "jump of 15 from 105 to 120 (limit 10)",
		},
		{
			// The server's queue overflowed before 90: the values between
			// were lost, so the jump is none the server saw.
			name: "not across lost values", cfg: pointCfg(&Rules{Spike: 0.2}, 0),
			steps: []ruleStep{
				{d: 0, raw: 10.0, want: never},
				{d: time.Second, raw: 90.0, status: connectors.StatusCode(0x0480), want: never},
				{d: 2 * time.Second, raw: 91.0, want: never},
				{d: 3 * time.Second, raw: 10.0, want: raised},
			},
		},
		{
			name: "the default skips points without range",
			cfg:  Config{Defaults: Rules{Spike: 0.1}, Points: []Point{{Source: "s", Address: "v", Asset: "site/l/m", Tag: "v"}}},
			steps: []ruleStep{
				{d: 0, raw: 0.0, want: never},
				{d: time.Second, raw: 1000.0, want: never},
			},
		},
		{
			name: "disabled", cfg: pointCfg(&Rules{Spike: -1}, 0),
			steps: []ruleStep{{d: 0, raw: 0.0, want: never}, {d: time.Second, raw: 99.0, want: never}},
		},
	})
}
