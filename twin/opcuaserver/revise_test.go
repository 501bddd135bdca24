package opcuaserver

import (
	"math"
	"testing"
	"time"
)

func TestReviseSampling(t *testing.T) {
	tests := []struct {
		ms, publishing, want float64
	}{
		{0, 125, 100},
		{-1, 125, 250},
		{-1, 1000, 1000},
		{-1, 0, 100}, // unknown subscription: the fastest
		{1, 125, 100},
		{100, 125, 100},
		{100.5, 125, 250},
		{777, 125, 1000},
		{1000, 125, 1000},
		{3000, 125, 5000},
		{60000, 125, 60000},
		{1e9, 125, 60000},
		{math.Inf(1), 125, 60000},
		{math.NaN(), 125, 100},
	}
	for _, tt := range tests {
		if got := reviseSampling(tt.ms, tt.publishing); got != tt.want {
			t.Errorf("reviseSampling(%v, %v) = %v, want %v", tt.ms, tt.publishing, got, tt.want)
		}
	}
	// However many intervals are asked for, at most len(SamplingIntervals)
	// are granted.
	seen := map[float64]bool{}
	for ms := -1.0; ms < 70000; ms += 0.5 {
		seen[reviseSampling(ms, 125)] = true
	}
	if len(seen) != len(SamplingIntervals) {
		t.Errorf("%d distinct intervals granted, want %d", len(seen), len(SamplingIntervals))
	}
}

func TestReviseSubscription(t *testing.T) {
	tests := []struct {
		name                    string
		publishing              float64
		lifetime, keepAlive     uint32
		limit                   time.Duration
		wantP                   float64
		wantLifetime, wantAlive uint32
	}{
		{"gopcua defaults", 100, 10000, 3000, 2 * time.Minute, 125, 720, 240},
		{"node-opcua defaults", 100, 60, 10, 2 * time.Minute, 125, 60, 10},
		{"one hour asked", 1000, 3600, 10, 2 * time.Minute, 1000, 110, 10},
		{"zero counts", 500, 0, 0, 2 * time.Minute, 500, 237, 3},
		{"slow publishing", 60000, 10, 3, 2 * time.Minute, 30000, 3, 1},
		{"nan publishing", math.NaN(), 100, 10, time.Minute, 125, 100, 10},
		{"the stack's minimum", 125, 10000, 3000, 10 * time.Second, 125, 79, 1},
	}
	for _, tt := range tests {
		p, life, alive := reviseSubscription(tt.publishing, tt.lifetime, tt.keepAlive, tt.limit)
		if p != tt.wantP || life != tt.wantLifetime || alive != tt.wantAlive {
			t.Errorf("%s: got %v ms, lifetime %d, keep-alive %d; want %v, %d, %d", tt.name, p, life, alive, tt.wantP, tt.wantLifetime, tt.wantAlive)
		}
		// What the stack then makes of it: a lifetime of at least three
		// keep-alives and at least 10 s.
		stackLife := max(life, 3*alive, uint32(math.Ceil(10000/p)))
		// At the stack's minimum itself, the keep-alive comes on top.
		allowed := tt.limit
		if tt.limit == stackMinLifetime {
			allowed += time.Duration(p) * time.Millisecond
		}
		if outlives := time.Duration(p*float64(stackLife+alive)) * time.Millisecond; outlives > allowed {
			t.Errorf("%s: a subscription outlives its client by %v, above the cap %v", tt.name, outlives, tt.limit)
		}
	}
}

func TestReviseSessionTimeout(t *testing.T) {
	for _, tt := range []struct{ ms, want float64 }{
		{3600_000, 120_000}, {60_000, 60_000}, {0, 0}, {1, 1},
	} {
		if got := reviseSessionTimeout(tt.ms, 2*time.Minute); got != tt.want {
			t.Errorf("reviseSessionTimeout(%v) = %v, want %v", tt.ms, got, tt.want)
		}
	}
}
