package opcuaserver

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/alarms"
)

// alarmFixture is testdata/alarms.yaml served on one endpoint with its
// alarms, driven by Step.
type alarmFixture struct {
	s   *Server
	e   *twin.Engine
	set *alarms.Set
	ns  string // the machines' namespace URI
}

func alarmServer(t *testing.T) *alarmFixture {
	t.Helper()
	sc, err := scenarios.Load("testdata/alarms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	set, err := alarms.New(e, sc, alarms.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	f := &alarmFixture{e: e, set: set, ns: sc.Machines[0].OPCUA.Namespace}
	cfg := DefaultConfig("filler", "capper")
	cfg.DataDir = testDir
	cfg.ApplySettings(sc.OPCUA)
	cfg.Alarms = set
	cfg.Logger = discardLogger()
	if testing.Verbose() {
		cfg.Logger = slog.Default()
	}
	if f.s, err = New(FromEngine(e), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); f.s.Close() })
	if err := f.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// tagNode is the node id of a tag ("machine/tag") as c sees it.
func (f *alarmFixture) tagNode(t *testing.T, c *opcua.Client, tag string) *gua.NodeID {
	t.Helper()
	i, ok := f.e.Lookup(tag)
	if !ok {
		t.Fatalf("no tag %s", tag)
	}
	return gua.NewStringNodeID(nsIndex(t, c, f.ns), f.e.Tags()[i].NodeID)
}

// condNode is the node id of alarm name's condition.
func (f *alarmFixture) condNode(t *testing.T, c *opcua.Client, name string) *gua.NodeID {
	t.Helper()
	i, _ := f.set.Lookup(name)
	tag := f.tagNode(t, c, f.set.Alarms()[i].TagName)
	return gua.NewStringNodeID(tag.Namespace(), tag.StringID()+"/"+name)
}

// injectAndStep injects a fault of the scenario and runs n ticks.
func (f *alarmFixture) injectAndStep(t *testing.T, fault string, n int) {
	t.Helper()
	if err := f.e.InjectNamed(fault); err != nil {
		t.Fatal(err)
	}
	f.e.Step(n)
}

func (f *alarmFixture) write(t *testing.T, tag string, v any) {
	t.Helper()
	i, _ := f.e.Lookup(tag)
	if err := f.e.Write(i, v); err != nil {
		t.Fatal(err)
	}
	f.e.Step(1)
}

// alarmFields are the fields the tests select, as browse paths;
// "ConditionId" is the condition's NodeId attribute.
var alarmFields = []string{
	"EventId", "EventType", "SourceNode", "SourceName", "Time", "Message", "Severity", "ConditionId",
	"ConditionName", "BranchId", "Retain", "EnabledState/Id", "ActiveState/Id", "AckedState/Id",
	"ConfirmedState/Id", "LimitState/CurrentState", "Comment", "ClientUserId", "HighHighLimit", "HighState/Id",
	"LatchedState/Id", "InputNode", "NormalState", "Quality",
}

// selectClauses are the select clauses of fields, each on BaseEventType
// (as clients write them) but ConditionId.
func selectClauses(fields []string) []*gua.SimpleAttributeOperand {
	out := make([]*gua.SimpleAttributeOperand, len(fields))
	for i, f := range fields {
		if f == "ConditionId" {
			out[i] = &gua.SimpleAttributeOperand{TypeDefinitionID: gua.NewNumericNodeID(0, id.ConditionType), AttributeID: gua.AttributeIDNodeID}
			continue
		}
		var path []*gua.QualifiedName
		for _, p := range strings.Split(f, "/") {
			path = append(path, &gua.QualifiedName{Name: p})
		}
		out[i] = &gua.SimpleAttributeOperand{TypeDefinitionID: gua.NewNumericNodeID(0, id.BaseEventType), BrowsePath: path, AttributeID: gua.AttributeIDValue}
	}
	return out
}

