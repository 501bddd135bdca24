package testkit

import (
	"sync"
	"time"
)

// Stopwatch measures how long something takes on the wall clock and how
// much of that time the machine gave this process no CPU, so that a
// correctness bound ("exits within 500ms", "alerts within 2× its window")
// is checked against the code and not against a machine busy with other
// work. A probe goroutine sleeps a millisecond at a time; every wake later
// than that by more than a millisecond is a stall, kept with its time.
type Stopwatch struct {
	start  time.Time
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	stalls []stall
}

// stall is a span the probe overslept.
type stall struct{ from, to time.Time }

// StartStopwatch starts a stopwatch and its probe.
func StartStopwatch() *Stopwatch {
	s := &Stopwatch{start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go s.probe()
	return s
}

func (s *Stopwatch) probe() {
	defer close(s.done)
	const step = time.Millisecond
	for {
		t0 := time.Now()
		select {
		case <-s.stop:
			return
		case <-time.After(step):
		}
		now := time.Now()
		if late := now.Sub(t0) - step; late > step {
			s.mu.Lock()
			s.stalls = append(s.stalls, stall{from: now.Add(-(late - step)), to: now})
			s.mu.Unlock()
		}
	}
}

// Stop stops the stopwatch and returns the wall time since it started
// and the part of it the probe found the machine stalled.
func (s *Stopwatch) Stop() (wall, stalled time.Duration) {
	now := time.Now()
	close(s.stop)
	<-s.done
	return now.Sub(s.start), s.Stalled(now)
}

// Stalled returns how long the machine was stalled between the start and
// until.
func (s *Stopwatch) Stalled(until time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d time.Duration
	for _, st := range s.stalls {
		from, to := st.from, st.to
		if from.Before(s.start) {
			from = s.start
		}
		if to.After(until) {
			to = until
		}
		if to.After(from) {
			d += to.Sub(from)
		}
	}
	return d
}
