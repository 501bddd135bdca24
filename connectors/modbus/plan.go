package modbus

import (
	"slices"
)

// Protocol limits of one read request.
const (
	maxReadRegisters = 125
	maxReadBits      = 2000
)

// block is one read request: Count entries of Table from Start, and the
// points it serves (indices into the connector's points).
type block struct {
	Table  Table
	Start  uint16
	Count  uint16
	Points []int
}

// end is one past the block's last address.
func (b block) end() int { return int(b.Start) + int(b.Count) }

// planBlocks merges the points regs[idx] (all of idx) into the fewest
// reads: points of one table whose spans overlap, touch, or are separated
// by at most maxGap unused registers (16×maxGap unused bits in the bit
// tables) share a read, as long as the read stays within the protocol
// limit (125 registers, 2000 bits). maxGap < 0 merges only overlapping and
// adjacent points. The result is deterministic: tables in the order
// holding, input, coil, discrete, blocks by start address, points in a
// block by address then index. planBlocks is a pure function.
func planBlocks(regs []Register, idx []int, maxGap int) []block {
	sorted := slices.Clone(idx)
	slices.SortFunc(sorted, func(a, b int) int {
		ra, rb := regs[a], regs[b]
		if ra.Table != rb.Table {
			return int(ra.Table) - int(rb.Table)
		}
		if ra.Address != rb.Address {
			return int(ra.Address) - int(rb.Address)
		}
		return a - b
	})
	var out []block
	for _, i := range sorted {
		r := regs[i]
		start, end := int(r.Address), int(r.Address)+r.Count()
		limit, gap := maxReadRegisters, maxGap
		if r.Table.IsBit() {
			limit, gap = maxReadBits, 16*maxGap
		}
		if gap < 0 {
			gap = 0
		}
		if n := len(out); n > 0 {
			b := &out[n-1]
			newEnd := max(b.end(), end)
			if b.Table == r.Table && start-b.end() <= gap && newEnd-int(b.Start) <= limit {
				b.Count = uint16(newEnd - int(b.Start))
				b.Points = append(b.Points, i)
				continue
			}
		}
		out = append(out, block{Table: r.Table, Start: uint16(start), Count: uint16(end - start), Points: []int{i}})
	}
	return out
}

// split halves a block by its points (in address order) into two blocks
// each spanning only its own points. It is used to find the points that
// make a merged read fail.
func split(regs []Register, b block) (block, block) {
	h := len(b.Points) / 2
	return spanOf(regs, b.Table, b.Points[:h]), spanOf(regs, b.Table, b.Points[h:])
}

// spanOf is the block covering exactly the points pts of table t.
func spanOf(regs []Register, t Table, pts []int) block {
	start, end := 65536, 0
	for _, i := range pts {
		start = min(start, int(regs[i].Address))
		end = max(end, int(regs[i].Address)+regs[i].Count())
	}
	return block{Table: t, Start: uint16(start), Count: uint16(end - start), Points: slices.Clone(pts)}
}
