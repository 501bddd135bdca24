package opcuaserver

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin/alarms"
)

// Alarms and Conditions (OPC UA Part 9): each alarm of a served machine
// (Config.Alarms) is a condition object, node id "<tag node id>/<alarm
// name>" in the machine's namespace, browse name the alarm's name, type
// definition ExclusiveLimitAlarmType or NonExclusiveLimitAlarmType (limit
// alarms), DiscreteAlarmType (states), OffNormalAlarmType (normal: its
// NormalState is the variable "<condition id>/NormalValue") or
// InstrumentDiagnosticAlarmType (quality). The tag's variable is its
// SourceNode and InputNode (HasCondition to the condition); the machine
// object has HasEventSource to the tag; the Server object, the location
// folders and the machine objects are notifiers (EventNotifier
// SubscribeToEvents, HasNotifier from the Server object down to the
// machines), so a client that subscribes to events on the Server object,
// a folder or a machine receives the events of the conditions below it.
//
// Every change of an alarm (twin/alarms) is an event of the condition
// with the fields of its type: BaseEventType's, ConditionType's
// (ConditionId as the NodeId attribute of the ConditionType with an
// empty browse path, ConditionName, BranchId null, Retain, EnabledState,
// Quality, LastSeverity, Comment, ClientUserId), AcknowledgeableConditionType's
// (AckedState, ConfirmedState for confirmable alarms), AlarmConditionType's
// (ActiveState, InputNode, SuppressedOrShelved, OnDelay, OffDelay,
// LatchedState for latching alarms), the limits and LimitState (exclusive)
// or HighHighState … LowLowState (non-exclusive), NormalState. Each
// TwoStateVariable gives its text, Id, EffectiveDisplayName and
// TransitionTime. A select clause whose type is not the event's type or
// one of its supertypes reads Null.
//
// Methods: Acknowledge and Confirm (EventId, Comment), called with the
// condition as ObjectId and the method of AcknowledgeableConditionType or
// of the condition itself; Reset (AlarmConditionType) for latching
// alarms. They follow the write right, as other method calls do
// (anonymous sessions with AnonymousWrite, users who may write). Refusals:
// Bad_NodeIdInvalid (the object is not a condition, e.g. the type),
// Bad_EventIdUnknown (not an event of that condition),
// Bad_ConditionBranchAlreadyAcked / Bad_ConditionBranchAlreadyConfirmed
// (nothing to acknowledge or confirm since that event), Bad_MethodInvalid
// (Confirm of an alarm that is not confirmable, Reset of one that does not
// latch), Bad_InvalidState (Reset while active or not latched),
// Bad_InvalidArgument with the argument's Bad_TypeMismatch.
// ConditionRefresh (SubscriptionId) and ConditionRefresh2
// (SubscriptionId, MonitoredItemId) may be called by every session that
// may receive events: a RefreshStartEvent, the latest event of every
// retained condition each event item of the subscription watches (through
// the item's where clause), then a RefreshEndEvent; the start and end
// events bypass the where clause, as Part 9 4.5 asks. Refusals:
// Bad_SubscriptionIdInvalid (not a subscription of the session),
// Bad_MonitoredItemIdInvalid, Bad_NothingToDo (no event item).
//
// Where clauses are evaluated by the OPC UA stack, which knows OfType
// (with subtypes) and Equals: other operators select no event.

// EventRecorder keeps the events a server reports, for HistoryRead of
// events: Record stores ev, which happened at t, reported on the
// notifiers. The server's EventLog is one, and so may be a
// Config.EventHistory: the alarms' events are recorded into whichever
// the server reads. It must be safe for concurrent use.
type EventRecorder interface {
	Record(ev ua.Event, t time.Time, notifiers ...ua.NodeID) uint64
}

