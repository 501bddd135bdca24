// Package statuscode is otwin's one table of OPC UA StatusCodes (OPC UA
// Part 4 §7.39): the 32-bit quality every value carries whatever its
// protocol, with the codes' names, their severity classes and the limit
// bits. It is a leaf package: the twin names the statuses it serves and
// faults inject here, and the connectors and the normalizer classify what
// they read here, so both halves agree on every value and name.
package statuscode

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Code is an OPC UA Code (OPC UA Part 4 §7.39), the quality of
// every value in otwin whatever its protocol. It is an error so that it
// can travel as a reading's status. The top two bits give the severity: 00
// Good, 01 Uncertain, 10 Bad; classify with Severity, never by comparing
// to an exact value, since the low bits carry info flags.
type Code uint32

// Status codes, the most common of OPC UA's (values as in the OPC UA
// specification's Code.csv; TestStatusCodesMatchGopcua checks each
// against gopcua's table). Go names spell "Id" as "ID"; Name returns the
// specification's spelling, e.g. "Bad_NodeIdUnknown".
const (
	Good                                    Code = 0x00000000
	GoodClamped                             Code = 0x00300000
	GoodOverload                            Code = 0x002F0000
	GoodLocalOverride                       Code = 0x00960000
	GoodNoData                              Code = 0x00A50000
	GoodMoreData                            Code = 0x00A60000
	GoodSubscriptionTransferred             Code = 0x002D0000
	GoodCompletesAsynchronously             Code = 0x002E0000
	Uncertain                               Code = 0x40000000
	UncertainReferenceOutOfServer           Code = 0x406C0000
	UncertainNoCommunicationLastUsableValue Code = 0x408F0000
	UncertainLastUsableValue                Code = 0x40900000
	UncertainSubstituteValue                Code = 0x40910000
	UncertainInitialValue                   Code = 0x40920000
	UncertainSensorNotAccurate              Code = 0x40930000
	UncertainEngineeringUnitsExceeded       Code = 0x40940000
	UncertainSubNormal                      Code = 0x40950000
	UncertainDataSubNormal                  Code = 0x40A40000
	UncertainTransducerInManual             Code = 0x42080000
	UncertainSimulatedValue                 Code = 0x42090000
	UncertainSensorCalibration              Code = 0x420A0000
	UncertainConfigurationError             Code = 0x420F0000
	Bad                                     Code = 0x80000000
	BadUnexpectedError                      Code = 0x80010000
	BadInternalError                        Code = 0x80020000
	BadOutOfMemory                          Code = 0x80030000
	BadResourceUnavailable                  Code = 0x80040000
	BadCommunicationError                   Code = 0x80050000
	BadEncodingError                        Code = 0x80060000
	BadDecodingError                        Code = 0x80070000
	BadEncodingLimitsExceeded               Code = 0x80080000
	BadUnknownResponse                      Code = 0x80090000
	BadTimeout                              Code = 0x800A0000
	BadServiceUnsupported                   Code = 0x800B0000
	BadShutdown                             Code = 0x800C0000
	BadServerNotConnected                   Code = 0x800D0000
	BadServerHalted                         Code = 0x800E0000
	BadNothingToDo                          Code = 0x800F0000
	BadTooManyOperations                    Code = 0x80100000
	BadCertificateInvalid                   Code = 0x80120000
	BadSecurityChecksFailed                 Code = 0x80130000
	BadUserAccessDenied                     Code = 0x801F0000
	BadIdentityTokenInvalid                 Code = 0x80200000
	BadIdentityTokenRejected                Code = 0x80210000
	BadSecureChannelIDInvalid               Code = 0x80220000
	BadSessionIDInvalid                     Code = 0x80250000
	BadSessionClosed                        Code = 0x80260000
	BadSessionNotActivated                  Code = 0x80270000
	BadSubscriptionIDInvalid                Code = 0x80280000
	BadRequestTimeout                       Code = 0x80850000
	BadNoCommunication                      Code = 0x80310000
	BadWaitingForInitialData                Code = 0x80320000
	BadNodeIDInvalid                        Code = 0x80330000
	BadNodeIDUnknown                        Code = 0x80340000
	BadAttributeIDInvalid                   Code = 0x80350000
	BadIndexRangeInvalid                    Code = 0x80360000
	BadNotReadable                          Code = 0x803A0000
	BadNotWritable                          Code = 0x803B0000
	BadOutOfRange                           Code = 0x803C0000
	BadNotSupported                         Code = 0x803D0000
	BadNotFound                             Code = 0x803E0000
	BadTypeMismatch                         Code = 0x80740000
	BadTooManySessions                      Code = 0x80560000
	BadTooManySubscriptions                 Code = 0x80770000
	BadNoSubscription                       Code = 0x80790000
	BadInvalidArgument                      Code = 0x80AB0000
	BadConnectionRejected                   Code = 0x80AC0000
	BadDisconnect                           Code = 0x80AD0000
	BadConnectionClosed                     Code = 0x80AE0000
	BadInvalidState                         Code = 0x80AF0000
	BadConfigurationError                   Code = 0x80890000
	BadNotConnected                         Code = 0x808A0000
	BadDeviceFailure                        Code = 0x808B0000
	BadSensorFailure                        Code = 0x808C0000
	BadOutOfService                         Code = 0x808D0000
	BadDeadbandFilterInvalid                Code = 0x808E0000
	BadMaxConnectionsReached                Code = 0x80B70000
	BadWriteNotSupported                    Code = 0x80730000
	BadNoData                               Code = 0x809B0000
	BadDataLost                             Code = 0x809D0000
	BadDataUnavailable                      Code = 0x809E0000
	BadWaitingForResponse                   Code = 0x80B20000
	UncertainNotAllNodesAvailable           Code = 0x40C00000
	UncertainDominantValueChanged           Code = 0x40DE0000
	UncertainDependentValueChanged          Code = 0x40E20000
	// Codes of history reads and method calls.
	BadContinuationPointInvalid    Code = 0x804A0000
	BadNoContinuationPoints        Code = 0x804B0000
	BadHistoryOperationInvalid     Code = 0x80710000
	BadHistoryOperationUnsupported Code = 0x80720000
	BadMethodInvalid               Code = 0x80750000
	BadArgumentsMissing            Code = 0x80760000
	BadTooManyArguments            Code = 0x80E50000
	BadNotExecutable               Code = 0x81110000
	BadBoundNotFound               Code = 0x80D70000
	BadAggregateListMismatch       Code = 0x80D40000
	BadAggregateNotSupported       Code = 0x80D50000
	BadAggregateInvalidInputs      Code = 0x80D60000
	// Codes of Alarms and Conditions (OPC UA Part 9).
	BadConditionAlreadyDisabled        Code = 0x80980000
	BadConditionDisabled               Code = 0x80990000
	BadEventIDUnknown                  Code = 0x809A0000
	BadEventNotAcknowledgeable         Code = 0x80BB0000
	BadConditionBranchAlreadyAcked     Code = 0x80CF0000
	BadConditionBranchAlreadyConfirmed Code = 0x80D00000
)

