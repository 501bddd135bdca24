package opcuaserver

import (
	"slices"
	"time"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin"
)

// procRead is a ReadProcessed of one node: the intervals of Part 13
// 5.4.2.2 from start to end (backward when end is before start), each
// response computing the next historyMaxValues of them in one pass over
// the history, in time order.
type procRead struct {
	id       ua.NodeID
	cur      HistoryCursor
	agg      aggregate
	cfg      aggConfig
	start    time.Time
	end      time.Time
	pi       time.Duration // 0: one interval
	backward bool
	from, to time.Time // the history window when the read began

	next time.Time // where the next interval starts, in request order
	done bool      // every interval is generated

	batch   []interval // the intervals being computed, in time order
	accs    []accumulator
	bk      int // the interval the pass is in
	seeked  bool
	at      stepped // the value in effect at the pass's position
	pending *twin.HistoryPoint
	out     []ua.DataValue // results of the batch, in time order
}

func newProcRead(id ua.NodeID, cur HistoryCursor, agg aggregate, cfg aggConfig, d ua.ReadProcessedDetails, from, to time.Time) *procRead {
	r := &procRead{id: id, cur: cur, agg: agg, cfg: cfg, start: d.StartTime, end: d.EndTime, from: from, to: to, next: d.StartTime}
	r.backward = d.EndTime.Before(d.StartTime)
	// ProcessingInterval is in milliseconds; one at least as long as the
	// range (or 0) makes one interval.
	if ms := d.ProcessingInterval; ms > 0 && ms < float64(maxDuration/time.Millisecond) {
		r.pi = time.Duration(ms * float64(time.Millisecond))
	}
	if r.pi < time.Nanosecond {
		r.pi = 0
	}
	return r
}

const maxDuration = time.Duration(1<<63 - 1)

func (r *procRead) node() ua.NodeID { return r.id }

func (r *procRead) close() { r.cur.Close() }

// nextInterval generates the next interval in request order.
func (r *procRead) nextInterval() interval {
	var iv interval
	if !r.backward {
		iv.lo, iv.hi = r.next, r.end
		if r.pi > 0 && r.end.Sub(r.next) > r.pi {
			iv.hi = r.next.Add(r.pi)
		} else {
			r.done = true
		}
		iv.partial = r.pi > 0 && iv.hi.Sub(iv.lo) < r.pi
		r.next = iv.hi
		return iv
	}
	iv.backward, iv.hi, iv.lo = true, r.next, r.end
	if r.pi > 0 && r.next.Sub(r.end) > r.pi {
		iv.lo = r.next.Add(-r.pi)
	} else {
		r.done = true
	}
	iv.partial = r.pi > 0 && iv.hi.Sub(iv.lo) < r.pi
	r.next = iv.lo
	return iv
}

func (r *procRead) read(budget *int64, max int, ttr ua.TimestampsToReturn) (ua.ExtensionObject, int, bool, ua.StatusCode) {
	vals, more, code := r.readValues(budget, max)
	return historyData(vals, ttr), len(vals), more, code
}

func (r *procRead) readValues(budget *int64, max int) ([]ua.DataValue, bool, ua.StatusCode) {
	if r.batch == nil {
		for len(r.batch) < max && !r.done {
			r.batch = append(r.batch, r.nextInterval())
		}
		if r.backward {
			slices.Reverse(r.batch)
		}
		r.accs = make([]accumulator, len(r.batch))
		for k := range r.accs {
			r.accs[k] = accumulator{agg: r.agg, cfg: r.cfg, iv: r.batch[k]}
		}
		r.bk, r.seeked, r.pending, r.out = 0, false, nil, make([]ua.DataValue, 0, len(r.batch))
	}
	if err := r.pass(budget); err != nil {
		return nil, errBudget(err), codeOf(err)
	}
	out := r.out
	if r.backward {
		slices.Reverse(out)
	}
	r.batch = nil
	return out, !r.done, ua.Good
}

// pass runs over the history from the batch's first interval to its last,
// feeding each interval the points in it; it resumes where it stopped
// when the budget ran out.
func (r *procRead) pass(budget *int64) error {
	if !r.seeked {
		if err := r.cur.Seek(r.batch[0].lo, budget); err != nil {
			return err
		}
		r.seeked = true
		r.at = r.steppedBefore()
	}
	for r.bk < len(r.batch) {
		var p twin.HistoryPoint
		if r.pending != nil {
			p = *r.pending
		} else {
			var ok bool
			var err error
			if p, ok, err = r.cur.Next(budget); err != nil {
				return err
			} else if !ok {
				// The end of the history: the remaining intervals have
				// what they have.
				for r.bk < len(r.batch) {
					r.finish()
				}
				return nil
			}
		}
		r.pending = nil
		for r.bk < len(r.batch) && r.batch[r.bk].past(p.Server) {
			r.finish()
		}
		if r.bk == len(r.batch) {
			r.pending = &p
			return nil
		}
		iv, a := r.batch[r.bk], &r.accs[r.bk]
		if iv.contains(p.Server) {
			if !iv.backward && p.Server.After(iv.lo) && !a.snapped {
				a.at, a.snapped = r.at, true // the value in effect at lo, before p
			}
			a.add(p)
		}
		r.at.add(p)
	}
	return nil
}

// finish computes the interval the pass is in and moves to the next.
func (r *procRead) finish() {
	a := &r.accs[r.bk]
	if !a.snapped {
		a.at, a.snapped = r.at, true
	}
	v, st, src, srv := a.result(rangeOf(a.iv, r.from, r.to))
	r.out = append(r.out, ua.NewDataValue(v, st, src, 0, srv, 0))
	r.bk++
}

// steppedBefore is the value in effect before the cursor's position: the
// last point, and the last one that was not Bad among those the cursor
// keeps.
func (r *procRead) steppedBefore() stepped {
	var s stepped
	last, ok := r.cur.Before(1)
	if !ok {
		return s
	}
	s.last, s.hasLast = last, true
	for k := 1; ; k++ {
		p, ok := r.cur.Before(k)
		if !ok {
			s.badSinceGood = true
			return s
		}
		if !ua.StatusCode(p.Status).IsBad() {
			s.good, s.hasGood, s.badSinceGood = p, true, k > 1
			return s
		}
	}
}
