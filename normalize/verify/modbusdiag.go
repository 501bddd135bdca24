package verify

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/datatype"
)

// The diagnosis of a Modbus point reads single table entries around its
// address, round by round, into an image of what the device holds, and
// tests every nearby interpretation against the twin's truth.

// cellKey is one table entry of one unit.
type cellKey struct {
	unit  byte
	table modbus.Table
	addr  int
}

// cell is one table entry as read: a register's two bytes, or a bit in
// data[0]; ok is false when the device refused the read (an exception).
type cell struct {
	data [2]byte
	ok   bool
}

// image is what was read of a device at one round.
type image map[cellKey]cell

// mbDiag is the diagnosis of one Modbus point.
type mbDiag struct {
	pt *point
	// stage is how far the reads reach: 1 the point's own unit and table,
	// 2 its unit's other tables, 3 the endpoint's other unit ids.
	stage int
}

// window is the span read around an address: wide enough for a 64-bit
// value a few registers off.
const (
	windowBefore = 4
	windowAfter  = 8
)

// modiconBase is the Modicon number of address 0 of each table, and the
// table a Modicon number implies.
var modiconBases = []struct {
	base  int
	table modbus.Table
}{{40001, modbus.Holding}, {30001, modbus.Input}, {10001, modbus.Discrete}}

// modicon returns the table and 0-based address a Modicon number a
// (40001–49999, 30001–39999, 10001–19999) stands for.
func modicon(a int) (modbus.Table, int, bool) {
	for _, m := range modiconBases {
		if a >= m.base && a < m.base+9999 {
			return m.table, a - m.base, true
		}
	}
	return 0, 0, false
}

// spans lists the (unit, table, first, last) spans a stage reads for d.
func (d *mbDiag) spans(stage int) []cellKey2 {
	pt := d.pt
	u0 := byte(pt.src.mb.UnitID)
	a0 := int(pt.reg.Address)
	around := func(unit byte, t modbus.Table, a int) cellKey2 {
		return cellKey2{unit: unit, table: t, from: max(0, a-windowBefore), to: min(65535, a+windowAfter)}
	}
	var out []cellKey2
	switch stage {
	case 1:
		out = append(out, around(u0, pt.reg.Table, a0))
		if t, a, ok := modicon(a0); ok {
			out = append(out, around(u0, t, a))
		}
	case 2:
		for _, t := range allTables {
			if t != pt.reg.Table {
				out = append(out, around(u0, t, a0))
			}
		}
	case 3:
		for _, u := range d.otherUnits() {
			for _, t := range allTables {
				out = append(out, around(u, t, a0))
				if mt, a, ok := modicon(a0); ok && mt == t {
					out = append(out, around(u, t, a))
				}
			}
		}
	}
	return out
}

// cellKey2 is a span of one table of one unit, first to last inclusive.
type cellKey2 struct {
	unit     byte
	table    modbus.Table
	from, to int
}

var allTables = []modbus.Table{modbus.Holding, modbus.Input, modbus.Coil, modbus.Discrete}

