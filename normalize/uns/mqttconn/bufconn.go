package mqttconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// The client library writes every packet with a write of its own and
// reads every packet, an acknowledgement too, in several unbuffered reads
// of its own: at 100k messages/s that is some 300k system calls a second,
// most of the publisher's CPU. openConn gives the library a connection
// that buffers both ways: reads through a bufio.Reader, writes appended to
// a buffer that one goroutine flushes as soon as it can, so that the
// packets written while it flushes go out in the next single write.
//
// A write returns before its bytes are on the wire: when the connection
// fails they are lost with it, as they would be in the socket's buffer;
// QoS 1 messages stay in the client's store until acknowledged and are
// sent again after the reconnection. The buffer holds at most
// maxPending bytes; past that a write waits for the flush (backpressure).

const (
	maxPending = 1 << 20
	readBuffer = 64 << 10
)

// openConn returns the library's connection opener for tcp/mqtt and
// ssl/tls/mqtts URLs (websocket URLs keep the library's own).
func openConn(tc *tls.Config, timeout time.Duration) mqtt.OpenConnectionFunc {
	return func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		c, err := d.Dial("tcp", u.Host)
		if err != nil {
			return nil, err
		}
		switch u.Scheme {
		case "ssl", "tls", "mqtts":
			cfg := &tls.Config{MinVersion: tls.VersionTLS12}
			if tc != nil {
				cfg = tc.Clone()
			}
			if cfg.ServerName == "" {
				cfg.ServerName = u.Hostname()
			}
			tc := tls.Client(c, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			c = tc
		}
		return newBufConn(c), nil
	}
}

// bufConn is a net.Conn with buffered reads and coalesced writes.
type bufConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	spare   []byte
	busy    bool // the flusher holds a buffer
	err     error
	closed  bool
	wake    chan struct{}
	done    chan struct{}
}

func newBufConn(c net.Conn) *bufConn {
	b := &bufConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer), wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.flusher()
	return b
}

// Read reads through the buffer. When the flusher closed the connection
// because a write failed, Read returns that write's error (it says why:
// a reset, a TLS alert) rather than "use of closed network connection".
func (b *bufConn) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && errors.Is(err, net.ErrClosed) {
		b.mu.Lock()
		if b.err != nil {
			err = b.err
		}
		b.mu.Unlock()
	}
	return n, err
}

// Write appends p to the pending bytes for the flusher; it waits while
// maxPending bytes are pending, and returns the error of an earlier flush.
func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && !b.closed && len(b.pending) >= maxPending {
		b.cond.Wait()
	}
	switch {
	case b.err != nil:
		return 0, b.err
	case b.closed:
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// flusher writes the pending bytes, each flush within writeTimeout; a
// failed write closes the connection (the reader then fails too and the
// library reconnects).
func (b *bufConn) flusher() {
	defer close(b.done)
	for range b.wake {
		for {
			b.mu.Lock()
			if len(b.pending) == 0 || b.err != nil {
				b.busy = false
				closed := b.closed
				b.cond.Broadcast()
				b.mu.Unlock()
				if closed {
					return
				}
				break
			}
			out := b.pending
			b.pending, b.spare = b.spare[:0], nil
			b.busy = true
			b.cond.Broadcast()
			b.mu.Unlock()

			_ = b.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			_, err := b.Conn.Write(out)

			b.mu.Lock()
			b.spare = out[:0]
			if err != nil && b.err == nil {
				b.err = err
				b.Conn.Close()
			}
			b.mu.Unlock()
		}
	}
}

// flush waits until the pending bytes are written (or failed).
func (b *bufConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && (len(b.pending) > 0 || b.busy) {
		b.cond.Wait()
	}
	return b.err
}

// Close writes what is pending (the library's DISCONNECT), within
// writeTimeout, then closes.
func (b *bufConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	flushed := make(chan struct{})
	go func() { _ = b.flush(); close(flushed) }()
	select {
	case <-flushed:
	case <-time.After(writeTimeout):
	}
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	err := b.Conn.Close()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// SetDeadline sets the read deadline; writes have their own (see
// flusher).
func (b *bufConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }

// SetWriteDeadline is ignored: the flusher sets one per write.
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }
