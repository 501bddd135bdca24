package modbus

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gmodbus "github.com/goburrow/modbus"
	"github.com/tbrandon/mbserver"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
)

// quiet is a logger for tests: only errors.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// running is a connector under test.
type running struct {
	t    *testing.T
	c    *Connector
	out  chan connectors.Reading
	stop func()
}

// start runs a connector for cfg until the test ends (or stop).
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startConnector(t, c)
}

func startConnector(t *testing.T, c *Connector) *running {
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan connectors.Reading, 16)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out) }()
	r := &running{t: t, c: c, out: out}
	var stopped bool
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of its context's end")
		}
	}
	t.Cleanup(r.stop)
	return r
}

// poll reads the next poll's readings: one per configured point, each
// point exactly once (which also proves no duplicates).
func (r *running) poll() map[string]connectors.Reading {
	r.t.Helper()
	n := len(r.c.cfg.Points)
	got := make(map[string]connectors.Reading, n)
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case rd := <-r.out:
			if _, dup := got[rd.Address]; dup {
				r.t.Fatalf("point %s twice in one poll", rd.Address)
			}
			if !slices.Contains(r.c.cfg.Points, rd.Address) {
				r.t.Fatalf("reading of unknown address %q", rd.Address)
			}
			if rd.Source != r.c.Name() || rd.Received.IsZero() || !rd.SourceTime.IsZero() {
				r.t.Fatalf("reading %+v: want Source %q, Received set, SourceTime zero", rd, r.c.Name())
			}
			got[rd.Address] = rd
		case <-timeout:
			r.t.Fatalf("poll incomplete after 5s: %d of %d readings; health %+v", len(got), n, r.c.Health())
		}
	}
	return got
}

// pollUntil reads polls until cond holds for one, within 10s, and
// returns that poll.
func (r *running) pollUntil(what string, cond func(map[string]connectors.Reading) bool) map[string]connectors.Reading {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p := r.poll(); cond(p) {
			return p
		}
	}
	r.t.Fatalf("no poll with %s within 10s; health %+v", what, r.c.Health())
	return nil
}

// allStatus reports whether every reading of p has status st (nil: good).
func allStatus(st error) func(map[string]connectors.Reading) bool {
	return func(p map[string]connectors.Reading) bool {
		for _, rd := range p {
			if rd.Status != st {
				return false
			}
		}
		return true
	}
}

// allLost reports whether every reading of p is a link-down reading:
// LinkDown, no value, Bad_NoCommunication saying why (the device and the
// failed dial or read).
func allLost(p map[string]connectors.Reading) bool {
	for _, rd := range p {
		if !rd.LinkDown || rd.Raw != nil || codeOf(rd.Status) != connectors.BadNoCommunication ||
			!strings.Contains(rd.Status.Error(), " on ") {
			return false
		}
	}
	return true
}

// codeOf is the StatusCode a Reading.Status carries (Good for nil), or
// 0xFFFFFFFF when it carries none.
func codeOf(st error) connectors.StatusCode {
	c, ok := connectors.StatusOf(st)
	if !ok {
		return 0xFFFFFFFF
	}
	return c
}

// putWire stores wire bytes into registers from addr.
func putWire(regs []uint16, addr int, wire []byte) {
	for i := 0; i+1 < len(wire); i += 2 {
		regs[addr+i/2] = binary.BigEndian.Uint16(wire[i:])
	}
}

