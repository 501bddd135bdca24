package opcua

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

// Alarms (OPC UA Part 9, Alarms and Conditions). With a consumer
// (RelayAlarms) and unless the source turns them off (Config.Alarms), the
// connector adds an event item on the server's Server object to its
// subscription, with the fields of a condition's state, and calls
// ConditionRefresh after every (re)connect: the server then sends a
// RefreshStartEvent, the latest event of every condition it retains and
// a RefreshEndEvent, which the connector relays as AlarmRefreshStart, the
// conditions' states and AlarmRefreshEnd. Events without a ConditionId
// and condition branches (a BranchId that is not null) are not relayed.
// When the link drops, one AlarmLost says so. The connector keeps each
// condition's latest EventId: ActOnAlarm acknowledges or confirms a
// condition with it.

// eventHandle is the client handle of the event item; the data items'
// handles are their indices.
const eventHandle = math.MaxUint32

// eventQueue is the queue size asked for the event item: room for a
// refresh of that many retained conditions between two publishes.
const eventQueue = 1000

// extras is what the connector keeps for alarms and history beside its
// readings (events.go, history.go).
type extras struct {
	// alarms receives the alarm stream; set by RelayAlarms before Run.
	alarms chan<- connectors.Alarm
	// cur is the session that takes requests (ActOnAlarm, ReadHistory):
	// set once it resolved and browsed its points, cleared when it ends.
	cur atomic.Pointer[session]

	mu sync.Mutex
	// conds are the conditions seen, by ConditionID: their latest event
	// id and name (kept across reconnects; a refresh renews them).
	conds map[string]condInfo

	// The fields below belong to the goroutine in Run.

	// watched says events were watched in some session: a lost link is
	// then relayed.
	watched bool
	// noted says the lack of alarms was logged.
	noted bool
}

// condInfo is what the connector remembers of a condition.
type condInfo struct {
	eventID []byte
	name    string
}

// sessionExt is what a session keeps for alarms and history.
type sessionExt struct {
	// byNode maps the session's node ids (NodeID.String) to their
	// addresses; built when the session becomes ready.
	byNode map[string]string
	// byAddr maps addresses to node ids.
	byAddr map[string]*ua.NodeID
	// refreshing says a refresh is under way.
	refreshing bool
	// history caches whether a node offers history (history.go).
	histMu  sync.Mutex
	history map[string]error
}

// RelayAlarms makes Run relay the server's alarms into out
// (connectors.AlarmRelay); call it before Run.
func (c *Connector) RelayAlarms(out chan<- connectors.Alarm) { c.ext.alarms = out }

// ready makes s the session that takes requests.
func (s *session) ready() {
	s.ext.byNode = make(map[string]string, len(s.items))
	s.ext.byAddr = make(map[string]*ua.NodeID, len(s.items))
	for _, it := range s.items {
		s.ext.byNode[it.id.String()] = it.ref
		s.ext.byAddr[it.ref] = it.id
	}
	s.c.ext.cur.Store(s)
}

// unready withdraws s from requests.
func (s *session) unready() { s.c.ext.cur.CompareAndSwap(s, nil) }

// wantsAlarms says alarms are relayed unless the server's Server object
// turns out not to be an event notifier (Config.Alarms unset).
func (c *Connector) wantsAlarms() bool {
	return c.ext.alarms != nil && (c.cfg.Alarms == nil || *c.cfg.Alarms)
}

// eventQueueSize is the event item's share of a publish's notifications.
func (s *session) eventQueueSize() uint64 {
	if s.c.wantsAlarms() {
		return eventQueue
	}
	return 0
}

// The fields the event item selects, in order (see eventSelect).
const (
	fEventID = iota
	fEventType
	fSourceNode
	fSourceName
	fTime
	fMessage
	fSeverity
	fConditionID
	fConditionName
	fBranchID
	fRetain
	fActive
	fActiveTime
	fAcked
	fAckedTime
	fConfirmed
	fComment
	fUser
	nEventFields
)

