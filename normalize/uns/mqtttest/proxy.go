package mqtttest

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a broker; Cut drops every connection
// at once, as a network failure does (no MQTT DISCONNECT).
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	gate   sync.RWMutex // held for writing while paused
}

// Pause stops forwarding (the connections stay open: a stalled broker)
// until Resume.
func (p *Proxy) Pause() { p.gate.Lock() }

// Resume forwards again.
func (p *Proxy) Resume() { p.gate.Unlock() }

// gated copies src to dst, waiting while the proxy is paused.
func (p *Proxy) gated(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.gate.RLock()
			_, werr := dst.Write(buf[:n])
			p.gate.RUnlock()
			if werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
}

// StartProxy forwards connections on a free port of 127.0.0.1 to target
// (host:port) until the end of the test.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// URL is the proxy's mqtt:// URL.
func (p *Proxy) URL() string { return "mqtt://" + p.ln.Addr().String() }

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
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go p.gated(u, c)
		go p.gated(c, u)
	}
}

// Cut closes every forwarded connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Close stops accepting connections and cuts those forwarded: the broker
// is unreachable through the proxy from then on.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut()
}
