package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/uapeer"

	"github.com/goburrow/modbus"
	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// TestE2EAlarms: on the shipped bottling line, a trainer's fault (otwin
// fault inject co2-overpressure) reaches an OPC UA alarm subscriber on the
// Server object and the Modbus discrete input of the alarm; a second
// operator (otwin alarm ack/confirm) acknowledges and confirms it, and the
// subscriber sees who did and why.
func TestE2EAlarms(t *testing.T) {
	tw := startE2ETwin(t, shippedScenario(t, "bottling"))
	var uaURL, mbAddr string
	for _, ep := range tw.Endpoints {
		if ep.Machine == "filler1" && ep.Protocol == "opcua" {
			uaURL = ep.URL
		}
		if ep.Machine == "filler1" && ep.Protocol == "modbus" {
			mbAddr = ep.Address
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := uapeer.Connect(ctx, uaURL, opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.AutoReconnect(false))
	if err != nil {
		t.Fatalf("connect %s: %v", uaURL, err)
	}
	defer c.Close(context.Background())

	// A SCADA alarm list: events of AlarmConditionType on the Server object.
	fields := []string{"ConditionName", "ActiveState/Id", "AckedState/Id", "ConfirmedState/Id", "ClientUserId", "Comment", "Message"}
	filter := &ua.EventFilter{WhereClause: &ua.ContentFilter{Elements: []*ua.ContentFilterElement{{
		FilterOperator: ua.FilterOperatorOfType,
		FilterOperands: []*ua.ExtensionObject{ua.NewExtensionObject(&ua.LiteralOperand{Value: ua.MustVariant(ua.NewNumericNodeID(0, id.AlarmConditionType))})},
	}}}}
	for _, f := range fields {
		var path []*ua.QualifiedName
		for _, p := range strings.Split(f, "/") {
			path = append(path, &ua.QualifiedName{Name: p})
		}
		filter.SelectClauses = append(filter.SelectClauses, &ua.SimpleAttributeOperand{
			TypeDefinitionID: ua.NewNumericNodeID(0, id.BaseEventType), BrowsePath: path, AttributeID: ua.AttributeIDValue})
	}
	ch := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond, MaxNotificationsPerPublish: 1000}, ch)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, &ua.MonitoredItemCreateRequest{
		ItemToMonitor:       &ua.ReadValueID{NodeID: ua.NewNumericNodeID(0, id.Server), AttributeID: ua.AttributeIDEventNotifier, DataEncoding: &ua.QualifiedName{}},
		MonitoringMode:      ua.MonitoringModeReporting,
		RequestedParameters: &ua.MonitoringParameters{ClientHandle: 1, QueueSize: 100, DiscardOldest: true, Filter: ua.NewExtensionObject(filter)},
	})
	if err != nil || res.Results[0].StatusCode != ua.StatusOK {
		t.Fatalf("monitor the Server object's events: %v %v", err, res)
	}
	var (
		mu  sync.Mutex
		got []map[string]any
	)
	go func() {
		for n := range ch {
			if l, ok := n.Value.(*ua.EventNotificationList); ok {
				mu.Lock()
				for _, ev := range l.Events {
					m := map[string]any{}
					for k, v := range ev.EventFields {
						m[fields[k]] = v.Value()
					}
					got = append(got, m)
				}
				mu.Unlock()
			}
		}
	}()
	waitEvent := func(what string, pred func(map[string]any) bool) map[string]any {
		t.Helper()
		var found map[string]any
		waitUntil(t, 15*time.Second, what, func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range got {
				if ev["ConditionName"] == "filler1-co2-pressure" && pred(ev) {
					found = ev
					return true
				}
			}
			return false
		})
		return found
	}
	text := func(v any) string {
		if lt, ok := v.(*ua.LocalizedText); ok {
			return lt.Text
		}
		return ""
	}

	if out, err := otwin(t, "fault", "inject", "co2-overpressure", "--control", tw.ControlURL, "--token", tw.ControlToken); err != nil {
		t.Fatalf("fault inject: %v\n%s", err, out)
	}
	raised := waitEvent("the CO2 alarm", func(ev map[string]any) bool { return ev["ActiveState/Id"] == true })
	if m := text(raised["Message"]); m != "Filler CO2 pressure (HighHigh)" {
		t.Errorf("message %q", m)
	}

	// The same alarm on Modbus: discrete input 10 of filler1 (unit 1).
	h := modbus.NewTCPClientHandler(mbAddr)
	h.SlaveId, h.Timeout = 1, 2*time.Second
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if b, err := modbus.NewClient(h).ReadDiscreteInputs(10, 1); err != nil || b[0]&1 != 1 {
		t.Errorf("discrete input 10 = %v, %v; want 1 while the alarm is active", b, err)
	}

	out, err := otwin(t, "alarm", "list", "--retained", "--control", tw.ControlURL, "--token", tw.ControlToken)
	if err != nil || !strings.Contains(out, "filler1-co2-pressure") || !strings.Contains(out, "active HighHigh") {
		t.Fatalf("alarm list: %v\n%s", err, out)
	}
	if strings.Contains(out, "labeler1-web-break") {
		t.Errorf("--retained lists an alarm that is not retained:\n%s", out)
	}
	out, err = otwin(t, "alarm", "ack", "filler1-co2-pressure", "-m", "venting", "--user", "shift lead", "--control", tw.ControlURL, "--token", tw.ControlToken)
	if err != nil || !strings.Contains(out, "acknowledged filler1-co2-pressure: active HighHigh, retained until confirmed") {
		t.Fatalf("alarm ack: %v\n%s", err, out)
	}
	acked := waitEvent("the acknowledgement", func(ev map[string]any) bool { return ev["AckedState/Id"] == true })
	if acked["ClientUserId"] != "shift lead" || text(acked["Comment"]) != "venting" || acked["ConfirmedState/Id"] != false {
		t.Errorf("acknowledged event %v", acked)
	}
	if out, err := otwin(t, "alarm", "ack", "filler1-co2-pressure", "--control", tw.ControlURL, "--token", tw.ControlToken); err == nil || !strings.Contains(err.Error(), "already acknowledged") {
		t.Errorf("second ack: %v\n%s", err, out)
	}
	if _, err := otwin(t, "alarm", "confirm", "filler1-co2-pressure", "-m", "relief valve checked", "--control", tw.ControlURL, "--token", tw.ControlToken); err != nil {
		t.Fatal(err)
	}
	waitEvent("the confirmation", func(ev map[string]any) bool { return ev["ConfirmedState/Id"] == true })
	if _, err := otwin(t, "alarm", "reset", "filler1-co2-pressure", "--control", tw.ControlURL, "--token", tw.ControlToken); err == nil || !strings.Contains(err.Error(), "does not latch") {
		t.Errorf("reset of a non-latching alarm: %v", err)
	}
}
