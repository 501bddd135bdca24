package main

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/goburrow/modbus"
	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// exactScenario serves two 64-bit integers that float64 cannot hold, as
// constants on OPC UA and Modbus (holding 0-3 and 4-7, big-endian), both
// writable, with a user who may write.
const exactScenario = `name: exact
opcua:
  security: [none]
  users: [{name: op, password: op-secret}]
machines:
  - name: m1
    opcua: {port: 0}
    modbus: {port: 0}
    tags:
      - {name: u, type: uint64, writable: true, model: {constant: {value: 12345678901234567891}}, modbus: {table: holding, address: 0}}
      - {name: i, type: int64, writable: true, model: {constant: {value: -9223372036854775807}}, modbus: {table: holding, address: 4}}
`

// TestExact64BitEndToEnd: a uint64 of 12345678901234567891 and an int64 of
// -9223372036854775807, as constants and as writes over each protocol,
// read back exactly over OPC UA (gopcua) and Modbus (goburrow).
func TestExact64BitEndToEnd(t *testing.T) {
	tw := startE2ETwin(t, parseScenario(t, "exact", exactScenario))
	var uaURL, mbAddr string
	for _, ep := range tw.Endpoints {
		switch ep.Protocol {
		case "opcua":
			uaURL = ep.URL
		case "modbus":
			mbAddr = ep.Address
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// OPC UA, as the user op (anonymous sessions are read-only).
	eps, err := opcua.GetEndpoints(ctx, uaURL)
	if err != nil {
		t.Fatalf("get endpoints: %v", err)
	}
	ep, err := opcua.SelectEndpoint(eps, ua.SecurityPolicyURINone, ua.MessageSecurityModeNone)
	if err != nil {
		t.Fatalf("select endpoint: %v", err)
	}
	c, err := opcua.NewClient(uaURL, opcua.SecurityPolicy(ua.SecurityPolicyURINone), opcua.SecurityMode(ua.MessageSecurityModeNone),
		opcua.AuthUsername("op", "op-secret"), opcua.SecurityFromEndpoint(ep, ua.UserTokenTypeUserName), opcua.AutoReconnect(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect %s: %v", uaURL, err)
	}
	defer c.Close(context.Background())
	ns, err := c.FindNamespace(ctx, "urn:otwin:exact")
	if err != nil {
		t.Fatal(err)
	}
	uNode, iNode := ua.NewStringNodeID(ns, "m1/u"), ua.NewStringNodeID(ns, "m1/i")
	uaRead := func(n *ua.NodeID) any {
		t.Helper()
		res, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: n, AttributeID: ua.AttributeIDValue}}})
		if err != nil || res.Results[0].Status != ua.StatusOK {
			t.Fatalf("read %s: %v %v", n, err, res)
		}
		return res.Results[0].Value.Value()
	}
	uaWrite := func(n *ua.NodeID, v any) {
		t.Helper()
		vv, err := ua.NewVariant(v)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{NodeID: n, AttributeID: ua.AttributeIDValue,
			Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: vv}}}})
		if err != nil || res.Results[0] != ua.StatusOK {
			t.Fatalf("write %v to %s: %v %v", v, n, err, res)
		}
	}

	// Modbus, raw registers (big-endian, the default order).
	h := modbus.NewTCPClientHandler(mbAddr)
	h.SlaveId, h.Timeout = 1, 5*time.Second
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mb := modbus.NewClient(h)
	mbRead := func(addr uint16) uint64 {
		t.Helper()
		b, err := mb.ReadHoldingRegisters(addr, 4)
		if err != nil || len(b) != 8 {
			t.Fatalf("read holding %d: % x %v", addr, b, err)
		}
		return binary.BigEndian.Uint64(b)
	}
	mbWrite := func(addr uint16, raw uint64) {
		t.Helper()
		if _, err := mb.WriteMultipleRegisters(addr, 4, binary.BigEndian.AppendUint64(nil, raw)); err != nil {
			t.Fatalf("write holding %d: %v", addr, err)
		}
	}

	var (
		bigU uint64 = 12345678901234567891
		lowI int64  = -9223372036854775807
	)
	// check waits (with a deadline: the OPC UA server takes the engine's
	// changes asynchronously) until both protocols serve u and i.
	check := func(stage string, u uint64, i int64) {
		t.Helper()
		var got [4]any
		if !pollUntil(5*time.Second, func() bool {
			got = [4]any{uaRead(uNode), uaRead(iNode), mbRead(0), int64(mbRead(4))}
			return got == [4]any{u, i, u, i}
		}) {
			t.Errorf("%s: OPC UA m1/u = %v (%T), m1/i = %v (%T); Modbus holding 0-3 = %v, 4-7 = %v; want %d and %d",
				stage, got[0], got[0], got[1], got[1], got[2], got[3], u, i)
		}
	}
	check("constants", bigU, lowI)

	uaWrite(uNode, uint64(math.MaxUint64))
	uaWrite(iNode, int64(math.MinInt64))
	check("after OPC UA writes of the types' limits", math.MaxUint64, math.MinInt64)

	mbWrite(0, bigU)
	mbWrite(4, uint64(lowI))
	check("after Modbus writes", bigU, lowI)

	uaWrite(uNode, bigU+2)
	uaWrite(iNode, lowI+2)
	check("after OPC UA writes", bigU+2, lowI+2)

	if _, err := tw.Control.Write(ctx, "m1/u", bigU); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Control.Write(ctx, "m1/i", lowI); err != nil {
		t.Fatal(err)
	}
	check("after control API writes", bigU, lowI)
}
