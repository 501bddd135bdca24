package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// OPC UA status codes (OPC UA Part 4 §7.39; the values match gopcua's
// ua.Status* constants) that the twin produces or a quality fault may
// name. Status 0 is Good; bits 31-30 are the severity: 00 Good,
// 01 Uncertain, 10 Bad.
const (
	StatusGood                                    uint32 = 0x00000000
	StatusUncertainSensorNotAccurate              uint32 = 0x40930000
	StatusUncertainLastUsableValue                uint32 = 0x40900000
	StatusUncertainEngineeringUnitsExceeded       uint32 = 0x40940000
	StatusUncertainNoCommunicationLastUsableValue uint32 = 0x408F0000
	StatusBadSensorFailure                        uint32 = 0x808C0000
	StatusBadDeviceFailure                        uint32 = 0x808B0000
	StatusBadNoCommunication                      uint32 = 0x80310000
	StatusBadCommunicationError                   uint32 = 0x80050000
	StatusBadOutOfService                         uint32 = 0x808D0000
	StatusBadConfigurationError                   uint32 = 0x80890000
	StatusBadWaitingForInitialData                uint32 = 0x80320000
	StatusBadNodeIDUnknown                        uint32 = 0x80340000
)

// statusNames maps the status names a scenario may use to their codes.
var statusNames = map[string]uint32{
	"Good":                                     StatusGood,
	"Uncertain_SensorNotAccurate":              StatusUncertainSensorNotAccurate,
	"Uncertain_LastUsableValue":                StatusUncertainLastUsableValue,
	"Uncertain_EngineeringUnitsExceeded":       StatusUncertainEngineeringUnitsExceeded,
	"Uncertain_NoCommunicationLastUsableValue": StatusUncertainNoCommunicationLastUsableValue,
	"Bad_SensorFailure":                        StatusBadSensorFailure,
	"Bad_DeviceFailure":                        StatusBadDeviceFailure,
	"Bad_NoCommunication":                      StatusBadNoCommunication,
	"Bad_CommunicationError":                   StatusBadCommunicationError,
	"Bad_OutOfService":                         StatusBadOutOfService,
	"Bad_ConfigurationError":                   StatusBadConfigurationError,
	"Bad_WaitingForInitialData":                StatusBadWaitingForInitialData,
	"Bad_NodeIdUnknown":                        StatusBadNodeIDUnknown,
	// More codes a quality fault may name (values checked against
	// gopcua's ua.Status* constants).
	"Bad":                             0x80000000,
	"Bad_UnexpectedError":             0x80010000,
	"Bad_InternalError":               0x80020000,
	"Bad_ResourceUnavailable":         0x80040000,
	"Bad_Timeout":                     0x800A0000,
	"Bad_Shutdown":                    0x800C0000,
	"Bad_ServerNotConnected":          0x800D0000,
	"Bad_NotReadable":                 0x803A0000,
	"Bad_NotWritable":                 0x803B0000,
	"Bad_OutOfRange":                  0x803C0000,
	"Bad_TypeMismatch":                0x80740000,
	"Bad_ServerHalted":                0x800E0000,
	"Bad_UserAccessDenied":            0x801F0000,
	"Bad_NodeIdInvalid":               0x80330000,
	"Bad_AttributeIdInvalid":          0x80350000,
	"Bad_IndexRangeInvalid":           0x80360000,
	"Bad_WriteNotSupported":           0x80730000,
	"Bad_NotConnected":                0x808A0000,
	"Bad_NoData":                      0x809B0000,
	"Bad_DataLost":                    0x809D0000,
	"Bad_DataUnavailable":             0x809E0000,
	"Bad_WaitingForResponse":          0x80B20000,
	"Uncertain":                       0x40000000,
	"Uncertain_SubstituteValue":       0x40910000,
	"Uncertain_InitialValue":          0x40920000,
	"Uncertain_SubNormal":             0x40950000,
	"Uncertain_DataSubNormal":         0x40A40000,
	"Uncertain_NotAllNodesAvailable":  0x40C00000,
	"Uncertain_DominantValueChanged":  0x40DE0000,
	"Uncertain_DependentValueChanged": 0x40E20000,
	"Uncertain_SimulatedValue":        0x42090000,
	"Uncertain_SensorCalibration":     0x420A0000,
	"Uncertain_ConfigurationError":    0x420F0000,
}

// ParseStatus parses an OPC UA status code given by name
// ("Bad_SensorFailure", case-insensitive, with or without the underscore)
// or number ("0x808C0000", "2156658688"). It is pure and safe for
// concurrent use; the error names the accepted names.
func ParseStatus(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty status")
	}
	if c := s[0]; c >= '0' && c <= '9' {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return 0, fmt.Errorf("status %q is not a 32-bit number", s)
		}
		return uint32(v), nil
	}
	norm := func(x string) string { return strings.ToLower(strings.ReplaceAll(x, "_", "")) }
	for name, code := range statusNames {
		if norm(name) == norm(s) {
			return code, nil
		}
	}
	return 0, fmt.Errorf("unknown status %q (use a number or one of %s)", s, strings.Join(StatusNames(), ", "))
}

// StatusName returns the name of code with the info bits masked, or its
// hexadecimal form when there is no name for it. Safe for concurrent use.
func StatusName(code uint32) string {
	masked := code & 0xFFFF0000
	for name, c := range statusNames {
		if c == masked {
			return name
		}
	}
	return fmt.Sprintf("0x%08X", code)
}

// StatusNames lists the status names ParseStatus accepts, sorted.
func StatusNames() []string {
	names := make([]string, 0, len(statusNames))
	for n := range statusNames {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
