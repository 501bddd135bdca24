package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// errNotConnected is returned by Send without a connection: the connector
// dials explicitly (with backoff), never implicitly inside a request.
var errNotConnected = errors.New("not connected")

// errFrame marks a malformed response frame.
var errFrame = errors.New("malformed response")

// transport is the Modbus TCP transport under goburrow's client (it
// implements modbus.Transporter). It replaces goburrow's own TCP
// transport, which keeps a connection after a timeout (the late reply
// then answers the next request) and dials implicitly inside requests:
// here every request has a deadline, dialing is explicit, any error
// closes the connection, and closing from another goroutine (on context
// end) interrupts a request in flight.
//
// Send is called by one goroutine at a time (the connector's); close may
// be called from any goroutine.
type transport struct {
	addr    string
	timeout time.Duration

	mu   sync.Mutex // guards conn
	conn net.Conn

	buf [260]byte // response frame; used by Send only
}

// dial connects, replacing any previous connection.
func (t *transport) dial(ctx context.Context) error {
	t.close()
	d := net.Dialer{Timeout: t.timeout}
	c, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	t.mu.Lock()
	t.conn = c
	t.mu.Unlock()
	if ctx.Err() != nil { // lost a race with the context's end
		t.close()
		return ctx.Err()
	}
	return nil
}

// close closes the connection, if any; safe for concurrent use.
func (t *transport) close() {
	t.mu.Lock()
	c := t.conn
	t.conn = nil
	t.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// connected reports whether there is a connection.
func (t *transport) connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil
}

// Send writes one request ADU and reads one response ADU, framed by the
// MBAP length field, within the timeout. On any error the connection is
// closed. The returned slice is valid until the next Send.
func (t *transport) Send(req []byte) ([]byte, error) {
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return nil, errNotConnected
	}
	resp, err := t.roundTrip(c, req)
	if err != nil {
		t.close()
		return nil, err
	}
	return resp, nil
}

func (t *transport) roundTrip(c net.Conn, req []byte) ([]byte, error) {
	if err := c.SetDeadline(time.Now().Add(t.timeout)); err != nil {
		return nil, err
	}
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	b := t.buf[:]
	if _, err := io.ReadFull(c, b[:7]); err != nil {
		return nil, err
	}
	if pid := binary.BigEndian.Uint16(b[2:]); pid != 0 {
		return nil, fmt.Errorf("%w: protocol id %d, want 0", errFrame, pid)
	}
	// The length counts the unit id, the function code and the data.
	n := int(binary.BigEndian.Uint16(b[4:]))
	if n < 2 || n > len(b)-6 {
		return nil, fmt.Errorf("%w: length %d out of range 2-%d", errFrame, n, len(b)-6)
	}
	if _, err := io.ReadFull(c, b[7:6+n]); err != nil {
		return nil, err
	}
	return b[:6+n], nil
}
