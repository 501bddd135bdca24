package modbusserver

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/alarms"
)

// Modbus tables.
const (
	tCoil = iota
	tDiscrete
	tHolding
	tInput
	numTables
)

var tableNames = [numTables]string{"coil", "discrete", "holding", "input"}

func tableOf(name string) (int, bool) {
	for i, n := range tableNames {
		if strings.EqualFold(n, name) {
			return i, true
		}
	}
	return 0, false
}

// slot is one tag's place in a table: width registers (or one bit) from
// start.
type slot struct {
	tag      int    // engine index
	id       string // machine/tag, for logs
	start    int
	width    int
	writable bool
	bit      bool // in a bit table
	codec    *codec
	// img is the slot's part of its table's image: 2*width bytes in wire
	// order, or one byte 0/1 for a bit. Guarded by hub.mu.
	img []byte
	// next chains the slots showing the same tag (hub.byTag).
	next *slot
	// alarm is 1 + the index of the alarm an alarm's bit shows (its tag
	// is -1), else 0 (alarms.go).
	alarm int
}

func (s *slot) end() int { return s.start + s.width }

// store encodes v into the slot's image. hub.mu is held for writing.
func (s *slot) store(v any) {
	if s.bit {
		s.img[0] = b2u8(s.codec.bit(v))
		return
	}
	s.codec.encode(v, s.img)
}

// image is one table of a unit as sent on the wire: the registers (two
// bytes each) or bits (one byte each) from address lo; runs are its
// gap-free mapped ranges, sorted.
type image struct {
	lo    int
	bytes []byte
	runs  []run
}

// run is a gap-free range [start, end) of mapped addresses.
type run struct{ start, end int }

// covered reports whether every address of [addr, addr+qty) is mapped.
func (im *image) covered(addr, qty int) bool {
	i, _ := slices.BinarySearchFunc(im.runs, addr, func(r run, a int) int {
		if r.end <= a {
			return -1
		}
		return 1
	})
	return i < len(im.runs) && im.runs[i].start <= addr && addr+qty <= im.runs[i].end
}

// regs returns the image bytes of registers [addr, addr+qty); covered
// must hold.
func (im *image) regs(addr, qty int) []byte {
	return im.bytes[2*(addr-im.lo) : 2*(addr+qty-im.lo)]
}

// bits returns the image bytes (0/1) of bits [addr, addr+qty); covered
// must hold.
func (im *image) bits(addr, qty int) []byte {
	return im.bytes[addr-im.lo : addr+qty-im.lo]
}

// unit is one machine served under one unit id, with its address index.
type unit struct {
	idx     int // position in Server.list
	id      byte
	machine string
	// tables are the slots of each table, sorted by start, never
	// overlapping.
	tables [numTables][]*slot
	// images are the tables as sent (see image.go).
	images [numTables]image
}

// buildImages allocates the images of u's tables and points every slot
// at its part. The slots must be sorted and not overlap.
func (u *unit) buildImages() {
	for t, ss := range u.tables {
		if len(ss) == 0 {
			continue
		}
		per := 2
		if t == tCoil || t == tDiscrete {
			per = 1
		}
		im := &u.images[t]
		im.lo = ss[0].start
		im.bytes = make([]byte, per*(ss[len(ss)-1].end()-im.lo))
		for _, sl := range ss {
			off := per * (sl.start - im.lo)
			sl.img = im.bytes[off : off+per*sl.width : off+per*sl.width]
			if n := len(im.runs); n > 0 && im.runs[n-1].end == sl.start {
				im.runs[n-1].end = sl.end()
			} else {
				im.runs = append(im.runs, run{sl.start, sl.end()})
			}
		}
	}
}

// span returns the slots that cover [addr, addr+qty) of table t without a
// gap, or ok false when any address in it is unmapped.
func (u *unit) span(t, addr, qty int) (slots []*slot, ok bool) {
	ss := u.tables[t]
	end := addr + qty
	i, _ := slices.BinarySearchFunc(ss, addr, func(s *slot, a int) int {
		if s.end() <= a {
			return -1
		}
		return 1
	})
	next := addr
	j := i
	for ; j < len(ss) && next < end; j++ {
		if ss[j].start > next {
			return nil, false
		}
		next = ss[j].end()
	}
	if next < end {
		return nil, false
	}
	return ss[i:j], true
}