// alarmFace serves the alarms of one endpoint.
type alarmFace struct {
	s     *Server
	set   *alarms.Set
	rec   EventRecorder
	types map[ua.NodeID]map[ua.NodeID]bool // event type → itself and its supertypes

	conds   []*condNode
	byAlarm map[int]*condNode
	byID    map[ua.NodeID]*condNode // condition ids
	methods map[ua.NodeID]*condNode // the conditions' own method ids

	mu       sync.Mutex    // serializes raising events and refreshes
	last     []*fieldEvent // latest event of each condition (by condNode.idx)
	refresh  uint64        // refreshes so far (their event ids)
	idPrefix [8]byte       // of the refresh events' ids, random per server
}

// condNode is one served condition.
type condNode struct {
	idx       int
	alarm     int // index in the Set
	info      alarms.Info
	id        ua.NodeID
	typ       ua.NodeID
	class     ua.NodeID
	className string
	source    ua.NodeID // the tag's variable
	normal    ua.NodeID // NormalState's value
	machine   ua.NodeID
	obj       *server.ObjectNode // the machine's object, once the nodes are added
	notifiers []ua.NodeID        // machine, folders up, Server
}

// conditionType is the ObjectType of an alarm.
func conditionType(in alarms.Info) ua.NodeID {
	switch in.Kind {
	case scenarios.AlarmLimit:
		if in.Exclusive {
			return ua.ObjectTypeIDExclusiveLimitAlarmType
		}
		return ua.ObjectTypeIDNonExclusiveLimitAlarmType
	case scenarios.AlarmDiscrete:
		return ua.ObjectTypeIDDiscreteAlarmType
	case scenarios.AlarmOffNormal:
		return ua.ObjectTypeIDOffNormalAlarmType
	}
	return ua.ObjectTypeIDInstrumentDiagnosticAlarmType
}

