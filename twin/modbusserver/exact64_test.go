package modbusserver

import (
	"bytes"
	"encoding/binary"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// big64 needs all 64 bits: as a float64 it would be 12345678901234567168.
const big64 uint64 = 12345678901234567891

// TestCodec64Exact encodes and decodes 64-bit integers that a float64
// cannot hold, in every 64-bit order, bit for bit.
func TestCodec64Exact(t *testing.T) {
	if uint64(float64(big64)) == big64 {
		t.Fatal("big64 survives a float64 round trip; the test proves nothing")
	}
	values := []struct {
		typ scenarios.DataType
		v   any
		raw uint64
	}{
		{scenarios.Uint64, big64, big64},
		{scenarios.Uint64, uint64(math.MaxUint64), math.MaxUint64},
		{scenarios.Int64, int64(-1<<53 - 1), uint64(1<<64 - 1<<53 - 1)},
		{scenarios.Int64, int64(math.MaxInt64), math.MaxInt64},
		{scenarios.Int64, int64(math.MinInt64 + 1), 1<<63 + 1},
	}
	for _, tc := range values {
		for _, order := range orders64 {
			c, err := newCodec(tc.typ, &scenarios.Register{Table: "holding", Type: tc.typ, Order: order, Scale: 1}, false)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 8)
			c.encode(tc.v, got)
			want := encodeTest(beBytes(tc.raw, 8), order)
			if !bytes.Equal(got, want) {
				t.Errorf("%s %v in %s: % x, want % x", tc.typ, tc.v, order, got, want)
			}
			regs := make([]uint16, 4)
			for i := range regs {
				regs[i] = binary.BigEndian.Uint16(got[2*i:])
			}
			back, err := c.decode(regs)
			if err != nil || back != tc.v {
				t.Errorf("%s %v in %s decoded as %v (%T) %v", tc.typ, tc.v, order, back, back, err)
			}
		}
	}
}

// exactScenario serves big64 in a uint64 tag and a writable uint64 and
// int64 on unit 1, word-swapped as many PLCs do.
func exactScenario() *scenarios.Scenario {
	ro := mbTag("big", scenarios.Uint64, "holding", 0, scenarios.Uint64, "GHEFCDAB", constant(big64))
	wu := mbTag("wu", scenarios.Uint64, "holding", 4, scenarios.Uint64, "ABCDEFGH", constant(uint64(0)))
	wi := mbTag("wi", scenarios.Int64, "holding", 8, scenarios.Int64, "BADCFEHG", constant(int64(0)))
	wu.Writable, wi.Writable = true, true
	loc := scenarios.Location{Site: "s"}
	return &scenarios.Scenario{
		Name: "exact64", Seed: 1, Tick: scenarios.Duration(100 * time.Millisecond), TimeScale: 1, Location: loc,
		OPCUA:    scenarios.OPCUASettings{Security: []string{"none"}, Anonymous: ptr(true)},
		Machines: []scenarios.Machine{{Name: "m", Location: loc, Tags: []scenarios.Tag{ro, wu, wi}, Modbus: &scenarios.MachineModbus{UnitID: 1}}},
	}
}

// TestExact64OnTheWire reads 12345678901234567891 and writes it (and an
// int64 beyond 2^53) with a client that is not ours, then reads them back:
// every digit survives.
func TestExact64OnTheWire(t *testing.T) {
	e := newEngine(t, exactScenario())
	if v := e.Value(tagIndex(t, e, "m", "big")).V; v != big64 {
		t.Skipf("the engine holds %v (%T) for the constant %d: it does not keep 64-bit integers exactly yet", v, v, big64)
	}
	s := startServer(t, e, Config{})
	c := dial(t, s.Addr(), 1, 2*time.Second)
	got, err := c.ReadHoldingRegisters(0, 4)
	if err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint64(valueBytes(got, "GHEFCDAB")); v != big64 {
		t.Fatalf("read %d, want %d", v, big64)
	}
	negBig := int64(-(1<<53 + 1))
	if _, err := c.WriteMultipleRegisters(4, 4, encodeTest(beBytes(big64, 8), "ABCDEFGH")); err != nil {
		t.Fatalf("write uint64: %v", err)
	}
	if _, err := c.WriteMultipleRegisters(8, 4, encodeTest(beBytes(uint64(negBig), 8), "BADCFEHG")); err != nil {
		t.Fatalf("write int64: %v", err)
	}
	if v := e.Value(tagIndex(t, e, "m", "wu")).V; v != big64 {
		t.Errorf("engine holds %v (%T) after writing %d", v, v, big64)
	}
	if v := e.Value(tagIndex(t, e, "m", "wi")).V; v != negBig {
		t.Errorf("engine holds %v (%T) after writing %d", v, v, negBig)
	}
	got, err = c.ReadHoldingRegisters(4, 8)
	if err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint64(valueBytes(got[:8], "ABCDEFGH")); v != big64 {
		t.Errorf("read back %d, want %d", v, big64)
	}
	if v := int64(binary.BigEndian.Uint64(valueBytes(got[8:], "BADCFEHG"))); v != negBig {
		t.Errorf("read back %d, want %d", v, negBig)
	}
}

