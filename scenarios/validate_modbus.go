package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/otwin/otwin/datatype"
)

// The validator's checks of Modbus registers: tables, types, widths,
// addresses, orders and overlaps.

// regDefaults returns a register's table (lower case) and encoding type
// with defaults applied.
func regDefaults(r *Register, tagType DataType) (table string, typ DataType) {
	table = strings.ToLower(r.Table)
	typ = r.Type
	if typ == "" {
		typ = tagType
		if table == "coil" || table == "discrete" {
			typ = Bool
		}
	}
	return table, typ
}

func (v *validator) checkRegister(t *Tag, typ DataType, o origin) {
	r := t.Modbus
	mp := func(f string) pos { return v.tagAt(o, join("modbus", f)) }
	table, rt := regDefaults(r, typ)
	bits := table == "coil" || table == "discrete"
	switch {
	case !slices.Contains(Tables, table):
		if !v.bad(join(o.base(), "modbus.table")) {
			v.add(mp("table"), hintOr(didYouMean(r.Table, Tables), "want "+orList(Tables)), "unknown Modbus table %q", r.Table)
		}
		return
	case typ == String:
		v.add(mp(""), "map a numeric state code instead", "string tags cannot be mapped to Modbus")
		return
	case !rt.Known():
		v.add(mp("type"), didYouMean(string(r.Type), typeNames()), "unknown data type %q", r.Type)
		return
	case rt == String:
		v.add(mp("type"), "", "strings cannot be encoded in Modbus registers")
		return
	case bits && (typ != Bool || rt != Bool):
		v.add(mp("table"), "use holding or input for numbers", "%s bits hold bool values, not %s", table, cmp.Or(map[bool]DataType{true: typ}[typ != Bool], rt))
		return
	case !bits && (typ == Bool || rt == Bool):
		v.add(mp("table"), "use coil or discrete for bool tags", "bool values belong in coil or discrete, not %s", table)
		return
	case typ.Integer() && rt.Integer() && typ.Registers() > rt.Registers():
		v.add(mp("type"), fmt.Sprintf("use a %d-register type", typ.Registers()), "%s %s tag is wider than its %s registers", article(string(typ)), typ, rt)
	}
	width := max(1, rt.Registers())
	if r.Address < 0 || r.Address+width-1 > 65535 {
		v.add(mp("address"), "addresses are 0-based: register 40001 is holding address 0", "address %d%s is outside 0-65535", r.Address, rangeSuffix(r.Address, width))
	}
	if r.Order != "" {
		if bits {
			v.add(mp("order"), "", "order does not apply to %s bits", table)
		} else if orders := datatype.Orders(width); !slices.Contains(orders, strings.ToUpper(r.Order)) {
			v.add(mp("order"), "want one of "+strings.Join(orders, ", "), "order %q does not fit a %d-register %s", r.Order, width, rt)
		}
	}
	if r.Scale == 0 && v.tagHas(o, "modbus.scale") {
		v.add(mp("scale"), "omit it for 1", "scale must not be 0")
	}
}

func rangeSuffix(addr, width int) string {
	if width <= 1 {
		return ""
	}
	return fmt.Sprintf("-%d", addr+width-1)
}

// overlaps reports registers of one machine that share addresses.
func (v *validator) overlaps(i int) {
	m := &v.s.Machines[i]
	type span struct {
		lo, hi int
		tag    string
		k      int
	}
	byTable := map[string][]span{}
	mapped := 0
	for k := range m.Tags {
		t := &m.Tags[k]
		if t.Modbus == nil {
			continue
		}
		mapped++
		table, rt := regDefaults(t.Modbus, t.DataType())
		w := max(1, rt.Registers())
		byTable[table] = append(byTable[table], span{t.Modbus.Address, t.Modbus.Address + w - 1, t.Name, k})
	}
	if mapped == 0 && !v.modbusAlarms(m.Name) {
		v.add(v.at(fmt.Sprintf("machines[%d]", i), "modbus"), "add modbus mappings to its tags or remove modbus", "machine %q is exposed over Modbus but none of its tags is mapped", m.Name)
	}
	for _, table := range Tables {
		spans := byTable[table]
		slices.SortStableFunc(spans, func(a, b span) int { return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.k, b.k)) })
		far := 0 // the span reaching furthest among those before j
		for j := 1; j < len(spans); j++ {
			if spans[j-1].hi > spans[far].hi {
				far = j - 1
			}
			if spans[far].hi < spans[j].lo {
				continue
			}
			later, earlier := spans[j], spans[far]
			if later.k < earlier.k {
				later, earlier = earlier, later
			}
			v.add(v.tagAt(v.origins[i][later.k], "modbus.address"), "", "%s %d-%d of %s/%s overlaps %s %d-%d of %s/%s",
				table, later.lo, later.hi, m.Name, later.tag, table, earlier.lo, earlier.hi, m.Name, earlier.tag)
		}
	}
}