// otherUnits are the unit ids of the endpoint's other machines.
func (d *mbDiag) otherUnits() []byte {
	var out []byte
	for u := range d.pt.src.units {
		if u != d.pt.src.mb.UnitID && u >= 0 && u <= 255 {
			out = append(out, byte(u))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// read reads what stage needs of the device into img, skipping entries
// read already. It stops at the first error that is no exception (the
// device is gone) and returns it.
func readSpans(ctx context.Context, p *modbus.Probe, img image, spans []cellKey2) error {
	for _, s := range spans {
		for a := s.from; a <= s.to; a++ {
			k := cellKey{s.unit, s.table, a}
			if _, done := img[k]; done {
				continue
			}
			data, err := p.Read(ctx, s.unit, s.table, uint16(a), 1)
			if err != nil {
				if _, exc := modbus.ExceptionCode(err); !exc {
					return err
				}
				img[k] = cell{}
				continue
			}
			var c cell
			c.ok = len(data) >= 1
			copy(c.data[:], data)
			img[k] = c
		}
	}
	return nil
}

// regAlt is one reading of a device: a unit id and a register, with what
// differs from the point's own.
type regAlt struct {
	unit    byte
	reg     modbus.Register
	changes []change
}

// regAlts lists the registers a stage tries for d, the point's own first.
func (d *mbDiag) regAlts(stage int) []regAlt {
	pt := d.pt
	u0, r0 := byte(pt.src.mb.UnitID), pt.reg
	a0 := int(r0.Address)
	type loc struct {
		table   modbus.Table
		addr    int
		changes []change
	}
	var locs []loc
	tableChange := func(t modbus.Table) change {
		return change{kind: KindTable, msg: fmt.Sprintf("wrong table: the value is in %s, not %s", t, r0.Table)}
	}
	addrChanges := func(t modbus.Table, a int) []change {
		switch d := a - a0; {
		case d == 0:
			return nil
		case d == 1 || d == -1:
			return []change{{kind: KindOffByOne, msg: fmt.Sprintf("off by one (0- vs 1-based): the value is at %s %d, not %d", t, a, a0)}}
		default:
			return []change{{kind: KindAddress, msg: fmt.Sprintf("wrong address: the value is at %s %d, %+d from %d", t, a, d, a0)}}
		}
	}
	tables := []modbus.Table{r0.Table}
	if stage >= 2 {
		for _, t := range allTables {
			if t != r0.Table {
				tables = append(tables, t)
			}
		}
	}
	for _, t := range tables {
		for _, da := range []int{0, -1, 1, -2, 2} {
			a := a0 + da
			if a < 0 || a > 65535 {
				continue
			}
			ch := addrChanges(t, a)
			if t != r0.Table {
				ch = append([]change{tableChange(t)}, ch...)
			}
			locs = append(locs, loc{t, a, ch})
		}
	}
	if mt, ma, ok := modicon(a0); ok {
		for _, da := range []int{0, -1, 1} {
			a := ma + da
			if a < 0 {
				continue
			}
			ch := []change{{kind: KindModicon, msg: fmt.Sprintf("%d is a Modicon number, not an address: it is %s %d (0-based)", a0, mt, ma)}}
			if da != 0 {
				ch = append(ch, change{kind: KindOffByOne, msg: fmt.Sprintf("and off by one: the value is at %s %d", mt, a)})
			}
			locs = append(locs, loc{mt, a, ch})
		}
	}
	unitsTried := []byte{u0}
	if stage >= 3 {
		unitsTried = append(unitsTried, d.otherUnits()...)
	}
	var out []regAlt
	for _, u := range unitsTried {
		var uch []change
		if u != u0 {
			uch = []change{{kind: KindUnitID, msg: fmt.Sprintf("wrong unit id: the value is unit %d's (machine %s), not unit %d's", u, pt.src.units[int(u)], u0), fix: fmt.Sprintf("unit_id: %d", u)}}
		}
		for _, l := range locs {
			for _, typ := range typesFor(l.table, r0.Type) {
				for _, ord := range ordersFor(typ, r0) {
					reg := modbus.Register{Table: l.table, Address: uint16(l.addr), Type: typ, Order: ord}
					if int(reg.Address)+reg.Count() > 65536 {
						continue
					}
					ch := append(append(append([]change{}, uch...), l.changes...), typeChanges(r0, reg)...)
					if len(ch) > maxChanges {
						continue
					}
					out = append(out, regAlt{unit: u, reg: reg, changes: ch})
				}
			}
		}
	}
	return out
}

// maxChanges bounds the aspects an explanation may change at once.
const maxChanges = 3

// allTypes are the register types in the order they are tried.
var allTypes = []modbus.Type{modbus.Float32, modbus.Int16, modbus.Uint16, modbus.Int32, modbus.Uint32, modbus.Float64, modbus.Int64, modbus.Uint64, modbus.Bool}

// typesFor lists the types tried in table t, the point's own first.
func typesFor(t modbus.Table, own modbus.Type) []modbus.Type {
	if t.IsBit() {
		return []modbus.Type{modbus.Bool}
	}
	out := []modbus.Type{own}
	for _, x := range allTypes {
		if x != own {
			out = append(out, x)
		}
	}
	return out
}

// ordersFor lists the byte orders tried for typ, the point's own (or
// the default) first; nil-order for 16-bit values and bits.
func ordersFor(typ modbus.Type, own modbus.Register) []string {
	w := typ.Width()
	if w < 2 {
		return []string{""}
	}
	all := datatype.Orders(w)
	first := all[0]
	if own.Type.Width() == w && own.Order != "" {
		first = own.Order
	}
	out := []string{first}
	for _, o := range all {
		if o != first {
			out = append(out, o)
		}
	}
	return out
}

// typeChanges are the type and order changes from the point's register
// r0 to r.
func typeChanges(r0, r modbus.Register) []change {
	var out []change
	if r.Type != r0.Type && !(r.Table.IsBit() && !r0.Table.IsBit()) {
		out = append(out, change{kind: KindType, msg: fmt.Sprintf("wrong type or width: the value is %s (%s), not %s (%s)", r.Type, plural(r.Type.Width(), "register"), r0.Type, plural(r0.Type.Width(), "register"))})
	}
	if r.Order == "" {
		return out
	}
	was := r0.Order
	if r0.Type.Width() != r.Type.Width() || was == "" {
		was = datatype.Orders(r.Type.Width())[0]
	}
	if r.Order != was {
		out = append(out, orderChange(was, r.Order))
	}
	return out
}

// orderChange names the change of byte order from was to is: the 16-bit
// words swapped, the bytes within them swapped, or another order.
func orderChange(was, is string) change {
	switch is {
	case swapWords(was):
		return change{kind: KindWordOrder, msg: fmt.Sprintf("word order swapped: the value is %s, not %s", is, was)}
	case swapBytes(was):
		return change{kind: KindByteOrder, msg: fmt.Sprintf("byte order swapped within each word: the value is %s, not %s", is, was)}
	}
	return change{kind: KindByteOrder, msg: fmt.Sprintf("byte order: the value is %s, not %s", is, was)}
}

// swapWords reverses the order of the 16-bit words of o ("ABCD" → "CDAB").
func swapWords(o string) string {
	var b strings.Builder
	for i := len(o) - 2; i >= 0; i -= 2 {
		b.WriteString(o[i : i+2])
	}
	return b.String()
}

// swapBytes swaps the bytes within each word of o ("ABCD" → "BADC").
func swapBytes(o string) string {
	b := []byte(o)
	for i := 0; i+1 < len(b); i += 2 {
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// decodeAt decodes alt from img; ok is false when an entry it covers is
// missing or was refused.
func decodeAt(img image, alt regAlt) (value, bool) {
	n := alt.reg.Count()
	buf := make([]byte, 0, 8)
	for i := range n {
		c, ok := img[cellKey{alt.unit, alt.reg.Table, int(alt.reg.Address) + i}]
		if !ok || !c.ok {
			return value{}, false
		}
		if alt.reg.Table.IsBit() {
			buf = append(buf, c.data[0])
		} else {
			buf = append(buf, c.data[0], c.data[1])
		}
	}
	raw, err := alt.reg.Decode(buf)
	if err != nil {
		return value{}, false
	}
	v, ok := valueOf(raw)
	return v, ok && !math.IsNaN(v.num)
}

// candidate is one explanation of a Modbus point: a register, a mapping,
// and the twin tag whose values it reads.
type candidate struct {
	reg     regAlt
	alt     mappingAlt
	tag     int
	changes []change
	// exact says the register is where the twin serves the tag.
	exact bool
}

// best finds the explanation of d's readings that changes least: the
// candidates that read the tag's value in every round with data,
// fewest changes first, the register the twin serves the tag at before
// others. tags are the twin tags to try; imgs the images by round.
func (c *check) best(d *mbDiag, stage int, tags []int, rounds []round, imgs []image) (candidate, bool) {
	regs := d.regAlts(stage)
	var found []candidate
	for _, ti := range tags {
		t0 := &c.tags[ti]
		if t0.Modbus == nil {
			continue
		}
		tu := lookupUnit(t0.Unit)
		alts := mappingAlts(d.pt.p.Scale, d.pt.p.Offset, d.pt.from, d.pt.label, tu, t0.Modbus.Offset)
		for _, ra := range regs {
			exact := int(ra.unit) == t0.Modbus.UnitID && ra.reg.Table.String() == t0.Modbus.Table &&
				int(ra.reg.Address) == t0.Modbus.Address && ra.reg.Type.String() == t0.Modbus.Type
			vals := make([]value, len(rounds))
			have := make([]bool, len(rounds))
			any := false
			for r := range rounds {
				vals[r], have[r] = decodeAt(imgs[r], ra)
				any = any || have[r]
			}
			if !any {
				continue
			}
			for _, ma := range alts {
				if len(ra.changes)+len(ma.changes) > maxChanges {
					continue
				}
				if !c.fits(ti, ra, ma, vals, have, rounds) {
					continue
				}
				found = append(found, candidate{reg: ra, alt: ma, tag: ti, exact: exact,
					changes: append(append([]change{}, ra.changes...), ma.changes...)})
			}
		}
	}
	if len(found) == 0 {
		return candidate{}, false
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if len(a.changes) != len(b.changes) {
			return len(a.changes) < len(b.changes)
		}
		return a.exact && !b.exact
	})
	return found[0], true
}

// fits says register ra read with mapping ma gives tag ti's value in every
// round that has data, and there is at least one.
func (c *check) fits(ti int, ra regAlt, ma mappingAlt, vals []value, have []bool, rounds []round) bool {
	n := 0
	for r := range rounds {
		t := &rounds[r].truth.Tags[ti]
		if t.Value == nil {
			continue
		}
		if !have[r] {
			continue
		}
		exp := expect(t, ma.label, resolution(t.Modbus.Type, t.Modbus.Scale))
		if !exp.ok {
			return false
		}
		got := vals[r]
		switch {
		case got.isBool && !exp.want.isBool, got.isBool && len(ma.changes) > 0:
			return false // a bit is no number, and takes no scale
		case !got.isBool:
			got.num = ma.m.apply(got.num)
		}
		if !exp.matches(got) {
			return false
		}
		n++
	}
	return n > 0
}

// tagsToTry are the twin tags a Modbus point may be reading: its own when
// known, else every tag served at its endpoint.
func (c *check) tagsToTry(pt *point) []int {
	if pt.tag >= 0 {
		return []int{pt.tag}
	}
	var out []int
	for i := range c.tags {
		if c.tags[i].Modbus != nil && pt.src.onMachine(c.tags[i].Machine) {
			out = append(out, i)
		}
	}
	return out
}

// explainModbus sets d's result from its best candidate.
func (c *check) explainModbus(d *mbDiag, rounds []round, imgs []image, probeErr error) {
	pt := d.pt
	cand, ok := c.best(d, d.stage, c.tagsToTry(pt), rounds, imgs)
	if !ok {
		c.unexplained(pt, probeErr)
		return
	}
	if pt.tag < 0 {
		pt.tag = cand.tag
		pt.res.Tag = c.tags[cand.tag].ID
	}
	if len(cand.changes) == 0 {
		pt.res.Kind = KindOK
		pt.res.Message = fmt.Sprintf("reads %s (after a second look)", c.tags[cand.tag].ID)
		return
	}
	var kinds []Kind
	var msgs, fixes []string
	for _, ch := range cand.changes {
		kinds = append(kinds, ch.kind)
		msgs = append(msgs, ch.msg)
	}
	if cand.reg.unit != byte(pt.src.mb.UnitID) {
		fixes = append(fixes, fmt.Sprintf("unit_id: %d", cand.reg.unit))
	}
	if cand.reg.reg != pt.reg {
		fixes = append(fixes, "register: "+cand.reg.reg.String())
	}
	for _, ch := range cand.alt.changes {
		fixes = append(fixes, ch.fix)
	}
	pt.res.Kind, pt.res.Kinds = kinds[0], kinds
	pt.res.Message = strings.Join(msgs, "; ")
	if pt.tag != cand.tag {
		pt.res.Message = fmt.Sprintf("reads tag %s, not %s: ", c.tags[cand.tag].ID, c.tags[pt.tag].ID) + pt.res.Message
	} else if !c.namedTag(pt) {
		pt.res.Message = fmt.Sprintf("no twin tag is named %s; the register holds %s: ", pt.id, c.tags[cand.tag].ID) + pt.res.Message
	}
	pt.res.Fix = strings.Join(fixes, ", ")
}

// namedTag says pt's own id names a twin tag.
func (c *check) namedTag(pt *point) bool {
	if _, ok := c.byID[pt.id]; ok {
		return true
	}
	base, cut := strings.CutSuffix(pt.id, "."+pt.src.kind.Name)
	_, ok := c.byID[base]
	return cut && ok
}

// unexplained sets the result of a point nothing explains.
func (c *check) unexplained(pt *point, probeErr error) {
	if pt.tag < 0 {
		pt.res.Kind = KindUnknownTag
		pt.res.Message = fmt.Sprintf("no twin tag is named %s or served at %s, and no nearby value is a twin tag's", pt.id, pt.p.Address)
		return
	}
	t := &c.tags[pt.tag]
	pt.res.Kind = KindMismatch
	pt.res.Message = fmt.Sprintf("reads %s, the twin has %s, and nothing nearby explains it", pt.res.Read, pt.res.Want)
	switch {
	case pt.src.mb != nil && t.Modbus != nil:
		if reg, err := twinRegister(t.Modbus); err == nil {
			pt.res.Message += fmt.Sprintf(" (the twin serves %s at %s unit %d", t.ID, reg, t.Modbus.UnitID)
			if t.Modbus.Scale != 1 {
				pt.res.Message += fmt.Sprintf(", scale %s", num(t.Modbus.Scale))
			}
			pt.res.Message += ")"
		}
	case pt.src.mb != nil:
		pt.res.Message += fmt.Sprintf(" (the twin serves %s over OPC UA only)", t.ID)
	case t.OPCUA != nil:
		pt.res.Message += fmt.Sprintf(" (the twin serves %s at nsu=%s;s=%s)", t.ID, t.OPCUA.Namespace, t.OPCUA.ID)
	}
	if probeErr != nil {
		pt.res.Message += "; reading around the address failed: " + probeErr.Error()
	}
}