// buildUnits indexes the machines named in names (every machine with a
// Modbus exposure when empty). It reports every problem at once.
func buildUnits(src Source, names []string, al *alarms.Set) ([]*unit, error) {
	machines := src.Machines()
	tags := src.Tags()
	byName := make(map[string]int, len(machines))
	for i, m := range machines {
		byName[m.Name] = i
	}
	if len(names) == 0 {
		for _, m := range machines {
			if m.Modbus != nil {
				names = append(names, m.Name)
			}
		}
	}
	var errs []error
	var units []*unit
	seen := map[byte]string{}
	for _, name := range names {
		mi, ok := byName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("machine %q: not in the scenario", name))
			continue
		}
		m := machines[mi]
		if m.Modbus == nil {
			errs = append(errs, fmt.Errorf("machine %q: has no modbus exposure", name))
			continue
		}
		if m.Modbus.UnitID < 0 || m.Modbus.UnitID > 255 {
			errs = append(errs, fmt.Errorf("machine %q: unit id %d out of range 0-255", name, m.Modbus.UnitID))
			continue
		}
		id := byte(m.Modbus.UnitID)
		if other, dup := seen[id]; dup {
			errs = append(errs, fmt.Errorf("machine %q: unit id %d already used by machine %q on this port", name, id, other))
			continue
		}
		seen[id] = name
		u := &unit{idx: len(units), id: id, machine: name}
		for _, ti := range m.Tags {
			if ti < 0 || ti >= len(tags) {
				errs = append(errs, fmt.Errorf("machine %q: tag index %d out of range", name, ti))
				continue
			}
			t := tags[ti]
			if t.Modbus == nil {
				continue
			}
			s, err := newSlot(t)
			if err != nil {
				errs = append(errs, fmt.Errorf("machine %q tag %q (%s %d): %w", name, t.Name, t.Modbus.Table, t.Modbus.Address, err))
				continue
			}
			tab, _ := tableOf(t.Modbus.Table)
			u.tables[tab] = append(u.tables[tab], s)
		}
		if err := u.addAlarmSlots(al); err != nil {
			errs = append(errs, err)
		}
		overlap := false
		for tab := range u.tables {
			ss := u.tables[tab]
			slices.SortStableFunc(ss, func(a, b *slot) int { return a.start - b.start })
			for k := 1; k < len(ss); k++ {
				if ss[k].start < ss[k-1].end() {
					overlap = true
					errs = append(errs, fmt.Errorf("machine %q: %s %d of tag %q overlaps tag %q (%d-%d)",
						name, tableNames[tab], ss[k].start, ss[k].id, ss[k-1].id, ss[k-1].start, ss[k-1].end()-1))
				}
			}
		}
		if !overlap {
			u.buildImages()
		}
		units = append(units, u)
	}
	if len(units) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no machine to serve"))
	}
	return units, errors.Join(errs...)
}

func newSlot(t twin.TagInfo) (*slot, error) {
	r := t.Modbus
	tab, ok := tableOf(r.Table)
	if !ok {
		return nil, fmt.Errorf("unknown table %q (holding, input, coil, discrete)", r.Table)
	}
	bits := tab == tCoil || tab == tDiscrete
	c, err := newCodec(t.Type, r, bits)
	if err != nil {
		return nil, err
	}
	s := &slot{tag: t.Index, id: t.Machine + "/" + t.Name, start: r.Address, width: c.words,
		writable: t.Writable && (tab == tCoil || tab == tHolding), bit: bits, codec: c}
	if bits {
		s.width = 1
	}
	if s.start < 0 || s.end() > 65536 {
		return nil, fmt.Errorf("address %d with %d registers is outside 0-65535", s.start, s.width)
	}
	return s, nil
}