// ofType is a where clause selecting events of type typ and its subtypes.
func ofType(typ uint32) *gua.ContentFilter {
	return &gua.ContentFilter{Elements: []*gua.ContentFilterElement{{
		FilterOperator: gua.FilterOperatorOfType,
		FilterOperands: []*gua.ExtensionObject{gua.NewExtensionObject(&gua.LiteralOperand{Value: gua.MustVariant(gua.NewNumericNodeID(0, typ))})},
	}}}
}

// eventStream is an event subscription's events as field maps.
type eventStream struct {
	sub  *opcua.Subscription
	mu   sync.Mutex
	evs  []map[string]any
	kick chan struct{}
}

// subscribeEvents subscribes to the events of node with where and the
// alarmFields.
func subscribeEvents(t *testing.T, c *opcua.Client, node *gua.NodeID, where *gua.ContentFilter) *eventStream {
	t.Helper()
	ctx := context.Background()
	ch := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 50 * time.Millisecond, MaxNotificationsPerPublish: 1000}, ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Cancel(context.Background()) })
	filter := &gua.EventFilter{SelectClauses: selectClauses(alarmFields), WhereClause: where}
	if where == nil {
		filter.WhereClause = &gua.ContentFilter{}
	}
	res, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, &gua.MonitoredItemCreateRequest{
		ItemToMonitor:  &gua.ReadValueID{NodeID: node, AttributeID: gua.AttributeIDEventNotifier, DataEncoding: &gua.QualifiedName{}},
		MonitoringMode: gua.MonitoringModeReporting,
		RequestedParameters: &gua.MonitoringParameters{
			ClientHandle: 7, QueueSize: 1000, DiscardOldest: true, Filter: gua.NewExtensionObject(filter),
		},
	})
	if err != nil || res.Results[0].StatusCode != gua.StatusOK {
		t.Fatalf("monitor events of %v: %v %v", node, err, res)
	}
	s := &eventStream{sub: sub, kick: make(chan struct{}, 1)}
	go func() {
		for n := range ch {
			l, ok := n.Value.(*gua.EventNotificationList)
			if !ok {
				continue
			}
			s.mu.Lock()
			for _, ev := range l.Events {
				m := map[string]any{}
				for k, v := range ev.EventFields {
					m[alarmFields[k]] = v.Value()
				}
				s.evs = append(s.evs, m)
			}
			s.mu.Unlock()
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	}()
	return s
}

// next waits for the first event not seen yet that matches pred, and
// returns it with every event before it.
func (s *eventStream) next(t *testing.T, what string, seen *int, pred func(map[string]any) bool) (map[string]any, []map[string]any) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		for ; *seen < len(s.evs); *seen++ {
			if pred(s.evs[*seen]) {
				ev, before := s.evs[*seen], s.evs[:*seen]
				*seen++
				s.mu.Unlock()
				return ev, before
			}
		}
		s.mu.Unlock()
		select {
		case <-s.kick:
		case <-deadline:
			t.Fatalf("no event: %s", what)
		}
	}
}

// all returns the events so far.
func (s *eventStream) all() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.evs)
}

func named(name string, preds ...func(map[string]any) bool) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		if ev["ConditionName"] != name {
			return false
		}
		for _, p := range preds {
			if !p(ev) {
				return false
			}
		}
		return true
	}
}

func field(k string, v any) func(map[string]any) bool {
	return func(ev map[string]any) bool { return ev[k] == v }
}

// callMethod calls method on obj with args.
func callMethod(t *testing.T, c *opcua.Client, obj, method *gua.NodeID, args ...any) *gua.CallMethodResult {
	t.Helper()
	req := &gua.CallMethodRequest{ObjectID: obj, MethodID: method}
	for _, a := range args {
		req.InputArguments = append(req.InputArguments, gua.MustVariant(a))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Call(ctx, req)
	if err != nil {
		t.Fatalf("call %v on %v: %v", method, obj, err)
	}
	return res
}

func comment(s string) *gua.LocalizedText { return gua.NewLocalizedText(s) }

var (
	ackMethod         = gua.NewNumericNodeID(0, id.AcknowledgeableConditionType_Acknowledge)
	confirmMethod     = gua.NewNumericNodeID(0, id.AcknowledgeableConditionType_Confirm)
	resetMethod       = gua.NewNumericNodeID(0, 18199) // AlarmConditionType.Reset (1.04)
	refreshMethod     = gua.NewNumericNodeID(0, id.ConditionType_ConditionRefresh)
	conditionTypeNode = gua.NewNumericNodeID(0, id.ConditionType)
	serverObject      = gua.NewNumericNodeID(0, id.Server)
)

// TestAlarmEventsAckConfirm: gopcua subscribes to the Server object's
// events of AlarmConditionType, receives the condition a fault raises
// with the standard fields, acknowledges and confirms it by EventId with
// a comment (the type's methods), and gets the refusals Part 9 names.
func TestAlarmEventsAckConfirm(t *testing.T) {
	f := alarmServer(t)
	c := connect(t, f.s.URL())
	evs := subscribeEvents(t, c, serverObject, ofType(id.AlarmConditionType))
	seen := 0
	f.injectAndStep(t, "co2-over", 3) // on_delay 200ms: active at the third tick
	raised, _ := evs.next(t, "co2-high active", &seen, named("co2-high", field("ActiveState/Id", true)))
	cond := f.condNode(t, c, "co2-high")
	for k, want := range map[string]any{
		"EventType": gua.NewNumericNodeID(0, id.ExclusiveLimitAlarmType).String(), "SourceName": "filler/co2",
		"SourceNode": f.tagNode(t, c, "filler/co2").String(), "InputNode": f.tagNode(t, c, "filler/co2").String(),
		"ConditionId": cond.String(), "Message": "CO2 pressure (HighHigh)", "Severity": uint16(800),
		"BranchId": gua.NewNumericNodeID(0, 0).String(), "Retain": true, "EnabledState/Id": true,
		"AckedState/Id": false, "ConfirmedState/Id": true, "LimitState/CurrentState": "HighHigh",
		"HighHighLimit": 5.0, "Quality": gua.StatusOK, "HighState/Id": nil,
	} {
		got := raised[k]
		switch v := got.(type) {
		case *gua.NodeID:
			got = v.String()
		case *gua.LocalizedText:
			got = v.Text
		}
		if got != want {
			t.Errorf("%s = %v (%T), want %v", k, got, got, want)
		}
	}
	eventID, _ := raised["EventId"].([]byte)
	if len(eventID) == 0 {
		t.Fatalf("no EventId: %v", raised["EventId"])
	}

	// Refusals: an event id no event had, the wrong argument types, the
	// type instead of a condition.
	if r := callMethod(t, c, cond, ackMethod, []byte("no such event"), comment("x")); r.StatusCode != gua.StatusBadEventIDUnknown {
		t.Errorf("ack with an unknown event id: %v", r.StatusCode)
	}
	if r := callMethod(t, c, cond, ackMethod, "text", comment("x")); r.StatusCode != gua.StatusBadInvalidArgument || len(r.InputArgumentResults) != 2 || r.InputArgumentResults[0] != gua.StatusBadTypeMismatch {
		t.Errorf("ack with a string event id: %v %v", r.StatusCode, r.InputArgumentResults)
	}
	if r := callMethod(t, c, cond, ackMethod, eventID); r.StatusCode != gua.StatusBadArgumentsMissing {
		t.Errorf("ack without comment: %v", r.StatusCode)
	}
	typ := gua.NewNumericNodeID(0, id.AcknowledgeableConditionType)
	if r := callMethod(t, c, typ, ackMethod, eventID, comment("x")); r.StatusCode != gua.StatusBadNodeIDInvalid {
		t.Errorf("ack on the type: %v", r.StatusCode)
	}
	// Another condition's event id is not one of this condition's.
	if r := callMethod(t, c, f.condNode(t, c, "co2-nonex"), ackMethod, eventID, comment("x")); r.StatusCode != gua.StatusBadEventIDUnknown {
		t.Errorf("ack of co2-nonex with co2-high's event: %v", r.StatusCode)
	}

	if r := callMethod(t, c, cond, ackMethod, eventID, comment("seen, venting")); r.StatusCode != gua.StatusOK {
		t.Fatalf("acknowledge: %v", r.StatusCode)
	}
	acked, _ := evs.next(t, "co2-high acknowledged", &seen, named("co2-high", field("AckedState/Id", true)))
	if acked["ConfirmedState/Id"] != false || acked["Retain"] != true || acked["ClientUserId"] != "anonymous" {
		t.Errorf("acknowledged event %v", acked)
	}
	if lt, _ := acked["Comment"].(*gua.LocalizedText); lt == nil || lt.Text != "seen, venting" {
		t.Errorf("Comment %v", acked["Comment"])
	}
	if r := callMethod(t, c, cond, ackMethod, eventID, comment("again")); r.StatusCode != gua.StatusBadConditionBranchAlreadyAcked {
		t.Errorf("second acknowledge: %v", r.StatusCode)
	}
	ackID := acked["EventId"].([]byte)
	if r := callMethod(t, c, cond, confirmMethod, ackID, comment("vented")); r.StatusCode != gua.StatusOK {
		t.Fatalf("confirm: %v", r.StatusCode)
	}
	confirmed, _ := evs.next(t, "co2-high confirmed", &seen, named("co2-high", field("ConfirmedState/Id", true)))
	if confirmed["Retain"] != true || confirmed["ActiveState/Id"] != true {
		t.Errorf("confirmed while active: %v, want retained", confirmed)
	}
	if r := callMethod(t, c, cond, confirmMethod, ackID, comment("again")); r.StatusCode != gua.StatusBadConditionBranchAlreadyConfirmed {
		t.Errorf("second confirm: %v", r.StatusCode)
	}
	// Not confirmable: the method is not one of the condition's.
	nonex := f.condNode(t, c, "co2-nonex")
	nonexEv, _ := evs.next(t, "co2-nonex active", new(int), named("co2-nonex", field("ActiveState/Id", true)))
	if nonexEv["HighState/Id"] != true || nonexEv["EventType"].(*gua.NodeID).IntID() != id.NonExclusiveLimitAlarmType {
		t.Errorf("non-exclusive event %v", nonexEv)
	}
	if r := callMethod(t, c, nonex, confirmMethod, nonexEv["EventId"].([]byte), comment("x")); r.StatusCode != gua.StatusBadMethodInvalid {
		t.Errorf("confirm of co2-nonex: %v", r.StatusCode)
	}

	// The fault clears: inactive, acknowledged, confirmed: not retained.
	if err := f.e.Clear("co2-over"); err != nil {
		t.Fatal(err)
	}
	f.e.Step(1)
	cleared, _ := evs.next(t, "co2-high inactive", &seen, named("co2-high", field("ActiveState/Id", false)))
	if cleared["Retain"] != false || cleared["Message"].(*gua.LocalizedText).Text != "CO2 pressure (cleared)" {
		t.Errorf("cleared event %v", cleared)
	}
	// Every event is in the server's event history, on the machine and on
	// the Server object: HistoryRead of events reads them back.
	var hist []map[string]any
	for _, n := range []*gua.NodeID{gua.NewStringNodeID(nsIndex(t, c, f.ns), "acme/plant/bottling/line1/filling/filler"), serverObject} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := c.HistoryReadEvent(ctx, []*gua.HistoryReadValueID{{NodeID: n, DataEncoding: &gua.QualifiedName{}}}, &gua.ReadEventDetails{
			StartTime: time.Now().Add(-time.Hour), EndTime: time.Now().Add(time.Hour), NumValuesPerNode: 100,
			Filter: &gua.EventFilter{SelectClauses: selectClauses(alarmFields), WhereClause: &gua.ContentFilter{}},
		})
		cancel()
		if err != nil || res.Results[0].StatusCode != gua.StatusOK {
			t.Fatalf("history read events of %v: %v %v", n, err, res)
		}
		he, ok := res.Results[0].HistoryData.Value.(*gua.HistoryEvent)
		if !ok {
			t.Fatalf("history of %v: %T", n, res.Results[0].HistoryData.Value)
		}
		hist = hist[:0]
		for _, ev := range he.Events {
			m := map[string]any{}
			for k, v := range ev.EventFields {
				m[alarmFields[k]] = v.Value()
			}
			if m["ConditionName"] == "co2-high" {
				hist = append(hist, m)
			}
		}
		var states []string
		for _, m := range hist {
			states = append(states, fmt.Sprintf("%v/%v/%v", m["ActiveState/Id"], m["AckedState/Id"], m["ConfirmedState/Id"]))
		}
		if want := "true/false/true true/true/false true/true/true false/true/true"; strings.Join(states, " ") != want {
			t.Errorf("history of %v: co2-high active/acked/confirmed %v, want %s", n, states, want)
		}
	}
}

