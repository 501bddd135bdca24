package scenarios

import (
	"fmt"
	"strings"

	"github.com/otwin/otwin/statuscode"
)

// OPC UA status codes the twin produces or a quality fault names, as
// uint32 (the values are package statuscode's, the one table both halves
// use). Status 0 is Good; bits 31-30 are the severity: 00 Good,
// 01 Uncertain, 10 Bad.
const (
	StatusGood                                    = uint32(statuscode.Good)
	StatusUncertainSensorNotAccurate              = uint32(statuscode.UncertainSensorNotAccurate)
	StatusUncertainLastUsableValue                = uint32(statuscode.UncertainLastUsableValue)
	StatusUncertainEngineeringUnitsExceeded       = uint32(statuscode.UncertainEngineeringUnitsExceeded)
	StatusUncertainNoCommunicationLastUsableValue = uint32(statuscode.UncertainNoCommunicationLastUsableValue)
	StatusBadSensorFailure                        = uint32(statuscode.BadSensorFailure)
	StatusBadDeviceFailure                        = uint32(statuscode.BadDeviceFailure)
	StatusBadNoCommunication                      = uint32(statuscode.BadNoCommunication)
	StatusBadCommunicationError                   = uint32(statuscode.BadCommunicationError)
	StatusBadOutOfService                         = uint32(statuscode.BadOutOfService)
	StatusBadConfigurationError                   = uint32(statuscode.BadConfigurationError)
	StatusBadWaitingForInitialData                = uint32(statuscode.BadWaitingForInitialData)
	StatusBadNodeIDUnknown                        = uint32(statuscode.BadNodeIDUnknown)
)

// ParseStatus parses an OPC UA status code given by name
// ("Bad_SensorFailure", case-insensitive, with or without the underscore)
// or number ("0x808C0000", "2156658688"), see statuscode.Parse. It is pure
// and safe for concurrent use; the error names the accepted names.
func ParseStatus(s string) (uint32, error) {
	if strings.TrimSpace(s) == "" {
		return 0, fmt.Errorf("empty status")
	}
	c, ok := statuscode.Parse(s)
	if !ok {
		if d := s[0]; d >= '0' && d <= '9' {
			return 0, fmt.Errorf("status %q is not a 32-bit number", s)
		}
		return 0, fmt.Errorf("unknown status %q (use a number or one of %s)", s, strings.Join(StatusNames(), ", "))
	}
	return uint32(c), nil
}

// StatusName returns the name of code with the info bits masked, or its
// hexadecimal form when there is no name for it. Safe for concurrent use.
func StatusName(code uint32) string {
	if n, ok := statuscode.Lookup(statuscode.Code(code)); ok {
		return n
	}
	return fmt.Sprintf("0x%08X", code)
}

// StatusNames lists the status names ParseStatus accepts, sorted.
func StatusNames() []string { return statuscode.Names() }