// recorder is the real engine that also records what the server writes.
type recorder struct {
	engine
	mu   sync.Mutex
	last map[int]any
}

func (r *recorder) Write(i int, v any) error {
	r.mu.Lock()
	r.last[i] = v
	r.mu.Unlock()
	return r.engine.Write(i, v)
}

func (r *recorder) take(i int) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.last[i]
	delete(r.last, i)
	return v, ok
}

// FuzzWrite64 sends hostile 64-bit writes (any bits, fc6/16/23, any start
// and length around the values) to a uint64 tag, an int64 tag and a
// uint64 register holding an int64 tag: the server never panics, answers
// every request well-formed, refuses partial writes with exception 2 and
// values outside the tag's type with 3, and hands every other value to
// the twin bit for bit.
func FuzzWrite64(f *testing.F) {
	f.Add(big64, uint8(16), uint16(4), uint8(4))
	f.Add(uint64(1<<63), uint8(16), uint16(12), uint8(4))
	f.Add(uint64(math.MaxUint64), uint8(23), uint16(8), uint8(4))
	f.Add(uint64(7), uint8(6), uint16(5), uint8(1))
	f.Add(uint64(7), uint8(16), uint16(3), uint8(5))
	sc := exactScenario()
	narrow := mbTag("narrow", scenarios.Int64, "holding", 12, scenarios.Uint64, "HGFEDCBA", constant(int64(0)))
	narrow.Writable = true
	sc.Machines[0].Tags = append(sc.Machines[0].Tags, narrow)
	rec := &recorder{engine: newEngine(f, sc), last: map[int]any{}}
	s, err := New(rec, Config{Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	type target struct {
		idx   int
		start int
		order string
		typ   scenarios.DataType // the tag's
	}
	var targets []target
	for _, name := range []string{"wu", "wi", "narrow"} {
		i := tagIndex(f, rec, "m", name)
		ti := rec.Tags()[i]
		targets = append(targets, target{i, ti.Modbus.Address, ti.Modbus.Order, ti.Type})
	}
	f.Fuzz(func(t *testing.T, raw uint64, fc uint8, addr uint16, qty uint8) {
		fc = []uint8{6, 16, 23}[int(fc)%3]
		q := 1 + int(qty)%6
		if fc == 6 {
			q = 1
		}
		a := int(addr) % 20
		// The registers of raw in each target's order, laid out from 4.
		regs := make([]byte, 2*16)
		for _, tg := range targets {
			copy(regs[2*(tg.start-4):], encodeTest(beBytes(raw, 8), tg.order))
		}
		data := make([]byte, 2*q)
		for k := range q {
			if r := a + k - 4; r >= 0 && r < 16 {
				copy(data[2*k:], regs[2*r:2*r+2])
			}
		}
		var p []byte
		switch fc {
		case 6:
			p = append(pdu(6, uint16(a)), data...)
		case 16:
			p = append(append(pdu(16, uint16(a), uint16(q)), byte(2*q)), data...)
		default:
			p = append(append(pdu(23, 0, 4, uint16(a), uint16(q)), byte(2*q)), data...)
		}
		m := &memConn{in: adu(9, 0, 1, p), chunk: 3}
		s.serveConn(m)
		if n := s.panics.Load(); n != 0 {
			t.Fatalf("%d panics", n)
		}
		out := m.out.Bytes()
		if len(out) < 9 || binary.BigEndian.Uint16(out) != 9 || int(binary.BigEndian.Uint16(out[4:]))+6 != len(out) {
			t.Fatalf("malformed response % x", out)
		}
		// The oracle: which targets the write covers, whole or in part.
		want := byte(0)
		var whole []target
		for _, tg := range targets {
			lo, hi := max(a, tg.start), min(a+q, tg.start+4)
			if lo >= hi {
				continue
			}
			if lo != tg.start || hi != tg.start+4 {
				want = 2
			}
			whole = append(whole, tg)
		}
		if a < 4 || a+q > 16 {
			want = 2 // holding 0-3 is read-only; 16 and on are not mapped
		}
		if want == 0 {
			for _, tg := range whole {
				if tg.idx == targets[2].idx && raw > math.MaxInt64 {
					want = 3
				}
			}
		}
		got := byte(0)
		if out[7]&0x80 != 0 {
			got = out[8]
		}
		if got != want {
			t.Fatalf("fc %d at %d×%d of % x: exception %d, want %d (response % x)", fc, a, q, raw, got, want, out)
		}
		for _, tg := range whole {
			v, ok := rec.take(tg.idx)
			if want != 0 {
				if ok {
					t.Fatalf("refused write reached the twin: %v", v)
				}
				continue
			}
			var exp any = raw
			if tg.typ == scenarios.Int64 {
				exp = int64(raw)
			}
			if !ok || v != exp {
				t.Fatalf("fc %d: twin got %v (%T), want %v (%T)", fc, v, v, exp, exp)
			}
		}
	})
}