// TestAlarmKindsAndNotifiers: discrete, off-normal and quality alarms
// raise events of their types; a subscription on a machine's object gets
// that machine's conditions only; the address space links the Server
// object to the conditions.
func TestAlarmKindsAndNotifiers(t *testing.T) {
	f := alarmServer(t)
	c := connect(t, f.s.URL())
	all := subscribeEvents(t, c, serverObject, nil)
	machine := gua.NewStringNodeID(nsIndex(t, c, f.ns), "acme/plant/bottling/line1/capping/capper")
	capper := subscribeEvents(t, c, machine, nil)
	f.write(t, "filler/door", true)
	f.write(t, "filler/mode", "Manual")
	f.injectAndStep(t, "temp-bad", 1)
	f.write(t, "capper/torque", 2.5)
	seen := 0
	for name, typ := range map[string]uint32{"door-open": id.DiscreteAlarmType, "mode-auto": id.OffNormalAlarmType,
		"temp-sensor": id.InstrumentDiagnosticAlarmType, "torque-high": id.ExclusiveLimitAlarmType} {
		seen = 0
		ev, _ := all.next(t, name, &seen, named(name, field("ActiveState/Id", true)))
		if got := ev["EventType"].(*gua.NodeID).IntID(); got != typ {
			t.Errorf("%s: type %d, want %d", name, got, typ)
		}
	}
	seen = 0
	door, _ := all.next(t, "door-open", &seen, named("door-open"))
	if door["Severity"] != uint16(300) || door["Message"].(*gua.LocalizedText).Text != "filler/door is true" {
		t.Errorf("door-open %v", door)
	}
	seen = 0
	mode, _ := all.next(t, "mode-auto", &seen, named("mode-auto"))
	normal := mode["NormalState"].(*gua.NodeID)
	if v := read(t, c, normal)[0]; v.Status != gua.StatusOK || v.Value.Value() != "Auto" {
		t.Errorf("NormalState %v reads %v %v, want Auto", normal, v.Status, v.Value)
	}
	seen = 0
	temp, _ := all.next(t, "temp-sensor", &seen, named("temp-sensor"))
	if temp["LatchedState/Id"] != true || temp["Quality"] != gua.StatusBadSensorFailure {
		t.Errorf("temp-sensor %v", temp)
	}
	seen = 0
	capper.next(t, "torque-high on the capper", &seen, named("torque-high"))
	for _, ev := range capper.all() {
		if ev["ConditionName"] != "torque-high" {
			t.Errorf("capper's subscription got %v", ev["ConditionName"])
		}
	}

	// Browse: Server -HasNotifier-> ... -> filler -HasEventSource-> door
	// -HasCondition-> door-open.
	path := []string{}
	node := serverObject
	for range 10 {
		refs := browseRefs(t, c, node, id.HasNotifier)
		if len(refs) == 0 {
			break
		}
		slices.SortFunc(refs, func(a, b *gua.ReferenceDescription) int { return strings.Compare(a.BrowseName.Name, b.BrowseName.Name) })
		node = refs[len(refs)-1].NodeID.NodeID // filling sorts after capping
		path = append(path, refs[len(refs)-1].BrowseName.Name)
	}
	if want := []string{"acme", "plant", "bottling", "line1", "filling", "filler"}; !slices.Equal(path, want) {
		t.Fatalf("HasNotifier path %v, want %v", path, want)
	}
	var sources []string
	for _, r := range browseRefs(t, c, node, id.HasEventSource) {
		sources = append(sources, r.BrowseName.Name)
	}
	slices.Sort(sources)
	if want := []string{"co2", "door", "mode", "temp"}; !slices.Equal(sources, want) {
		t.Errorf("filler's event sources %v, want %v", sources, want)
	}
	var conds []string
	for _, r := range browseRefs(t, c, f.tagNode(t, c, "filler/co2"), id.HasCondition) {
		conds = append(conds, r.BrowseName.Name)
	}
	slices.Sort(conds)
	if want := []string{"co2-high", "co2-nonex"}; !slices.Equal(conds, want) {
		t.Errorf("co2's conditions %v, want %v", conds, want)
	}
}

