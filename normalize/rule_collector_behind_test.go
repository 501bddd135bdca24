package normalize

import (
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestCollectorBehindRule(t *testing.T) {
	h := func(backlog time.Duration) *connectors.Health {
		return &connectors.Health{Source: "s", State: connectors.Connected, Backlog: backlog}
	}
	runRuleTests(t, AlertCollectorBehind, []ruleTest{
		{
			name: "said once, after it lasted", target: "s",
			steps: []ruleStep{
				{d: 0, health: h(0), want: never},
				{d: time.Second, health: h(6 * time.Second), want: never},
				{d: 6 * time.Second, health: h(8 * time.Second), want: never},
				{d: 11 * time.Second, health: h(9 * time.Second), want: raised},
				{d: 12 * time.Second, health: h(time.Second), want: raised},
				{d: 20 * time.Second, health: h(4 * time.Second), want: raised}, // above half the limit: not calm
				{d: 21 * time.Second, health: h(time.Second), want: raised},
				{d: 50 * time.Second, health: h(time.Second), want: raised},
				{d: 51 * time.Second, health: h(0), want: cleared},
			},
			msg: "the collector is 9s behind this endpoint (for 10s)",
		},
		{
			// The first values of a large endpoint come all at once.
			name: "not for a burst", target: "s",
			steps: []ruleStep{
				{d: 0, health: h(7 * time.Second), want: never},
				{d: 5 * time.Second, health: h(6 * time.Second), want: never},
				{d: 9 * time.Second, health: h(time.Second), want: never},
				{d: 15 * time.Second, health: h(6 * time.Second), want: never},
			},
		},
	})
}
