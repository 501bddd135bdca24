package modbusserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// adu frames pdu (function code first) for unit with transaction id tid.
func adu(tid, proto uint16, unit byte, pdu []byte) []byte {
	b := make([]byte, 7, 7+len(pdu))
	binary.BigEndian.PutUint16(b, tid)
	binary.BigEndian.PutUint16(b[2:], proto)
	binary.BigEndian.PutUint16(b[4:], uint16(1+len(pdu)))
	b[6] = unit
	return append(b, pdu...)
}

func pdu(fc byte, words ...uint16) []byte {
	b := []byte{fc}
	for _, w := range words {
		b = binary.BigEndian.AppendUint16(b, w)
	}
	return b
}

// readADU reads one response; err is io.EOF (or a reset) when the server
// closed the connection.
func readADU(c net.Conn, d time.Duration) (tid uint16, unit byte, p []byte, err error) {
	c.SetReadDeadline(time.Now().Add(d))
	var h [7]byte
	if _, err = io.ReadFull(c, h[:]); err != nil {
		return
	}
	if proto := binary.BigEndian.Uint16(h[2:]); proto != 0 {
		return 0, 0, nil, errors.New("response protocol id not 0")
	}
	n := int(binary.BigEndian.Uint16(h[4:]))
	if n < 2 || n > 254 {
		return 0, 0, nil, errors.New("response length out of range")
	}
	p = make([]byte, n-1)
	if _, err = io.ReadFull(c, p); err != nil {
		return
	}
	return binary.BigEndian.Uint16(h[:]), h[6], p, nil
}

// expectClosed asserts the server closes c (EOF or reset) without a
// response.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_, _, p, err := readADU(c, 3*time.Second)
	if err == nil {
		t.Fatalf("got response % x, want the connection closed", p)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after 3s")
	}
}

// keepReading runs a goburrow client on unit 1 reading holding 1000 (a
// constant 1) until stop is closed; it counts good reads and records the
// first wrong answer.
func keepReading(t *testing.T, addr string, stop <-chan struct{}) (reads *atomic.Int64, wait func() error) {
	t.Helper()
	c := dial(t, addr, 1, 2*time.Second)
	reads = new(atomic.Int64)
	var wg sync.WaitGroup
	var first error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := c.ReadHoldingRegisters(1000, 1)
			if err == nil && !bytes.Equal(b, []byte{0, 1}) {
				err = errors.New("holding 1000 is not 1")
			}
			if err != nil {
				first = err
				return
			}
			reads.Add(1)
		}
	}()
	return reads, func() error { wg.Wait(); return first }
}

