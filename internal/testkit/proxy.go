package testkit

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from a free port of 127.0.0.1 to a
// target until the test ends: the network between a client and a server,
// which a test can stall (Pause: the connections stay open and nothing
// passes, a peer that sits connected and silent; StopReading: what the
// server sends is no longer read, a client that stops reading), cut (Cut: every connection dropped at once, as a failure
// does, with no goodbye) or take away (Close).
type Proxy struct {
	// Downstream, when set, carries what the server sends to the client
	// in place of a plain copy (a test that rewrites the server's frames);
	// it closes dst when it returns. Pause does not hold it.
	Downstream func(dst, src net.Conn)
	// ReadBuffer, when not zero, is the socket read buffer towards the
	// server, so that a paused proxy stalls the server's writes soon.
	ReadBuffer int

	target string
	ln     net.Listener

	mu     sync.Mutex
	conns  []net.Conn
	paused bool // both ways
	deaf   bool // from the server
	resume *sync.Cond
}

// NewProxy returns a proxy to target (host:port); Start starts it.
func NewProxy(target string) *Proxy {
	p := &Proxy{target: target}
	p.resume = sync.NewCond(&p.mu)
	return p
}

// StartProxy starts a proxy to target.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	return NewProxy(target).Start(t)
}

// Start listens on a free port of 127.0.0.1 and forwards until the test
// ends.
func (p *Proxy) Start(t testing.TB) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p.ln = ln
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if tc, ok := u.(*net.TCPConn); ok && p.ReadBuffer > 0 {
			_ = tc.SetReadBuffer(p.ReadBuffer)
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go p.forward(u, c, false)
		if p.Downstream != nil {
			go p.Downstream(c, u)
		} else {
			go p.forward(c, u, true)
		}
	}
}

// forward copies src to dst, holding each read while the proxy is paused
// (or, for what the server sends, down, has stopped reading).
func (p *Proxy) forward(dst, src net.Conn, down bool) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.paused || (down && p.deaf) {
				p.resume.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Pause stops forwarding until Resume; the connections stay open.
func (p *Proxy) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// StopReading stops reading what the server sends until Resume; what the
// client sends still passes.
func (p *Proxy) StopReading() {
	p.mu.Lock()
	p.deaf = true
	p.mu.Unlock()
}

// Resume forwards again, both ways.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.paused, p.deaf = false, false
	p.mu.Unlock()
	p.resume.Broadcast()
}

// Cut closes every forwarded connection; new ones are still accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Close stops accepting connections, cuts those forwarded and lets any
// paused copy end: the target is unreachable through the proxy from then
// on.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut()
	p.Resume()
}