// eventSelect are the event item's select clauses: each field on the type
// that defines it; the ConditionId is the NodeId attribute of the
// ConditionType with an empty path.
var eventSelect = func() []*ua.SimpleAttributeOperand {
	f := func(typ uint32, path string) *ua.SimpleAttributeOperand {
		var qs []*ua.QualifiedName
		for _, p := range strings.Split(path, "/") {
			qs = append(qs, &ua.QualifiedName{Name: p})
		}
		return &ua.SimpleAttributeOperand{TypeDefinitionID: ua.NewNumericNodeID(0, typ), BrowsePath: qs, AttributeID: ua.AttributeIDValue}
	}
	out := make([]*ua.SimpleAttributeOperand, nEventFields)
	out[fEventID] = f(id.BaseEventType, "EventId")
	out[fEventType] = f(id.BaseEventType, "EventType")
	out[fSourceNode] = f(id.BaseEventType, "SourceNode")
	out[fSourceName] = f(id.BaseEventType, "SourceName")
	out[fTime] = f(id.BaseEventType, "Time")
	out[fMessage] = f(id.BaseEventType, "Message")
	out[fSeverity] = f(id.BaseEventType, "Severity")
	out[fConditionID] = &ua.SimpleAttributeOperand{TypeDefinitionID: ua.NewNumericNodeID(0, id.ConditionType), AttributeID: ua.AttributeIDNodeID}
	out[fConditionName] = f(id.ConditionType, "ConditionName")
	out[fBranchID] = f(id.ConditionType, "BranchId")
	out[fRetain] = f(id.ConditionType, "Retain")
	out[fActive] = f(id.AlarmConditionType, "ActiveState/Id")
	out[fActiveTime] = f(id.AlarmConditionType, "ActiveState/TransitionTime")
	out[fAcked] = f(id.AcknowledgeableConditionType, "AckedState/Id")
	out[fAckedTime] = f(id.AcknowledgeableConditionType, "AckedState/TransitionTime")
	out[fConfirmed] = f(id.AcknowledgeableConditionType, "ConfirmedState/Id")
	out[fComment] = f(id.ConditionType, "Comment")
	out[fUser] = f(id.ConditionType, "ClientUserId")
	return out
}()

// watchEvents adds the event item to subscription subID and asks the
// server for a refresh, when alarms are relayed. A server that refuses
// either is logged (the readings go on); only a failed request ends the
// session.
func (s *session) watchEvents(ctx context.Context, subID uint32) error {
	c := s.c
	if !c.wantsAlarms() {
		return nil
	}
	if c.cfg.Alarms == nil {
		ok, err := s.serverNotifies(ctx)
		if err != nil {
			return fmt.Errorf("read the Server object's EventNotifier: %w", err)
		}
		if !ok {
			if !c.ext.noted {
				c.ext.noted = true
				c.log.Info("alarms not relayed: the server's Server object is no event notifier (set alarms: true to ask anyway)")
			}
			return nil
		}
	}
	filter := &ua.EventFilter{SelectClauses: eventSelect, WhereClause: &ua.ContentFilter{}}
	req := &ua.CreateMonitoredItemsRequest{SubscriptionID: subID, TimestampsToReturn: ua.TimestampsToReturnNeither,
		ItemsToCreate: []*ua.MonitoredItemCreateRequest{{
			ItemToMonitor:  &ua.ReadValueID{NodeID: ua.NewNumericNodeID(0, id.Server), AttributeID: ua.AttributeIDEventNotifier, DataEncoding: &ua.QualifiedName{}},
			MonitoringMode: ua.MonitoringModeReporting,
			RequestedParameters: &ua.MonitoringParameters{
				ClientHandle: eventHandle, QueueSize: eventQueue, DiscardOldest: true, Filter: ua.NewExtensionObject(filter),
			},
		}}}
	var res *ua.CreateMonitoredItemsResponse
	s.begin()
	err := s.cl.Send(ctx, req, func(r ua.Response) error { return assign(r, &res) })
	s.end()
	if err != nil {
		return fmt.Errorf("create the alarm event item: %w", err)
	}
	if len(res.Results) != 1 || res.Results[0] == nil || res.Results[0].StatusCode != ua.StatusOK {
		status := ua.StatusBadUnexpectedError
		if len(res.Results) == 1 && res.Results[0] != nil {
			status = res.Results[0].StatusCode
		}
		c.log.Warn("alarms not relayed: the server refused an event item on its Server object", "status", connectors.StatusCode(status))
		return nil
	}
	c.ext.watched = true
	call := &ua.CallMethodRequest{
		ObjectID:       ua.NewNumericNodeID(0, id.ConditionType),
		MethodID:       ua.NewNumericNodeID(0, id.ConditionType_ConditionRefresh),
		InputArguments: []*ua.Variant{ua.MustVariant(subID)},
	}
	s.begin()
	cres, err := s.cl.Call(ctx, call)
	s.end()
	if err != nil {
		return fmt.Errorf("condition refresh: %w", err)
	}
	if cres.StatusCode != ua.StatusOK {
		c.log.Warn("condition refresh refused: retained alarms show once they change", "status", connectors.StatusCode(cres.StatusCode))
	}
	return nil
}