// alarmSpace prepares the alarms of the served machines before the
// address space's nodes are added: the notifier tree, the condition
// nodes, the method handlers. Without Config.Alarms it does nothing.
func (s *Server) alarmSpace(as *addressSpace) error {
	if s.cfg.Alarms == nil {
		return nil
	}
	f := &alarmFace{s: s, set: s.cfg.Alarms,
		byAlarm: map[int]*condNode{}, byID: map[ua.NodeID]*condNode{}, methods: map[ua.NodeID]*condNode{}}
	if s.events != nil {
		f.rec = s.events
	} else if r, ok := s.cfg.EventHistory.(EventRecorder); ok {
		f.rec = r
	}
	rand.Read(f.idPrefix[:])
	nm := s.ua.NamespaceManager()
	f.types = eventTypes(nm)
	if err := f.installMethods(); err != nil {
		return err
	}
	s.alarms = f
	served := map[string]bool{}
	for _, m := range s.machines {
		served[m.Name] = true
	}
	var mine []alarms.Info
	for _, in := range f.set.Alarms() {
		if served[in.Machine] {
			mine = append(mine, in)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	machines, parents := notifierTree(as)
	sources := map[*objSpec]map[ua.NodeID]bool{}
	for _, in := range mine {
		obj := machines[in.Machine]
		v := s.nodes[in.Tag]
		if obj == nil || v == nil {
			return fmt.Errorf("alarm %s: machine %s or tag %s not served here", in.Name, in.Machine, in.TagName)
		}
		src := v.NodeID()
		sid, ok := src.(ua.NodeIDString)
		if !ok {
			return fmt.Errorf("alarm %s: tag %s has no string node id", in.Name, in.TagName)
		}
		c := &condNode{idx: len(f.conds), alarm: in.Index, info: in, typ: conditionType(in), source: src, machine: obj.id,
			id: ua.NewNodeIDString(sid.NamespaceIndex, sid.ID+"/"+in.Name), class: ua.ObjectTypeIDProcessConditionClassType,
			className: "Process", normal: ua.NodeIDNumeric{}}
		if in.Kind == scenarios.AlarmQuality {
			c.class, c.className = ua.ObjectTypeIDMaintenanceConditionClassType, "Maintenance"
		}
		if _, taken := nm.FindNode(c.id); taken {
			return fmt.Errorf("alarm %s: node id %s is taken by another node", in.Name, sid.ID+"/"+in.Name)
		}
		for o := obj; o != nil; o = parents[o] {
			c.notifiers = append(c.notifiers, o.id)
		}
		c.notifiers = append(c.notifiers, ua.ObjectIDServer)
		if sources[obj] == nil {
			sources[obj] = map[ua.NodeID]bool{}
		}
		if !sources[obj][src] {
			sources[obj][src] = true
			obj.refs = append(obj.refs, ua.NewReference(ua.ReferenceTypeIDHasEventSource, false, ua.NewExpandedNodeID(src)))
		}
		as.leaves = append(as.leaves, f.conditionNodes(c, sid.NamespaceIndex)...)
		f.conds = append(f.conds, c)
		f.byAlarm[c.alarm] = c
		f.byID[c.id] = c
	}
	f.last = make([]*fieldEvent, len(f.conds))
	return nil
}

// notifierTree makes the folders and machines of as notifiers, each
// folder HasNotifier to what it organizes and the Server object to the
// top ones; it returns the machines' objects by name and each object's
// parent folder.
func notifierTree(as *addressSpace) (map[string]*objSpec, map[*objSpec]*objSpec) {
	byID := map[ua.NodeID]*objSpec{}
	for _, o := range as.order {
		byID[o.id] = o
	}
	machines := map[string]*objSpec{}
	parents := map[*objSpec]*objSpec{}
	for _, o := range as.order {
		o.notify = ua.EventNotifierSubscribeToEvents
		if !o.folder {
			machines[o.name.Name] = o
		}
		for _, r := range o.refs {
			if r.ReferenceTypeID != ua.ReferenceTypeIDOrganizes {
				continue
			}
			target := ua.ToNodeID(r.TargetID, nil)
			switch {
			case !r.IsInverse:
				o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDHasNotifier, false, r.TargetID))
				if child := byID[target]; child != nil {
					parents[child] = o
				}
			case target == ua.ObjectIDObjectsFolder:
				o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDHasNotifier, true, ua.NewExpandedNodeID(ua.ObjectIDServer)))
			}
		}
	}
	return machines, parents
}

// conditionNodes builds condition c's object, its methods (Acknowledge;
// Confirm when confirmable; Reset when latching) and, for an off-normal
// alarm, its NormalValue variable.
func (f *alarmFace) conditionNodes(c *condNode, ns uint16) []server.Node {
	srv := f.s.ua
	id := c.id.(ua.NodeIDString)
	refs := []ua.Reference{
		hasTypeDefinition(c.typ),
		ua.NewReference(ua.ReferenceTypeIDHasCondition, true, ua.NewExpandedNodeID(c.source)),
	}
	var out []server.Node
	method := func(name string, handler func(*server.Session, ua.CallMethodRequest) ua.CallMethodResult) {
		mid := ua.NewNodeIDString(ns, id.ID+"/"+name)
		m := server.NewMethodNode(srv, mid, ua.NewQualifiedName(0, name), ua.NewLocalizedText(name, ""),
			ua.NewLocalizedText("", ""), nil, nil, true)
		m.SetCallMethodHandler(handler)
		f.methods[mid] = c
		refs = append(refs, ua.NewReference(ua.ReferenceTypeIDHasComponent, false, ua.NewExpandedNodeID(mid)))
		out = append(out, m)
	}
	method("Acknowledge", f.operate(alarms.CauseAck))
	if c.info.Confirm {
		method("Confirm", f.operate(alarms.CauseConfirm))
	}
	if c.info.Latch {
		method("Reset", f.operate(alarms.CauseReset))
	}
	if c.info.Kind == scenarios.AlarmOffNormal && len(c.info.Values) == 1 {
		t := f.s.src.Tags()[c.info.Tag]
		if dt, ok := dataTypeID(t.Type); ok {
			vid := ua.NewNodeIDString(ns, id.ID+"/NormalValue")
			v := server.NewVariableNode(srv, vid, ua.NewQualifiedName(0, "NormalValue"), ua.NewLocalizedText("NormalValue", ""),
				ua.NewLocalizedText("The tag's normal value.", ""), nil,
				[]ua.Reference{hasTypeDefinition(ua.VariableTypeIDBaseDataVariableType)},
				ua.NewDataValue(c.info.Values[0], ua.Good, time.Time{}, 0, time.Now(), 0),
				dt, ua.ValueRankScalar, []uint32{}, ua.AccessLevelsCurrentRead, 0, false, nil)
			c.normal = vid
			refs = append(refs, ua.NewReference(ua.ReferenceTypeIDHasComponent, false, ua.NewExpandedNodeID(vid)))
			out = append(out, v)
		}
	}
	obj := server.NewObjectNode(srv, c.id, ua.NewQualifiedName(ns, c.info.Name), ua.NewLocalizedText(c.info.Name, ""),
		ua.NewLocalizedText(c.info.Message, ""), nil, refs, 0)
	return append(out, obj)
}

