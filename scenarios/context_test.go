package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/ctxrole"
)

// contextYAML is a line with an MES (work orders, batches) and a site
// clock (shifts).
const contextYAML = `name: ctx
location: {enterprise: acme, site: s1, area: a1, line: l1}
machines:
  - name: oven
    opcua: {port: 0}
    tags:
      - {name: temp, model: {constant: {value: 20}}}
      - {name: program, type: string, context: product, model: {constant: {value: P1}}}
context:
  - opcua: {port: 0}
    modbus: {port: 0, unit_id: 9}
    work_orders:
      - {id: WO-4711, product: cola, quantity: 1000, start: 0s, end: 10m}
      - {id: WO-4712, product: water, quantity: 500, start: 12m, end: 20m}
      - {id: X, product: cola, start: 20m, end: 30m}
    cycle: 30m
    batches:
      recipe: R7
      prefix: B-
      first: 2401
      phases:
        - {name: fill, dwell: {min: 1m, max: 1m}}
        - {name: heat, code: 7, dwell: {min: 2m, max: 2m}}
  - machine: clock
    level: site
    shifts:
      - {name: A, length: 8h}
      - {name: B, length: 8h}
`

func TestContextMachines(t *testing.T) {
	s, err := Parse("ctx.yaml", []byte(contextYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Machines) != 3 {
		t.Fatalf("%d machines, want oven, mes and clock", len(s.Machines))
	}
	mes, clock := &s.Machines[1], &s.Machines[2]
	if mes.Name != "mes" || mes.AssetPath() != "acme/s1/a1/l1/mes" || clock.AssetPath() != "acme/s1/clock" {
		t.Fatalf("machines %s at %s, %s at %s", mes.Name, mes.AssetPath(), clock.Name, clock.AssetPath())
	}
	type tag struct {
		name string
		typ  DataType
		role ctxrole.Role
		reg  string
	}
	var got []tag
	for _, t := range mes.Tags {
		reg := ""
		if t.Modbus != nil {
			reg = t.Modbus.Table + ":" + string(rune('0'+t.Modbus.Address))
		}
		got = append(got, tag{t.Name, t.Type, t.Context, reg})
	}
	want := []tag{
		{"work_order", String, ctxrole.WorkOrder, ""},
		{"product", String, ctxrole.Product, ""},
		{"batch_id", String, ctxrole.Batch, ""},
		{"recipe", String, ctxrole.Recipe, ""},
		{"batch_phase", String, ctxrole.Phase, ""},
		{"work_order_no", Uint32, ctxrole.WorkOrder, "input:0"},
		{"product_code", Uint16, ctxrole.Product, "input:2"},
		{"quantity", Uint32, "", "input:3"},
		{"batch_no", Uint32, ctxrole.Batch, "input:5"},
		{"phase_code", Uint16, ctxrole.Phase, "input:7"},
	}
	if len(got) != len(want) {
		t.Fatalf("tags %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tag %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if mes.Modbus.UnitID != 9 || mes.OPCUA.Namespace != "urn:otwin:ctx" {
		t.Errorf("exposure %+v %+v", mes.Modbus, mes.OPCUA)
	}
	if s.Machines[0].Tags[1].Context != ctxrole.Product {
		t.Error("a scenario's own tag lost its context role")
	}
	// The work orders: an empty gap from 10m to 12m, codes per product,
	// numbers from the ids (X has none: its position), over a 30m cycle.
	wo := mes.Tags[0].Model.Steps
	nums := mes.Tags[5].Model.Steps
	codes := mes.Tags[6].Model.Steps
	if len(wo.Steps) != 4 || wo.Steps[1].Value != "" || wo.Steps[1].At != Duration(10*time.Minute) || !wo.Repeat || wo.Hold != Duration(10*time.Minute) {
		t.Errorf("work order steps %+v", wo)
	}
	if nums.Steps[0].Value != int64(4711) || nums.Steps[3].Value != int64(3) || codes.Steps[3].Value != int64(1) || codes.Steps[2].Value != int64(2) {
		t.Errorf("numbers %+v codes %+v", nums.Steps, codes.Steps)
	}
	if e := mes.Tags[9].Model.Expr.Expr; e != `batch_phase == "fill" ? 1 : batch_phase == "heat" ? 7 : 0` {
		t.Errorf("phase code expression %s", e)
	}
	if c := mes.Tags[8].Model.Counter; c.Start != 2400 || c.On != `batch_phase == "fill"` {
		t.Errorf("batch counter %+v", c)
	}
}

func TestContextProblems(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"nothing to serve", `context: [{opcua: {port: 0}}]`, `ctx.yaml:4:11: the context has nothing to serve`},
		{"unknown level", `context: [{level: lien, shifts: [{name: A, length: 8h}]}]`, `ctx.yaml:4:19: unknown level "lien" (did you mean "line"?)`},
		{"missing level", `context: [{level: cell, shifts: [{name: A, length: 8h}]}]`, `ctx.yaml:4:19: the context's location has no cell`},
		{"overlap", "context:\n  - work_orders:\n      - {id: a, product: p, start: 0s, end: 10m}\n      - {id: b, product: p, start: 5m, end: 20m}",
			`ctx.yaml:7:36: work order "b" starts at 5m0s, before the previous one ends (10m0s)`},
		{"end before start", "context:\n  - work_orders: [{id: a, product: p, start: 10m, end: 5m}]",
			`work order "a" ends at 5m0s, not after its start 10m0s`},
		{"short cycle", "context:\n  - cycle: 5m\n    work_orders: [{id: a, product: p, start: 0s, end: 10m}]", `ctx.yaml:5:12: cycle 5m0s ends before the last work order (10m0s)`},
		{"phases", "context:\n  - batches: {first: 0, phases: [{name: a, dwell: {min: 2m, max: 1m}}, {name: a, dwell: {min: 1s, max: 1s}}]}",
			`the first batch number must be 1 to 4294967295, got 0`},
		{"duplicate phase", "context:\n  - batches: {phases: [{name: a, dwell: {min: 1m, max: 1m}}, {name: a, dwell: {min: 1s, max: 1s}}]}",
			`duplicate phase "a"`},
		{"shift length", "context:\n  - shifts: [{name: A, length: 0s}]", `shift "A" has no length`},
		{"machine clash", "context:\n  - machine: oven\n    shifts: [{name: A, length: 8h}]", `ctx.yaml:5:14: duplicate machine "oven"`},
		{"unknown tag role", "context: []\n", ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: ctx\nlocation: {site: s1, line: l1}\nmachines: [{name: oven, tags: [{name: t}]}]\n" + tt.yaml + "\n"
			_, err := Parse("ctx.yaml", []byte(src))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	_, err := Parse("r.yaml", []byte("name: r\nmachines: [{name: m, tags: [{name: t, type: string, context: work_ordr}]}]\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown context role "work_ordr" (did you mean "work_order"?)`) {
		t.Fatalf("a tag's unknown role: %v", err)
	}
}
