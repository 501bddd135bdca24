package modbus

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// blockString renders blocks as "holding 0+4 [0 1]; coil 3+1 [2]".
func blockString(bs []block) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, fmt.Sprintf("%s %d+%d %v", b.Table, b.Start, b.Count, b.Points))
	}
	return strings.Join(parts, "; ")
}

func mustRegs(t *testing.T, points ...string) []Register {
	t.Helper()
	regs := make([]Register, len(points))
	for i, p := range points {
		r, err := ParseRegister(p)
		if err != nil {
			t.Fatal(err)
		}
		regs[i] = r
	}
	return regs
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestPlanBlocks(t *testing.T) {
	many := func(table, typ string, n, step int) []string {
		var ps []string
		for i := range n {
			ps = append(ps, fmt.Sprintf("%s:%d:%s", table, i*step, typ))
		}
		return ps
	}
	tests := []struct {
		name   string
		points []string
		maxGap int
		want   string
	}{
		{"single", []string{"holding:10:int16"}, 16, "holding 10+1 [0]"},
		{"adjacent", []string{"holding:0:int16", "holding:1:int16", "holding:2:float32"}, 0, "holding 0+4 [0 1 2]"},
		{"adjacent with gaps disabled", []string{"holding:0:int16", "holding:1:int16"}, -1, "holding 0+2 [0 1]"},
		{"unsorted input", []string{"holding:5:int16", "holding:0:int16", "holding:2:int16"}, 16, "holding 0+6 [1 2 0]"},
		{"overlapping", []string{"holding:0:float64", "holding:2:int16", "holding:1:float32"}, -1, "holding 0+4 [0 2 1]"},
		{"same register twice", []string{"holding:3:int16", "hr:3:uint16"}, -1, "holding 3+1 [0 1]"},
		{"gap below max", []string{"holding:0:int16", "holding:17:int16"}, 16, "holding 0+18 [0 1]"},
		{"gap at max", []string{"holding:0:int16", "holding:11:int16"}, 10, "holding 0+12 [0 1]"},
		{"gap above max", []string{"holding:0:int16", "holding:12:int16"}, 10, "holding 0+1 [0]; holding 12+1 [1]"},
		{"gap with gaps disabled", []string{"holding:0:int16", "holding:2:int16"}, -1, "holding 0+1 [0]; holding 2+1 [1]"},
		{"limit 125 exactly", many("holding", "int16", 125, 1), 0, "holding 0+125 " + fmt.Sprint(seq(125))},
		{"limit 126 splits", many("holding", "int16", 126, 1), 0, "holding 0+125 " + fmt.Sprint(seq(125)) + "; holding 125+1 [125]"},
		{"wide value does not cross the limit", []string{"holding:0:int16", "holding:123:float32"}, 200, "holding 0+125 [0 1]"},
		{"wide value would cross the limit", []string{"holding:0:int16", "holding:124:float32"}, 200, "holding 0+1 [0]; holding 124+2 [1]"},
		{"mixed widths", []string{"holding:0:float64", "holding:4:int32:CDAB", "holding:6:int16", "holding:10:uint64"}, 3, "holding 0+14 [0 1 2 3]"},
		{"tables never merge", []string{"input:0:int16", "holding:1:int16", "coil:0:bool", "discrete:0:bool", "ir:1:int16"}, 16,
			"holding 1+1 [1]; input 0+2 [0 4]; coil 0+1 [2]; discrete 0+1 [3]"},
		{"bits gap in bits", []string{"coil:0:bool", "coil:32:bool", "coil:66:bool"}, 2, "coil 0+33 [0 1]; coil 66+1 [2]"},
		{"bits limit 2000", []string{"coil:0:bool", "coil:1999:bool", "coil:2000:bool"}, 200, "coil 0+2000 [0 1]; coil 2000+1 [2]"},
		{"bits adjacent", []string{"di:7:bool", "di:8:bool", "di:9:bool"}, -1, "discrete 7+3 [0 1 2]"},
		{"top of the table", []string{"holding:65534:int16", "holding:65535:int16"}, 0, "holding 65534+2 [0 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs := mustRegs(t, tt.points...)
			got := planBlocks(regs, seq(len(regs)), tt.maxGap)
			if s := blockString(got); s != tt.want {
				t.Errorf("plan:\n got  %s\n want %s", s, tt.want)
			}
			// Every point is in exactly one block that covers it, and
			// no block breaks the protocol limits.
			seen := map[int]int{}
			for _, b := range got {
				limit := maxReadRegisters
				if b.Table.IsBit() {
					limit = maxReadBits
				}
				if b.Count == 0 || int(b.Count) > limit {
					t.Errorf("block %s %d+%d breaks the limit %d", b.Table, b.Start, b.Count, limit)
				}
				for _, p := range b.Points {
					seen[p]++
					r := regs[p]
					if r.Table != b.Table || int(r.Address) < int(b.Start) || int(r.Address)+r.Count() > b.end() {
						t.Errorf("point %d (%s) outside its block %d+%d", p, r, b.Start, b.Count)
					}
				}
			}
			for i := range regs {
				if seen[i] != 1 {
					t.Errorf("point %d planned %d times", i, seen[i])
				}
			}
			// Deterministic.
			again := planBlocks(regs, seq(len(regs)), tt.maxGap)
			if !reflect.DeepEqual(got, again) {
				t.Error("planning twice differs")
			}
		})
	}
}

func TestSplit(t *testing.T) {
	regs := mustRegs(t, "holding:0:int16", "holding:5:float32", "holding:9:int16", "holding:20:int16", "holding:22:uint16")
	b := planBlocks(regs, seq(len(regs)), 16)[0]
	h1, h2 := split(regs, b)
	if got, want := blockString([]block{h1, h2}), "holding 0+7 [0 1]; holding 9+14 [2 3 4]"; got != want {
		t.Errorf("split:\n got  %s\n want %s", got, want)
	}
	h3, h4 := split(regs, h1)
	if got, want := blockString([]block{h3, h4}), "holding 0+1 [0]; holding 5+2 [1]"; got != want {
		t.Errorf("split:\n got  %s\n want %s", got, want)
	}
}
