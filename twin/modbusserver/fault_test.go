package modbusserver

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/scenarios"
)

func inject(t *testing.T, e engine, f scenarios.Fault) {
	t.Helper()
	if err := e.Inject(f); err != nil {
		t.Fatalf("inject %s: %v", f.Name, err)
	}
	e.Step(1)
}

func clearFault(t *testing.T, e engine, name string) {
	t.Helper()
	if err := e.Clear(name); err != nil {
		t.Fatalf("clear %s: %v", name, err)
	}
	e.Step(1)
}

func TestExceptionFault(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	c1 := dial(t, s.Addr(), 1, 2*time.Second)
	c7 := dial(t, s.Addr(), 7, 2*time.Second)
	for _, code := range []int{1, 2, 4, 6, 11} {
		name := "exc"
		inject(t, e, scenarios.Fault{Name: name, Kind: scenarios.ModbusException, Target: "grid", Protocol: "modbus", Exception: code})
		if _, err := c1.ReadHoldingRegisters(1000, 1); exceptionOf(err) != byte(code) {
			t.Errorf("read under exception %d fault: %v", code, err)
		}
		if _, err := c1.WriteSingleCoil(100, 0xFF00); exceptionOf(err) != byte(code) {
			t.Errorf("write under exception %d fault: %v", code, err)
		}
		if _, err := c7.ReadHoldingRegisters(0, 1); err != nil {
			t.Errorf("unit 7 under unit 1's fault: %v", err)
		}
		clearFault(t, e, name)
		if _, err := c1.ReadHoldingRegisters(1000, 1); err != nil {
			t.Errorf("read after clearing exception %d: %v", code, err)
		}
	}
	if v := e.Value(tagIndex(t, e, "grid", "wcoil_100")).V; v != false {
		t.Errorf("a write under an exception fault reached the engine: %v", v)
	}
}

func TestLatencyFault(t *testing.T) {
	const lat = 400 * time.Millisecond
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	slow := dial(t, s.Addr(), 1, 5*time.Second)
	slow2 := dial(t, s.Addr(), 1, 5*time.Second)
	fast := dial(t, s.Addr(), 7, 5*time.Second)
	inject(t, e, scenarios.Fault{Name: "lag", Kind: scenarios.Latency, Target: "grid", Protocol: "modbus", Latency: scenarios.Duration(lat)})

	type result struct {
		d   time.Duration
		err error
	}
	done := make(chan result, 2)
	start := time.Now()
	for _, c := range []*client{slow, slow2} {
		go func() {
			_, err := c.ReadHoldingRegisters(1000, 1)
			done <- result{time.Since(start), err}
		}()
	}
	// Another unit on the same port answers at once, while both delayed
	// responses are pending.
	for i := 0; i < 5; i++ {
		if _, err := fast.ReadHoldingRegisters(0, 1); err != nil {
			t.Fatal(err)
		}
	}
	fastDone := time.Since(start)
	for i := 0; i < 2; i++ {
		r := <-done
		if r.err != nil {
			t.Fatalf("delayed read: %v", r.err)
		}
		if r.d < lat {
			t.Errorf("delayed read answered after %v, want at least %v", r.d, lat)
		}
		// Two delayed connections wait in parallel, not one after the other.
		if r.d >= 2*lat {
			t.Errorf("delayed read took %v: delays are serialized", r.d)
		}
	}
	if fastDone >= lat {
		t.Errorf("unit 7 reads took %v: stalled by unit 1's latency", fastDone)
	}
	clearFault(t, e, "lag")
	t0 := time.Now()
	if _, err := slow.ReadHoldingRegisters(1000, 1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d >= lat {
		t.Errorf("read after clearing latency took %v", d)
	}
}

func TestCommLossFault(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	c := dial(t, s.Addr(), 1, 300*time.Millisecond)
	c7 := dial(t, s.Addr(), 7, 2*time.Second)
	inject(t, e, scenarios.Fault{Name: "down", Kind: scenarios.CommLoss, Target: "grid", Protocol: "modbus"})
	_, err := c.ReadHoldingRegisters(1000, 1)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read while down: %v, want a client timeout", err)
	}
	if _, err := c7.ReadHoldingRegisters(0, 1); err != nil {
		t.Fatalf("unit 7 while unit 1 is down: %v", err)
	}
	// The connection stays open: raw requests are read and dropped.
	rc := rawConn(t, s.Addr())
	rc.Write(adu(1, 0, 1, pdu(3, 1000, 1)))
	if _, _, p, err := readADU(rc, 300*time.Millisecond); err == nil {
		t.Fatalf("response % x while down", p)
	}
	clearFault(t, e, "down")
	rc.Write(adu(2, 0, 1, pdu(3, 1000, 1)))
	tid, _, p, err := readADU(rc, 2*time.Second)
	if err != nil || tid != 2 || !bytes.Equal(p, []byte{3, 2, 0, 1}) {
		t.Fatalf("after clearing: tid %d % x (%v), want tid 2 and holding 1000", tid, p, err)
	}
	// goburrow needs a fresh connection after a timeout (see deps.md).
	c.h.Close()
	if _, err := dial(t, s.Addr(), 1, 2*time.Second).ReadHoldingRegisters(1000, 1); err != nil {
		t.Fatalf("new client after clearing: %v", err)
	}
}

func TestDisconnectFault(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{FaultPoll: 20 * time.Millisecond})
	idle := rawConn(t, s.Addr())
	busy := rawConn(t, s.Addr())
	testkit.Eventually(t, 2*time.Second, "both connections", func() bool { return s.numConns() == 2 })
	inject(t, e, scenarios.Fault{Name: "drop", Kind: scenarios.Disconnect, Target: "grid", Protocol: "modbus"})
	// An idle connection is closed by the epoch watcher, a busy one at its
	// next request at the latest.
	busy.Write(adu(1, 0, 1, pdu(3, 1000, 1)))
	expectClosed(t, busy)
	expectClosed(t, idle)
	// Clients may reconnect, and are not dropped again.
	c := dial(t, s.Addr(), 1, 2*time.Second)
	for i := 0; i < 3; i++ {
		e.Step(1)
		if _, err := c.ReadHoldingRegisters(1000, 1); err != nil {
			t.Fatalf("read after reconnect: %v", err)
		}
	}
}