func TestMalformedRequestsGetExceptions(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	stop := make(chan struct{})
	reads, wait := keepReading(t, s.Addr(), stop)
	c := rawConn(t, s.Addr())
	tests := []struct {
		name string
		unit byte
		pdu  []byte
		want byte // exception code
	}{
		{"fc3 zero quantity", 1, pdu(3, 0, 0), 3},
		{"fc3 126 registers", 1, pdu(3, 0, 126), 3},
		{"fc4 65535 registers", 1, pdu(4, 0, 0xFFFF), 3},
		{"fc1 zero bits", 1, pdu(1, 0, 0), 3},
		{"fc2 2001 bits", 1, pdu(2, 0, 2001), 3},
		{"fc3 two data bytes", 1, pdu(3, 0), 3},
		{"fc3 no data", 1, pdu(3), 3},
		{"fc3 six data bytes", 1, pdu(3, 0, 1, 0), 3},
		{"fc5 value 0x1234", 1, pdu(5, 100, 0x1234), 3},
		{"fc5 short", 1, []byte{5, 0, 100, 0xFF}, 3},
		{"fc6 short", 1, []byte{6, 0x07, 0xD0}, 3},
		{"fc15 no data", 1, pdu(15), 3},
		{"fc15 one data byte", 1, []byte{15, 0}, 3},
		{"fc15 four data bytes", 1, pdu(15, 100, 1), 3},
		{"fc15 1969 coils", 1, append(pdu(15, 100, 1969), append([]byte{247}, make([]byte, 247)...)...), 3},
		{"fc15 byte count too small", 1, append(pdu(15, 100, 9), 1, 0xFF), 3},
		{"fc15 missing data", 1, append(pdu(15, 100, 8), 1), 3},
		{"fc15 trailing byte", 1, append(pdu(15, 100, 8), 1, 0xFF, 0), 3},
		{"fc15 zero coils", 1, append(pdu(15, 100, 0), 0), 3},
		{"fc16 no data", 1, pdu(16), 3},
		{"fc16 four data bytes", 1, pdu(16, 2000, 1), 3},
		{"fc16 124 registers", 1, append(pdu(16, 2000, 124), 248, 0, 0), 3},
		{"fc16 byte count odd", 1, append(pdu(16, 2000, 1), 1, 0), 3},
		{"fc16 byte count lies", 1, append(pdu(16, 2000, 2), 2, 0, 0), 3},
		{"fc23 short", 1, pdu(23, 0, 1, 2000), 3},
		{"fc23 read 126", 1, append(pdu(23, 0, 126, 2000, 1), 2, 0, 1), 3},
		{"fc23 write 122", 1, append(pdu(23, 0, 1, 2000, 122), 244, 0, 0), 3},
		{"fc23 read hole", 1, append(pdu(23, 1000, 3, 2000, 1), 2, 0, 1), 2},
		{"fc23 write read-only", 1, append(pdu(23, 0, 1, 0, 1), 2, 0, 1), 2},
		{"fc3 address wraps past 65535", 1, pdu(3, 0xFFFF, 2), 2},
		{"fc 0", 1, pdu(0, 0, 1), 1},
		{"fc 8 diagnostics", 1, pdu(8, 0, 0), 1},
		{"fc 43 device id", 1, []byte{43, 14, 1, 0}, 1},
		{"fc 0x83 exception code as request", 1, pdu(0x83, 0, 1), 1},
		{"unknown unit 200", 200, pdu(3, 0, 1), 0x0B},
		{"unit 0 is not unit 1", 0, pdu(3, 0, 1), 0x0B},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tid := uint16(0x100 + i)
			if _, err := c.Write(adu(tid, 0, tc.unit, tc.pdu)); err != nil {
				t.Fatal(err)
			}
			gotTid, unit, p, err := readADU(c, 3*time.Second)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			if gotTid != tid || unit != tc.unit {
				t.Errorf("tid %d unit %d, want %d %d", gotTid, unit, tid, tc.unit)
			}
			want := []byte{tc.pdu[0] | 0x80, tc.want}
			if !bytes.Equal(p, want) {
				t.Fatalf("response % x, want % x", p, want)
			}
		})
	}
	// fc23 that succeeds: write 0x0102 to w_int16 (BADC: bytes swapped),
	// read it back with hole_before's neighbour.
	t.Run("fc23 ok", func(t *testing.T) {
		i := tagIndex(t, e, "grid", "w_int16")
		addr := uint16(e.Tags()[i].Modbus.Address)
		c.Write(adu(9, 0, 1, append(pdu(23, addr, 1, addr, 1), 2, 0x02, 0x01)))
		_, _, p, err := readADU(c, 3*time.Second)
		if err != nil || !bytes.Equal(p, []byte{23, 2, 0x02, 0x01}) {
			t.Fatalf("response % x (%v), want 17 02 02 01", p, err)
		}
		if v := e.Value(i).V; v != int16(0x0102) {
			t.Fatalf("engine holds %v, want %d", v, 0x0102)
		}
	})
	// The concurrent client keeps reading through all of it (the cases
	// can finish before its first round trip: wait for one).
	testkit.Eventually(t, 10*time.Second, "a read by the concurrent client", func() bool { return reads.Load() > 0 })
	close(stop)
	if err := wait(); err != nil {
		t.Fatalf("concurrent client: %v", err)
	}
	if reads.Load() == 0 {
		t.Fatal("concurrent client made no read")
	}
}

