package normalize

import (
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestSequenceGapRule(t *testing.T) {
	h := func(gaps uint64) *connectors.Health {
		return &connectors.Health{Source: "s", State: connectors.Connected, SequenceGaps: gaps}
	}
	runRuleTests(t, AlertSequenceGap, []ruleTest{
		{
			name: "gaps grow", target: "s",
			steps: []ruleStep{
				{d: 0, health: h(0), want: never},
				{d: time.Second, health: h(3), want: raised},
				{d: 2 * time.Second, health: h(3), want: cleared},
				{d: 3 * time.Second, health: h(4), want: raised},
			},
			msg: "3 notifications missed (3 in total)",
		},
		{
			name: "gaps before the first observation do not count", target: "s",
			steps: []ruleStep{{d: 0, health: h(7), want: never}, {d: time.Second, health: h(7), want: never}},
		},
	})
}
