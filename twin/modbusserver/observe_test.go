package modbusserver

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/twin/clientlog"
)

// entries collects the entries an observer gets.
type entries struct {
	mu  sync.Mutex
	all []clientlog.Entry
}

func (l *entries) Observe(e clientlog.Entry) {
	e.Tags = slices.Clone(e.Tags)
	l.mu.Lock()
	l.all = append(l.all, e)
	l.mu.Unlock()
}

func (l *entries) list() []clientlog.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all)
}

// TestObserverSeesRequests: a goburrow client's connection, its reads
// (function, unit, addresses, the tags they cover, exceptions) and its
// writes (one entry per tag, with the value decoded as the twin decodes
// it, accepted or refused) reach the observer, and so does the
// disconnection.
func TestObserverSeesRequests(t *testing.T) {
	e := newEngine(t, gridScenario())
	s, err := New(e, Config{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	log := &entries{}
	s.SetObserver(log)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tag := func(id string) int {
		t.Helper()
		i, ok := e.(interface{ Lookup(string) (int, bool) }).Lookup(id)
		if !ok {
			t.Fatalf("no tag %s", id)
		}
		return i
	}
	c := dial(t, s.Addr(), 1, time.Second)
	if _, err := c.ReadHoldingRegisters(1000, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadHoldingRegisters(1000, 3); exceptionOf(err) != 2 {
		t.Fatalf("read across the hole: %v, want exception 2", err)
	}
	if _, err := c.WriteSingleRegister(2000, 5); err != nil {
		t.Fatal(err)
	}
	roAddr := uint16(2000)
	for _, i := range e.Tags() {
		if i.Name == "ro_setpoint" {
			roAddr = uint16(i.Modbus.Address)
		}
	}
	if _, err := c.WriteSingleRegister(roAddr, 7); exceptionOf(err) != 2 { // ro_setpoint is AB
		t.Fatalf("write of a read-only register: %v, want exception 2", err)
	}
	if _, err := c.WriteMultipleRegisters(roAddr-1, 1, []byte{0, 100}); err != nil {
		t.Fatal(err) // w_scaled: 100 × 0.1 + 10
	}
	if _, err := c.WriteSingleCoil(100, 0xFF00); err != nil {
		t.Fatal(err)
	}
	u7 := dial(t, s.Addr(), 7, time.Second)
	if _, err := u7.ReadInputRegisters(0, 2); err != nil {
		t.Fatal(err)
	}
	c.h.Close()
	u7.h.Close()
	testkit.Eventually(t, 3*time.Second, "two disconnects", func() bool {
		n := 0
		for _, x := range log.list() {
			if x.Kind == clientlog.Disconnect {
				n++
			}
		}
		return n == 2
	})

	type want struct {
		kind      clientlog.Kind
		fc, unit  byte
		addr, qty int
		tags      []int
		value     any
		exception byte
	}
	wants := []want{
		{kind: clientlog.Connect},
		{clientlog.Read, 3, 1, 1000, 1, []int{tag("grid/hole_before")}, nil, 0},
		{clientlog.Read, 3, 1, 1000, 3, []int{tag("grid/hole_before"), tag("grid/hole_after")}, nil, 2},
		// w_int16 is in order BA: the bytes 00 05 are 0x0500.
		{clientlog.Write, 6, 1, 2000, 1, []int{tag("grid/w_int16")}, int16(0x0500), 0},
		{clientlog.Write, 6, 1, int(roAddr), 1, []int{tag("grid/ro_setpoint")}, int16(7), 2},
		{clientlog.Write, 16, 1, int(roAddr) - 1, 1, []int{tag("grid/w_scaled")}, 20.0, 0},
		{clientlog.Write, 5, 1, 100, 1, []int{tag("grid/wcoil_100")}, true, 0},
	}
	var got []clientlog.Entry
	var u7e []clientlog.Entry
	conn := uint64(0)
	for _, x := range log.list() {
		if x.Kind == clientlog.Connect && conn == 0 {
			conn = x.Conn
		}
		if x.Conn == conn {
			got = append(got, x)
		} else {
			u7e = append(u7e, x)
		}
	}
	if len(got) != len(wants)+1 {
		t.Fatalf("%d entries of the first connection, want %d: %+v", len(got), len(wants)+1, got)
	}
	for k, w := range wants {
		g := got[k]
		if g.Kind != w.kind || g.Function != w.fc || g.Unit != w.unit || g.Address != w.addr || g.Quantity != w.qty ||
			!slices.Equal(g.Tags, w.tags) || g.Value != w.value || g.Exception != w.exception {
			t.Errorf("entry %d: %+v\nwant %+v", k, g, w)
		}
		if g.Protocol != "modbus" || g.Endpoint != s.Addr() || g.Peer == "" {
			t.Errorf("entry %d: protocol %q endpoint %q peer %q", k, g.Protocol, g.Endpoint, g.Peer)
		}
		if w.kind == clientlog.Write && g.Tag != e.Tags()[w.tags[0]].ID {
			t.Errorf("entry %d names tag %q, want %q", k, g.Tag, e.Tags()[w.tags[0]].ID)
		}
	}
	if got[0].Kind == clientlog.Connect && !slices.Equal(got[0].Machines, []string{"grid", "second"}) {
		t.Errorf("connect entry machines %v", got[0].Machines)
	}
	if last := got[len(got)-1]; last.Kind != clientlog.Disconnect {
		t.Errorf("last entry %+v, want the disconnect", last)
	}
	if len(u7e) != 3 || u7e[1].Unit != 7 || !slices.Equal(u7e[1].Tags, []int{tag("second/temp")}) {
		t.Errorf("unit 7 connection's entries %+v, want connect, the read of second/temp, disconnect", u7e)
	}
}

// BenchmarkServeObserved is the cost of the client activity hook and log
// on the read path: the raw-frame load of BenchmarkServeRaw against a
// server without an observer (the anchor, in the same run) and one that
// reports to a clientlog.Log.
func BenchmarkServeObserved(b *testing.B) {
	e := newEngine(b, benchScenario())
	e.Step(1)
	plain := startServer(b, e, Config{})
	observed, err := New(e, Config{Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	observed.SetObserver(clientlog.New(clientlog.Options{}))
	if err := observed.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { observed.Close() })
	for _, srv := range []struct {
		name string
		s    *Server
	}{{"observer=none", plain}, {"observer=log", observed}} {
		for _, m := range []loadMode{{"conns=1", 1, 1}, {"conns=8", 8, 1}} {
			b.Run(srv.name+"/"+m.name, func(b *testing.B) {
				l := newRawLoad(b, srv.s.Addr(), m)
				b.ResetTimer()
				if err := l.run(b.N); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
			})
		}
	}
}

// BenchmarkHandleObserved is the hook's cost per request without the
// network: a read of 125 registers handled (the anchor, in the same run)
// and handled and reported to a clientlog.Log.
func BenchmarkHandleObserved(b *testing.B) {
	e := newEngine(b, benchScenario())
	e.Step(1)
	for _, withLog := range []bool{false, true} {
		name := "observer=none"
		if withLog {
			name = "observer=log"
		}
		b.Run(name, func(b *testing.B) {
			s, err := New(e, Config{Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			if withLog {
				s.SetObserver(clientlog.New(clientlog.Options{}))
			}
			c := &conn{s: s, peer: "127.0.0.1:40000", epochs: s.currentEpochs(), now: time.Now()}
			req := adu(1, 0, 1, pdu(3, 0, 125))
			b.ReportAllocs()
			for b.Loop() {
				resp, act, _ := c.handle(req, c.out[:0])
				if act != respond || len(resp) != 9+250 {
					b.Fatal("bad response")
				}
				if c.s.obs != nil {
					c.observe(req, resp, act)
				}
			}
		})
	}
}