func TestBrokenFramingClosesConnection(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	stop := make(chan struct{})
	reads, wait := keepReading(t, s.Addr(), stop)
	tests := []struct {
		name string
		send []byte
	}{
		{"protocol id 1", adu(1, 1, 1, pdu(3, 0, 1))},
		{"protocol id 0xFFFF", adu(1, 0xFFFF, 1, pdu(3, 0, 1))},
		{"length 0", []byte{0, 1, 0, 0, 0, 0, 1, 3, 0, 0, 0, 1}},
		{"length 1 (no function code)", []byte{0, 1, 0, 0, 0, 1, 1, 3, 0, 0, 0, 1}},
		{"length 255", append([]byte{0, 1, 0, 0, 0, 255, 1, 3}, make([]byte, 253)...)},
		{"length 0xFFFF", []byte{0, 1, 0, 0, 0xFF, 0xFF, 1, 3, 0, 0, 0, 1}},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"valid then garbage", append(adu(1, 0, 1, pdu(3, 1000, 1)), 0xDE, 0xAD, 0xBE, 0xEF, 0xDE, 0xAD, 0xBE, 0xEF)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rawConn(t, s.Addr())
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			if tc.name == "valid then garbage" {
				if _, _, p, err := readADU(c, 3*time.Second); err != nil || !bytes.Equal(p, []byte{3, 2, 0, 1}) {
					t.Fatalf("first response % x (%v)", p, err)
				}
			}
			expectClosed(t, c)
		})
	}
	t.Run("header then hang up", func(t *testing.T) {
		c := rawConn(t, s.Addr())
		c.Write([]byte{0, 1, 0, 0, 0, 6, 1, 3})
		c.Close()
	})
	// The concurrent client keeps reading through all of it (the cases
	// can finish before its first round trip: wait for one).
	testkit.Eventually(t, 10*time.Second, "a read by the concurrent client", func() bool { return reads.Load() > 0 })
	close(stop)
	if err := wait(); err != nil {
		t.Fatalf("concurrent client: %v", err)
	}
	if reads.Load() == 0 {
		t.Fatal("concurrent client made no read")
	}
	testkit.Eventually(t, 3*time.Second, "every broken connection to be released", func() bool { return s.numConns() == 1 })
}

func TestSplitAndCoalescedFrames(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{})
	c := rawConn(t, s.Addr())
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	req := func(tid uint16) []byte { return adu(tid, 0, 1, pdu(3, 1000, 1)) }
	check := func(t *testing.T, tid uint16) {
		t.Helper()
		got, _, p, err := readADU(c, 3*time.Second)
		if err != nil || got != tid || !bytes.Equal(p, []byte{3, 2, 0, 1}) {
			t.Fatalf("response tid %d % x (%v), want tid %d 03 02 00 01", got, p, err, tid)
		}
	}
	t.Run("one byte per write", func(t *testing.T) {
		for _, b := range req(1) {
			if _, err := c.Write([]byte{b}); err != nil {
				t.Fatal(err)
			}
		}
		check(t, 1)
	})
	t.Run("three requests in one write", func(t *testing.T) {
		var b []byte
		for tid := uint16(2); tid <= 4; tid++ {
			b = append(b, req(tid)...)
		}
		c.Write(b)
		for tid := uint16(2); tid <= 4; tid++ {
			check(t, tid)
		}
	})
	t.Run("two and a half, then the rest", func(t *testing.T) {
		b := append(append(req(5), req(6)...), req(7)...)
		cut := 2*12 + 5
		c.Write(b[:cut])
		check(t, 5)
		check(t, 6)
		c.Write(b[cut:])
		check(t, 7)
	})
}

