package modbusserver

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// encodeTest builds the registers of raw value bits (big-endian, nb bytes)
// in the named order: the inverse of valueBytes.
func encodeTest(be []byte, order string) []byte {
	// valueBytes is an involution for every order used here.
	return valueBytes(be, order)
}

func beBytes(u uint64, n int) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, u)
	return b[8-n:]
}

func tagIndex(t testing.TB, e Source, machine, name string) int {
	t.Helper()
	for _, ti := range e.Tags() {
		if ti.Machine == machine && ti.Name == name {
			return ti.Index
		}
	}
	t.Fatalf("no tag %s/%s", machine, name)
	return -1
}

func TestWritesReachEngine(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	c := dial(t, s.Addr(), 1, 2*time.Second)
	tests := []struct {
		tag  string
		raw  uint64
		want any
	}{
		{"w_int16", uint64(uint16(0xFFFE)), int16(-2)},
		{"w_uint16", 0xBEEF, uint16(0xBEEF)},
		{"w_int32", uint64(uint32(0x87654321)), int32(-0x789ABCDF)},
		{"w_uint32", 0xDEADBEEF, uint32(0xDEADBEEF)},
		// The engine keeps numbers as float64: 64-bit values with at
		// most 53 significant bits, but every byte distinct.
		{"w_int64", 0x8123456789ABD000, int64(-0x7EDCBA9876543000)},
		{"w_uint64", 0xFEDCBA9876543800, uint64(0xFEDCBA9876543800)},
		{"w_float32", uint64(math.Float32bits(-12.375)), float32(-12.375)},
		{"w_float64", math.Float64bits(6.02214076e23), 6.02214076e23},
	}
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			i := tagIndex(t, e, "grid", tc.tag)
			r := e.Tags()[i].Modbus
			w := regWidthTest(r.Type)
			regs := encodeTest(beBytes(tc.raw, 2*w), r.Order)
			var err error
			if w == 1 {
				_, err = c.WriteSingleRegister(uint16(r.Address), binary.BigEndian.Uint16(regs))
			} else {
				_, err = c.WriteMultipleRegisters(uint16(r.Address), uint16(w), regs)
			}
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if got := e.Value(i).V; got != tc.want {
				t.Fatalf("engine holds %v (%T), want %v (%T)", got, got, tc.want, tc.want)
			}
			// And it reads back as written.
			back, err := c.ReadHoldingRegisters(uint16(r.Address), uint16(w))
			if err != nil || string(back) != string(regs) {
				t.Fatalf("read back % x (%v), want % x", back, err, regs)
			}
		})
	}
	t.Run("scaled", func(t *testing.T) {
		i := tagIndex(t, e, "grid", "w_scaled")
		r := e.Tags()[i].Modbus
		// raw -123 × 0.1 + 10 = -2.3
		if _, err := c.WriteSingleRegister(uint16(r.Address), uint16(0xFFFF-122)); err != nil {
			t.Fatal(err)
		}
		if got, ok := e.Value(i).V.(float64); !ok || math.Abs(got-(-2.3)) > 1e-9 {
			t.Fatalf("engine holds %v, want -2.3", e.Value(i).V)
		}
	})
	t.Run("one block over several tags", func(t *testing.T) {
		a16 := tagIndex(t, e, "grid", "w_int16")
		u16 := tagIndex(t, e, "grid", "w_uint16")
		start := e.Tags()[a16].Modbus.Address
		regs := append(encodeTest([]byte{0x00, 0x07}, e.Tags()[a16].Modbus.Order), encodeTest([]byte{0x00, 0x09}, e.Tags()[u16].Modbus.Order)...)
		if _, err := c.WriteMultipleRegisters(uint16(start), 2, regs); err != nil {
			t.Fatal(err)
		}
		if e.Value(a16).V != int16(7) || e.Value(u16).V != uint16(9) {
			t.Fatalf("engine holds %v, %v; want 7, 9", e.Value(a16).V, e.Value(u16).V)
		}
	})
	t.Run("coils", func(t *testing.T) {
		if _, err := c.WriteSingleCoil(100, 0xFF00); err != nil {
			t.Fatal(err)
		}
		if e.Value(tagIndex(t, e, "grid", "wcoil_100")).V != true {
			t.Fatal("fc5 did not set wcoil_100")
		}
		// fc15: 100..109 = 0b10_0101_0110 LSB first (bit k is coil 100+k).
		if _, err := c.WriteMultipleCoils(100, 10, []byte{0x56, 0x02}); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 10; k++ {
			want := (0x256>>k)&1 == 1
			name := fmt.Sprintf("wcoil_%d", 100+k)
			if got := e.Value(tagIndex(t, e, "grid", name)).V; got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		got, err := c.ReadCoils(100, 10)
		if err != nil || got[0] != 0x56 || got[1] != 0x02 {
			t.Fatalf("read back % x (%v), want 56 02", got, err)
		}
	})
}

