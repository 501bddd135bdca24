package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// Truth is the body of GET /v1/truth: the ground truth of every tag the
// twin serves — what it is, where each protocol serves it, and its value
// now — for tools that check a client's configuration against the twin
// (otwin verify). It is plain data: the monitoring half decodes it without
// importing the twin.
type Truth struct {
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Ticks is the tick the values are of.
	Ticks uint64 `json:"ticks"`
	// Tick is the simulation step.
	Tick scenarios.Duration `json:"tick"`
	// Elapsed is the simulated time since the scenario start.
	Elapsed scenarios.Duration `json:"elapsed"`
	// SimTime is the simulated wall time of Ticks.
	SimTime time.Time `json:"sim_time"`
	// Paused reports whether the clock is paused.
	Paused bool `json:"paused"`
	// Consistent says every value is of tick Ticks; false when the clock
	// kept ticking while the values were read (read again, or pause first).
	Consistent bool `json:"consistent"`
	// Tags are every tag, in scenario order.
	Tags []TruthTag `json:"tags"`
}

// TruthTag is one tag of Truth.
type TruthTag struct {
	// ID is the tag's stable id, "<asset path>/<tag>".
	ID string `json:"id"`
	// Machine and Name are the machine's and the tag's names.
	Machine string `json:"machine"`
	Name    string `json:"name"`
	// Type is the tag's data type as OPC UA serves it, e.g. "float32".
	Type scenarios.DataType `json:"type"`
	// Unit is the unit's symbol and UnitCode its UNECE code ("" when none).
	Unit     string `json:"unit,omitempty"`
	UnitCode string `json:"unit_code,omitempty"`
	// Range is the engineering range, nil when unset.
	Range *scenarios.Range `json:"range,omitempty"`
	// Writable tags accept client writes.
	Writable bool `json:"writable,omitempty"`
	// OPCUA is where the OPC UA server serves the tag; nil when its
	// machine is not served over OPC UA.
	OPCUA *TruthOPCUA `json:"opcua,omitempty"`
	// Modbus is where the Modbus server serves the tag; nil when the tag
	// has no register or its machine is not served over Modbus.
	Modbus *TruthModbus `json:"modbus,omitempty"`
	// Value is the value now (faults applied), null when NaN or infinite.
	Value any `json:"value"`
	// Status is the OPC UA StatusCode and StatusName its name.
	Status     uint32 `json:"status"`
	StatusName string `json:"status_name"`
	// Source is the value's source timestamp.
	Source time.Time `json:"source"`
}

// TruthOPCUA is a tag's OPC UA node: "nsu=<Namespace>;s=<NodeID>".
type TruthOPCUA struct {
	// Namespace is the namespace URI of the tag's node.
	Namespace string `json:"namespace"`
	// NodeID is the string identifier of the node (after "s=").
	NodeID string `json:"node_id"`
}

// TruthModbus is a tag's register: unit id, table, 0-based address,
// encoding, byte order and value = raw × Scale + Offset.
type TruthModbus struct {
	UnitID  int                `json:"unit_id"`
	Table   string             `json:"table"`
	Address int                `json:"address"`
	Type    scenarios.DataType `json:"type"`
	// Order is the byte order ("ABCD", "CDAB", …; "AB" or "BA" for one
	// register); empty for bits.
	Order  string  `json:"order,omitempty"`
	Scale  float64 `json:"scale"`
	Offset float64 `json:"offset,omitempty"`
}

// truthRetries bounds the reads of a running clock's values until one
// falls within a single tick.
const truthRetries = 5

func (h *handler) truth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, BuildTruth(h.e))
}

// BuildTruth reads the ground truth of e: every tag's description and
// value, within one tick when it can (Truth.Consistent).
func BuildTruth(e Engine) Truth {
	tags := e.Tags()
	machines := map[string]twin.MachineInfo{}
	for _, m := range e.Machines() {
		machines[m.Name] = m
	}
	out := make([]TruthTag, len(tags))
	for i, t := range tags {
		out[i] = truthTag(t, machines[t.Machine])
	}
	var st twin.Status
	consistent := false
	for range truthRetries {
		st = e.Status()
		for i, t := range tags {
			v := e.Value(t.Index)
			out[i].Value, out[i].Status, out[i].StatusName, out[i].Source = jsonValue(v.V), v.Status, twin.StatusName(v.Status), v.Source
		}
		if after := e.Status(); after.Ticks == st.Ticks {
			consistent = true
			break
		}
	}
	return Truth{
		Scenario: st.Scenario, Ticks: st.Ticks, Tick: st.Tick, Elapsed: st.Elapsed, SimTime: st.SimTime,
		Paused: st.Paused, Consistent: consistent, Tags: out,
	}
}

// truthTag describes t, a tag of machine m.
func truthTag(t twin.TagInfo, m twin.MachineInfo) TruthTag {
	tt := TruthTag{
		ID: t.ID, Machine: t.Machine, Name: t.Name, Type: t.Type,
		Unit: t.Unit.Symbol, UnitCode: t.Unit.Code, Range: t.Range, Writable: t.Writable,
	}
	if m.OPCUA != nil {
		tt.OPCUA = &TruthOPCUA{Namespace: m.OPCUA.Namespace, NodeID: t.NodeID}
	}
	if m.Modbus != nil && t.Modbus != nil {
		r := t.Modbus
		tt.Modbus = &TruthModbus{
			UnitID: m.Modbus.UnitID, Table: r.Table, Address: r.Address, Type: r.Type,
			Order: r.Order, Scale: r.Scale, Offset: r.Offset,
		}
		if tt.Modbus.Type == "" {
			tt.Modbus.Type = t.Type
		}
		if tt.Modbus.Scale == 0 {
			tt.Modbus.Scale = 1
		}
	}
	return tt
}

// jsonValue is v as JSON can carry it: NaN and infinities become nil.
func jsonValue(v any) any {
	switch f := v.(type) {
	case float64:
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
	case float32:
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil
		}
	}
	return v
}

// Truth returns the twin's ground truth (GET /v1/truth). Numbers in
// values are json.Number, so that 64-bit integers arrive exactly.
func (c *Client) Truth(ctx context.Context) (Truth, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/v1/truth", nil, &raw); err != nil {
		return Truth{}, err
	}
	var t Truth
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		return Truth{}, fmt.Errorf("GET /v1/truth: bad answer: %w", err)
	}
	return t, nil
}
