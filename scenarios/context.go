package scenarios

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/otwin/otwin/ctxrole"
)

// Context is one source of production context: the MES or line PLC object
// that tells which work order, batch and shift are under way. The twin
// serves it as a machine of its own (Machine, at the Level of the
// location), whose tags follow the schedule here: steps for the work
// orders and shifts, a state machine for the batch phases, a counter of
// batches. Their names and registers are listed in the README ("Context").
type Context struct {
	// Machine names the machine that serves the context's tags. Default
	// "mes".
	Machine string `yaml:"machine,omitempty" json:"machine,omitempty"`
	// Description of the machine.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Location overrides the scenario's location level by level, as a
	// machine's does.
	Location Location `yaml:"location,omitempty" json:"location,omitempty"`
	// Level is the ISA-95 level the context is of: enterprise, site, area,
	// line or cell. The machine sits at that level of the location, and
	// its context applies to everything below it. Default: line, or the
	// innermost level the location has when it has no line.
	Level string `yaml:"level,omitempty" json:"level,omitempty"`
	// OPCUA serves the context's tags over OPC UA (strings and numbers).
	OPCUA *MachineOPCUA `yaml:"opcua,omitempty" json:"opcua,omitempty"`
	// Modbus serves the numeric tags as input registers from 0 (work
	// order number, product code, quantity, batch number, phase code,
	// shift code).
	Modbus *MachineModbus `yaml:"modbus,omitempty" json:"modbus,omitempty"`
	// WorkOrders are the planned production orders, in time order, not
	// overlapping; between them no order is under way.
	WorkOrders []WorkOrder `yaml:"work_orders,omitempty" json:"work_orders,omitempty"`
	// Cycle starts the work orders over every Cycle (at least the last
	// order's end). Default: they run once.
	Cycle Duration `yaml:"cycle,omitempty" json:"cycle,omitempty"`
	// Batches are batches that follow one another, each through the
	// phases in order.
	Batches *Batches `yaml:"batches,omitempty" json:"batches,omitempty"`
	// Shifts follow one another in order, and start over after the last.
	Shifts []Shift `yaml:"shifts,omitempty" json:"shifts,omitempty"`
}

// WorkOrder is one planned production order.
type WorkOrder struct {
	// ID names the order, e.g. "WO-4711".
	ID string `yaml:"id" json:"id"`
	// Number is the order's number on Modbus. Default: the digits that
	// end ID (4711), else the order's position from 1.
	Number *int64 `yaml:"number,omitempty" json:"number,omitempty"`
	// Product is what the order makes, e.g. "cola-0.5l".
	Product string `yaml:"product" json:"product"`
	// ProductCode is the product's code on Modbus. Default: the
	// product's position among the orders' products (first seen first),
	// from 1.
	ProductCode *int64 `yaml:"product_code,omitempty" json:"product_code,omitempty"`
	// Quantity is the planned quantity.
	Quantity int64 `yaml:"quantity,omitempty" json:"quantity,omitempty"`
	// Start and End are the planned times, from the scenario start.
	Start Duration `yaml:"start" json:"start"`
	End   Duration `yaml:"end" json:"end"`
}

// Batches make batch after batch, each through Phases in order.
type Batches struct {
	// Recipe is the batches' recipe.
	Recipe string `yaml:"recipe,omitempty" json:"recipe,omitempty"`
	// Prefix and First make the batch ids: Prefix followed by the batch
	// number, First for the first batch. Defaults "B-" and 1.
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	First  *int64 `yaml:"first,omitempty" json:"first,omitempty"`
	// Phases are a batch's phases in order; a batch ends after the last,
	// and the next begins with the first.
	Phases []Phase `yaml:"phases" json:"phases"`
}

// Phase is one phase of a batch.
type Phase struct {
	// Name of the phase, e.g. "heat".
	Name string `yaml:"name" json:"name"`
	// Code is the phase's code on Modbus. Default: its position from 1.
	Code *int64 `yaml:"code,omitempty" json:"code,omitempty"`
	// Dwell is how long the phase lasts: a random time between Min and
	// Max.
	Dwell DwellTime `yaml:"dwell" json:"dwell"`
}

