package connectors

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// StatusCode is an OPC UA StatusCode (OPC UA Part 4 §7.39), the quality of
// every value in otwin whatever its protocol. It is an error so that it
// can travel as Reading.Status. The top two bits give the severity: 00
// Good, 01 Uncertain, 10 Bad; classify with Severity, never by comparing
// to an exact value, since the low bits carry info flags.
type StatusCode uint32

// Status codes, the most common of OPC UA's (values as in the OPC UA
// specification's StatusCode.csv; TestStatusCodesMatchGopcua checks each
// against gopcua's table). Go names spell "Id" as "ID"; Name returns the
// specification's spelling, e.g. "Bad_NodeIdUnknown".
const (
	Good                                    StatusCode = 0x00000000
	GoodClamped                             StatusCode = 0x00300000
	GoodOverload                            StatusCode = 0x002F0000
	GoodLocalOverride                       StatusCode = 0x00960000
	GoodNoData                              StatusCode = 0x00A50000
	GoodMoreData                            StatusCode = 0x00A60000
	GoodSubscriptionTransferred             StatusCode = 0x002D0000
	GoodCompletesAsynchronously             StatusCode = 0x002E0000
	Uncertain                               StatusCode = 0x40000000
	UncertainReferenceOutOfServer           StatusCode = 0x406C0000
	UncertainNoCommunicationLastUsableValue StatusCode = 0x408F0000
	UncertainLastUsableValue                StatusCode = 0x40900000
	UncertainSubstituteValue                StatusCode = 0x40910000
	UncertainInitialValue                   StatusCode = 0x40920000
	UncertainSensorNotAccurate              StatusCode = 0x40930000
	UncertainEngineeringUnitsExceeded       StatusCode = 0x40940000
	UncertainSubNormal                      StatusCode = 0x40950000
	UncertainDataSubNormal                  StatusCode = 0x40A40000
	UncertainTransducerInManual             StatusCode = 0x42080000
	UncertainSimulatedValue                 StatusCode = 0x42090000
	UncertainSensorCalibration              StatusCode = 0x420A0000
	UncertainConfigurationError             StatusCode = 0x420F0000
	Bad                                     StatusCode = 0x80000000
	BadUnexpectedError                      StatusCode = 0x80010000
	BadInternalError                        StatusCode = 0x80020000
	BadOutOfMemory                          StatusCode = 0x80030000
	BadResourceUnavailable                  StatusCode = 0x80040000
	BadCommunicationError                   StatusCode = 0x80050000
	BadEncodingError                        StatusCode = 0x80060000
	BadDecodingError                        StatusCode = 0x80070000
	BadEncodingLimitsExceeded               StatusCode = 0x80080000
	BadUnknownResponse                      StatusCode = 0x80090000
	BadTimeout                              StatusCode = 0x800A0000
	BadServiceUnsupported                   StatusCode = 0x800B0000
	BadShutdown                             StatusCode = 0x800C0000
	BadServerNotConnected                   StatusCode = 0x800D0000
	BadServerHalted                         StatusCode = 0x800E0000
	BadNothingToDo                          StatusCode = 0x800F0000
	BadTooManyOperations                    StatusCode = 0x80100000
	BadCertificateInvalid                   StatusCode = 0x80120000
	BadSecurityChecksFailed                 StatusCode = 0x80130000
	BadUserAccessDenied                     StatusCode = 0x801F0000
	BadIdentityTokenInvalid                 StatusCode = 0x80200000
	BadIdentityTokenRejected                StatusCode = 0x80210000
	BadSecureChannelIDInvalid               StatusCode = 0x80220000
	BadSessionIDInvalid                     StatusCode = 0x80250000
	BadSessionClosed                        StatusCode = 0x80260000
	BadSessionNotActivated                  StatusCode = 0x80270000
	BadSubscriptionIDInvalid                StatusCode = 0x80280000
	BadRequestTimeout                       StatusCode = 0x80850000
	BadNoCommunication                      StatusCode = 0x80310000
	BadWaitingForInitialData                StatusCode = 0x80320000
	BadNodeIDInvalid                        StatusCode = 0x80330000
	BadNodeIDUnknown                        StatusCode = 0x80340000
	BadAttributeIDInvalid                   StatusCode = 0x80350000
	BadIndexRangeInvalid                    StatusCode = 0x80360000
	BadNotReadable                          StatusCode = 0x803A0000
	BadNotWritable                          StatusCode = 0x803B0000
	BadOutOfRange                           StatusCode = 0x803C0000
	BadNotSupported                         StatusCode = 0x803D0000
	BadNotFound                             StatusCode = 0x803E0000
	BadTypeMismatch                         StatusCode = 0x80740000
	BadTooManySessions                      StatusCode = 0x80560000
	BadTooManySubscriptions                 StatusCode = 0x80770000
	BadNoSubscription                       StatusCode = 0x80790000
	BadInvalidArgument                      StatusCode = 0x80AB0000
	BadConnectionRejected                   StatusCode = 0x80AC0000
	BadDisconnect                           StatusCode = 0x80AD0000
	BadConnectionClosed                     StatusCode = 0x80AE0000
	BadInvalidState                         StatusCode = 0x80AF0000
	BadConfigurationError                   StatusCode = 0x80890000
	BadNotConnected                         StatusCode = 0x808A0000
	BadDeviceFailure                        StatusCode = 0x808B0000
	BadSensorFailure                        StatusCode = 0x808C0000
	BadOutOfService                         StatusCode = 0x808D0000
	BadDeadbandFilterInvalid                StatusCode = 0x808E0000
	BadMaxConnectionsReached                StatusCode = 0x80B70000
)