// TestClientThatNeverReads floods requests without reading responses: the
// server closes it after WriteTimeout while another client reads on.
func TestClientThatNeverReads(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{WriteTimeout: 200 * time.Millisecond})
	stop := make(chan struct{})
	reads, wait := keepReading(t, s.Addr(), stop)
	// A small receive window fills fast.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	c, err := d.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testkit.Eventually(t, 2*time.Second, "both connections", func() bool { return s.numConns() == 2 })
	batch := bytes.Repeat(adu(1, 0, 1, pdu(3, 0, 80)), 100)
	flooding := make(chan struct{})
	go func() {
		defer close(flooding)
		for {
			select {
			case <-stop:
				return
			default:
			}
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := c.Write(batch); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	}()
	before := reads.Load()
	testkit.Eventually(t, 10*time.Second, "the server to drop the client that does not read", func() bool { return s.numConns() == 1 })
	testkit.Eventually(t, 10*time.Second, "10 reads by the other client", func() bool { return reads.Load()-before >= 10 })
	close(stop)
	<-flooding
	if err := wait(); err != nil {
		t.Fatalf("concurrent client: %v", err)
	}
	if reads.Load()-before < 10 {
		t.Fatalf("concurrent client made only %d reads while the other client stalled", reads.Load()-before)
	}
}

func TestMaxConnsAndClose(t *testing.T) {
	e := newEngine(t, gridScenario())
	s, err := New(e, Config{MaxConns: 2, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" {
		t.Errorf("Addr before Start = %q", s.Addr())
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c1 := dial(t, s.Addr(), 1, 2*time.Second)
	c2 := dial(t, s.Addr(), 1, 2*time.Second)
	for _, c := range []*client{c1, c2} {
		if _, err := c.ReadHoldingRegisters(1000, 1); err != nil {
			t.Fatal(err)
		}
	}
	third := rawConn(t, s.Addr())
	third.Write(adu(1, 0, 1, pdu(3, 1000, 1)))
	expectClosed(t, third)

	idle := rawConn(t, s.Addr()) // refused too: still two open
	expectClosed(t, idle)
	c2.h.Close()
	testkit.Eventually(t, 3*time.Second, "a slot to free", func() bool { return s.numConns() == 1 })
	late := rawConn(t, s.Addr())
	late.Write(adu(1, 0, 1, pdu(3, 1000, 1)))
	if _, _, _, err := readADU(late, 3*time.Second); err != nil {
		t.Fatalf("connection after a slot freed: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expectClosed(t, late)
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Start(t.Context()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("still accepting after Close")
	}
}

func TestStartContextEndsServer(t *testing.T) {
	e := newEngine(t, gridScenario())
	s, err := New(e, Config{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := rawConn(t, s.Addr())
	cancel()
	expectClosed(t, c)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEngine(t, gridScenario())
	s := startServer(t, e, Config{ReadTimeout: 200 * time.Millisecond})
	c := rawConn(t, s.Addr())
	c.Write([]byte{0, 1, 0, 0}) // half a header, then silence
	start := time.Now()
	expectClosed(t, c)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", d)
	}
}

// panicky is the real engine with a bug planted in writes to one tag.
type panicky struct {
	engine
	bad int
}

func (p panicky) Write(i int, v any) error {
	if i == p.bad {
		panic("planted bug")
	}
	return p.engine.Write(i, v)
}

func TestPanicCostsOneConnection(t *testing.T) {
	e := newEngine(t, gridScenario())
	src := panicky{engine: e, bad: tagIndex(t, e, "grid", "w_uint16")}
	s := startServer(t, src, Config{})
	good := dial(t, s.Addr(), 1, 2*time.Second)
	c := rawConn(t, s.Addr())
	c.Write(adu(1, 0, 1, pdu(6, uint16(e.Tags()[src.bad].Modbus.Address), 7)))
	expectClosed(t, c)
	if n := s.panics.Load(); n != 1 {
		t.Fatalf("%d recovered panics, want 1", n)
	}
	if b, err := good.ReadHoldingRegisters(1000, 1); err != nil || !bytes.Equal(b, []byte{0, 1}) {
		t.Fatalf("other connection after the panic: % x %v", b, err)
	}
}
