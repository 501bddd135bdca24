package connectors

import (
	"context"
	"time"
)

// An endpoint may have alarms of its own: an OPC UA server's conditions
// (Alarms and Conditions, Part 9). Their state is the server's, not the
// collector's: a connector relays what the server says (AlarmRelay), and
// an operator's acknowledgement goes back to the server (AlarmActor),
// whose next event then says what became of it.

// AlarmWhat is what an Alarm message says.
type AlarmWhat int

// The alarm messages.
const (
	// AlarmState is a condition's state: an event of the condition, as
	// the endpoint sent it.
	AlarmState AlarmWhat = iota
	// AlarmRefreshStart: the endpoint starts sending the state of every
	// condition it retains (OPC UA ConditionRefresh, after every
	// connect).
	AlarmRefreshStart
	// AlarmRefreshEnd: the endpoint sent every condition it retains; a
	// condition it did not send since AlarmRefreshStart is not retained
	// any more.
	AlarmRefreshEnd
	// AlarmLost: the link to the endpoint is lost; what is known of its
	// conditions is not current until the next refresh.
	AlarmLost
)

// String names w.
func (w AlarmWhat) String() string {
	switch w {
	case AlarmRefreshStart:
		return "refresh-start"
	case AlarmRefreshEnd:
		return "refresh-end"
	case AlarmLost:
		return "lost"
	default:
		return "state"
	}
}

// Alarm is one message of an endpoint's alarm stream (see AlarmWhat).
// The fields after What describe a condition (AlarmState); Why says why
// the link was lost (AlarmLost).
type Alarm struct {
	// Source is the connector's name, as Reading.Source.
	Source string
	// What the message says.
	What AlarmWhat
	// Received is when the connector received it.
	Received time.Time

	// ConditionID identifies the condition on its endpoint, stable across
	// reconnects: for OPC UA the condition's node id, "nsu=<uri>;<id>"
	// (ConditionId).
	ConditionID string
	// ConditionName is the condition's name (ConditionName).
	ConditionName string
	// Address is the point the condition is about, as the connector's
	// points are written (the configured address when the condition's
	// SourceNode is a configured point, else "nsu=<uri>;<id>"); empty
	// when the condition names no source node.
	Address string
	// SourceName is the endpoint's name of what the condition is about
	// (SourceName), e.g. "filler1/co2_pressure".
	SourceName string
	// Severity is the endpoint's severity, 1 (least) to 1000 (most).
	Severity uint16
	// Message says what the condition is about (Message).
	Message string
	// Active: the condition holds (ActiveState).
	Active bool
	// Acked: acknowledged, or nothing to acknowledge (AckedState).
	Acked bool
	// Confirmable says the condition has a confirmation step
	// (ConfirmedState); Confirmed says it is confirmed, or nothing waits
	// for confirmation.
	Confirmable, Confirmed bool
	// Retain: the endpoint wants the condition shown (Retain): it is
	// active, or waits for an acknowledgement or a confirmation.
	Retain bool
	// Time is when the condition's state changed (the event's Time);
	// ActiveTime and AckedTime when ActiveState and AckedState last
	// changed (zero when the endpoint does not say).
	Time, ActiveTime, AckedTime time.Time
	// User and Comment are those of the last acknowledgement or
	// confirmation (ClientUserId, Comment).
	User, Comment string
	// Refresh says the message is part of a refresh (between
	// AlarmRefreshStart and AlarmRefreshEnd), not a new change.
	Refresh bool

	// Why says why the link was lost (AlarmLost).
	Why string
}

// AlarmRelay is implemented by connectors whose endpoint may have alarms
// of its own (OPC UA Alarms and Conditions).
type AlarmRelay interface {
	// RelayAlarms makes Run also deliver the endpoint's alarm stream into
	// out, when the endpoint has one and the source does not turn it
	// off; call it before Run. Run sends as it sends readings (waiting
	// for a slow consumer) and never closes out. Without it a connector
	// does not ask its endpoint for alarms.
	RelayAlarms(out chan<- Alarm)
}

// AlarmVerb is what an operator does to an endpoint's condition.
type AlarmVerb string

// The verbs.
const (
	// AlarmAcknowledge acknowledges the condition (OPC UA Acknowledge).
	AlarmAcknowledge AlarmVerb = "acknowledge"
	// AlarmConfirm confirms it (OPC UA Confirm), after the
	// acknowledgement.
	AlarmConfirm AlarmVerb = "confirm"
)

// AlarmAction is an operator's action on a condition of an endpoint.
type AlarmAction struct {
	// Verb is what to do.
	Verb AlarmVerb
	// ConditionID is the condition (Alarm.ConditionID).
	ConditionID string
	// User is who acts in the dashboard; Comment what they noted. The
	// endpoint knows the connector's own login: the user's name travels
	// in the comment (see the kind's documentation).
	User, Comment string
}

// AlarmActor is implemented by connectors that pass an operator's action
// on a condition to the endpoint that owns it.
type AlarmActor interface {
	// ActOnAlarm sends x to the endpoint and returns its answer: nil when
	// it took the action, a StatusCode (found with StatusOf) when it
	// refused (e.g. Bad_ConditionBranchAlreadyAcked), another error when
	// the endpoint could not be asked (not connected, unknown
	// condition). The condition's new state comes in the alarm stream,
	// not from this call. Safe for concurrent use, also while Run runs.
	ActOnAlarm(ctx context.Context, x AlarmAction) error
}
