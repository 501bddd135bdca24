package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// contexts checks the context section and adds each valid context's
// machine to the scenario, before the machines are checked: the machine
// then goes through every check of a machine (its name, ports, unit ids,
// node ids, expressions), each reported at the context it comes from.
func (v *validator) contexts() {
	for i := range v.s.Context {
		c := &v.s.Context[i]
		path := "context[" + strconv.Itoa(i) + "]"
		before := len(v.p.list)
		loc, lv, ok := contextLocation(v.s.Location, c)
		switch {
		case c.Level != "" && !slices.Contains(levelNames, c.Level):
			v.add(v.at(path, "level"), hintOr(didYouMean(c.Level, levelNames), "want "+orList(levelNames)), "unknown level %q", c.Level)
		case !ok && lv == "":
			v.add(v.at(path, "level"), "set location levels (e.g. line) or level", "the context has no location to serve it at")
		case !ok:
			v.add(v.at(path, "level"), "", "the context's location has no %s", lv)
		}
		v.location(path+".location", c.Location)
		if c.Machine != "" {
			v.name(path+".machine", "machine", c.Machine)
		}
		if len(c.WorkOrders) == 0 && (c.Batches == nil || len(c.Batches.Phases) == 0) && len(c.Shifts) == 0 && !v.bad(path) {
			v.add(v.at(path, ""), "give it work_orders, batches or shifts", "the context has nothing to serve")
		}
		v.workOrders(c, path)
		v.batches(c.Batches, path+".batches")
		v.shifts(c.Shifts, path+".shifts")
		if len(v.p.list) > before || v.d.badUnder(path) {
			continue // a broken context serves nothing
		}
		m := contextMachine(c, loc)
		mp := "machines[" + strconv.Itoa(len(v.s.Machines)) + "]"
		v.s.Machines = append(v.s.Machines, m)
		v.fixed[len(v.s.Machines)-1] = true
		v.d.generated(mp, reflect.ValueOf(m), v.at(path, ""))
		for _, f := range []string{"name", "opcua", "modbus"} {
			src := map[string]string{"name": "machine"}[f]
			if src == "" {
				src = f
			}
			if p, ok := v.d.vals[path+"."+src]; ok {
				v.d.retarget(mp+"."+f, p)
			}
		}
	}
}

func (v *validator) workOrders(c *Context, path string) {
	var last Duration
	ids := map[string]bool{}
	for i, w := range c.WorkOrders {
		wp := fmt.Sprintf("%s.work_orders[%d]", path, i)
		if v.bad(wp) {
			continue
		}
		switch {
		case w.ID == "":
			v.add(v.at(wp, "id"), "", "work order id is empty")
		case ids[w.ID]:
			v.add(v.at(wp, "id"), "", "duplicate work order %q", w.ID)
		}
		ids[w.ID] = true
		v.code(wp+".number", orderNumber(&c.WorkOrders[i], i+1), math.MaxUint32)
		if w.ProductCode != nil {
			v.code(wp+".product_code", *w.ProductCode, math.MaxUint16)
		}
		v.code(wp+".quantity", w.Quantity, math.MaxUint32)
		if w.Product == "" && !v.bad(wp+".product") {
			v.add(v.at(wp, "product"), "", "work order %q has no product", w.ID)
		}
		switch {
		case w.Start < 0:
			v.add(v.at(wp, "start"), "", "work order start %s is negative", w.Start)
		case w.End <= w.Start:
			v.add(v.at(wp, "end"), "", "work order %q ends at %s, not after its start %s", w.ID, w.End, w.Start)
		case i > 0 && w.Start < last:
			v.add(v.at(wp, "start"), "orders follow one another", "work order %q starts at %s, before the previous one ends (%s)", w.ID, w.Start, last)
		}
		last = max(last, w.End)
	}
	if c.Cycle != 0 && !v.bad(path+".cycle") {
		switch {
		case len(c.WorkOrders) == 0:
			v.add(v.at(path, "cycle"), "", "cycle repeats work orders: there are none")
		case c.Cycle < last:
			v.add(v.at(path, "cycle"), "", "cycle %s ends before the last work order (%s)", c.Cycle, last)
		}
	}
}

