package opcuaserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
	_ "unsafe" // go:linkname

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin/alarms"
)

// The stack delivers an event to an event item only through the item's
// where clause (EventMonitoredItem.OnEvent); ConditionRefresh's start and
// end events must bypass it (Part 9 4.5). These two are the item's own
// steps after its where clause, of github.com/awcullen/opcua v1.4.0 (see
// backend.go for why the package ties itself to that version); the tests
// exercise them.

// eventItemSelect returns the fields of evt the item's select clauses
// name.
//
//go:linkname eventItemSelect github.com/awcullen/opcua/server.(*EventMonitoredItem).selectFields
func eventItemSelect(mi *server.EventMonitoredItem, evt ua.Event) []ua.Variant

// eventItemEnqueue queues an event's fields for the item's next
// notification; the item's lock must be held.
//
//go:linkname eventItemEnqueue github.com/awcullen/opcua/server.(*EventMonitoredItem).enqueue
func eventItemEnqueue(mi *server.EventMonitoredItem, fields []ua.Variant)

// deliverAlways queues evt on item mi whatever its where clause.
func deliverAlways(mi *server.EventMonitoredItem, evt ua.Event) {
	mi.Lock()
	defer mi.Unlock()
	eventItemEnqueue(mi, eventItemSelect(mi, evt))
}

// refreshPermissions let every role call ConditionRefresh: a session that
// may receive events may resynchronize them.
var refreshPermissions = func() []ua.RolePermissionType {
	var out []ua.RolePermissionType
	for _, r := range []ua.NodeID{
		ua.ObjectIDWellKnownRoleAnonymous, ua.ObjectIDWellKnownRoleAuthenticatedUser, ua.ObjectIDWellKnownRoleObserver,
		ua.ObjectIDWellKnownRoleOperator, ua.ObjectIDWellKnownRoleEngineer, ua.ObjectIDWellKnownRoleSupervisor,
	} {
		out = append(out, ua.RolePermissionType{RoleID: r, Permissions: ua.PermissionTypeBrowse | ua.PermissionTypeCall})
	}
	return out
}()

// installMethods binds Acknowledge, Confirm and Reset of the condition
// types to the alarms, and replaces ConditionRefresh and
// ConditionRefresh2 by methods every role may call.
func (f *alarmFace) installMethods() error {
	nm := f.s.ua.NamespaceManager()
	for id, cause := range map[ua.NodeID]string{
		ua.MethodIDAcknowledgeableConditionTypeAcknowledge: alarms.CauseAck,
		ua.MethodIDAcknowledgeableConditionTypeConfirm:     alarms.CauseConfirm,
		ua.MethodIDAlarmConditionTypeReset:                 alarms.CauseReset,
	} {
		m, ok := nm.FindMethod(id)
		if !ok {
			return fmt.Errorf("the OPC UA stack has no method %v (library version changed?)", id)
		}
		m.SetCallMethodHandler(f.operate(cause))
	}
	for id, two := range map[ua.NodeID]bool{
		ua.MethodIDConditionTypeConditionRefresh:  false,
		ua.MethodIDConditionTypeConditionRefresh2: true,
	} {
		old, ok := nm.FindMethod(id)
		if !ok {
			return fmt.Errorf("the OPC UA stack has no method %v (library version changed?)", id)
		}
		m := server.NewMethodNode(f.s.ua, id, old.BrowseName(), old.DisplayName(), old.Description(), refreshPermissions, old.References(), true)
		m.SetCallMethodHandler(f.refreshHandler(two))
		if err := nm.AddNode(m); err != nil {
			return fmt.Errorf("condition refresh: %w", err)
		}
	}
	return nil
}

// operate handles Acknowledge, Confirm (EventId, Comment) and Reset (no
// argument) on a condition.
func (f *alarmFace) operate(cause string) func(*server.Session, ua.CallMethodRequest) ua.CallMethodResult {
	nargs := 2
	if cause == alarms.CauseReset {
		nargs = 0
	}
	return func(sess *server.Session, req ua.CallMethodRequest) ua.CallMethodResult {
		c := f.byID[req.ObjectID]
		if c == nil {
			return ua.CallMethodResult{StatusCode: ua.BadNodeIDInvalid}
		}
		if mc, own := f.methods[req.MethodID]; own && mc != c {
			return ua.CallMethodResult{StatusCode: ua.BadMethodInvalid}
		}
		if st := argCount(req.InputArguments, nargs); st != ua.Good {
			return ua.CallMethodResult{StatusCode: st}
		}
		act := alarms.Action{User: userName(sess)}
		if nargs == 2 {
			res := []ua.StatusCode{ua.Good, ua.Good}
			switch id := req.InputArguments[0].(type) {
			case ua.ByteString:
				act.EventID = []byte(id)
			case nil:
			default:
				res[0] = ua.BadTypeMismatch
			}
			if act.EventID == nil {
				act.EventID = []byte{} // no id names no event
			}
			switch cm := req.InputArguments[1].(type) {
			case ua.LocalizedText:
				act.Comment = cm.Text
			case nil:
			default:
				res[1] = ua.BadTypeMismatch
			}
			if res[0] != ua.Good || res[1] != ua.Good {
				return ua.CallMethodResult{StatusCode: ua.BadInvalidArgument, InputArgumentResults: res}
			}
		}
		var err error
		switch cause {
		case alarms.CauseAck:
			_, err = f.set.Acknowledge(c.alarm, act)
		case alarms.CauseConfirm:
			_, err = f.set.Confirm(c.alarm, act)
		default:
			_, err = f.set.Reset(c.alarm, act)
		}
		st := alarmStatus(err)
		if err != nil {
			f.s.log.Info("opc ua "+cause+" refused", "alarm", c.info.Name, "status", st.Error(), "user", act.User, "err", err)
		}
		return ua.CallMethodResult{StatusCode: st}
	}
}

