package modbus

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tbrandon/mbserver"
)

// handlerFunc is an mbserver function handler.
type handlerFunc = func(*mbserver.Server, mbserver.Framer) ([]byte, *mbserver.Exception)

// testServer serves an mbserver memory (and its stock function handlers,
// frame codec and exceptions) on 127.0.0.1 with a connection loop of the
// test's own: mbserver's own loop cannot report its port and cannot close
// the connections it accepted, which the outage tests need.
type testServer struct {
	t  testing.TB
	mb *mbserver.Server
	ln net.Listener

	// handlers override mbserver's per function code; hook, when set,
	// runs before each request is answered (n counts requests from 1)
	// and returns how long to delay the answer. Both are set before
	// start.
	handlers map[byte]handlerFunc
	hook     func(n int64, f *mbserver.TCPFrame) time.Duration
	// closeEvery, when set, closes the connection after every
	// closeEvery-th answer (like devices that drop idle connections).
	closeEvery int64
	// drop, when set, runs after hook; when it returns true the
	// connection is closed instead of answering (like a device that
	// dropped an idle connection just as the request arrived).
	drop func(n int64, f *mbserver.TCPFrame) bool

	requests  atomic.Int64
	responses atomic.Int64
	accepted  atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	done   chan struct{}
	closed bool
	wg     sync.WaitGroup
}

// newTestServer returns a server over a fresh mbserver memory; fill the
// memory (ts.mb's slices) before start.
func newTestServer(t testing.TB) *testServer {
	return &testServer{t: t, mb: mbserver.NewServer(), handlers: map[byte]handlerFunc{}}
}

// start listens on addr ("127.0.0.1:0" for any port) and serves until
// stop (called by the test's cleanup too). Listening on an address just
// released is retried for up to 5s.
func (ts *testServer) start(addr string) *testServer {
	ts.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ts.ln = ln
			break
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			ts.t.Fatalf("listen %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond) // the port is still held by the closed server
	}
	ts.conns = map[net.Conn]struct{}{}
	ts.done = make(chan struct{})
	ts.wg.Add(1)
	go ts.accept()
	ts.t.Cleanup(ts.stop)
	return ts
}

// addr is the listening address.
func (ts *testServer) addr() string { return ts.ln.Addr().String() }

// stop closes the listener and every connection and waits for the
// server's goroutines; idempotent.
func (ts *testServer) stop() {
	ts.mu.Lock()
	if ts.closed {
		ts.mu.Unlock()
		return
	}
	ts.closed = true
	close(ts.done)
	ts.ln.Close()
	for c := range ts.conns {
		c.Close()
	}
	ts.mu.Unlock()
	ts.wg.Wait()
}

func (ts *testServer) accept() {
	defer ts.wg.Done()
	for {
		c, err := ts.ln.Accept()
		if err != nil {
			return
		}
		ts.mu.Lock()
		if ts.closed {
			ts.mu.Unlock()
			c.Close()
			return
		}
		ts.conns[c] = struct{}{}
		ts.wg.Add(1)
		ts.mu.Unlock()
		ts.accepted.Add(1)
		go ts.serve(c)
	}
}

// serve answers one connection, framing requests by the MBAP length.
func (ts *testServer) serve(c net.Conn) {
	defer ts.wg.Done()
	defer func() {
		ts.mu.Lock()
		delete(ts.conns, c)
		ts.mu.Unlock()
		c.Close()
	}()
	var hdr [7]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[4:]))
		if n < 2 || n > 254 {
			return
		}
		pkt := make([]byte, 6+n)
		copy(pkt, hdr[:])
		if _, err := io.ReadFull(c, pkt[7:]); err != nil {
			return
		}
		frame, err := mbserver.NewTCPFrame(pkt)
		if err != nil {
			return
		}
		num := ts.requests.Add(1)
		if ts.hook != nil {
			if d := ts.hook(num, frame); d > 0 {
				select {
				case <-time.After(d):
				case <-ts.done:
					return
				}
			}
		}
		if ts.drop != nil && ts.drop(num, frame) {
			return
		}
		resp := frame.Copy()
		h := ts.handlers[frame.Function]
		if h == nil {
			h = stockHandler(frame.Function)
		}
		if h == nil {
			resp.SetException(&mbserver.IllegalFunction)
		} else {
			data, exc := h(ts.mb, frame)
			resp.SetData(data)
			if exc != nil && *exc != mbserver.Success {
				resp.SetException(exc)
			}
		}
		_, err = c.Write(resp.Bytes())
		ts.responses.Add(1)
		if err != nil || ts.closeEvery > 0 && num%ts.closeEvery == 0 {
			return
		}
	}
}

// stockHandler is mbserver's own handler of a read function code.
func stockHandler(fc byte) handlerFunc {
	switch fc {
	case 1:
		return mbserver.ReadCoils
	case 2:
		return mbserver.ReadDiscreteInputs
	case 3:
		return mbserver.ReadHoldingRegisters
	case 4:
		return mbserver.ReadInputRegisters
	}
	return nil
}

// span is the start and quantity of a read request frame.
func span(f mbserver.Framer) (start, count int) {
	d := f.GetData()
	return int(binary.BigEndian.Uint16(d)), int(binary.BigEndian.Uint16(d[2:]))
}

// refuse wraps next: a read covering any of addrs gets exception exc.
func refuse(next handlerFunc, exc *mbserver.Exception, addrs ...int) handlerFunc {
	return func(s *mbserver.Server, f mbserver.Framer) ([]byte, *mbserver.Exception) {
		start, count := span(f)
		for _, a := range addrs {
			if a >= start && a < start+count {
				return []byte{}, exc
			}
		}
		return next(s, f)
	}
}
