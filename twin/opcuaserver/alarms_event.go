package opcuaserver

import (
	"strings"
	"time"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin/alarms"
)

// fieldEvent is an event as the select clauses of an event filter read
// it: its fields by browse path ("ActiveState/Id"), the NodeId attribute
// of the condition (ConditionId), and the types it is an instance of.
// Immutable once built, so one value is raised on every notifier and
// kept for ConditionRefresh and the event history.
type fieldEvent struct {
	fields map[string]ua.Variant
	nodeID ua.NodeID          // the condition's id; nil for other events
	types  map[ua.NodeID]bool // the event's type and its supertypes
}

// GetAttribute answers a select clause (or an operand of a where clause):
// the field at its browse path when the clause's type is the event's type
// or one of its supertypes (BaseEventType matches every event, as Part 4
// asks), the condition's node id for the NodeId attribute with an empty
// path; nil (a Null field) for anything else.
func (e *fieldEvent) GetAttribute(c ua.SimpleAttributeOperand) ua.Variant {
	if c.TypeDefinitionID != nil && c.TypeDefinitionID != ua.ObjectTypeIDBaseEventType && !e.types[c.TypeDefinitionID] {
		return nil
	}
	switch c.AttributeID {
	case ua.AttributeIDNodeID:
		if len(c.BrowsePath) == 0 && e.nodeID != nil {
			return e.nodeID
		}
		return nil
	case ua.AttributeIDValue:
	default:
		return nil
	}
	return e.fields[browseKey(c.BrowsePath)]
}

// browseKey joins a browse path's names with "/".
func browseKey(p []ua.QualifiedName) string {
	switch len(p) {
	case 0:
		return ""
	case 1:
		return p[0].Name
	}
	names := make([]string, len(p))
	for i, q := range p {
		names[i] = q.Name
	}
	return strings.Join(names, "/")
}

// twoState sets the fields of a TwoStateVariable (AckedState, ...): its
// text, Id and TransitionTime.
func twoState(f map[string]ua.Variant, name string, id bool, trueText, falseText string, at time.Time) {
	text := falseText
	if id {
		text = trueText
	}
	f[name] = ua.NewLocalizedText(text, "en")
	f[name+"/Id"] = id
	f[name+"/EffectiveDisplayName"] = ua.NewLocalizedText(text, "en")
	if !at.IsZero() {
		f[name+"/TransitionTime"] = at
		f[name+"/EffectiveTransitionTime"] = at
	}
}

// limitStateIDs are the states of ExclusiveLimitStateMachineType.
var limitStateIDs = map[string]ua.NodeID{
	scenarios.LimitHighHigh: ua.NewNodeIDNumeric(0, 9329),
	scenarios.LimitHigh:     ua.NewNodeIDNumeric(0, 9331),
	scenarios.LimitLow:      ua.NewNodeIDNumeric(0, 9333),
	scenarios.LimitLowLow:   ua.NewNodeIDNumeric(0, 9335),
}

// nonExclusiveStates are the TwoStateVariables of a
// NonExclusiveLimitAlarmType, by limit.
var nonExclusiveStates = map[string]string{
	scenarios.LimitHighHigh: "HighHighState",
	scenarios.LimitHigh:     "HighState",
	scenarios.LimitLow:      "LowState",
	scenarios.LimitLowLow:   "LowLowState",
}

// limitProperties are LimitAlarmType's limit properties, by limit.
var limitProperties = map[string]string{
	scenarios.LimitHighHigh: "HighHighLimit",
	scenarios.LimitHigh:     "HighLimit",
	scenarios.LimitLow:      "LowLimit",
	scenarios.LimitLowLow:   "LowLowLimit",
}

