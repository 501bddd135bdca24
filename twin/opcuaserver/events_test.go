package opcuaserver

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/awcullen/opcua/ua"
)

// stubEvents is an event source as an alarms module would feed one: it
// records into an EventLog.
func stubEvents(t0 time.Time) (*EventLog, ua.NodeID, ua.NodeID) {
	l := NewEventLog(4)
	machine := ua.NewNodeIDString(2, "plant/l1/press1")
	other := ua.NewNodeIDString(2, "plant/l1/press2")
	for k := range 6 {
		ev := &ua.BaseEvent{
			EventID:   ua.ByteString([]byte{byte(k)}),
			EventType: ua.ObjectTypeIDBaseEventType,
			Message:   ua.NewLocalizedText("event "+string(rune('a'+k)), ""),
			Severity:  uint16(100 * k),
			Time:      t0.Add(time.Duration(k) * time.Second),
		}
		notifiers := []ua.NodeID{machine, ua.ObjectIDServer}
		if k == 4 {
			notifiers = []ua.NodeID{other, ua.ObjectIDServer}
		}
		l.Record(ev, ev.Time, notifiers...)
	}
	return l, machine, other
}

// TestReadEvent reads an EventLog through the historian's ReadEvent: the
// events of a notifier in a time range with the selected fields, in
// pages, backwards, filtered by type, and the refusals.
func TestReadEvent(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	log, machine, _ := stubEvents(t0)
	h := &historian{events: log, notif: map[ua.NodeID]bool{machine: true, ua.ObjectIDServer: true},
		exists: func(n ua.NodeID) bool { return n == ua.ObjectIDObjectsFolder }}
	sel := []ua.SimpleAttributeOperand{ua.BaseEventSelectClauses[0], ua.BaseEventSelectClauses[6], ua.BaseEventSelectClauses[7]}
	read := func(node ua.NodeID, d ua.ReadEventDetails, cp ua.ByteString, release bool) (ua.HistoryReadResult, ua.StatusCode) {
		t.Helper()
		if d.Filter.SelectClauses == nil {
			d.Filter.SelectClauses = sel
		}
		res, st := h.ReadEvent(context.Background(), []ua.HistoryReadValueID{{NodeID: node, ContinuationPoint: cp}}, d, ua.TimestampsToReturnBoth, release)
		if len(res) == 0 {
			return ua.HistoryReadResult{}, st
		}
		return res[0], st
	}
	severities := func(r ua.HistoryReadResult) []uint16 {
		var out []uint16
		he, _ := r.HistoryData.(ua.HistoryEvent)
		for _, e := range he.Events {
			out = append(out, e.EventFields[2].(uint16))
		}
		return out
	}
	// The log keeps the last 4 events (2..5); press1 has 2, 3 and 5.
	r, st := read(machine, ua.ReadEventDetails{StartTime: t0, EndTime: t0.Add(time.Hour)}, "", false)
	if st != ua.Good || r.StatusCode != ua.Good || !slices.Equal(severities(r), []uint16{200, 300, 500}) {
		t.Fatalf("press1's events: %v %v %v", st, r.StatusCode, severities(r))
	}
	if he := r.HistoryData.(ua.HistoryEvent); he.Events[0].EventFields[1].(ua.LocalizedText).Text != "event c" {
		t.Errorf("fields: %v", he.Events[0].EventFields)
	}
	// The Server object has them all; in pages of 3 with a continuation
	// point.
	r, _ = read(ua.ObjectIDServer, ua.ReadEventDetails{StartTime: t0, EndTime: t0.Add(time.Hour), NumValuesPerNode: 3}, "", false)
	if !slices.Equal(severities(r), []uint16{200, 300, 400}) || len(r.ContinuationPoint) == 0 {
		t.Fatalf("first page: %v %x", severities(r), r.ContinuationPoint)
	}
	r, _ = read(ua.ObjectIDServer, ua.ReadEventDetails{}, r.ContinuationPoint, false)
	if !slices.Equal(severities(r), []uint16{500}) || len(r.ContinuationPoint) != 0 {
		t.Errorf("second page: %v %x", severities(r), r.ContinuationPoint)
	}
	// Backwards: start after end, latest first; end and a count alone.
	r, _ = read(machine, ua.ReadEventDetails{StartTime: t0.Add(5 * time.Second), EndTime: t0.Add(2 * time.Second)}, "", false)
	if !slices.Equal(severities(r), []uint16{500, 300}) {
		t.Errorf("backwards (2 s, 5 s]: %v", severities(r))
	}
	r, _ = read(machine, ua.ReadEventDetails{EndTime: t0.Add(time.Hour), NumValuesPerNode: 1}, "", false)
	if !slices.Equal(severities(r), []uint16{500}) || len(r.ContinuationPoint) == 0 {
		t.Errorf("the last one: %v", severities(r))
	}
	// A where clause: OfType BaseEventType passes all, another type none.
	ofType := func(id ua.NodeID) ua.ContentFilter {
		return ua.ContentFilter{Elements: []ua.ContentFilterElement{{FilterOperator: ua.FilterOperatorOfType,
			FilterOperands: []ua.ExtensionObject{ua.LiteralOperand{Value: id}}}}}
	}
	r, _ = read(machine, ua.ReadEventDetails{StartTime: t0, EndTime: t0.Add(time.Hour), Filter: ua.EventFilter{SelectClauses: sel, WhereClause: ofType(ua.ObjectTypeIDAlarmConditionType)}}, "", false)
	if r.StatusCode != ua.GoodNoData || len(severities(r)) != 0 {
		t.Errorf("OfType AlarmConditionType: %v %v", r.StatusCode, severities(r))
	}
	// Refusals.
	if _, st := read(machine, ua.ReadEventDetails{StartTime: t0}, "", false); st != ua.BadHistoryOperationInvalid {
		t.Errorf("a start alone: %v", st)
	}
	if r, _ := read(ua.NewNodeIDString(2, "nowhere"), ua.ReadEventDetails{StartTime: t0, EndTime: t0.Add(time.Hour)}, "", false); r.StatusCode != ua.BadNodeIDUnknown {
		t.Errorf("an unknown node: %v", r.StatusCode)
	}
	if r, _ := read(ua.ObjectIDObjectsFolder, ua.ReadEventDetails{StartTime: t0, EndTime: t0.Add(time.Hour)}, "", false); r.StatusCode != ua.BadHistoryOperationUnsupported {
		t.Errorf("a node that is no notifier: %v", r.StatusCode)
	}
	bad := ua.ContentFilter{Elements: []ua.ContentFilterElement{{FilterOperator: ua.FilterOperatorEquals}}}
	if r, _ := read(machine, ua.ReadEventDetails{StartTime: t0, EndTime: t0.Add(time.Hour), Filter: ua.EventFilter{SelectClauses: sel, WhereClause: bad}}, "", false); r.StatusCode != ua.BadContentFilterInvalid {
		t.Errorf("an Equals filter: %v", r.StatusCode)
	}
	if r, _ := read(machine, ua.ReadEventDetails{}, ua.ByteString("nope"), false); r.StatusCode != ua.BadContinuationPointInvalid {
		t.Errorf("an unknown continuation point: %v", r.StatusCode)
	}
}