// TestWriteRefused checks the exception code of every kind of refused
// write, and that the log names the reason and the tag.
func TestWriteRefused(t *testing.T) {
	sc := gridScenario()
	ranged := mbTag("w_ranged", scenarios.Int16, "holding", 2100, scenarios.Int16, "AB", constant(int64(50)))
	ranged.Writable, ranged.Range = true, &scenarios.Range{Low: 0, High: 100}
	narrow := mbTag("w_narrow", scenarios.Int16, "holding", 2102, scenarios.Int32, "ABCD", constant(int64(0)))
	narrow.Writable = true
	sc.Machines[0].Tags = append(sc.Machines[0].Tags, ranged, narrow)
	e := newEngine(t, sc)
	var logs syncBuf
	s := startServer(t, e, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := dial(t, s.Addr(), 1, 2*time.Second)
	addrOf := func(name string) uint16 { return uint16(e.Tags()[tagIndex(t, e, "grid", name)].Modbus.Address) }
	const (
		notMapped   = "is not mapped"
		notWritable = "the tag is not writable"
		partial     = "the write covers only part of the tag's registers"
	)
	tests := []struct {
		name   string
		call   func() error
		want   byte
		reason string
		tag    string
	}{
		{"read-only register", func() error { _, err := c.WriteSingleRegister(addrOf("ro_setpoint"), 1); return err }, 2, notWritable, "grid/ro_setpoint"},
		{"read-only identity tag", func() error { _, err := c.WriteSingleRegister(0, 1); return err }, 2, notWritable, "grid/holding_int16_AB"},
		{"half a float32", func() error { _, err := c.WriteSingleRegister(addrOf("w_float32"), 1); return err }, 2, partial, "grid/w_float32"},
		{"3 of 4 float64 registers", func() error {
			_, err := c.WriteMultipleRegisters(addrOf("w_float64"), 3, make([]byte, 6))
			return err
		}, 2, partial, "grid/w_float64"},
		{"block ending in a value", func() error {
			_, err := c.WriteMultipleRegisters(addrOf("w_uint16"), 2, make([]byte, 4))
			return err
		}, 2, partial, "grid/w_int32"},
		{"unmapped register", func() error { _, err := c.WriteSingleRegister(1001, 1); return err }, 2, "holding 1001 " + notMapped, ""},
		{"read-only coil", func() error { _, err := c.WriteSingleCoil(110, 0xFF00); return err }, 2, notWritable, "grid/ro_coil"},
		{"coil block reaching read-only", func() error { _, err := c.WriteMultipleCoils(109, 2, []byte{3}); return err }, 2, notWritable, "grid/ro_coil"},
		{"NaN into a float64 tag", func() error {
			_, err := c.WriteMultipleRegisters(addrOf("w_float64"), 4, encodeTest(beBytes(math.Float64bits(math.NaN()), 8), "GHEFCDAB"))
			return err
		}, 3, "the value is out of range", "grid/w_float64"},
		{"outside the tag's range", func() error { _, err := c.WriteSingleRegister(2100, 500); return err }, 3, "the value is out of range", "grid/w_ranged"},
		{"int32 70000 into an int16 tag", func() error {
			_, err := c.WriteMultipleRegisters(2102, 2, beBytes(70000, 4))
			return err
		}, 3, "the value does not fit the tag's type", "grid/w_narrow"},
		{"accepted: 65535 into a uint16 tag", func() error {
			_, err := c.WriteMultipleRegisters(addrOf("w_uint16"), 1, []byte{0xFF, 0xFF})
			return err
		}, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.String())
			if got := exceptionOf(tc.call()); got != tc.want {
				t.Fatalf("exception %d, want %d", got, tc.want)
			}
			line := logs.String()[before:]
			if tc.want == 0 {
				if strings.Contains(line, "write refused") {
					t.Fatalf("accepted write logged as refused: %s", line)
				}
				return
			}
			wantEx := map[byte]string{2: `exception="02 illegal data address"`, 3: `exception="03 illegal data value"`}[tc.want]
			for _, w := range []string{`msg="write refused"`, wantEx, tc.reason, "tag=" + tc.tag, "peer=127.0.0.1:"} {
				if tc.tag == "" && strings.HasPrefix(w, "tag=") {
					continue
				}
				if !strings.Contains(line, w) {
					t.Errorf("log lacks %q:\n%s", w, line)
				}
			}
		})
	}
	// Nothing refused reached the engine.
	if v := e.Value(tagIndex(t, e, "grid", "ro_setpoint")).V; v != int16(5) {
		t.Errorf("ro_setpoint = %v, want 5", v)
	}
	if v := e.Value(tagIndex(t, e, "grid", "wcoil_109")).V; v != false {
		t.Errorf("wcoil_109 = %v after a refused block, want false", v)
	}
	if v := e.Value(tagIndex(t, e, "grid", "w_ranged")).V; v != int16(50) {
		t.Errorf("w_ranged = %v after a refused write, want 50", v)
	}
}