// conditionEvent builds the event of condition c in state st, which
// happened at t and reached this server at now.
func (f *alarmFace) conditionEvent(c *condNode, st alarms.State, t, now time.Time) *fieldEvent {
	in := c.info
	fl := make(map[string]ua.Variant, 48)
	if t.IsZero() {
		t = now
	}
	fl["EventId"] = ua.ByteString(st.EventID)
	fl["EventType"] = c.typ
	fl["SourceNode"] = c.source
	fl["SourceName"] = in.TagName
	fl["Time"] = t
	fl["ReceiveTime"] = now
	fl["Message"] = ua.NewLocalizedText(st.Message, "en")
	fl["Severity"] = st.Severity
	// ConditionType
	fl["ConditionClassId"] = c.class
	fl["ConditionClassName"] = ua.NewLocalizedText(c.className, "en")
	fl["ConditionName"] = in.Name
	fl["BranchId"] = ua.NodeIDNumeric{} // the null NodeId: the main branch
	fl["Retain"] = st.Retain
	twoState(fl, "EnabledState", true, "Enabled", "Disabled", time.Time{})
	fl["Quality"] = ua.StatusCode(st.Status)
	fl["Quality/SourceTimestamp"] = t
	fl["LastSeverity"] = st.Severity
	fl["LastSeverity/SourceTimestamp"] = t
	fl["Comment"] = ua.NewLocalizedText(st.Comment, "")
	fl["Comment/SourceTimestamp"] = latest(st.AckedTime, st.ConfirmedTime, st.LatchedTime)
	fl["ClientUserId"] = st.User
	// AcknowledgeableConditionType
	twoState(fl, "AckedState", st.Acked, "Acknowledged", "Unacknowledged", st.AckedTime)
	if in.Confirm {
		twoState(fl, "ConfirmedState", st.Confirmed, "Confirmed", "Unconfirmed", st.ConfirmedTime)
	}
	// AlarmConditionType
	active := "Active"
	if st.Limit != "" {
		active = "Active " + st.Limit
	}
	twoState(fl, "ActiveState", st.Active, active, "Inactive", st.ActiveTime)
	fl["InputNode"] = c.source
	fl["SuppressedOrShelved"] = false
	if in.OnDelay > 0 {
		fl["OnDelay"] = float64(in.OnDelay.D()) / float64(time.Millisecond)
	}
	if in.OffDelay > 0 {
		fl["OffDelay"] = float64(in.OffDelay.D()) / float64(time.Millisecond)
	}
	if in.Latch {
		twoState(fl, "LatchedState", st.Latched, "Latched", "Unlatched", st.LatchedTime)
	}
	switch in.Kind {
	case scenarios.AlarmLimit:
		for _, l := range in.Levels {
			fl[limitProperties[l.Name]] = l.Limit
		}
		if in.Exclusive {
			if st.Limit != "" {
				fl["LimitState/CurrentState"] = ua.NewLocalizedText(st.Limit, "en")
				fl["LimitState/CurrentState/Id"] = limitStateIDs[st.Limit]
			}
			break
		}
		for _, l := range in.Levels {
			on := false
			for _, x := range st.Limits {
				on = on || x == l.Name
			}
			twoState(fl, nonExclusiveStates[l.Name], on, l.Name+" active", l.Name+" inactive", time.Time{})
		}
	case scenarios.AlarmOffNormal, scenarios.AlarmQuality:
		fl["NormalState"] = c.normal
	}
	return &fieldEvent{fields: fl, nodeID: c.id, types: f.types[c.typ]}
}

// latest is the latest of ts (zero when all are).
func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// refreshEvent is a RefreshStartEvent or RefreshEndEvent (typ), raised by
// the Server object.
func (f *alarmFace) refreshEvent(typ ua.NodeID, id []byte, now time.Time) *fieldEvent {
	msg := "ConditionRefresh started"
	if typ == ua.ObjectTypeIDRefreshEndEventType {
		msg = "ConditionRefresh ended"
	}
	return &fieldEvent{types: f.types[typ], fields: map[string]ua.Variant{
		"EventId":     ua.ByteString(id),
		"EventType":   typ,
		"SourceNode":  ua.ObjectIDServer,
		"SourceName":  "Server",
		"Time":        now,
		"ReceiveTime": now,
		"Message":     ua.NewLocalizedText(msg, "en"),
		"Severity":    uint16(1),
	}}
}