// TestReadEveryTypeAndOrder serves every known pattern of decodeCases
// from mbserver's holding and input tables (and bits from its coils and
// discrete inputs) and checks every value the connector delivers.
func TestReadEveryTypeAndOrder(t *testing.T) {
	ts := newTestServer(t)
	want := map[string]any{}
	var points []string
	next := map[string]int{"holding": 0, "input": 1000}
	alias := map[string]string{"holding": "hr", "input": "ir"}
	for i, tc := range decodeCases {
		r, err := ParseRegister(tc.point)
		if err != nil {
			t.Fatal(err)
		}
		wire, _ := hex.DecodeString(tc.wire)
		if r.Table.IsBit() {
			continue
		}
		for _, table := range []string{"holding", "input"} {
			addr := next[table]
			next[table] += len(wire) / 2
			mem := ts.mb.HoldingRegisters
			if table == "input" {
				mem = ts.mb.InputRegisters
			}
			putWire(mem, addr, wire)
			_, rest, _ := strings.Cut(tc.point, ":0:")
			name := table
			if i%2 == 1 {
				name = alias[table] // Address keeps the alias as written
			}
			p := fmt.Sprintf("%s:%d:%s", name, addr, strings.ToLower(rest))
			points = append(points, p)
			want[p] = tc.want
		}
	}
	for i := range 40 {
		on := i%3 == 0
		var b byte
		if on {
			b = 1
		}
		ts.mb.Coils[100+i] = b
		ts.mb.DiscreteInputs[200+2*i] = 1 - b
		pc, pd := fmt.Sprintf("coil:%d:bool", 100+i), fmt.Sprintf("di:%d:bool", 200+2*i)
		points = append(points, pc, pd)
		want[pc], want[pd] = on, !on
	}
	ts.start("127.0.0.1:0")

	r := start(t, Config{Name: "plc1", Address: ts.addr(), UnitID: 1, PollInterval: 20 * time.Millisecond, Points: points})
	for range 3 {
		p := r.poll()
		for addr, w := range want {
			rd := p[addr]
			if rd.Status != nil || rd.Raw != w {
				t.Errorf("%s = %#v (%v), want %#v", addr, rd.Raw, rd.Status, w)
			}
		}
	}
	h := r.c.Health()
	if h.State != connectors.Connected || h.Source != "plc1" || h.Protocol != "modbus" || h.Endpoint != ts.addr() {
		t.Errorf("health %+v", h)
	}
	if h.Readings < uint64(2*len(points)) || h.Errors != 0 || h.Reconnects != 0 || h.Latency <= 0 {
		t.Errorf("health counters %+v", h)
	}
}

// TestStockServer reads from mbserver's own server loop (ListenTCP),
// which cannot report its port: pick one, retry on a clash.
func TestStockServer(t *testing.T) {
	s := mbserver.NewServer()
	s.HoldingRegisters[10] = 0xFFFE
	s.InputRegisters[20], s.InputRegisters[21] = 0x42F6, 0xE979
	s.Coils[3] = 1
	var addr string
	for attempt := 0; ; attempt++ {
		addr = testkit.FreeAddr(t)
		err := s.ListenTCP(addr)
		if err == nil {
			break
		}
		if attempt == 10 {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Close)
	r := start(t, Config{Name: "stock", Address: addr, PollInterval: 20 * time.Millisecond,
		Points: []string{"holding:10:int16", "input:20:float32", "coil:3:bool", "coil:4:bool"}})
	p := r.poll()
	for addr, w := range map[string]any{"holding:10:int16": int64(-2), "input:20:float32": f32, "coil:3:bool": true, "coil:4:bool": false} {
		if p[addr].Raw != w || p[addr].Status != nil {
			t.Errorf("%s = %#v (%v), want %#v", addr, p[addr].Raw, p[addr].Status, w)
		}
	}
	r.stop() // before s.Close: mbserver's loop serves accepted connections until the client leaves
}

// TestMaxGapOnTheWire checks the number of requests the device sees.
func TestMaxGapOnTheWire(t *testing.T) {
	points := []string{"holding:0:int16", "holding:10:float32", "holding:20:int16", "coil:0:bool", "coil:100:bool"}
	tests := []struct {
		maxGap  int
		perPoll int64
	}{
		{0, 2},  // default 16: holding in one read, coils 0 and 100 (gap 99 ≤ 256 bits) in one
		{-1, 5}, // no gaps: every point alone
		{8, 3},  // holding gaps 9 and 8: two reads; coil gap 99 ≤ 128 bits: one
		{5, 5},  // holding: three reads; coil gap 99 > 80 bits: two
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.maxGap), func(t *testing.T) {
			ts := newTestServer(t).start("127.0.0.1:0")
			// One poll only: the readings follow the poll's requests.
			r := start(t, Config{Name: "gap", Address: ts.addr(), PollInterval: time.Hour, MaxGap: tt.maxGap, Points: points})
			r.poll()
			if got := ts.requests.Load(); got != tt.perPoll {
				t.Errorf("device saw %d requests in one poll, want %d", got, tt.perPoll)
			}
		})
	}
}