func (v *validator) batches(b *Batches, path string) {
	if b == nil || v.bad(path) {
		return
	}
	if len(b.Phases) == 0 && !v.bad(path+".phases") {
		v.add(v.at(path, "phases"), "", "batches have no phases")
	}
	if b.First != nil && (*b.First < 1 || *b.First > math.MaxUint32) {
		v.add(v.at(path, "first"), "", "the first batch number must be 1 to 4294967295, got %d", *b.First)
	}
	seen := codedNames{what: "phase", names: map[string]bool{}, codes: map[int64]string{}}
	for i, p := range b.Phases {
		pp := fmt.Sprintf("%s.phases[%d]", path, i)
		if v.bad(pp) {
			continue
		}
		if p.Name == "" && !v.has(pp+".name") {
			v.add(v.at(pp, ""), "", "phase has no name")
		}
		seen.check(v, pp, p.Name, phaseCode(p, i))
		switch {
		case p.Dwell.Min < 0 || p.Dwell.Max < 0:
			v.add(v.at(pp, "dwell"), "", "dwell times must be >= 0")
		case p.Dwell.Min > p.Dwell.Max:
			v.add(v.at(pp, "dwell.min"), "", "dwell min %s is above max %s", p.Dwell.Min, p.Dwell.Max)
		}
	}
}

func (v *validator) shifts(ss []Shift, path string) {
	seen := codedNames{what: "shift", names: map[string]bool{}, codes: map[int64]string{}}
	for i, s := range ss {
		sp := fmt.Sprintf("%s[%d]", path, i)
		if v.bad(sp) {
			continue
		}
		seen.check(v, sp, s.Name, shiftCode(s, i))
		if s.Length <= 0 && !v.bad(sp+".length") {
			v.add(v.at(sp, "length"), "e.g. length: 8h", "shift %q has no length", s.Name)
		}
	}
}

// codedNames are the names and codes of a list of phases or shifts seen
// so far: each must be a valid name, and distinct, and each code a
// distinct uint16.
type codedNames struct {
	what  string
	names map[string]bool
	codes map[int64]string
}

// check checks the entry at path, named name with code.
func (c *codedNames) check(v *validator, path, name string, code int64) {
	v.name(path+".name", c.what, name)
	if c.names[name] {
		v.add(v.at(path, "name"), "", "duplicate %s %q", c.what, name)
	}
	c.names[name] = true
	if other, dup := c.codes[code]; dup {
		v.add(v.at(path, "code"), "", "%s %q has the same code %d as %q", c.what, name, code, other)
	}
	c.codes[code] = name
	v.code(path+".code", code, math.MaxUint16)
}

// code checks a number served on Modbus: 0 to top.
func (v *validator) code(path string, n, top int64) {
	if !v.bad(path) && (n < 0 || n > top) {
		v.add(v.at(path, ""), "", "%d is outside 0-%d (it is served in a Modbus register)", n, top)
	}
}

// generated records the position at of every value of a machine the
// scenario did not write (a context's), as if the file gave it there: the
// machine's checks then find the values "given" and report at at.
func (d *decoder) generated(path string, v reflect.Value, at pos) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.IsZero() && v.Kind() != reflect.Struct {
		return
	}
	d.vals[path] = at
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == durationType {
			return
		}
		prefix := path + "."
		for _, f := range fieldsOf(v.Type()) {
			d.generated(prefix+f.name, v.Field(f.index), at)
		}
	case reflect.Slice:
		for i := range v.Len() {
			d.generated(path+"["+strconv.Itoa(i)+"]", v.Index(i), at)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			d.generated(path+"."+fmt.Sprint(k.Interface()), v.MapIndex(k), at)
		}
	}
}

// badUnder says a value at path or below it failed to decode.
func (d *decoder) badUnder(path string) bool {
	for k := range d.bad {
		if k == path || strings.HasPrefix(k, path+".") || strings.HasPrefix(k, path+"[") {
			return true
		}
	}
	return false
}

// retarget moves the recorded positions of path and everything below it
// to p.
func (d *decoder) retarget(path string, p pos) {
	for k := range d.vals {
		if k == path || len(k) > len(path) && k[:len(path)] == path && (k[len(path)] == '.' || k[len(path)] == '[') {
			d.vals[k] = p
		}
	}
}