// eventTypes maps each event type the face raises to itself and its
// supertypes.
func eventTypes(nm *server.NamespaceManager) map[ua.NodeID]map[ua.NodeID]bool {
	out := map[ua.NodeID]map[ua.NodeID]bool{}
	for _, t := range []ua.NodeID{
		ua.ObjectTypeIDExclusiveLimitAlarmType, ua.ObjectTypeIDNonExclusiveLimitAlarmType,
		ua.ObjectTypeIDDiscreteAlarmType, ua.ObjectTypeIDOffNormalAlarmType, ua.ObjectTypeIDInstrumentDiagnosticAlarmType,
		ua.ObjectTypeIDRefreshStartEventType, ua.ObjectTypeIDRefreshEndEventType,
	} {
		set := map[ua.NodeID]bool{}
		for x := t; x != nil && !set[x]; x = nm.FindSuperType(x) {
			set[x] = true
			if x == ua.ObjectTypeIDBaseEventType {
				break
			}
		}
		out[t] = set
	}
	return out
}

// startAlarms starts raising the alarms' events; it stops with ctx or
// the server.
func (s *Server) startAlarms(ctx context.Context) {
	f := s.alarms
	if f == nil {
		return
	}
	nm := s.ua.NamespaceManager()
	for _, c := range f.conds {
		c.obj, _ = nm.FindObject(c.machine)
	}
	w, states := f.set.WatchStates()
	now := time.Now()
	f.mu.Lock()
	for _, c := range f.conds {
		if st := states[c.alarm]; st.EventID != nil {
			f.last[c.idx] = f.conditionEvent(c, st, st.Time, now)
		}
	}
	f.mu.Unlock()
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.closing:
				return
			case <-w.C():
			}
			evs, lost := w.Next()
			if lost > 0 {
				s.log.Warn("alarm events lost: the server fell behind the alarms", "lost", lost)
			}
			for _, ev := range evs {
				if c := f.byAlarm[ev.Alarm]; c != nil {
					f.raise(c, ev)
				}
			}
		}
	}()
}

// raise records alarm event ev of condition c in the event history and
// reports it on its notifiers, from the machine's object up to the
// Server object (recorded first: a client that received it can read it
// back).
func (f *alarmFace) raise(c *condNode, ev alarms.Event) {
	e := f.conditionEvent(c, ev.State, ev.Time, time.Now())
	if f.rec != nil {
		f.rec.Record(e, ev.Time, c.notifiers...)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last[c.idx] = e
	if c.obj != nil {
		if err := f.s.ua.NamespaceManager().OnEvent(c.obj, e); err != nil {
			f.s.log.Warn("alarm event not raised", "alarm", c.info.Name, "err", err)
		}
	}
}
