package control

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// TestTruth: GET /v1/truth describes every tag (type, unit, range, OPC UA
// node, Modbus register with the machine's unit id, scale 1 by default)
// with its value at the tick it reports; the client decodes it with
// json.Number values, exact for 64-bit integers.
func TestTruth(t *testing.T) {
	sc := testScenario()
	sc.Machines[0].OPCUA.Namespace = "urn:line:filler1"
	sc.Machines[0].Modbus.UnitID = 3
	sc.Machines[0].Tags[0].Modbus = &scenarios.Register{Table: "holding", Address: 4, Type: scenarios.Float32, Order: "CDAB", Offset: 2}
	sc.Machines[0].Tags = append(sc.Machines[0].Tags, scenarios.Tag{
		Name: "count", Type: scenarios.Uint64,
		Model:  &scenarios.Model{Constant: &scenarios.Constant{Value: uint64(1<<62 + 1)}},
		Modbus: &scenarios.Register{Table: "input", Address: 0, Type: scenarios.Uint64, Order: "ABCDEFGH", Scale: 1},
	})
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(e, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Pause()
	e.Step(7)
	tr, err := c.Truth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Scenario != "line" || tr.Ticks != 7 || !tr.Paused || !tr.Consistent || len(tr.Tags) != 4 {
		t.Fatalf("truth header %+v", tr)
	}
	temp := tr.Tags[0]
	if temp.ID != "filler1/temp" && temp.Name != "temp" {
		t.Fatalf("first tag %+v", temp)
	}
	if temp.Unit != "°C" || temp.UnitCode != "CEL" || temp.Type != scenarios.Float64 {
		t.Errorf("temp unit/type: %+v", temp)
	}
	if temp.OPCUA == nil || temp.OPCUA.Namespace != "urn:line:filler1" || temp.OPCUA.NodeID != e.Tags()[0].NodeID {
		t.Errorf("temp opcua: %+v", temp.OPCUA)
	}
	want := TruthModbus{UnitID: 3, Table: "holding", Address: 4, Type: scenarios.Float32, Order: "CDAB", Scale: 1, Offset: 2}
	if temp.Modbus == nil || *temp.Modbus != want {
		t.Errorf("temp modbus: %+v, want %+v", temp.Modbus, want)
	}
	if v, ok := temp.Value.(json.Number); !ok {
		t.Errorf("temp value %T %v, want json.Number", temp.Value, temp.Value)
	} else if f, _ := v.Float64(); f != e.Value(0).V.(float64) {
		t.Errorf("temp value %v, engine has %v", f, e.Value(0).V)
	}
	if tr.Tags[1].Modbus != nil {
		t.Errorf("state has no register: %+v", tr.Tags[1].Modbus)
	}
	if sp := tr.Tags[2]; sp.Range == nil || sp.Range.High != 100 || !sp.Writable {
		t.Errorf("sp: %+v", sp)
	}
	if n, ok := tr.Tags[3].Value.(json.Number); !ok || n.String() != fmt.Sprint(e.Value(3).V) {
		t.Errorf("count value %v (%T), want the engine's %v exactly", tr.Tags[3].Value, tr.Tags[3].Value, e.Value(3).V)
	}
	// A step shows at once.
	e.Step(1)
	if tr2, err := c.Truth(context.Background()); err != nil || tr2.Ticks != 8 {
		t.Errorf("after a step: ticks %d, %v", tr2.Ticks, err)
	}
}

// TestTruthMethod: only GET.
func TestTruthMethod(t *testing.T) {
	_, srv := newServer(t)
	res, err := srv.Client().Post(srv.URL+"/v1/truth", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Fatalf("POST /v1/truth: %d, want 405", res.StatusCode)
	}
}
