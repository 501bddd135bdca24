package normalize

import (
	"fmt"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestDecodeRule(t *testing.T) {
	runRuleTests(t, AlertDecode, []ruleTest{
		{
			name: "decoding error",
			steps: []ruleStep{
				{d: 0, status: connectors.BadDecodingError, want: raised},
				{d: time.Second, raw: 1.0, want: cleared},
				{d: 2 * time.Second, status: connectors.BadConfigurationError, want: raised},
			},
			msg: "Bad_DecodingError",
		},
		{
			name: "says why",
			steps: []ruleStep{
				{d: 0, status: fmt.Errorf("read holding 4 on s: exception 2 (illegal data address): %w", connectors.BadConfigurationError), want: raised},
			},
			msg: "Bad_ConfigurationError: read holding 4 on s: exception 2 (illegal data address)",
		},
		{
			name:  "a value of no known type",
			steps: []ruleStep{{d: 0, raw: struct{}{}, want: raised}},
			msg:   "Bad_TypeMismatch: unsupported value type struct {}",
		},
	})
}
