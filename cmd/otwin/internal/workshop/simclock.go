package workshop

import (
	"sort"
	"time"
)

// simClock maps wall time to scenario time. The twin may run faster or
// slower than the wall clock, and pause; the workshop reads its clock
// often (each Advance, action and alert) and keeps the readings, so that
// any instant of the workshop (an alert raised, an acknowledgement) can
// be placed in scenario time, where the exercises' windows are. Between
// two readings it interpolates. Not safe for concurrent use.
type simClock struct{ pts []simPoint }

type simPoint struct {
	wall time.Time
	sim  time.Duration
}

// add records that the scenario clock read sim at wall. Readings out of
// wall order are placed in order; a run of readings with one scenario
// time (a paused clock) keeps only its first and last.
func (c *simClock) add(wall time.Time, sim time.Duration) {
	n := len(c.pts)
	if n > 0 && wall.Before(c.pts[n-1].wall) {
		i := sort.Search(n, func(i int) bool { return c.pts[i].wall.After(wall) })
		c.pts = append(c.pts, simPoint{})
		copy(c.pts[i+1:], c.pts[i:])
		c.pts[i] = simPoint{wall, sim}
		return
	}
	if n >= 2 && c.pts[n-1].sim == sim && c.pts[n-2].sim == sim {
		c.pts[n-1].wall = wall
		return
	}
	c.pts = append(c.pts, simPoint{wall, sim})
}

// at is the scenario time at wall: interpolated between the readings
// around it, the nearest reading outside them, 0 with none.
func (c *simClock) at(wall time.Time) time.Duration {
	n := len(c.pts)
	if n == 0 {
		return 0
	}
	i := sort.Search(n, func(i int) bool { return c.pts[i].wall.After(wall) })
	switch {
	case i == 0:
		return c.pts[0].sim
	case i == n:
		return c.pts[n-1].sim
	}
	a, b := c.pts[i-1], c.pts[i]
	span := b.wall.Sub(a.wall)
	if span <= 0 || b.sim <= a.sim {
		return a.sim
	}
	frac := float64(wall.Sub(a.wall)) / float64(span)
	return a.sim + time.Duration(frac*float64(b.sim-a.sim))
}
