package mqtttest

import (
	"testing"

	"github.com/otwin/otwin/internal/testkit"
)

// Proxy forwards TCP connections to a broker (testkit.Proxy): Cut drops
// every connection at once, as a network failure does (no MQTT
// DISCONNECT); Pause stalls them, as a stalled broker does.
type Proxy struct{ *testkit.Proxy }

// StartProxy forwards connections on a free port of 127.0.0.1 to target
// (host:port) until the end of the test.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	return &Proxy{testkit.StartProxy(t, target)}
}

// URL is the proxy's mqtt:// URL.
func (p *Proxy) URL() string { return "mqtt://" + p.Addr() }
