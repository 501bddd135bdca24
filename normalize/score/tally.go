package score

import (
	"time"

	"github.com/otwin/otwin/normalize"
)

// ageBounds are the upper bounds of the age histogram's buckets, in
// seconds (1-2-5 steps from 1 ms to 1 min); ages above the last go to an
// overflow bucket, reported as the largest age seen.
var ageBounds = [...]float64{
	0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
	1, 2, 5, 10, 20, 30, 60,
}

// tally is what the figures of one slice of time, one period or one
// report are made of. Its zero value is empty; add sums two.
type tally struct {
	// expected and received samples (see Card.Completeness).
	expected, received float64
	// samples carrying a value read from the device, and those Good.
	samples, good uint64
	// upW and obsW: point-weighted seconds the endpoint link was up, and
	// observed.
	upW, obsW float64
	// ages of samples with a source time: histogram and largest.
	ages   [len(ageBounds) + 1]uint32
	aged   uint64
	maxAge float64
	// alerts raised, by kind (nil while none).
	alerts map[normalize.AlertKind]int
}

func (t *tally) reset() {
	alerts := t.alerts
	clear(alerts)
	*t = tally{alerts: alerts}
}

func (t *tally) add(o *tally) {
	t.expected += o.expected
	t.received += o.received
	t.samples += o.samples
	t.good += o.good
	t.upW += o.upW
	t.obsW += o.obsW
	for i, n := range o.ages {
		t.ages[i] += n
	}
	t.aged += o.aged
	t.maxAge = max(t.maxAge, o.maxAge)
	for k, n := range o.alerts {
		t.alert(k, n)
	}
}

func (t *tally) alert(k normalize.AlertKind, n int) {
	if n == 0 {
		return
	}
	if t.alerts == nil {
		t.alerts = make(map[normalize.AlertKind]int)
	}
	t.alerts[k] += n
}

// age records the age of one sample.
func (t *tally) age(d time.Duration) {
	s := max(d.Seconds(), 0)
	i := 0
	for i < len(ageBounds) && s > ageBounds[i] {
		i++
	}
	t.ages[i]++
	t.aged++
	t.maxAge = max(t.maxAge, s)
}

// p95 is the 95th percentile of the ages, rounded up to its bucket's
// bound (the largest age when it lies beyond the last bound); -1 without
// ages.
func (t *tally) p95() float64 {
	if t.aged == 0 {
		return -1
	}
	// the smallest bound with at least 95 % of the ages at or below it
	need := (t.aged*95 + 99) / 100
	var seen uint64
	for i, n := range t.ages {
		seen += uint64(n)
		if seen >= need {
			if i < len(ageBounds) {
				return ageBounds[i]
			}
			break
		}
	}
	return t.maxAge
}

// card fills the figures of c from t.
func (t *tally) card(c *Card) {
	c.Expected, c.Received, c.Samples, c.Good = round3(t.expected), round3(min(t.received, t.expected)), t.samples, t.good
	c.Completeness = ratio(min(t.received, t.expected), t.expected)
	c.Validity = ratio(float64(t.good), float64(t.samples))
	c.Availability = ratio(t.upW, t.obsW)
	c.P95Age = t.p95()
	if len(t.alerts) > 0 {
		c.Alerts = make(map[string]int, len(t.alerts))
		for k, n := range t.alerts {
			c.Alerts[string(k)] = n
		}
	}
}

// ratio is a/b rounded to four decimals, -1 when b is 0.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return -1
	}
	return round4(a / b)
}

func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }
func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
