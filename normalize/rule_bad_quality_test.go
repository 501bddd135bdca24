package normalize

import (
	"errors"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestBadQualityRule(t *testing.T) {
	connected := &connectors.Health{Source: "s", State: connectors.Connected}
	runRuleTests(t, AlertBadQuality, []ruleTest{
		{
			name: "a bad status",
			steps: []ruleStep{
				{d: 0, raw: 1.0, want: never},
				{d: time.Second, status: connectors.BadSensorFailure, want: raised},
				{d: 2 * time.Second, raw: 1.0, want: cleared},
			},
			msg: "bad quality: Bad_SensorFailure",
		},
		{
			name: "a failed request is per tag",
			steps: []ruleStep{
				{d: 0, status: errors.New("read holding 3 on s: i/o timeout"), want: raised},
				{d: 10 * time.Second, tick: true, want: raised},
			},
			msg: "i/o timeout",
		},
		{
			name: "no communication behind a connected endpoint is per tag",
			steps: []ruleStep{
				{d: 0, health: connected, want: never},
				{d: time.Second, raw: 1.0, want: never},
				{d: 2 * time.Second, status: connectors.BadNoCommunication, want: raised},
				{d: 3 * time.Second, raw: 1.0, want: cleared},
			},
			msg: "no communication behind s: Uncertain_NoCommunicationLastUsableValue",
		},
		{
			name: "not for a lost endpoint",
			steps: []ruleStep{
				{d: 0, health: connected, want: never},
				{d: time.Second, raw: 1.0, want: never},
				{d: 2 * time.Second, status: connectors.BadNoCommunication, lost: true, want: never},
				{d: 10 * time.Second, tick: true, want: never},
				{d: 11 * time.Second, raw: 1.0, want: never},
			},
		},
		{
			name:  "not for a decode error",
			steps: []ruleStep{{d: 0, status: connectors.BadDecodingError, want: never}},
		},
		{
			name: "held while the endpoint is lost",
			steps: []ruleStep{
				{d: 0, status: connectors.BadSensorFailure, want: raised},
				{d: time.Second, status: connectors.BadNoCommunication, lost: true, want: raised},
				{d: time.Minute, raw: 2.0, want: cleared},
			},
		},
	})
}
