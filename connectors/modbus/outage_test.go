package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gmodbus "github.com/goburrow/modbus"
	"github.com/tbrandon/mbserver"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
)

// TestOutageAndRecovery: no device at first, then a device, then it
// stops (listener and connections closed), then a new one on the same
// port: Down with Bad_NoCommunication readings every poll while away,
// good values after, exactly one reading per point per poll throughout,
// without restarting the connector.
func TestOutageAndRecovery(t *testing.T) {
	addr := testkit.FreeAddr(t)
	points := []string{"holding:0:int16", "holding:1:uint16", "input:0:float32", "coil:0:bool"}
	r := start(t, Config{Name: "press1", Address: addr, PollInterval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, Points: points})

	// No device yet.
	if st := r.c.Health().State; st != connectors.Connecting && st != connectors.Down {
		t.Errorf("state before any answer: %v", st)
	}
	r.pollUntil("Bad_NoCommunication", allLost)
	if h := r.c.Health(); h.State != connectors.Down || h.LastError == nil || !strings.Contains(h.LastError.Error(), "press1") {
		t.Errorf("health with no device: %+v", h)
	}

	serve := func(v uint16) *testServer {
		ts := newTestServer(t)
		ts.mb.HoldingRegisters[0], ts.mb.HoldingRegisters[1] = v, v+1
		ts.mb.InputRegisters[0], ts.mb.InputRegisters[1] = 0x42F6, 0xE979
		ts.mb.Coils[0] = 1
		return ts.start(addr)
	}
	good := func(v uint16) func(map[string]connectors.Reading) bool {
		return func(p map[string]connectors.Reading) bool {
			return p["holding:0:int16"].Raw == int64(v) && p["holding:1:uint16"].Raw == uint64(v+1) &&
				p["input:0:float32"].Raw == f32 && p["coil:0:bool"].Raw == true && allStatus(nil)(p)
		}
	}

	ts := serve(10)
	r.pollUntil("good values from the first device", good(10))
	if h := r.c.Health(); h.State != connectors.Connected {
		t.Errorf("state %v, want connected", h.State)
	}
	reconnects := r.c.Health().Reconnects

	ts.stop()
	r.pollUntil("Bad_NoCommunication after the device stopped", allLost)
	if h := r.c.Health(); h.State != connectors.Down {
		t.Errorf("state %v, want down", h.State)
	}
	// Every poll while away says so again.
	for range 3 {
		if p := r.poll(); !allLost(p) {
			t.Errorf("poll while down: %v", p)
		}
	}

	ts2 := serve(20)
	r.pollUntil("good values from the second device", good(20))
	h := r.c.Health()
	if h.State != connectors.Connected || h.Reconnects <= reconnects {
		t.Errorf("health after recovery: %+v (reconnects before %d)", h, reconnects)
	}
	if ts2.accepted.Load() != 1 {
		t.Errorf("second device accepted %d connections, want 1", ts2.accepted.Load())
	}
	// After recovery, values stay good: no mixing, no duplicates.
	for range 3 {
		if p := r.poll(); !good(20)(p) {
			t.Errorf("poll after recovery: %v", p)
		}
	}
}