// Shift is one shift of a rota.
type Shift struct {
	// Name of the shift, e.g. "A" or "night".
	Name string `yaml:"name" json:"name"`
	// Code is the shift's code on Modbus. Default: its position from 1.
	Code *int64 `yaml:"code,omitempty" json:"code,omitempty"`
	// Length of the shift.
	Length Duration `yaml:"length" json:"length"`
}

// DefaultContextMachine is the name of a context's machine when it gives
// none.
const DefaultContextMachine = "mes"

// ContextMachines lists the names of the machines the context section
// makes (in a resolved scenario they are among Machines).
func (s *Scenario) ContextMachines() []string {
	out := make([]string, len(s.Context))
	for i, c := range s.Context {
		out[i] = c.Machine
		if out[i] == "" {
			out[i] = DefaultContextMachine
		}
	}
	return out
}

// levelNames are the location levels, outermost first.
var levelNames = []string{"enterprise", "site", "area", "line", "cell"}

// levels are l's levels in the order of levelNames.
func (l *Location) levels() []*string {
	return []*string{&l.Enterprise, &l.Site, &l.Area, &l.Line, &l.Cell}
}

// contextLocation is where context c's machine sits: the location it
// resolves to, cut below its level. It returns false when the location
// lacks the level.
func contextLocation(base Location, c *Context) (Location, string, bool) {
	loc := mergeLocation(base, c.Location)
	lv := c.Level
	if lv == "" {
		lv = "line"
		if loc.Line == "" {
			lv = ""
			for i, p := range loc.levels() {
				if *p != "" && i < 4 {
					lv = levelNames[i]
				}
			}
		}
	}
	cut := false
	for i, p := range loc.levels() {
		if cut {
			*p = ""
		}
		if levelNames[i] == lv {
			if *p == "" {
				return loc, lv, false
			}
			cut = true
		}
	}
	return loc, lv, cut
}

// orderNumber is w's number: Number, else the digits that end its id,
// else pos.
func orderNumber(w *WorkOrder, pos int) int64 {
	if w.Number != nil {
		return *w.Number
	}
	i := len(w.ID)
	for i > 0 && w.ID[i-1] >= '0' && w.ID[i-1] <= '9' {
		i--
	}
	if n, err := strconv.ParseUint(w.ID[i:], 10, 32); err == nil {
		return int64(n)
	}
	return int64(pos)
}

// contextMachine returns the machine that serves c at loc.
func contextMachine(c *Context, loc Location) Machine {
	m := Machine{Name: c.Machine, Description: c.Description, Location: loc, OPCUA: c.OPCUA, Modbus: c.Modbus}
	if m.Name == "" {
		m.Name = DefaultContextMachine
	}
	if m.Description == "" {
		m.Description = "Production context: what the MES says is under way."
	}
	var strs, nums []Tag
	addr := 0
	num := func(name string, typ DataType, r ctxrole.Role, model *Model, desc string) {
		t := Tag{Name: name, Type: typ, Context: r, Model: model, Description: desc}
		if c.Modbus != nil {
			t.Modbus = &Register{Table: "input", Address: addr}
			addr += typ.Registers()
		}
		nums = append(nums, t)
	}
	if len(c.WorkOrders) > 0 {
		ids, products, numbers, codes, qty := workOrderSteps(c)
		strs = append(strs,
			Tag{Name: "work_order", Type: String, Context: ctxrole.WorkOrder, Model: &Model{Steps: ids}, Description: "Work order under way; empty between orders."},
			Tag{Name: "product", Type: String, Context: ctxrole.Product, Model: &Model{Steps: products}, Description: "Product of the work order."})
		num("work_order_no", Uint32, ctxrole.WorkOrder, &Model{Steps: numbers}, "Work order number; 0 between orders.")
		num("product_code", Uint16, ctxrole.Product, &Model{Steps: codes}, "Product code; 0 between orders.")
		num("quantity", Uint32, "", &Model{Steps: qty}, "Planned quantity of the work order.")
	}
	if b := c.Batches; b != nil && len(b.Phases) > 0 {
		prefix, first := b.Prefix, int64(1)
		if prefix == "" {
			prefix = "B-"
		}
		if b.First != nil {
			first = *b.First
		}
		sm := &StateMachine{Initial: b.Phases[0].Name}
		var codeExpr strings.Builder
		for i, p := range b.Phases {
			next := b.Phases[(i+1)%len(b.Phases)].Name
			st := State{Name: p.Name, Dwell: p.Dwell}
			if next != p.Name {
				st.Next = map[string]float64{next: 1}
			}
			sm.States = append(sm.States, st)
			fmt.Fprintf(&codeExpr, "batch_phase == %q ? %d : ", p.Name, phaseCode(p, i))
		}
		codeExpr.WriteString("0")
		strs = append(strs,
			Tag{Name: "batch_id", Type: String, Context: ctxrole.Batch, Model: &Model{Expr: &Expr{Expr: fmt.Sprintf("%q + string(int(batch_no))", prefix)}}, Description: "Batch under way."},
			Tag{Name: "recipe", Type: String, Context: ctxrole.Recipe, Model: &Model{Constant: &Constant{Value: b.Recipe}}, Description: "Recipe of the batches."},
			Tag{Name: "batch_phase", Type: String, Context: ctxrole.Phase, Model: &Model{StateMachine: sm}, Description: "Phase of the batch."})
		num("batch_no", Uint32, ctxrole.Batch, &Model{Counter: &Counter{Start: float64(first) - 1, On: fmt.Sprintf("batch_phase == %q", b.Phases[0].Name)}}, "Batch number.")
		num("phase_code", Uint16, ctxrole.Phase, &Model{Expr: &Expr{Expr: codeExpr.String()}}, "Phase code.")
	}
	if len(c.Shifts) > 0 {
		names, codes := &Steps{Repeat: true}, &Steps{Repeat: true}
		var at Duration
		for i, s := range c.Shifts {
			names.Steps = append(names.Steps, Step{At: at, Value: s.Name})
			codes.Steps = append(codes.Steps, Step{At: at, Value: shiftCode(s, i)})
			at += s.Length
		}
		names.Hold = c.Shifts[len(c.Shifts)-1].Length
		codes.Hold = names.Hold
		strs = append(strs, Tag{Name: "shift", Type: String, Context: ctxrole.Shift, Model: &Model{Steps: names}, Description: "Shift on duty."})
		num("shift_code", Uint16, ctxrole.Shift, &Model{Steps: codes}, "Shift code.")
	}
	m.Tags = append(strs, nums...)
	return m
}

