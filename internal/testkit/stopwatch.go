package testkit

import (
	"sync"
	"time"
)

// Stopwatch measures how long something takes on the wall clock and how
// much of that time the machine gave this process no CPU, so that a
// correctness bound ("exits within 500ms") is checked against the code
// and not against a machine busy with other work. A probe goroutine
// sleeps a millisecond at a time; every wake later than that by more
// than a millisecond counts as stalled.
type Stopwatch struct {
	start   time.Time
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	stalled time.Duration
}

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
		if late := time.Since(t0) - step; late > step {
			s.mu.Lock()
			s.stalled += late - step
			s.mu.Unlock()
		}
	}
}

// Stop stops the stopwatch and returns the wall time since it started
// and the part of it the probe found the machine stalled.
func (s *Stopwatch) Stop() (wall, stalled time.Duration) {
	wall = time.Since(s.start)
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return wall, min(s.stalled, wall)
}
