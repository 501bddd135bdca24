package twin

import "github.com/otwin/otwin/scenarios"

// OPC UA status codes the twin produces (OPC UA Part 4 §7.39; the values
// match gopcua's ua.Status* constants). Status 0 is Good. The table of
// status names is scenarios' (see scenarios.ParseStatus).
const (
	StatusGood                                    = scenarios.StatusGood
	StatusUncertainSensorNotAccurate              = scenarios.StatusUncertainSensorNotAccurate
	StatusUncertainLastUsableValue                = scenarios.StatusUncertainLastUsableValue
	StatusUncertainEngineeringUnitsExceeded       = scenarios.StatusUncertainEngineeringUnitsExceeded
	StatusUncertainNoCommunicationLastUsableValue = scenarios.StatusUncertainNoCommunicationLastUsableValue
	StatusBadSensorFailure                        = scenarios.StatusBadSensorFailure
	StatusBadDeviceFailure                        = scenarios.StatusBadDeviceFailure
	StatusBadNoCommunication                      = scenarios.StatusBadNoCommunication
	StatusBadCommunicationError                   = scenarios.StatusBadCommunicationError
	StatusBadOutOfService                         = scenarios.StatusBadOutOfService
	StatusBadConfigurationError                   = scenarios.StatusBadConfigurationError
	StatusBadWaitingForInitialData                = scenarios.StatusBadWaitingForInitialData
	StatusBadNodeIDUnknown                        = scenarios.StatusBadNodeIDUnknown
)

// StatusName returns the name of code with the info bits masked, or its
// hexadecimal form (see scenarios.StatusName). Safe for concurrent use.
func StatusName(code uint32) string { return scenarios.StatusName(code) }