// serverNotifies says the Server object is an event notifier.
func (s *session) serverNotifies(ctx context.Context) (bool, error) {
	res, err := s.read(ctx, []*ua.ReadValueID{{NodeID: ua.NewNumericNodeID(0, id.Server), AttributeID: ua.AttributeIDEventNotifier}}, ua.TimestampsToReturnNeither)
	if err != nil {
		return false, err
	}
	if dv := res[0]; dv != nil && dv.Status == ua.StatusOK && dv.Value != nil {
		if b, ok := dv.Value.Value().(uint8); ok {
			return b&uint8(ua.EventNotifierTypeSubscribeToEvents) != 0, nil
		}
	}
	return false, nil
}

// onEvents relays the events of one notification.
func (s *session) onEvents(ctx context.Context, l *ua.EventNotificationList) error {
	if s.c.ext.alarms == nil {
		return nil
	}
	for _, ev := range l.Events {
		if ev == nil || ev.ClientHandle != eventHandle {
			continue
		}
		a, ok := parseEvent(ev.EventFields, s.ns, s.ext.byNode)
		if !ok {
			continue
		}
		a.Source, a.Received = s.c.cfg.Name, time.Now()
		switch a.What {
		case connectors.AlarmRefreshStart:
			s.ext.refreshing = true
		case connectors.AlarmRefreshEnd:
			s.ext.refreshing = false
		default:
			a.Refresh = s.ext.refreshing
			s.c.ext.mu.Lock()
			if s.c.ext.conds == nil {
				s.c.ext.conds = make(map[string]condInfo)
			}
			s.c.ext.conds[a.ConditionID] = condInfo{eventID: eventID(ev.EventFields), name: a.ConditionName}
			s.c.ext.mu.Unlock()
		}
		select {
		case s.c.ext.alarms <- a:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// alarmLost relays the loss of the link, when events were watched;
// false when ctx ended first.
func (c *Connector) alarmLost(ctx context.Context, cause error) bool {
	if c.ext.alarms == nil || !c.ext.watched {
		return true
	}
	a := connectors.Alarm{Source: c.cfg.Name, What: connectors.AlarmLost, Received: time.Now(), Why: cause.Error()}
	select {
	case c.ext.alarms <- a:
		return true
	case <-ctx.Done():
		return false
	}
}

// eventID is the EventId field of an event.
func eventID(fields []*ua.Variant) []byte {
	if len(fields) > fEventID && fields[fEventID] != nil {
		if b, ok := fields[fEventID].Value().([]byte); ok {
			return b
		}
	}
	return nil
}

// parseEvent reads an event's fields (in eventSelect's order) as an alarm
// message: a refresh's start or end, or a condition's state; false for
// anything else (an event that is no condition's, a branch). Node ids are
// written "nsu=<uri>;<id>" with the namespaces ns; a source node that is
// one of the session's points (byNode) takes its address.
func parseEvent(fields []*ua.Variant, ns []string, byNode map[string]string) (connectors.Alarm, bool) {
	var a connectors.Alarm
	if len(fields) != nEventFields {
		return a, false
	}
	v := func(i int) any {
		if fields[i] == nil {
			return nil
		}
		return fields[i].Value()
	}
	if t, ok := v(fEventType).(*ua.NodeID); ok && t != nil && t.Namespace() == 0 {
		switch t.IntID() {
		case id.RefreshStartEventType:
			return connectors.Alarm{What: connectors.AlarmRefreshStart}, true
		case id.RefreshEndEventType:
			return connectors.Alarm{What: connectors.AlarmRefreshEnd}, true
		}
	}
	cond, ok := v(fConditionID).(*ua.NodeID)
	if !ok || cond == nil || nullNodeID(cond) {
		return a, false
	}
	if b, ok := v(fBranchID).(*ua.NodeID); ok && b != nil && !nullNodeID(b) {
		return a, false
	}
	a.What = connectors.AlarmState
	a.ConditionID = canonicalAddress(cond, ns)
	a.ConditionName, _ = v(fConditionName).(string)
	if src, ok := v(fSourceNode).(*ua.NodeID); ok && src != nil && !nullNodeID(src) {
		if addr, ok := byNode[src.String()]; ok {
			a.Address = addr
		} else {
			a.Address = canonicalAddress(src, ns)
		}
	}
	a.SourceName, _ = v(fSourceName).(string)
	a.Severity, _ = v(fSeverity).(uint16)
	a.Message = text(v(fMessage))
	a.Comment = text(v(fComment))
	a.User, _ = v(fUser).(string)
	a.Time, _ = v(fTime).(time.Time)
	a.ActiveTime, _ = v(fActiveTime).(time.Time)
	a.AckedTime, _ = v(fAckedTime).(time.Time)
	a.Retain, _ = v(fRetain).(bool)
	if x, ok := v(fActive).(bool); ok {
		a.Active = x
	} else {
		a.Active = a.Retain // a condition that is no alarm: shown while retained
	}
	a.Acked = true // nothing to acknowledge on a condition that is not acknowledgeable
	if x, ok := v(fAcked).(bool); ok {
		a.Acked = x
	}
	if x, ok := v(fConfirmed).(bool); ok {
		a.Confirmable, a.Confirmed = true, x
	}
	return a, true
}

// nullNodeID says n is the null node id (namespace 0, numeric 0).
func nullNodeID(n *ua.NodeID) bool {
	return n.Namespace() == 0 && n.Type() != ua.NodeIDTypeString && n.Type() != ua.NodeIDTypeGUID &&
		n.Type() != ua.NodeIDTypeByteString && n.IntID() == 0
}

// text is a LocalizedText's text.
func text(v any) string {
	if lt, ok := v.(*ua.LocalizedText); ok && lt != nil {
		return lt.Text
	}
	return ""
}

// ActOnAlarm acknowledges or confirms a condition of the server with the
// latest EventId received of it (connectors.AlarmActor). The OPC UA
// session's identity is the connector's login (the server records it as
// ClientUserId), so the dashboard user's name leads the comment: "alice:
// venting". It returns nil when the server answered Good, the server's
// StatusCode (with its text) when it refused, or why it could not ask.
func (c *Connector) ActOnAlarm(ctx context.Context, x connectors.AlarmAction) error {
	var method uint32
	switch x.Verb {
	case connectors.AlarmAcknowledge:
		method = id.AcknowledgeableConditionType_Acknowledge
	case connectors.AlarmConfirm:
		method = id.AcknowledgeableConditionType_Confirm
	default:
		return fmt.Errorf("opcua %s: unknown alarm action %q", c.cfg.Name, x.Verb)
	}
	c.ext.mu.Lock()
	cond, known := c.ext.conds[x.ConditionID]
	c.ext.mu.Unlock()
	if !known || len(cond.eventID) == 0 {
		return fmt.Errorf("opcua %s: %s %s: no event of this condition received yet", c.cfg.Name, x.Verb, x.ConditionID)
	}
	s := c.ext.cur.Load()
	if s == nil {
		return fmt.Errorf("opcua %s: %s %s: not connected to %s", c.cfg.Name, x.Verb, cond.name, c.cfg.URL)
	}
	ref, err := parseNode(x.ConditionID)
	if err != nil {
		return fmt.Errorf("opcua %s: %s: %w", c.cfg.Name, x.Verb, err)
	}
	obj, err := ref.resolve(s.ns)
	if err != nil {
		return fmt.Errorf("opcua %s: %s %s: %w", c.cfg.Name, x.Verb, cond.name, err)
	}
	comment := x.Comment
	if x.User != "" {
		comment = strings.TrimSuffix(x.User+": "+x.Comment, ": ")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	res, err := s.cl.Call(ctx, &ua.CallMethodRequest{
		ObjectID: obj, MethodID: ua.NewNumericNodeID(0, method),
		InputArguments: []*ua.Variant{ua.MustVariant(cond.eventID), ua.MustVariant(ua.NewLocalizedText(comment))},
	})
	if err != nil {
		return fmt.Errorf("opcua %s: %s %s: %w", c.cfg.Name, x.Verb, cond.name, err)
	}
	if res.StatusCode != ua.StatusOK {
		code := connectors.StatusCode(res.StatusCode)
		c.log.Info("alarm action refused by the server", "verb", string(x.Verb), "condition", x.ConditionID, "status", code)
		return &connectors.StatusError{Code: code, Err: fmt.Errorf("%s %s: the server answered %s", x.Verb, cond.name, code)}
	}
	c.log.Info("alarm action taken by the server", "verb", string(x.Verb), "condition", x.ConditionID, "user", x.User)
	return nil
}

var (
	_ connectors.AlarmRelay = (*Connector)(nil)
	_ connectors.AlarmActor = (*Connector)(nil)
)