// Limit bits (bits 8-9) of a status code (OPC UA Part 4 §7.39): whether
// the value is at or beyond a low or high limit, or constant.
const (
	LimitLow      StatusCode = 0x0100
	LimitHigh     StatusCode = 0x0200
	LimitConstant StatusCode = 0x0300
	// LimitMask selects the limit bits.
	LimitMask StatusCode = 0x0300
)

// CodeMask selects the severity, sub-code and structure-changed bits of a
// status code, masking the info bits (limit, overflow, historian bits).
const CodeMask StatusCode = 0xFFFF0000

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

// IsGood reports whether c's severity is Good (info bits ignored).
func (c StatusCode) IsGood() bool { return c.Severity() == SeverityGood }

// IsUncertain reports whether c's severity is Uncertain.
func (c StatusCode) IsUncertain() bool { return c.Severity() == SeverityUncertain }

// IsBad reports whether c's severity is Bad (bits 31-30 are 10 or 11).
func (c StatusCode) IsBad() bool { return c.Severity() == SeverityBad }

// Error returns the code's name with its hex value.
func (c StatusCode) Error() string { return fmt.Sprintf("%s (0x%08X)", c.Name(), uint32(c)) }

// String is Error.
func (c StatusCode) String() string { return c.Error() }

// Name returns the OPC UA symbolic name of c with the info bits masked
// (c & CodeMask), e.g. "Uncertain_LastUsableValue" for 0x40900100; codes
// not in otwin's table are named by their severity ("Good", "Uncertain",
// "Bad").
func (c StatusCode) Name() string {
	if n, ok := statusNames[c&CodeMask]; ok {
		return n
	}
	return c.Severity().String()
}

// ParseStatus parses a status code written as its OPC UA name
// ("Bad_NoCommunication"), the name without the underscore
// ("BadNoCommunication"), either case-insensitively, or a hexadecimal
// value ("0x80310000", any info bits kept). It reports false for anything
// else, including names not in otwin's table. It is safe for concurrent
// use.
func ParseStatus(s string) (StatusCode, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return 0, false
		}
		return StatusCode(v), true
	}
	c, ok := statusByName[statusKey(s)]
	return c, ok
}

// StatusOf returns the StatusCode carried by err (err itself or one it
// wraps), and false when err holds none. A nil err is Good.
func StatusOf(err error) (StatusCode, bool) {
	if err == nil {
		return Good, true
	}
	var c StatusCode
	if errors.As(err, &c) {
		return c, true
	}
	return 0, false
}

// StatusError is a Reading.Status that says why: it carries Code (found
// by errors.As and StatusOf, as normalize.MapStatus does) and reads as
// Err, e.g. "read holding 100-101 on press3 (10.0.0.7:502 unit 1):
// exception 2 (illegal data address)". Treat it as immutable, so that one
// value may be shared by many readings.
type StatusError struct {
	// Code is the status.
	Code StatusCode
	// Err is why; its text is the error's text.
	Err error
}

// Error is Err's text.
func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns Code and Err.
func (e *StatusError) Unwrap() []error { return []error{e.Code, e.Err} }