// TestSlowReplyDoesNotDesync: a reply later than the timeout. goburrow's
// own transport keeps the connection, so the late reply answers the next
// request (shown first, to prove the fault is real); the connector
// closes the connection on the timeout, reports the poll as
// Bad_NoCommunication, redials and reads correct values after.
func TestSlowReplyDoesNotDesync(t *testing.T) {
	const timeout = 150 * time.Millisecond
	newSlow := func() *testServer {
		ts := newTestServer(t)
		for i := range 10 {
			ts.mb.HoldingRegisters[i] = uint16(1000 + i)
		}
		ts.hook = func(n int64, _ *mbserver.TCPFrame) time.Duration {
			if n == 2 {
				return 3 * timeout
			}
			return 0
		}
		return ts.start("127.0.0.1:0")
	}

	t.Run("goburrow alone", func(t *testing.T) {
		ts := newSlow()
		h := gmodbus.NewTCPClientHandler(ts.addr())
		h.Timeout = timeout
		defer h.Close()
		cl := gmodbus.NewClient(h)
		if _, err := cl.ReadHoldingRegisters(0, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.ReadHoldingRegisters(0, 2); err == nil {
			t.Fatal("the slow reply did not time out")
		}
		// Let the late reply arrive; goburrow kept the connection.
		testkit.Eventually(t, 5*time.Second, "the late reply", func() bool { return ts.responses.Load() >= 2 })
		_, err := cl.ReadHoldingRegisters(0, 2)
		if err == nil || !strings.Contains(err.Error(), "transaction id") {
			t.Fatalf("third request: %v; want goburrow's transaction id mismatch", err)
		}
	})

	t.Run("connector", func(t *testing.T) {
		ts := newSlow()
		points := []string{"holding:0:int16", "holding:1:int16", "holding:9:uint16"}
		r := start(t, Config{Name: "slow", Address: ts.addr(), PollInterval: 20 * time.Millisecond, Timeout: timeout, Points: points})
		good := func(p map[string]connectors.Reading) bool {
			return p["holding:0:int16"].Raw == int64(1000) && p["holding:1:int16"].Raw == int64(1001) &&
				p["holding:9:uint16"].Raw == uint64(1009) && allStatus(nil)(p)
		}
		if p := r.poll(); !good(p) {
			t.Fatalf("first poll: %v", p)
		}
		if p := r.poll(); !allLost(p) {
			t.Fatalf("poll with the slow reply: %v", p)
		}
		var ne interface{ Timeout() bool }
		if h := r.c.Health(); !errors.As(h.LastError, &ne) || !ne.Timeout() {
			t.Errorf("LastError = %v, want a timeout", h.LastError)
		}
		r.pollUntil("good values after the timeout", good)
		for range 5 {
			if p := r.poll(); !good(p) {
				t.Fatalf("poll after recovery: %v", p)
			}
		}
		if h := r.c.Health(); h.State != connectors.Connected || h.Reconnects != 1 {
			t.Errorf("health %+v, want connected after 1 reconnect", h)
		}
	})
}

// TestMalformedResponses: a response shorter than the read, or with the
// wrong byte count, gives Bad_DecodingError for the read's points, and
// the connector reconnects and reads on.
func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name string
		data func(f mbserver.Framer) []byte
	}{
		{"one register short", func(f mbserver.Framer) []byte {
			_, n := span(f)
			return append([]byte{byte(2 * (n - 1))}, make([]byte, 2*(n-1))...)
		}},
		{"byte count lies", func(f mbserver.Framer) []byte {
			_, n := span(f)
			return append([]byte{byte(2*n + 2)}, make([]byte, 2*n)...)
		}},
		{"empty", func(mbserver.Framer) []byte { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.mb.HoldingRegisters[0], ts.mb.HoldingRegisters[1] = 0x42F6, 0xE979
			ts.mb.Coils[0] = 1
			var calls atomic.Int64
			ts.handlers[3] = func(s *mbserver.Server, f mbserver.Framer) ([]byte, *mbserver.Exception) {
				if calls.Add(1) == 2 {
					return tt.data(f), &mbserver.Success
				}
				return mbserver.ReadHoldingRegisters(s, f)
			}
			ts.start("127.0.0.1:0")
			points := []string{"holding:0:float32", "coil:0:bool"}
			r := start(t, Config{Name: "garble", Address: ts.addr(), PollInterval: 20 * time.Millisecond, Points: points})
			if p := r.poll(); p["holding:0:float32"].Raw != f32 {
				t.Fatalf("first poll: %v", p)
			}
			p := r.poll()
			if rd := p["holding:0:float32"]; rd.Status != connectors.BadDecodingError || rd.Raw != nil {
				t.Errorf("malformed read: %+v, want Bad_DecodingError", rd)
			}
			if rd := p["coil:0:bool"]; rd.Status != nil || rd.Raw != true {
				t.Errorf("coil in the same poll: %+v", rd)
			}
			r.pollUntil("good values after the malformed reply", func(p map[string]connectors.Reading) bool {
				return p["holding:0:float32"].Raw == f32 && allStatus(nil)(p)
			})
			if got := ts.accepted.Load(); got != 2 {
				t.Errorf("device accepted %d connections, want 2 (one redial)", got)
			}
			if h := r.c.Health(); h.Errors != 1 || h.LastError == nil || !strings.Contains(h.LastError.Error(), "read holding 0-1 on garble") {
				t.Errorf("health %+v", h)
			}
		})
	}
}

