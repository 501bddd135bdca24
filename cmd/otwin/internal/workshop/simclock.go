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
// two readings the scenario time runs on at the rate of the earlier one
// (its speed; 0 while paused). Durations (span) integrate the rate: the
// twin counts time in ticks, and two instants within one tick are still
// that far apart. Not safe for concurrent use.
type simClock struct{ pts []simPoint }

type simPoint struct {
	wall time.Time
	sim  time.Duration
	rate float64 // scenario seconds per wall second from here on
}

// add records that the scenario clock read sim at wall, running at rate.
// Readings out of wall order are placed in order; a run of readings of a
// paused clock keeps only its first and last.
func (c *simClock) add(wall time.Time, sim time.Duration, rate float64) {
	p := simPoint{wall, sim, rate}
	n := len(c.pts)
	if n > 0 && wall.Before(c.pts[n-1].wall) {
		i := sort.Search(n, func(i int) bool { return c.pts[i].wall.After(wall) })
		c.pts = append(c.pts, simPoint{})
		copy(c.pts[i+1:], c.pts[i:])
		c.pts[i] = p
		return
	}
	if n >= 2 && rate == 0 && c.pts[n-1] == (simPoint{c.pts[n-1].wall, sim, 0}) && c.pts[n-2].sim == sim && c.pts[n-2].rate == 0 {
		c.pts[n-1].wall = wall
		return
	}
	c.pts = append(c.pts, p)
}

// at is the scenario time at wall, for showing when something happened:
// the latest reading not after it, run on at its rate; the first
// reading's time before any.
func (c *simClock) at(wall time.Time) time.Duration {
	n := len(c.pts)
	if n == 0 {
		return 0
	}
	i := sort.Search(n, func(i int) bool { return c.pts[i].wall.After(wall) })
	if i == 0 {
		return c.pts[0].sim
	}
	p := c.pts[i-1]
	return p.sim + time.Duration(float64(wall.Sub(p.wall))*p.rate)
}

// span is the scenario time that passed from t1 to t2 (t1 before t2):
// the wall time between them at each reading's rate. Unlike the
// difference of two readings it does not round to the twin's ticks: two
// instants a tenth of a tick apart are a tenth of a tick apart, and a
// paused stretch adds nothing.
func (c *simClock) span(t1, t2 time.Time) time.Duration {
	if !t1.Before(t2) || len(c.pts) == 0 {
		return 0
	}
	var total float64
	i := sort.Search(len(c.pts), func(i int) bool { return c.pts[i].wall.After(t1) })
	from, rate := t1, c.pts[max(i-1, 0)].rate
	for ; i < len(c.pts) && c.pts[i].wall.Before(t2); i++ {
		total += float64(c.pts[i].wall.Sub(from)) * rate
		from, rate = c.pts[i].wall, c.pts[i].rate
	}
	total += float64(t2.Sub(from)) * rate
	return time.Duration(total)
}
