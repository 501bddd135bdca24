package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

func TestLimit(t *testing.T) {
	p := Policy{Floor: 100, MinHeadroom: 20, Fraction: 0.25}
	for _, c := range []struct{ live, other, want int64 }{
		{0, 0, 100},           // the floor
		{50, 10, 100},         // still the floor: 50+20+10
		{200, 10, 260},        // a quarter of 200 is 50
		{40, 100, 160},        // the minimum headroom, and other memory
		{1000, 0, 1250},       // a quarter
		{1 << 40, 0, 5 << 38}, // no overflow
	} {
		if got := p.Limit(c.live, c.other); got != c.want {
			t.Errorf("Limit(%d, %d) = %d, want %d", c.live, c.other, got, c.want)
		}
	}
	p.Ceiling = 1000
	if got := p.Limit(1000, 0); got != 1000 {
		t.Errorf("with a ceiling of 1000: %d", got)
	}
}

// TestFollow: the limit set follows the live heap: it rises when the heap
// holds more and falls back after it is let go; with GOMEMLIMIT set the
// user's limit stays.
func TestFollow(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	p := Policy{Floor: 8 << 20, MinHeadroom: 4 << 20, Fraction: 0.25, Every: time.Millisecond}
	done := make(chan struct{})
	defer close(done)
	runtime.GC()
	if !Follow(p, done) {
		t.Fatal("Follow did nothing without GOMEMLIMIT")
	}
	small := debug.SetMemoryLimit(-1)
	if small == math.MaxInt64 || small < p.Floor {
		t.Fatalf("limit %d after Follow, want at least the floor %d", small, p.Floor)
	}
	hold := make([][]byte, 64)
	for i := range hold {
		hold[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	if !testkit.Poll(5*time.Second, func() bool { return debug.SetMemoryLimit(-1) >= small+64<<20 }) {
		t.Errorf("holding 64 MiB more: limit %d, was %d", debug.SetMemoryLimit(-1), small)
	}
	runtime.KeepAlive(hold)
	hold = nil
	runtime.GC()
	if !testkit.Poll(5*time.Second, func() bool { return debug.SetMemoryLimit(-1) < small+32<<20 }) {
		t.Errorf("after letting go: limit %d, was %d", debug.SetMemoryLimit(-1), small)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	if Follow(p, done) {
		t.Error("Follow took over with GOMEMLIMIT set")
	}
}
