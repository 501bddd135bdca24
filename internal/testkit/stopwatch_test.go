package testkit

import (
	"testing"
	"time"
)

// TestStopwatch: the wall time covers the work; the stall never exceeds it.
func TestStopwatch(t *testing.T) {
	s := StartStopwatch()
	deadline := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(deadline) { // busy: time passes, no sleep
	}
	wall, stalled := s.Stop()
	if wall < 20*time.Millisecond {
		t.Errorf("wall %v, want at least 20ms", wall)
	}
	if stalled < 0 || stalled > wall {
		t.Errorf("stalled %v outside [0, %v]", stalled, wall)
	}
	if d := s.Stalled(s.start); d != 0 {
		t.Errorf("stalled %v before the start", d)
	}
}

// TestEventually: a condition that holds after a few polls is waited for;
// Poll reports a condition that never holds.
func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, "three polls", func() bool { n++; return n >= 3 })
	if n != 3 {
		t.Errorf("%d polls, want 3", n)
	}
	if Poll(10*time.Millisecond, func() bool { return false }) {
		t.Error("Poll of a condition that never holds reported true")
	}
}

// TestFreePort: the port is a TCP port number.
func TestFreePort(t *testing.T) {
	if p := FreePort(t); p <= 0 || p > 65535 {
		t.Fatalf("port %d", p)
	}
}