// TestExceptions maps each exception to the quality of the points of the
// refused read, while other reads go on.
func TestExceptions(t *testing.T) {
	tests := []struct {
		name string
		exc  *mbserver.Exception
		want connectors.StatusCode // status of input points; 0: no readings at all
		why  string                // the status's text after "read input 4-5 on exc (<address> unit 0): "
	}{
		{"device failure", &mbserver.SlaveDeviceFailure, connectors.BadDeviceFailure, "exception 4 (server device failure)"},
		{"busy", &mbserver.SlaveDeviceBusy, 0, ""},
		{"gateway path", &mbserver.GatewayPathUnavailable, connectors.BadNoCommunication, "exception 10 (gateway path unavailable)"},
		{"gateway target", &mbserver.GatewayTargetDeviceFailedtoRespond, connectors.BadNoCommunication, "exception 11 (gateway target device failed to respond)"},
		{"memory parity", &mbserver.MemoryParityError, connectors.BadDeviceFailure, "exception 8 (memory parity error)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.mb.HoldingRegisters[0] = 7
			ts.handlers[4] = refuse(mbserver.ReadInputRegisters, tt.exc, 5)
			ts.start("127.0.0.1:0")
			points := []string{"holding:0:int16", "input:4:int16", "input:5:uint16"}
			c, err := New(Config{Name: "exc", Address: ts.addr(), PollInterval: 10 * time.Millisecond, Points: points, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			r := startConnector(t, c)
			for range 3 {
				// One poll: holding always, input per the exception.
				n := 3
				if tt.want == 0 {
					n = 1
				}
				got := map[string]connectors.Reading{}
				for len(got) < n {
					select {
					case rd := <-r.out:
						if _, dup := got[rd.Address]; dup {
							t.Fatalf("%s twice in one poll", rd.Address)
						}
						got[rd.Address] = rd
					case <-time.After(5 * time.Second):
						t.Fatalf("poll incomplete: %v", got)
					}
				}
				if rd := got["holding:0:int16"]; rd.Raw != int64(7) || rd.Status != nil {
					t.Errorf("holding point: %+v", rd)
				}
				for _, p := range points[1:] {
					rd, ok := got[p]
					if tt.want == 0 {
						if ok {
							t.Errorf("%s reported on busy: %+v", p, rd)
						}
						continue
					}
					if codeOf(rd.Status) != tt.want || rd.Raw != nil || rd.LinkDown {
						t.Errorf("%s: %v (link down %v), want status %v from a device that answers", p, rd.Status, rd.LinkDown, tt.want)
						continue
					}
					// The status says why, and the normalizer keeps it.
					why := fmt.Sprintf("read input 4-5 on exc (%s unit 0): %s", ts.addr(), tt.why)
					if rd.Status.Error() != why {
						t.Errorf("%s: status text %q, want %q", p, rd.Status, why)
					}
					if c, text := normalize.MapStatus(rd.Status); c != tt.want || text != why {
						t.Errorf("%s: normalize.MapStatus = %v, %q; want %v, %q", p, c, text, tt.want, why)
					}
				}
			}
			h := r.c.Health()
			if h.State != connectors.Connected || h.Errors == 0 || h.LastError == nil || h.Reconnects != 0 {
				t.Errorf("health %+v", h)
			}
			var me *gmodbus.ModbusError
			if !errors.As(h.LastError, &me) || me.ExceptionCode != byte(*tt.exc) || !strings.Contains(h.LastError.Error(), "read input 4-5 on exc") {
				t.Errorf("LastError = %v, want exception %d naming the read", h.LastError, *tt.exc)
			}
		})
	}
}

// TestIllegalAddressFindsBadPoints: a device refusing a merged read with
// exception 02 (or 01, 03) gets the read split until the refused points
// are found; they read Bad_ConfigurationError every poll, the rest reads
// on, and a point the device accepts again comes back.
func TestIllegalAddressFindsBadPoints(t *testing.T) {
	for _, exc := range []*mbserver.Exception{&mbserver.IllegalDataAddress, &mbserver.IllegalFunction, &mbserver.IllegalDataValue} {
		t.Run(exc.String(), func(t *testing.T) {
			ts := newTestServer(t)
			for i := range 40 {
				ts.mb.HoldingRegisters[i] = uint16(100 + i)
			}
			var fixed atomic.Bool
			refused := refuse(mbserver.ReadHoldingRegisters, exc, 5, 20, 33)
			ts.handlers[3] = func(s *mbserver.Server, f mbserver.Framer) ([]byte, *mbserver.Exception) {
				if fixed.Load() {
					return refuse(mbserver.ReadHoldingRegisters, exc, 20)(s, f) // a gap register stays unmapped
				}
				return refused(s, f)
			}
			ts.start("127.0.0.1:0")
			// 20 is a gap between 19 and 21; 33 is inside the float32 at 32.
			points := []string{"holding:0:int16", "holding:3:int16", "holding:5:int16", "holding:6:int16",
				"holding:19:int16", "holding:21:int16", "holding:32:uint32", "holding:35:int16"}
			c, err := New(Config{Name: "bad", Address: ts.addr(), PollInterval: 10 * time.Millisecond, Points: points, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			c.reprobe = 0 // reread refused points every poll
			r := startConnector(t, c)
			bad := []string{"holding:5:int16", "holding:32:uint32"}
			check := func(p map[string]connectors.Reading, bad []string) {
				t.Helper()
				for _, pt := range points {
					rd := p[pt]
					if slices.Contains(bad, pt) {
						if codeOf(rd.Status) != connectors.BadConfigurationError || rd.Raw != nil {
							t.Errorf("%s: %+v, want Bad_ConfigurationError", pt, rd)
							continue
						}
						reg, _ := ParseRegister(pt)
						why := fmt.Sprintf("read holding %d-%d on bad (%s unit 0): exception %d (%s)",
							reg.Address, int(reg.Address)+reg.Count()-1, ts.addr(), byte(*exc), exceptionName(byte(*exc)))
						if rd.Status.Error() != why {
							t.Errorf("%s: status text %q, want %q", pt, rd.Status, why)
						}
						continue
					}
					reg, _ := ParseRegister(pt)
					var want any = int64(100 + int(reg.Address))
					if reg.Type == Uint32 {
						want = uint64(100+reg.Address)<<16 | uint64(101+reg.Address)
					}
					if rd.Status != nil || rd.Raw != want {
						t.Errorf("%s = %#v (%v), want %#v", pt, rd.Raw, rd.Status, want)
					}
				}
			}
			for range 3 {
				check(r.poll(), bad)
			}
			if st := r.c.Stats(); st.BadPoints != 2 {
				t.Errorf("BadPoints = %d, want 2", st.BadPoints)
			}
			fixed.Store(true)
			r.pollUntil("the fixed points back", func(p map[string]connectors.Reading) bool {
				return p["holding:5:int16"].Status == nil && p["holding:32:uint32"].Status == nil
			})
			check(r.poll(), nil)
			if st := r.c.Stats(); st.BadPoints != 0 {
				t.Errorf("BadPoints = %d, want 0", st.BadPoints)
			}
			if h := r.c.Health(); h.State != connectors.Connected || h.Reconnects != 0 {
				t.Errorf("health %+v", h)
			}
		})
	}
}