// TestOverrunSkipsPolls: polls slower than the interval skip, counted,
// and never queue up.
func TestOverrunSkipsPolls(t *testing.T) {
	ts := newTestServer(t)
	ts.hook = func(int64, *mbserver.TCPFrame) time.Duration { return 45 * time.Millisecond }
	ts.start("127.0.0.1:0")
	r := start(t, Config{Name: "overrun", Address: ts.addr(), PollInterval: 20 * time.Millisecond, Points: []string{"holding:0:int16"}})
	for range 4 {
		if p := r.poll(); !allStatus(nil)(p) {
			t.Fatalf("poll: %v", p)
		}
	}
	r.stop()
	st := r.c.Stats()
	if st.Skipped < st.Polls-1 || st.Polls < 4 {
		t.Errorf("stats %+v: want about 2 skipped per poll", st)
	}
	if int64(st.Polls) != ts.requests.Load() && int64(st.Polls)+1 != ts.requests.Load() {
		t.Errorf("%d polls but %d requests", st.Polls, ts.requests.Load())
	}
}

// TestRunStopsPromptly: ctx's end interrupts a request in flight (the
// device never answers, the timeout is long), Run returns nil, and no
// goroutine is left behind.
func TestRunStopsPromptly(t *testing.T) {
	ts := newTestServer(t)
	answered := make(chan struct{})
	ts.hook = func(n int64, _ *mbserver.TCPFrame) time.Duration {
		if n == 1 {
			close(answered)
			return 0
		}
		return time.Hour // until the server stops
	}
	ts.start("127.0.0.1:0")
	base := runtime.NumGoroutine()
	c, err := New(Config{Name: "hang", Address: ts.addr(), PollInterval: 10 * time.Millisecond, Timeout: time.Minute, Points: []string{"holding:0:int16"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan connectors.Reading, 10)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out) }()
	<-answered
	// Wait for the second request to be in flight.
	testkit.Eventually(t, 5*time.Second, "a second request", func() bool { return ts.requests.Load() >= 2 })
	if err := c.Run(ctx, out); err == nil {
		t.Error("a second Run while running: no error")
	}
	t0 := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Run took %v to return", d)
	}
	if st := c.Health().State; st != connectors.Down {
		t.Errorf("state after Run: %v, want down", st)
	}
	ts.stop()
	if !testkit.Poll(5*time.Second, func() bool { return runtime.NumGoroutine() <= base }) {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, %d before Run:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{
		Name:         "",
		Address:      "plc1",
		PollInterval: time.Millisecond,
		Timeout:      -1,
		Points:       []string{"holding:0:int16", "register:1:int16", "holding:0:int16", "coil:1:float32", "holding:65535:float64"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"name is empty",
		`address "plc1": want host:port`,
		"poll_interval 1ms: at least 10ms",
		"timeout -1ns: at least 10ms",
		`point 2: point "register:1:int16": unknown table`,
		`point 3 "holding:0:int16": duplicate of point 1`,
		`point 4: point "coil:1:float32"`,
		`point 5: point "holding:65535:float64": float64 at 65535 runs past`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := New(Config{Name: "x", Address: "h:0", Points: []string{"hr:1:int16"}}); err == nil || !strings.Contains(err.Error(), `modbus device "x": address "h:0": port "0"`) {
		t.Errorf("port 0: %v", err)
	}
	if _, err := New(Config{Name: "x", Address: "h:502"}); err == nil || !strings.Contains(err.Error(), "no points") {
		t.Errorf("no points: %v", err)
	}
	c, err := New(Config{Name: "ok", Address: "localhost:502", Points: []string{"hr:1:int16"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.PollInterval != DefaultPollInterval || c.cfg.Timeout != DefaultTimeout || c.cfg.MaxGap != DefaultMaxGap {
		t.Errorf("defaults not applied: %+v", c.cfg)
	}
	if h := c.Health(); h.State != connectors.Connecting || h.Source != "ok" || h.Protocol != "modbus" {
		t.Errorf("initial health %+v", h)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		err        error
		kind       errKind
		peerClosed bool
	}{
		{nil, errNone, false},
		{&gmodbus.ModbusError{FunctionCode: 0x83, ExceptionCode: 2}, errException, false},
		{fmt.Errorf("read holding 0-1 on x: %w", &gmodbus.ModbusError{FunctionCode: 0x81, ExceptionCode: 6}), errException, false},
		{&gmodbus.ModbusError{FunctionCode: 0x04, ExceptionCode: 2}, errProtocol, false}, // a reply to another request
		{io.EOF, errComm, true},
		{io.ErrUnexpectedEOF, errComm, true},
		{reset, errComm, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, errComm, false},
		{timeoutErr{}, errComm, false},
		{errNotConnected, errComm, false},
		{net.ErrClosed, errComm, false},
		{fmt.Errorf("%w: length 300", errFrame), errProtocol, false},
		{errors.New("modbus: response transaction id '3' does not match request '4'"), errProtocol, false},
		{errors.New("modbus: response data size '4' does not match count '6'"), errProtocol, false},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.kind {
			t.Errorf("classify(%v) = %d, want %d", tt.err, got, tt.kind)
		}
		if tt.kind == errComm {
			if got := closedByPeer(tt.err); got != tt.peerClosed {
				t.Errorf("closedByPeer(%v) = %v, want %v", tt.err, got, tt.peerClosed)
			}
		}
	}
}

// TestDeviceClosesConnection: a device that closes the connection now and
// then (as many do when idle) costs an immediate redial, not an outage:
// every reading stays good.
func TestDeviceClosesConnection(t *testing.T) {
	ts := newTestServer(t)
	ts.mb.HoldingRegisters[3] = 33
	ts.mb.Coils[1] = 1
	ts.closeEvery = 3
	var units atomic.Int64
	ts.hook = func(_ int64, f *mbserver.TCPFrame) time.Duration {
		units.Store(int64(f.Device))
		return 0
	}
	ts.start("127.0.0.1:0")
	r := start(t, Config{Name: "idle", Address: ts.addr(), UnitID: 7, PollInterval: 10 * time.Millisecond, Points: []string{"holding:3:int16", "coil:1:bool"}})
	for range 10 {
		p := r.poll()
		if p["holding:3:int16"].Raw != int64(33) || p["coil:1:bool"].Raw != true || !allStatus(nil)(p) {
			t.Fatalf("poll: %v", p)
		}
	}
	h := r.c.Health()
	if h.State != connectors.Connected || h.Reconnects < 5 {
		t.Errorf("health %+v: want connected after at least 5 reconnects", h)
	}
	if ts.accepted.Load() < 6 {
		t.Errorf("device accepted %d connections", ts.accepted.Load())
	}
	if u := units.Load(); u != 7 {
		t.Errorf("unit id on the wire %d, want 7", u)
	}
}

// TestDeviceNeverAnswers: a device that accepts connections but never
// answers is Down, with Bad_NoCommunication at every poll, and never
// reported Connected between redials.
func TestDeviceNeverAnswers(t *testing.T) {
	ts := newTestServer(t)
	ts.hook = func(int64, *mbserver.TCPFrame) time.Duration { return time.Hour }
	ts.start("127.0.0.1:0")
	r := start(t, Config{Name: "mute", Address: ts.addr(), PollInterval: 20 * time.Millisecond, Timeout: 30 * time.Millisecond,
		Points: []string{"holding:0:int16", "coil:0:bool"}})
	deadline := time.Now().Add(10 * time.Second)
	for ts.accepted.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d connections", ts.accepted.Load())
		}
		if p := r.poll(); !allLost(p) {
			t.Fatalf("poll: %v", p)
		}
		if st := r.c.Health().State; st == connectors.Connected {
			t.Fatal("reported connected")
		}
	}
	h := r.c.Health()
	if h.State != connectors.Down || h.Reconnects < 2 {
		t.Errorf("health %+v", h)
	}
}

// TestReplanAfterOutage: a point refused before an outage is tried again
// after the reconnect (the device may have been reprogrammed meanwhile),
// without waiting for the minute between probes.
func TestReplanAfterOutage(t *testing.T) {
	addr := testkit.FreeAddr(t)
	serve := func(refused ...int) *testServer {
		ts := newTestServer(t)
		ts.mb.HoldingRegisters[0], ts.mb.HoldingRegisters[2] = 10, 12
		ts.handlers[3] = refuse(mbserver.ReadHoldingRegisters, &mbserver.IllegalDataAddress, refused...)
		return ts.start(addr)
	}
	points := []string{"holding:0:int16", "holding:2:int16"}
	ts := serve(2)
	r := start(t, Config{Name: "replan", Address: addr, PollInterval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, Points: points})
	p := r.poll()
	if p["holding:0:int16"].Raw != int64(10) || codeOf(p["holding:2:int16"].Status) != connectors.BadConfigurationError {
		t.Fatalf("first poll: %v", p)
	}
	ts.stop()
	r.pollUntil("the outage", allLost)
	serve()
	p = r.pollUntil("both points good", allStatus(nil))
	if p["holding:0:int16"].Raw != int64(10) || p["holding:2:int16"].Raw != int64(12) {
		t.Errorf("after the reconnect: %v", p)
	}
	if st := r.c.Stats(); st.BadPoints != 0 {
		t.Errorf("BadPoints = %d", st.BadPoints)
	}
}
