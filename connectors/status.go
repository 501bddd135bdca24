package connectors

import (
	"errors"

	"github.com/otwin/otwin/statuscode"
)

// StatusCode is an OPC UA StatusCode, the quality of every value in otwin
// whatever its protocol (see package statuscode, the one table of codes
// and names both halves use). It is an error so that it can travel as
// Reading.Status; classify it with Severity, never by comparing to an
// exact value, since the low bits carry info flags.
type StatusCode = statuscode.Code

// Severity classifies a status code by its top two bits.
type Severity = statuscode.Severity

// The severities.
const (
	SeverityGood      = statuscode.SeverityGood
	SeverityUncertain = statuscode.SeverityUncertain
	SeverityBad       = statuscode.SeverityBad
)

// The limit bits and the mask of a status code's name (see statuscode).
const (
	LimitLow      = statuscode.LimitLow
	LimitHigh     = statuscode.LimitHigh
	LimitConstant = statuscode.LimitConstant
	LimitMask     = statuscode.LimitMask
	CodeMask      = statuscode.CodeMask
)

// The status codes, by their statuscode names.
const (
	Good                                    = statuscode.Good
	GoodClamped                             = statuscode.GoodClamped
	GoodOverload                            = statuscode.GoodOverload
	GoodLocalOverride                       = statuscode.GoodLocalOverride
	GoodNoData                              = statuscode.GoodNoData
	GoodMoreData                            = statuscode.GoodMoreData
	GoodSubscriptionTransferred             = statuscode.GoodSubscriptionTransferred
	GoodCompletesAsynchronously             = statuscode.GoodCompletesAsynchronously
	Uncertain                               = statuscode.Uncertain
	UncertainReferenceOutOfServer           = statuscode.UncertainReferenceOutOfServer
	UncertainNoCommunicationLastUsableValue = statuscode.UncertainNoCommunicationLastUsableValue
	UncertainLastUsableValue                = statuscode.UncertainLastUsableValue
	UncertainSubstituteValue                = statuscode.UncertainSubstituteValue
	UncertainInitialValue                   = statuscode.UncertainInitialValue
	UncertainSensorNotAccurate              = statuscode.UncertainSensorNotAccurate
	UncertainEngineeringUnitsExceeded       = statuscode.UncertainEngineeringUnitsExceeded
	UncertainSubNormal                      = statuscode.UncertainSubNormal
	UncertainDataSubNormal                  = statuscode.UncertainDataSubNormal
	UncertainTransducerInManual             = statuscode.UncertainTransducerInManual
	UncertainSimulatedValue                 = statuscode.UncertainSimulatedValue
	UncertainSensorCalibration              = statuscode.UncertainSensorCalibration
	UncertainConfigurationError             = statuscode.UncertainConfigurationError
	Bad                                     = statuscode.Bad
	BadUnexpectedError                      = statuscode.BadUnexpectedError
	BadInternalError                        = statuscode.BadInternalError
	BadOutOfMemory                          = statuscode.BadOutOfMemory
	BadResourceUnavailable                  = statuscode.BadResourceUnavailable
	BadCommunicationError                   = statuscode.BadCommunicationError
	BadEncodingError                        = statuscode.BadEncodingError
	BadDecodingError                        = statuscode.BadDecodingError
	BadEncodingLimitsExceeded               = statuscode.BadEncodingLimitsExceeded
	BadUnknownResponse                      = statuscode.BadUnknownResponse
	BadTimeout                              = statuscode.BadTimeout
	BadServiceUnsupported                   = statuscode.BadServiceUnsupported
	BadShutdown                             = statuscode.BadShutdown
	BadServerNotConnected                   = statuscode.BadServerNotConnected
	BadServerHalted                         = statuscode.BadServerHalted
	BadNothingToDo                          = statuscode.BadNothingToDo
	BadTooManyOperations                    = statuscode.BadTooManyOperations
	BadCertificateInvalid                   = statuscode.BadCertificateInvalid
	BadSecurityChecksFailed                 = statuscode.BadSecurityChecksFailed
	BadUserAccessDenied                     = statuscode.BadUserAccessDenied
	BadIdentityTokenInvalid                 = statuscode.BadIdentityTokenInvalid
	BadIdentityTokenRejected                = statuscode.BadIdentityTokenRejected
	BadSecureChannelIDInvalid               = statuscode.BadSecureChannelIDInvalid
	BadSessionIDInvalid                     = statuscode.BadSessionIDInvalid
	BadSessionClosed                        = statuscode.BadSessionClosed
	BadSessionNotActivated                  = statuscode.BadSessionNotActivated
	BadSubscriptionIDInvalid                = statuscode.BadSubscriptionIDInvalid
	BadRequestTimeout                       = statuscode.BadRequestTimeout
	BadNoCommunication                      = statuscode.BadNoCommunication
	BadWaitingForInitialData                = statuscode.BadWaitingForInitialData
	BadNodeIDInvalid                        = statuscode.BadNodeIDInvalid
	BadNodeIDUnknown                        = statuscode.BadNodeIDUnknown
	BadAttributeIDInvalid                   = statuscode.BadAttributeIDInvalid
	BadIndexRangeInvalid                    = statuscode.BadIndexRangeInvalid
	BadNotReadable                          = statuscode.BadNotReadable
	BadNotWritable                          = statuscode.BadNotWritable
	BadOutOfRange                           = statuscode.BadOutOfRange
	BadNotSupported                         = statuscode.BadNotSupported
	BadNotFound                             = statuscode.BadNotFound
	BadTypeMismatch                         = statuscode.BadTypeMismatch
	BadTooManySessions                      = statuscode.BadTooManySessions
	BadTooManySubscriptions                 = statuscode.BadTooManySubscriptions
	BadNoSubscription                       = statuscode.BadNoSubscription
	BadInvalidArgument                      = statuscode.BadInvalidArgument
	BadConnectionRejected                   = statuscode.BadConnectionRejected
	BadDisconnect                           = statuscode.BadDisconnect
	BadConnectionClosed                     = statuscode.BadConnectionClosed
	BadInvalidState                         = statuscode.BadInvalidState
	BadConfigurationError                   = statuscode.BadConfigurationError
	BadNotConnected                         = statuscode.BadNotConnected
	BadDeviceFailure                        = statuscode.BadDeviceFailure
	BadSensorFailure                        = statuscode.BadSensorFailure
	BadOutOfService                         = statuscode.BadOutOfService
	BadDeadbandFilterInvalid                = statuscode.BadDeadbandFilterInvalid
	BadMaxConnectionsReached                = statuscode.BadMaxConnectionsReached
	BadWriteNotSupported                    = statuscode.BadWriteNotSupported
	BadNoData                               = statuscode.BadNoData
	BadDataLost                             = statuscode.BadDataLost
	BadDataUnavailable                      = statuscode.BadDataUnavailable
	BadWaitingForResponse                   = statuscode.BadWaitingForResponse
	UncertainNotAllNodesAvailable           = statuscode.UncertainNotAllNodesAvailable
	UncertainDominantValueChanged           = statuscode.UncertainDominantValueChanged
	UncertainDependentValueChanged          = statuscode.UncertainDependentValueChanged
)

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
