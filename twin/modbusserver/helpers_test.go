package modbusserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"testing"
	"time"

	"github.com/goburrow/modbus"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// engine is what the tests drive: the twin engine's Source plus its fault
// and clock controls.
type engine interface {
	Source
	Inject(f scenarios.Fault) error
	Clear(name string) error
	Step(n int)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEngine builds the real twin engine for sc.
func newEngine(t testing.TB, sc *scenarios.Scenario) engine {
	t.Helper()
	e, err := twin.New(sc, twin.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatalf("twin.New: %v", err)
	}
	if len(e.Tags()) == 0 {
		t.Fatalf("twin engine has no tags for scenario %q", sc.Name)
	}
	return e
}

// startServer serves cfg.Machines of src on 127.0.0.1:0 until the test ends.
func startServer(t testing.TB, src Source, cfg Config) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(src, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// client is a goburrow client on its own connection.
type client struct {
	h *modbus.TCPClientHandler
	modbus.Client
}

func dial(t testing.TB, addr string, unit byte, timeout time.Duration) *client {
	t.Helper()
	h := modbus.NewTCPClientHandler(addr)
	h.SlaveId = unit
	h.Timeout = timeout
	if err := h.Connect(); err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(func() { h.Close() })
	return &client{h: h, Client: modbus.NewClient(h)}
}

// exceptionOf returns the Modbus exception code of err, 0 if it is not one.
func exceptionOf(err error) byte {
	var me *modbus.ModbusError
	if errors.As(err, &me) {
		return me.ExceptionCode
	}
	return 0
}

// ---- the scenario covering every type × order × table ----

var (
	orders16 = []string{"AB", "BA"}
	orders32 = []string{"ABCD", "DCBA", "BADC", "CDAB"}
	orders64 = []string{"ABCDEFGH", "HGFEDCBA", "BADCFEHG", "GHEFCDAB"}
	regTypes = []scenarios.DataType{scenarios.Int16, scenarios.Uint16, scenarios.Int32, scenarios.Uint32,
		scenarios.Int64, scenarios.Uint64, scenarios.Float32, scenarios.Float64}
)

func ordersFor(t scenarios.DataType) []string {
	switch regWidthTest(t) {
	case 1:
		return orders16
	case 2:
		return orders32
	}
	return orders64
}

func regWidthTest(t scenarios.DataType) int {
	switch t {
	case scenarios.Int16, scenarios.Uint16, scenarios.Bool:
		return 1
	case scenarios.Int32, scenarios.Uint32, scenarios.Float32:
		return 2
	}
	return 4
}

// distinctive constants: every byte differs, so a wrong order shows.
func constFor(t scenarios.DataType, k int) any {
	switch t {
	case scenarios.Int16:
		return int64(-0x1234 - k)
	case scenarios.Uint16:
		return int64(0xA1B2 + k)
	case scenarios.Int32:
		return int64(-0x12345678 - k)
	case scenarios.Uint32:
		return int64(0xA1B2C3D4 + k)
	case scenarios.Int64:
		return int64(-0x0123456789ABCDEF - k)
	case scenarios.Uint64:
		return uint64(0xF1E2D3C4B5A69788 + uint64(k))
	}
	return float64(0)
}

func mbTag(name string, typ scenarios.DataType, table string, addr int, reg scenarios.DataType, order string, model *scenarios.Model) scenarios.Tag {
	return scenarios.Tag{Name: name, Type: typ, Model: model,
		Modbus: &scenarios.Register{Table: table, Address: addr, Type: reg, Order: order, Scale: 1}}
}

func constant(v any) *scenarios.Model {
	return &scenarios.Model{Constant: &scenarios.Constant{Value: v}}
}

func sine(offset, amp float64, period time.Duration) *scenarios.Model {
	return &scenarios.Model{Sine: &scenarios.Sine{Offset: offset, Amplitude: amp, Period: scenarios.Duration(period)}}
}

func defaultOrder(t scenarios.DataType) string {
	switch regWidthTest(t) {
	case 1:
		return "AB"
	case 2:
		return "ABCD"
	}
	return "ABCDEFGH"
}

// gridScenario is a resolved scenario: machine "grid" (unit 1) maps every
// register type in every order on both register tables, identity and
// scaled, and bools on both bit tables; holding 1000-1002 has a hole at
// 1001; "writes" (holding from 2000, coils from 100) are writable;
// machine "second" (unit 7) shares the port.
func gridScenario() *scenarios.Scenario {
	var tags []scenarios.Tag
	for _, table := range []string{"holding", "input"} {
		addr := 0
		k := 0
		for _, rt := range regTypes {
			for _, o := range ordersFor(rt) {
				var m *scenarios.Model
				if rt == scenarios.Float32 || rt == scenarios.Float64 {
					m = sine(1.5+float64(k), 1000.25, time.Duration(7+k)*time.Second)
				} else {
					m = constant(constFor(rt, k))
				}
				tags = append(tags, mbTag(fmt.Sprintf("%s_%s_%s", table, rt, o), rt, table, addr, rt, o, m))
				addr += regWidthTest(rt)
				k++
			}
		}
		// Scaled and offset mappings.
		scaled := []struct {
			name  string
			typ   scenarios.DataType
			reg   scenarios.DataType
			order string
			scale float64
			off   float64
			model *scenarios.Model
		}{
			{"temp_i16", scenarios.Float64, scenarios.Int16, "ABCD", 0.1, 20, sine(20, 50, 11*time.Second)},
			{"level_u16", scenarios.Float32, scenarios.Uint16, "BADC", 0.01, 0, sine(300, 200, 13*time.Second)},
			{"flow_i32", scenarios.Float64, scenarios.Int32, "CDAB", 0.001, -5, sine(-100, 5000, 17*time.Second)},
			{"energy_u64", scenarios.Float64, scenarios.Uint64, "GHEFCDAB", 0.5, 0, sine(1e9, 1e6, 19*time.Second)},
			{"clamp_hi_i16", scenarios.Float64, scenarios.Int16, "ABCD", 1, 0, constant(float64(1e6))},
			{"clamp_lo_u16", scenarios.Float64, scenarios.Uint16, "ABCD", 1, 0, constant(float64(-5))},
			{"count_u32_as_f32", scenarios.Uint32, scenarios.Float32, "CDAB", 1, 0, constant(int64(123456))},
			{"bool_reg", scenarios.Bool, scenarios.Bool, "", 1, 0, constant(true)},
		}
		for _, sc := range scaled {
			tg := mbTag(table+"_"+sc.name, sc.typ, table, addr, sc.reg, sc.order, sc.model)
			tg.Modbus.Scale, tg.Modbus.Offset = sc.scale, sc.off
			if sc.order == "" {
				tg.Modbus.Order = "ABCD"
			}
			tags = append(tags, tg)
			addr += regWidthTest(sc.reg)
		}
	}
	for _, table := range []string{"coil", "discrete"} {
		for a := 0; a < 20; a++ {
			tg := mbTag(fmt.Sprintf("%s_%d", table, a), scenarios.Bool, table, a, scenarios.Bool, "", constant(a%3 == 0))
			tags = append(tags, tg)
		}
		// A numeric tag on a bit: raw 0/1.
		tags = append(tags, mbTag(table+"_numeric", scenarios.Int16, table, 20, scenarios.Bool, "", constant(int64(1))))
	}
	// A hole at holding 1001.
	tags = append(tags,
		mbTag("hole_before", scenarios.Uint16, "holding", 1000, scenarios.Uint16, "ABCD", constant(int64(1))),
		mbTag("hole_after", scenarios.Uint16, "holding", 1002, scenarios.Uint16, "ABCD", constant(int64(3))))
	// Writable registers from 2000, in every type, and writable coils from 100.
	addr := 2000
	for _, rt := range regTypes {
		o := ordersFor(rt)[len(ordersFor(rt))-1]
		var m *scenarios.Model
		if rt == scenarios.Float32 || rt == scenarios.Float64 {
			m = constant(float64(0))
		} else {
			m = constant(int64(0))
		}
		tg := mbTag("w_"+string(rt), rt, "holding", addr, rt, o, m)
		tg.Writable = true
		tags = append(tags, tg)
		addr += regWidthTest(rt)
	}
	wsc := mbTag("w_scaled", scenarios.Float64, "holding", addr, scenarios.Int16, "ABCD", constant(float64(20)))
	wsc.Modbus.Scale, wsc.Modbus.Offset, wsc.Writable = 0.1, 10, true
	tags = append(tags, wsc)
	tags = append(tags, mbTag("ro_setpoint", scenarios.Int16, "holding", addr+1, scenarios.Int16, "ABCD", constant(int64(5))))
	for a := 100; a < 110; a++ {
		tg := mbTag(fmt.Sprintf("wcoil_%d", a), scenarios.Bool, "coil", a, scenarios.Bool, "", constant(false))
		tg.Writable = true
		tags = append(tags, tg)
	}
	tags = append(tags, mbTag("ro_coil", scenarios.Bool, "coil", 110, scenarios.Bool, "", constant(true)))

	loc := scenarios.Location{Site: "testsite", Line: "line1"}
	return &scenarios.Scenario{
		Name: "modbus-grid", Seed: 1, Tick: scenarios.Duration(100 * time.Millisecond), TimeScale: 1,
		Location: loc,
		OPCUA:    scenarios.OPCUASettings{Security: []string{"none"}, Anonymous: ptr(true)},
		Machines: []scenarios.Machine{
			{Name: "grid", Location: loc, Tags: tags, Modbus: &scenarios.MachineModbus{UnitID: 1}},
			{Name: "second", Location: loc, Modbus: &scenarios.MachineModbus{UnitID: 7}, Tags: []scenarios.Tag{
				mbTag("speed", scenarios.Uint16, "holding", 0, scenarios.Uint16, "ABCD", constant(int64(4242))),
				mbTag("temp", scenarios.Float32, "input", 0, scenarios.Float32, "ABCD", sine(60, 5, 9*time.Second)),
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// ---- an independent decoder for the tests ----

// valueBytes turns the registers received for a value into its big-endian
// bytes, undoing the named order by byte swaps within words and reversal
// of the words.
func valueBytes(recv []byte, order string) []byte {
	b := append([]byte(nil), recv...)
	n := len(b)
	var byteSwap, wordSwap bool
	switch order {
	case "AB", "ABCD", "ABCDEFGH", "":
	case "DCBA", "HGFEDCBA":
		byteSwap, wordSwap = true, true
	case "BA", "BADC", "BADCFEHG":
		byteSwap = true
	case "CDAB", "GHEFCDAB":
		wordSwap = true
	default:
		panic("unknown order " + order)
	}
	if n == 2 {
		wordSwap = false
	}
	if byteSwap {
		for i := 0; i+1 < n; i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
	if wordSwap {
		for i, j := 0, n-2; i < j; i, j = i+2, j-2 {
			b[i], b[i+1], b[j], b[j+1] = b[j], b[j+1], b[i], b[i+1]
		}
	}
	return b
}

// rawOf interprets big-endian bytes as the register type: int64, uint64 or
// float64.
func rawOf(b []byte, t scenarios.DataType) any {
	var u uint64
	for _, x := range b {
		u = u<<8 | uint64(x)
	}
	switch t {
	case scenarios.Int16:
		return int64(int16(u))
	case scenarios.Int32:
		return int64(int32(u))
	case scenarios.Int64:
		return int64(u)
	case scenarios.Float32:
		return float64(math.Float32frombits(uint32(u)))
	case scenarios.Float64:
		return math.Float64frombits(u)
	}
	return u
}

// wantRaw is the raw value the server should send for engineering value v.
func wantRaw(v any, r *scenarios.Register) any {
	var f float64
	var exactI *int64
	var exactU *uint64
	switch x := v.(type) {
	case bool:
		f = 0
		if x {
			f = 1
		}
	case int16:
		f = float64(x)
		i := int64(x)
		exactI = &i
	case int32:
		f = float64(x)
		i := int64(x)
		exactI = &i
	case int64:
		f = float64(x)
		exactI = &x
	case uint16:
		f = float64(x)
		u := uint64(x)
		exactU = &u
	case uint32:
		f = float64(x)
		u := uint64(x)
		exactU = &u
	case uint64:
		f = float64(x)
		exactU = &x
	case float32:
		f = float64(x)
	case float64:
		f = x
	default:
		panic(fmt.Sprintf("value %T", v))
	}
	identity := r.Scale == 1 && r.Offset == 0
	if !identity {
		f = (f - r.Offset) / r.Scale
	}
	switch r.Type {
	case scenarios.Float32:
		return float64(float32(f))
	case scenarios.Float64:
		return f
	case scenarios.Bool:
		if math.Round(f) != 0 {
			return uint64(1)
		}
		return uint64(0)
	}
	if identity && exactI != nil && (r.Type == scenarios.Int64 || r.Type == scenarios.Uint64 && *exactI >= 0) {
		if r.Type == scenarios.Int64 {
			return *exactI
		}
		return uint64(*exactI)
	}
	if identity && exactU != nil && r.Type == scenarios.Uint64 {
		return *exactU
	}
	f = math.Round(f)
	switch r.Type {
	case scenarios.Int16:
		return int64(math.Max(math.MinInt16, math.Min(math.MaxInt16, f)))
	case scenarios.Uint16:
		return uint64(math.Max(0, math.Min(math.MaxUint16, f)))
	case scenarios.Int32:
		return int64(math.Max(math.MinInt32, math.Min(math.MaxInt32, f)))
	case scenarios.Uint32:
		return uint64(math.Max(0, math.Min(math.MaxUint32, f)))
	case scenarios.Int64:
		if f >= math.MaxInt64 {
			return int64(math.MaxInt64)
		}
		if f <= math.MinInt64 {
			return int64(math.MinInt64)
		}
		return int64(f)
	case scenarios.Uint64:
		if f >= math.MaxUint64 {
			return uint64(math.MaxUint64)
		}
		if f <= 0 {
			return uint64(0)
		}
		return uint64(f)
	}
	panic("register type " + string(r.Type))
}

// rawConn is a plain TCP connection for malformed traffic.
func rawConn(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
