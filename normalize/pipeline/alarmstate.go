package pipeline

import (
	"strings"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

// An endpoint's alarm (connectors.Alarm) becomes an alert the endpoint's
// source owns (store.OwnedState): the store's ownership API knows no
// protocol; what a condition's fields mean is said here.

// alarmKind is the alert kind of the alarms a connector of protocol
// relays: "opcua_alarm".
func alarmKind(protocol string) normalize.AlertKind {
	return normalize.AlertKind(protocol + "_alarm")
}

// alarmSeverity maps an OPC UA severity (1-1000) to otwin's, after the
// example ranges of OPC UA Part 9: 801-1000 critical, 601-800 high,
// 401-600 medium, 1-400 low.
func alarmSeverity(sev uint16) normalize.AlertSeverity {
	switch {
	case sev > 800:
		return normalize.SeverityCritical
	case sev > 600:
		return normalize.SeverityHigh
	case sev > 400:
		return normalize.SeverityMedium
	}
	return normalize.SeverityLow
}

// alarmState is the owned state of a condition a connector relayed
// (connectors.Alarm with What AlarmState), as an alert of kind about
// target: the tag its source node is the point of, or (without one) the
// source itself, the message then starting with the condition's source
// name. Its id is "<kind>:<target>/<condition name>", stable per
// condition.
func alarmState(kind normalize.AlertKind, target string, a *connectors.Alarm) store.OwnedState {
	name := a.ConditionName
	if name == "" {
		name = a.ConditionID
	}
	msg := a.Message
	if target == a.Source && a.SourceName != "" && !strings.HasPrefix(msg, a.SourceName) {
		msg = a.SourceName + ": " + msg
	}
	return store.OwnedState{
		ID: normalize.AlertID(kind, target+"/"+name), Kind: kind, Target: target,
		Severity: alarmSeverity(a.Severity), Message: msg, Ref: a.ConditionID,
		Active: a.Active, Acked: a.Acked, Confirmable: a.Confirmable, Confirmed: a.Confirmed || !a.Confirmable,
		Retain: a.Retain, At: a.Time, ActiveAt: a.ActiveTime, AckedAt: a.AckedTime,
		User: a.User, Comment: a.Comment, Refresh: a.Refresh,
	}
}