// statusKey folds a name for lookup: lower case, no underscores.
func statusKey(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// statusByName maps statusKey of every name to its code.
var statusByName = func() map[string]StatusCode {
	m := make(map[string]StatusCode, len(statusNames))
	for c, n := range statusNames {
		m[statusKey(n)] = c
	}
	return m
}()

// statusNames are the OPC UA symbolic names of the codes above.
var statusNames = map[StatusCode]string{
	Good:                                    "Good",
	GoodClamped:                             "Good_Clamped",
	GoodOverload:                            "Good_Overload",
	GoodLocalOverride:                       "Good_LocalOverride",
	GoodNoData:                              "Good_NoData",
	GoodMoreData:                            "Good_MoreData",
	GoodSubscriptionTransferred:             "Good_SubscriptionTransferred",
	GoodCompletesAsynchronously:             "Good_CompletesAsynchronously",
	Uncertain:                               "Uncertain",
	UncertainReferenceOutOfServer:           "Uncertain_ReferenceOutOfServer",
	UncertainNoCommunicationLastUsableValue: "Uncertain_NoCommunicationLastUsableValue",
	UncertainLastUsableValue:                "Uncertain_LastUsableValue",
	UncertainSubstituteValue:                "Uncertain_SubstituteValue",
	UncertainInitialValue:                   "Uncertain_InitialValue",
	UncertainSensorNotAccurate:              "Uncertain_SensorNotAccurate",
	UncertainEngineeringUnitsExceeded:       "Uncertain_EngineeringUnitsExceeded",
	UncertainSubNormal:                      "Uncertain_SubNormal",
	UncertainDataSubNormal:                  "Uncertain_DataSubNormal",
	UncertainTransducerInManual:             "Uncertain_TransducerInManual",
	UncertainSimulatedValue:                 "Uncertain_SimulatedValue",
	UncertainSensorCalibration:              "Uncertain_SensorCalibration",
	UncertainConfigurationError:             "Uncertain_ConfigurationError",
	Bad:                                     "Bad",
	BadUnexpectedError:                      "Bad_UnexpectedError",
	BadInternalError:                        "Bad_InternalError",
	BadOutOfMemory:                          "Bad_OutOfMemory",
	BadResourceUnavailable:                  "Bad_ResourceUnavailable",
	BadCommunicationError:                   "Bad_CommunicationError",
	BadEncodingError:                        "Bad_EncodingError",
	BadDecodingError:                        "Bad_DecodingError",
	BadEncodingLimitsExceeded:               "Bad_EncodingLimitsExceeded",
	BadUnknownResponse:                      "Bad_UnknownResponse",
	BadTimeout:                              "Bad_Timeout",
	BadServiceUnsupported:                   "Bad_ServiceUnsupported",
	BadShutdown:                             "Bad_Shutdown",
	BadServerNotConnected:                   "Bad_ServerNotConnected",
	BadServerHalted:                         "Bad_ServerHalted",
	BadNothingToDo:                          "Bad_NothingToDo",
	BadTooManyOperations:                    "Bad_TooManyOperations",
	BadCertificateInvalid:                   "Bad_CertificateInvalid",
	BadSecurityChecksFailed:                 "Bad_SecurityChecksFailed",
	BadUserAccessDenied:                     "Bad_UserAccessDenied",
	BadIdentityTokenInvalid:                 "Bad_IdentityTokenInvalid",
	BadIdentityTokenRejected:                "Bad_IdentityTokenRejected",
	BadSecureChannelIDInvalid:               "Bad_SecureChannelIdInvalid",
	BadSessionIDInvalid:                     "Bad_SessionIdInvalid",
	BadSessionClosed:                        "Bad_SessionClosed",
	BadSessionNotActivated:                  "Bad_SessionNotActivated",
	BadSubscriptionIDInvalid:                "Bad_SubscriptionIdInvalid",
	BadRequestTimeout:                       "Bad_RequestTimeout",
	BadNoCommunication:                      "Bad_NoCommunication",
	BadWaitingForInitialData:                "Bad_WaitingForInitialData",
	BadNodeIDInvalid:                        "Bad_NodeIdInvalid",
	BadNodeIDUnknown:                        "Bad_NodeIdUnknown",
	BadAttributeIDInvalid:                   "Bad_AttributeIdInvalid",
	BadIndexRangeInvalid:                    "Bad_IndexRangeInvalid",
	BadNotReadable:                          "Bad_NotReadable",
	BadNotWritable:                          "Bad_NotWritable",
	BadOutOfRange:                           "Bad_OutOfRange",
	BadNotSupported:                         "Bad_NotSupported",
	BadNotFound:                             "Bad_NotFound",
	BadTypeMismatch:                         "Bad_TypeMismatch",
	BadTooManySessions:                      "Bad_TooManySessions",
	BadTooManySubscriptions:                 "Bad_TooManySubscriptions",
	BadNoSubscription:                       "Bad_NoSubscription",
	BadInvalidArgument:                      "Bad_InvalidArgument",
	BadConnectionRejected:                   "Bad_ConnectionRejected",
	BadDisconnect:                           "Bad_Disconnect",
	BadConnectionClosed:                     "Bad_ConnectionClosed",
	BadInvalidState:                         "Bad_InvalidState",
	BadConfigurationError:                   "Bad_ConfigurationError",
	BadNotConnected:                         "Bad_NotConnected",
	BadDeviceFailure:                        "Bad_DeviceFailure",
	BadSensorFailure:                        "Bad_SensorFailure",
	BadOutOfService:                         "Bad_OutOfService",
	BadDeadbandFilterInvalid:                "Bad_DeadbandFilterInvalid",
	BadMaxConnectionsReached:                "Bad_MaxConnectionsReached",
}