// TestRefusalLogIsBounded hammers a read-only register: the log keeps a
// bounded number of lines and counts the rest.
func TestRefusalLogIsBounded(t *testing.T) {
	e := newEngine(t, gridScenario())
	var logs syncBuf
	s := startServer(t, e, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := dial(t, s.Addr(), 1, 2*time.Second)
	for range 3 * refusalBurst {
		if _, err := c.WriteSingleRegister(0, 1); exceptionOf(err) != 2 {
			t.Fatalf("write to a read-only register: %v, want exception 2", err)
		}
	}
	if n := strings.Count(logs.String(), "write refused"); n != refusalBurst {
		t.Fatalf("%d refusal lines for %d refusals, want %d", n, 3*refusalBurst, refusalBurst)
	}
}

// TestWriteOutOfTagRange writes raw values that do not fit the tag's type.
func TestWriteOutOfTagRange(t *testing.T) {
	sc := gridScenario()
	m := &sc.Machines[1]
	add := func(name string, typ, reg scenarios.DataType, addr int, scale float64) {
		tg := mbTag(name, typ, "holding", addr, reg, defaultOrder(reg), constant(int64(0)))
		tg.Modbus.Scale, tg.Writable = scale, true
		m.Tags = append(m.Tags, tg)
	}
	add("i16_from_i32", scenarios.Int16, scenarios.Int32, 10, 1)
	add("u16_from_i16", scenarios.Uint16, scenarios.Int16, 12, 1)
	add("i16_scaled", scenarios.Int16, scenarios.Int16, 13, 10)
	add("u32_from_f32", scenarios.Uint32, scenarios.Float32, 14, 1)
	e := newEngine(t, sc)
	s := startServer(t, e, Config{Machines: []string{"second"}})
	c := dial(t, s.Addr(), 7, 2*time.Second)
	tests := []struct {
		name string
		addr uint16
		regs []byte
		want byte
	}{
		{"int32 70000 into int16", 10, beBytes(70000, 4), 3},
		{"int32 -5 into int16", 10, beBytes(uint64(uint32(0xFFFFFFFB)), 4), 0},
		{"int16 -1 into uint16", 12, []byte{0xFF, 0xFF}, 3},
		{"int16 4000 ×10 into int16", 13, beBytes(4000, 2), 3},
		{"int16 3000 ×10 into int16", 13, beBytes(3000, 2), 0},
		{"float32 NaN into uint32", 14, beBytes(uint64(math.Float32bits(float32(math.NaN()))), 4), 3},
		{"float32 -1 into uint32", 14, beBytes(uint64(math.Float32bits(-1)), 4), 3},
		{"float32 41.6 into uint32", 14, beBytes(uint64(math.Float32bits(41.6)), 4), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.WriteMultipleRegisters(tc.addr, uint16(len(tc.regs)/2), tc.regs)
			if got := exceptionOf(err); got != tc.want || (tc.want == 0 && err != nil) {
				t.Fatalf("exception %d (%v), want %d", got, err, tc.want)
			}
		})
	}
	if v := e.Value(tagIndex(t, e, "second", "u32_from_f32")).V; v != uint32(42) {
		t.Errorf("u32_from_f32 = %v, want 42 (41.6 rounded)", v)
	}
	if v := e.Value(tagIndex(t, e, "second", "i16_scaled")).V; v != int16(30000) {
		t.Errorf("i16_scaled = %v, want 30000", v)
	}
	if v := e.Value(tagIndex(t, e, "second", "i16_from_i32")).V; v != int16(-5) {
		t.Errorf("i16_from_i32 = %v, want -5", v)
	}
}
