package normalize

import (
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestUncertainRule(t *testing.T) {
	runRuleTests(t, AlertUncertain, []ruleTest{
		{
			name: "from the device",
			steps: []ruleStep{
				{d: 0, raw: 1.0, status: connectors.UncertainSensorNotAccurate, want: raised},
				{d: time.Second, raw: 1.0, want: cleared},
			},
			msg: "uncertain quality: Uncertain_SensorNotAccurate",
		},
		{
			name: "not for the normalizer's own",
			steps: []ruleStep{
				{d: 0, raw: 150.0, want: never}, // Uncertain_EngineeringUnitsExceeded
				{d: time.Second, raw: 1.0, want: never},
				{d: 2 * time.Second, status: connectors.BadNoCommunication, lost: true, want: never},
			},
		},
	})
}