// phaseCode is phase i's code: Code, else its position from 1.
func phaseCode(p Phase, i int) int64 {
	if p.Code != nil {
		return *p.Code
	}
	return int64(i + 1)
}

// shiftCode is shift i's code: Code, else its position from 1.
func shiftCode(s Shift, i int) int64 {
	if s.Code != nil {
		return *s.Code
	}
	return int64(i + 1)
}

// workOrderSteps are the schedules of c's work order tags: id, product,
// number, product code and quantity, with empty values (0) between
// orders, repeating every Cycle when set.
func workOrderSteps(c *Context) (ids, products, numbers, codes, qty *Steps) {
	ids, products, numbers, codes, qty = &Steps{}, &Steps{}, &Steps{}, &Steps{}, &Steps{}
	step := func(at Duration, id, product string, n, code, q int64) {
		ids.Steps = append(ids.Steps, Step{At: at, Value: id})
		products.Steps = append(products.Steps, Step{At: at, Value: product})
		numbers.Steps = append(numbers.Steps, Step{At: at, Value: n})
		codes.Steps = append(codes.Steps, Step{At: at, Value: code})
		qty.Steps = append(qty.Steps, Step{At: at, Value: q})
	}
	productCodes := map[string]int64{}
	var last Duration
	for i, w := range c.WorkOrders {
		if i == 0 && w.Start > 0 || i > 0 && w.Start > last {
			step(last, "", "", 0, 0, 0)
		}
		n := orderNumber(&c.WorkOrders[i], i+1)
		code, ok := productCodes[w.Product]
		if !ok {
			code = int64(len(productCodes) + 1)
			productCodes[w.Product] = code
		}
		if w.ProductCode != nil {
			code = *w.ProductCode
		}
		step(w.Start, w.ID, w.Product, n, code, w.Quantity)
		last = w.End
	}
	if c.Cycle == 0 || c.Cycle > last {
		step(last, "", "", 0, 0, 0)
	}
	if c.Cycle > 0 {
		hold := c.Cycle - ids.Steps[len(ids.Steps)-1].At
		for _, s := range []*Steps{ids, products, numbers, codes, qty} {
			s.Repeat, s.Hold = true, hold
		}
	}
	return ids, products, numbers, codes, qty
}