// Limit bits (bits 8-9) of a status code (OPC UA Part 4 §7.39): whether
// the value is at or beyond a low or high limit, or constant.
const (
	LimitLow      Code = 0x0100
	LimitHigh     Code = 0x0200
	LimitConstant Code = 0x0300
	// LimitMask selects the limit bits.
	LimitMask Code = 0x0300
)

// CodeMask selects the severity, sub-code and structure-changed bits of a
// status code, masking the info bits (limit, overflow, historian bits).
const CodeMask Code = 0xFFFF0000

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
func (c Code) Severity() Severity {
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
func (c Code) IsGood() bool { return c.Severity() == SeverityGood }

// IsUncertain reports whether c's severity is Uncertain.
func (c Code) IsUncertain() bool { return c.Severity() == SeverityUncertain }

// IsBad reports whether c's severity is Bad (bits 31-30 are 10 or 11).
func (c Code) IsBad() bool { return c.Severity() == SeverityBad }

// Error returns the code's name with its hex value.
func (c Code) Error() string { return fmt.Sprintf("%s (0x%08X)", c.Name(), uint32(c)) }

// String is Error.
func (c Code) String() string { return c.Error() }

// Name returns the OPC UA symbolic name of c with the info bits masked
// (c & CodeMask), e.g. "Uncertain_LastUsableValue" for 0x40900100; codes
// not in otwin's table are named by their severity ("Good", "Uncertain",
// "Bad").
func (c Code) Name() string {
	if n, ok := statusNames[c&CodeMask]; ok {
		return n
	}
	return c.Severity().String()
}

// Parse parses a status code written as its OPC UA name
// ("Bad_NoCommunication"), the name without the underscore
// ("BadNoCommunication"), either case-insensitively, or a number
// ("0x80310000", "2150694912"; any info bits kept). It reports false for
// anything else, including names not in the table. It is safe for
// concurrent use.
func Parse(s string) (Code, bool) {
	s = strings.TrimSpace(s)
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return 0, false
		}
		return Code(v), true
	}
	c, ok := statusByName[statusKey(s)]
	return c, ok
}