// argCount checks the number of a call's arguments.
func argCount(args []ua.Variant, n int) ua.StatusCode {
	switch {
	case len(args) < n:
		return ua.BadArgumentsMissing
	case len(args) > n:
		return ua.BadTooManyArguments
	}
	return ua.Good
}

// alarmStatus maps an error of the alarms to a status code.
func alarmStatus(err error) ua.StatusCode {
	switch {
	case err == nil:
		return ua.Good
	case errors.Is(err, alarms.ErrUnknownEvent):
		return ua.BadEventIDUnknown
	case errors.Is(err, alarms.ErrAlreadyAcked):
		return ua.BadConditionBranchAlreadyAcked
	case errors.Is(err, alarms.ErrAlreadyConfirmed):
		return ua.BadConditionBranchAlreadyConfirmed
	case errors.Is(err, alarms.ErrNotConfirmable), errors.Is(err, alarms.ErrNotLatching):
		return ua.BadMethodInvalid
	case errors.Is(err, alarms.ErrStillActive), errors.Is(err, alarms.ErrNotLatched):
		return ua.BadInvalidState
	case errors.Is(err, alarms.ErrUnknownAlarm):
		return ua.BadNodeIDInvalid
	}
	return ua.BadInternalError
}

// refreshHandler handles ConditionRefresh (SubscriptionId) and, when two,
// ConditionRefresh2 (SubscriptionId, MonitoredItemId).
func (f *alarmFace) refreshHandler(two bool) func(*server.Session, ua.CallMethodRequest) ua.CallMethodResult {
	nargs := 1
	if two {
		nargs = 2
	}
	return func(sess *server.Session, req ua.CallMethodRequest) ua.CallMethodResult {
		if req.ObjectID != ua.ObjectTypeIDConditionType {
			return ua.CallMethodResult{StatusCode: ua.BadNodeIDInvalid}
		}
		if st := argCount(req.InputArguments, nargs); st != ua.Good {
			return ua.CallMethodResult{StatusCode: st}
		}
		ids := make([]uint32, nargs)
		res := make([]ua.StatusCode, nargs)
		bad := false
		for k, a := range req.InputArguments {
			if v, ok := a.(uint32); ok {
				ids[k] = v
			} else {
				res[k], bad = ua.BadTypeMismatch, true
			}
		}
		if bad {
			return ua.CallMethodResult{StatusCode: ua.BadInvalidArgument, InputArgumentResults: res}
		}
		item := uint32(0)
		if two {
			item = ids[1]
		}
		return ua.CallMethodResult{StatusCode: f.conditionRefresh(sess, ids[0], two, item)}
	}
}

// conditionRefresh sends, to the event items of subscription subID of
// sess (only item itemID when one), a RefreshStartEvent, the latest
// event of every retained condition the item watches, and a
// RefreshEndEvent.
func (f *alarmFace) conditionRefresh(sess *server.Session, subID uint32, one bool, itemID uint32) ua.StatusCode {
	sm := f.s.ua.SubscriptionManager()
	sub, ok := sm.Get(subID)
	if !ok || !slices.Contains(sm.GetBySession(sess), sub) {
		return ua.BadSubscriptionIDInvalid
	}
	var items []*server.EventMonitoredItem
	for _, it := range sub.Items() {
		mi, ok := it.(*server.EventMonitoredItem)
		switch {
		case one && it.ID() == itemID && !ok:
			return ua.BadMonitoredItemIDInvalid
		case !ok, one && it.ID() != itemID, mi.MonitoringMode() == ua.MonitoringModeDisabled:
			continue
		}
		items = append(items, mi)
	}
	if len(items) == 0 {
		if one {
			return ua.BadMonitoredItemIDInvalid
		}
		return ua.BadNothingToDo
	}
	slices.SortFunc(items, func(a, b *server.EventMonitoredItem) int { return int(a.ID()) - int(b.ID()) })
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refresh++
	now := time.Now()
	start := f.refreshEvent(ua.ObjectTypeIDRefreshStartEventType, f.refreshID(0), now)
	end := f.refreshEvent(ua.ObjectTypeIDRefreshEndEventType, f.refreshID(1), now)
	sent := 0
	for _, mi := range items {
		deliverAlways(mi, start)
		node := mi.Node()
		for _, c := range f.conds {
			e := f.last[c.idx]
			if e == nil || e.fields["Retain"] != true || node == nil || !slices.Contains(c.notifiers, node.NodeID()) {
				continue
			}
			mi.OnEvent(e)
			sent++
		}
		deliverAlways(mi, end)
	}
	f.s.log.Info("condition refresh", "subscription", subID, "items", len(items), "conditions", sent, "user", userName(sess))
	return ua.Good
}

// refreshID is the event id of the start (0) or end (1) event of the
// current refresh.
func (f *alarmFace) refreshID(k uint32) []byte {
	id := make([]byte, 16)
	copy(id, f.idPrefix[:])
	binary.BigEndian.PutUint32(id[8:], uint32(f.refresh))
	binary.BigEndian.PutUint32(id[12:], k)
	return id
}
