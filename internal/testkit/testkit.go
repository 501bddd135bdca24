// Package testkit holds what otwin's tests share: waiting for a condition
// with a deadline (never a bare sleep), a free TCP port for servers that
// cannot report the one they bound, and big generated scenarios for
// benchmarks and scale tests. It imports nothing of otwin, so both halves'
// tests may use it.
package testkit

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing t with what when within
// passes first. It returns the time the wait took. The poll starts at 2ms
// and backs off to 20ms, so a quick condition costs little and a slow one
// little CPU.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	took, ok := wait(within, cond)
	if !ok {
		t.Fatalf("timed out after %s waiting for %s", within, what)
	}
	return took
}

// Poll is Eventually that reports instead of failing: false when within
// passes before cond holds.
func Poll(within time.Duration, cond func() bool) bool {
	_, ok := wait(within, cond)
	return ok
}

func wait(within time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	deadline := start.Add(within)
	pause := 2 * time.Millisecond
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Now().After(deadline) {
			return time.Since(start), false
		}
		time.Sleep(pause)
		pause = min(pause*2, 20*time.Millisecond)
	}
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago,
// for a server that cannot listen on port 0 and report its port (a child
// process given its address, a library server). Prefer port 0 wherever
// the server reports what it bound.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreePort is FreeAddr's port.
func FreePort(t testing.TB) int {
	t.Helper()
	_, p, err := net.SplitHostPort(FreeAddr(t))
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("free port %q: %v", p, err)
	}
	return n
}