// statusKey folds a name for lookup: lower case, no underscores.
func statusKey(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// statusByName maps statusKey of every name to its code.
var statusByName = func() map[string]Code {
	m := make(map[string]Code, len(statusNames))
	for c, n := range statusNames {
		m[statusKey(n)] = c
	}
	return m
}()

// statusNames are the OPC UA symbolic names of the codes above.
var statusNames = map[Code]string{
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
	BadContinuationPointInvalid:             "Bad_ContinuationPointInvalid",
	BadNoContinuationPoints:                 "Bad_NoContinuationPoints",
	BadHistoryOperationInvalid:              "Bad_HistoryOperationInvalid",
	BadHistoryOperationUnsupported:          "Bad_HistoryOperationUnsupported",
	BadMethodInvalid:                        "Bad_MethodInvalid",
	BadArgumentsMissing:                     "Bad_ArgumentsMissing",
	BadTooManyArguments:                     "Bad_TooManyArguments",
	BadNotExecutable:                        "Bad_NotExecutable",
	BadBoundNotFound:                        "Bad_BoundNotFound",
	BadAggregateListMismatch:                "Bad_AggregateListMismatch",
	BadAggregateNotSupported:                "Bad_AggregateNotSupported",
	BadAggregateInvalidInputs:               "Bad_AggregateInvalidInputs",
	BadConditionAlreadyDisabled:             "Bad_ConditionAlreadyDisabled",
	BadConditionDisabled:                    "Bad_ConditionDisabled",
	BadEventIDUnknown:                       "Bad_EventIdUnknown",
	BadEventNotAcknowledgeable:              "Bad_EventNotAcknowledgeable",
	BadConditionBranchAlreadyAcked:          "Bad_ConditionBranchAlreadyAcked",
	BadConditionBranchAlreadyConfirmed:      "Bad_ConditionBranchAlreadyConfirmed",
	BadConfigurationError:                   "Bad_ConfigurationError",
	BadNotConnected:                         "Bad_NotConnected",
	BadDeviceFailure:                        "Bad_DeviceFailure",
	BadSensorFailure:                        "Bad_SensorFailure",
	BadOutOfService:                         "Bad_OutOfService",
	BadDeadbandFilterInvalid:                "Bad_DeadbandFilterInvalid",
	BadMaxConnectionsReached:                "Bad_MaxConnectionsReached",
	BadWriteNotSupported:                    "Bad_WriteNotSupported",
	BadNoData:                               "Bad_NoData",
	BadDataLost:                             "Bad_DataLost",
	BadDataUnavailable:                      "Bad_DataUnavailable",
	BadWaitingForResponse:                   "Bad_WaitingForResponse",
	UncertainNotAllNodesAvailable:           "Uncertain_NotAllNodesAvailable",
	UncertainDominantValueChanged:           "Uncertain_DominantValueChanged",
	UncertainDependentValueChanged:          "Uncertain_DependentValueChanged",
}

// Lookup returns the name of c with the info bits masked, and false when
// the table has none (Name then falls back to the severity).
func Lookup(c Code) (string, bool) {
	n, ok := statusNames[c&CodeMask]
	return n, ok
}

// Names lists every name of the table, sorted.
func Names() []string {
	out := make([]string, 0, len(statusNames))
	for _, n := range statusNames {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