func browseRefs(t *testing.T, c *opcua.Client, node *gua.NodeID, ref uint32) []*gua.ReferenceDescription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Browse(ctx, &gua.BrowseRequest{NodesToBrowse: []*gua.BrowseDescription{{
		NodeID: node, BrowseDirection: gua.BrowseDirectionForward, ReferenceTypeID: gua.NewNumericNodeID(0, ref),
		IncludeSubtypes: false, ResultMask: uint32(gua.BrowseResultMaskAll),
	}}})
	if err != nil || res.Results[0].StatusCode != gua.StatusOK {
		t.Fatalf("browse %v: %v %v", node, err, res)
	}
	return res.Results[0].References
}

// TestConditionRefresh: after a reconnect, ConditionRefresh sends the
// retained conditions between a RefreshStartEvent and a RefreshEndEvent,
// the bracket even to an item whose where clause selects alarms only; a
// viewer, who may not acknowledge, may refresh.
func TestConditionRefresh(t *testing.T) {
	f := alarmServer(t)
	f.injectAndStep(t, "co2-over", 3)
	f.write(t, "filler/door", true)
	f.write(t, "filler/door", false) // inactive but unacknowledged: retained
	f.write(t, "capper/torque", 2.5)
	i, _ := f.set.Lookup("torque-high")
	if _, err := f.set.Acknowledge(i, alarms.Action{}); err != nil {
		t.Fatal(err)
	}
	f.write(t, "capper/torque", 1.8) // acknowledged and inactive: not retained

	viewer := connect(t, f.s.URL(), userOpts(t, f.s.URL(), gua.SecurityPolicyURIBasic256Sha256, gua.MessageSecurityModeSignAndEncrypt, "viewer", "look")...)
	evs := subscribeEvents(t, viewer, serverObject, ofType(id.AlarmConditionType))
	r := callMethod(t, viewer, conditionTypeNode, refreshMethod, evs.sub.SubscriptionID)
	if r.StatusCode != gua.StatusOK {
		t.Fatalf("ConditionRefresh: %v", r.StatusCode)
	}
	seen := 0
	isType := func(typ uint32) func(map[string]any) bool {
		return func(ev map[string]any) bool {
			n, _ := ev["EventType"].(*gua.NodeID)
			return n != nil && n.IntID() == typ
		}
	}
	start, _ := evs.next(t, "RefreshStartEvent", &seen, isType(id.RefreshStartEventType))
	_, between := evs.next(t, "RefreshEndEvent", &seen, isType(id.RefreshEndEventType))
	var names []string
	for _, ev := range between {
		if isType(id.RefreshStartEventType)(ev) {
			names = nil // what came before the start is not part of it
			continue
		}
		names = append(names, fmt.Sprint(ev["ConditionName"]))
		if ev["Retain"] != true {
			t.Errorf("refreshed %v not retained", ev["ConditionName"])
		}
	}
	slices.Sort(names)
	if want := []string{"co2-high", "co2-nonex", "door-open"}; !slices.Equal(names, want) {
		t.Errorf("refreshed %v, want %v", names, want)
	}
	if start["SourceNode"].(*gua.NodeID).IntID() != id.Server {
		t.Errorf("RefreshStartEvent source %v", start["SourceNode"])
	}
	// The refreshed event is the condition's latest: its EventId
	// acknowledges it, but the viewer may not.
	door := f.condNode(t, viewer, "door-open")
	seen = 0
	doorEv, _ := evs.next(t, "door-open refreshed", &seen, named("door-open"))
	if r := callMethod(t, viewer, door, ackMethod, doorEv["EventId"].([]byte), comment("x")); r.StatusCode != gua.StatusBadUserAccessDenied {
		t.Errorf("viewer's acknowledge: %v, want Bad_UserAccessDenied", r.StatusCode)
	}
	anon := connect(t, f.s.URL())
	if r := callMethod(t, anon, door, ackMethod, doorEv["EventId"].([]byte), comment("ok")); r.StatusCode != gua.StatusOK {
		t.Errorf("acknowledge with the refreshed EventId: %v", r.StatusCode)
	}

	// Refusals: another session's subscription, a subscription without
	// event items, the wrong object, a wrong argument type.
	if r := callMethod(t, anon, conditionTypeNode, refreshMethod, evs.sub.SubscriptionID); r.StatusCode != gua.StatusBadSubscriptionIDInvalid {
		t.Errorf("refresh of another session's subscription: %v", r.StatusCode)
	}
	ch := make(chan *opcua.PublishNotificationData, 4)
	empty, err := anon.Subscribe(context.Background(), &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Cancel(context.Background())
	if r := callMethod(t, anon, conditionTypeNode, refreshMethod, empty.SubscriptionID); r.StatusCode != gua.StatusBadNothingToDo {
		t.Errorf("refresh without event items: %v", r.StatusCode)
	}
	if r := callMethod(t, anon, serverObject, refreshMethod, empty.SubscriptionID); r.StatusCode != gua.StatusBadNodeIDInvalid {
		t.Errorf("refresh on the Server object: %v", r.StatusCode)
	}
	if r := callMethod(t, anon, conditionTypeNode, refreshMethod, "1"); r.StatusCode != gua.StatusBadInvalidArgument {
		t.Errorf("refresh with a string: %v", r.StatusCode)
	}
}

// TestLatchedAlarmReset: a latching alarm stays retained after its fault
// clears until Reset, which is refused while active.
func TestLatchedAlarmReset(t *testing.T) {
	f := alarmServer(t)
	c := connect(t, f.s.URL())
	evs := subscribeEvents(t, c, serverObject, nil)
	cond := f.condNode(t, c, "temp-sensor")
	f.injectAndStep(t, "temp-bad", 1)
	seen := 0
	evs.next(t, "temp-sensor active", &seen, named("temp-sensor", field("ActiveState/Id", true)))
	if r := callMethod(t, c, cond, resetMethod); r.StatusCode != gua.StatusBadInvalidState {
		t.Errorf("reset while active: %v", r.StatusCode)
	}
	if err := f.e.Clear("temp-bad"); err != nil {
		t.Fatal(err)
	}
	f.e.Step(1)
	latched, _ := evs.next(t, "temp-sensor inactive", &seen, named("temp-sensor", field("ActiveState/Id", false)))
	if latched["LatchedState/Id"] != true || latched["Retain"] != true {
		t.Errorf("inactive latched alarm %v", latched)
	}
	if r := callMethod(t, c, cond, resetMethod); r.StatusCode != gua.StatusOK {
		t.Fatalf("reset: %v", r.StatusCode)
	}
	reset, _ := evs.next(t, "temp-sensor reset", &seen, named("temp-sensor", field("LatchedState/Id", false)))
	if reset["Retain"] != true || reset["AckedState/Id"] != false {
		t.Errorf("reset but unacknowledged %v: want retained", reset)
	}
	if r := callMethod(t, c, cond, resetMethod); r.StatusCode != gua.StatusBadInvalidState {
		t.Errorf("second reset: %v", r.StatusCode)
	}
	if r := callMethod(t, c, f.condNode(t, c, "door-open"), resetMethod); r.StatusCode != gua.StatusBadMethodInvalid {
		t.Errorf("reset of a non-latching alarm: %v", r.StatusCode)
	}
}
