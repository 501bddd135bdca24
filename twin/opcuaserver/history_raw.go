package opcuaserver

import (
	"slices"
	"time"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin"
)

// rawRead is a ReadRaw of one node (Part 11 6.5.3 and 4.6): forward over
// [lo, hi) (or [lo, hi] when they are equal, or from lo on without hi),
// backward over (lo, hi] (or up to hi without lo), latest first. With
// bounds, the value at or before the first time and the value at or after
// the last one come with the values (Bad_BoundNotFound when there is
// none), and count towards NumValuesPerNode.
type rawRead struct {
	id       ua.NodeID
	cur      HistoryCursor
	lo, hi   time.Time
	hasLo    bool
	hasHi    bool
	hiIncl   bool
	backward bool
	limit    int // NumValuesPerNode, per response; 0: none
	bounds   bool

	seeked    bool
	firstDone bool // the bound at the start of the read is sent
	lastDone  bool // the bound at its end is sent
	prev      twin.HistoryPoint
	hasPrev   bool
	pending   *twin.HistoryPoint

	// Backward: the scan of (lo, hi] in time order.
	window  []twin.HistoryPoint // the latest points scanned
	dropped bool                // older points in range were dropped
	atLo    *twin.HistoryPoint  // a point at lo
	afterHi *twin.HistoryPoint  // the first point after hi
	skip    int                 // points at hi returned already
}

func newRawRead(id ua.NodeID, cur HistoryCursor, d ua.ReadRawModifiedDetails, hasStart, hasEnd bool) *rawRead {
	r := &rawRead{id: id, cur: cur, limit: int(d.NumValuesPerNode), bounds: d.ReturnBounds}
	switch {
	case hasStart && hasEnd && d.EndTime.Before(d.StartTime):
		r.backward, r.lo, r.hi, r.hasLo, r.hasHi = true, d.EndTime, d.StartTime, true, true
	case !hasStart:
		r.backward, r.hi, r.hasHi = true, d.EndTime, true
	default:
		r.lo, r.hi, r.hasLo, r.hasHi = d.StartTime, d.EndTime, true, hasEnd
		r.hiIncl = hasEnd && d.EndTime.Equal(d.StartTime)
	}
	return r
}

func (r *rawRead) node() ua.NodeID { return r.id }

func (r *rawRead) close() { r.cur.Close() }

func (r *rawRead) read(budget *int64, max int, ttr ua.TimestampsToReturn) (ua.ExtensionObject, int, bool, ua.StatusCode) {
	n := max
	if r.limit > 0 {
		n = min(n, r.limit)
	}
	var vals []ua.DataValue
	var more bool
	var code ua.StatusCode
	if r.backward {
		vals, more, code = r.readBackward(budget, n)
	} else {
		vals, more, code = r.readForward(budget, n)
	}
	return historyData(vals, ttr), len(vals), more, code
}

// peek returns the next point without consuming it.
func (r *rawRead) peek(budget *int64) (twin.HistoryPoint, bool, error) {
	if r.pending != nil {
		return *r.pending, true, nil
	}
	p, ok, err := r.cur.Next(budget)
	if ok {
		r.pending = &p
	}
	return p, ok, err
}

// in reports whether a point published at t is in the forward range.
func (r *rawRead) in(t time.Time) bool {
	return !r.hasHi || t.Before(r.hi) || r.hiIncl && t.Equal(r.hi)
}

func (r *rawRead) readForward(budget *int64, n int) ([]ua.DataValue, bool, ua.StatusCode) {
	if !r.seeked {
		if err := r.cur.Seek(r.lo, budget); err != nil {
			return nil, errBudget(err), codeOf(err)
		}
		r.seeked = true
		r.prev, r.hasPrev = r.cur.Before(1)
	}
	var out []ua.DataValue
	for len(out) < n {
		p, ok, err := r.peek(budget)
		if err != nil {
			return out, errBudget(err), codeOf(err)
		}
		if r.bounds && !r.firstDone {
			r.firstDone = true
			if !ok || !p.Server.Equal(r.lo) {
				out = append(out, r.bound(r.prev, r.hasPrev, r.lo))
				continue
			}
		}
		if !ok || !r.in(p.Server) {
			if r.bounds && r.hasHi && !r.lastDone {
				r.lastDone = true
				r.pending = nil
				out = append(out, r.bound(p, ok, r.hi))
				continue
			}
			return out, false, ua.Good
		}
		r.pending = nil
		out = append(out, dataValue(p))
	}
	p, ok, err := r.peek(budget)
	if err != nil {
		return out, errBudget(err), codeOf(err)
	}
	return out, ok && r.in(p.Server) || r.bounds && r.hasHi && !r.lastDone, ua.Good
}

// bound is p as a bounding value, or Bad_BoundNotFound at t.
func (r *rawRead) bound(p twin.HistoryPoint, ok bool, t time.Time) ua.DataValue {
	if !ok {
		return boundNotFound(t)
	}
	return dataValue(p)
}

// readBackward scans (lo, hi] forward, keeping the latest points, and
// returns them latest first; the next response goes on below the
// earliest point returned.
func (r *rawRead) readBackward(budget *int64, n int) ([]ua.DataValue, bool, ua.StatusCode) {
	first := !r.firstDone
	keep := n
	if r.bounds && first {
		keep = max(0, n-1)
	}
	if !r.seeked {
		from := time.Time{}
		if r.hasLo {
			from = r.lo
		}
		if err := r.cur.Seek(from, budget); err != nil {
			return nil, errBudget(err), codeOf(err)
		}
		r.seeked = true
		r.prev, r.hasPrev = r.cur.Before(1)
		r.window, r.dropped, r.atLo, r.afterHi = r.window[:0], false, nil, nil
	}
	for r.afterHi == nil {
		p, ok, err := r.cur.Next(budget)
		if err != nil {
			return nil, errBudget(err), codeOf(err)
		}
		if !ok {
			break
		}
		switch {
		case r.hasLo && !p.Server.After(r.lo):
			r.atLo = &p
		case p.Server.After(r.hi):
			r.afterHi = &p
		default:
			r.window = append(r.window, p)
			if len(r.window) > keep+r.skip {
				r.window = slices.Delete(r.window, 0, 1)
				r.dropped = true
			}
		}
	}
	// Leave out the points at hi a previous response returned.
	w := r.window
	for s := r.skip; s > 0 && len(w) > 0 && w[len(w)-1].Server.Equal(r.hi); s-- {
		w = w[:len(w)-1]
	}
	more := r.dropped || len(w) > keep
	if len(w) > keep {
		w = w[len(w)-keep:]
	}
	var out []ua.DataValue
	if r.bounds && first {
		r.firstDone = true
		if len(w) == 0 || !w[len(w)-1].Server.Equal(r.hi) {
			if r.afterHi != nil {
				out = append(out, dataValue(*r.afterHi))
			} else {
				out = append(out, boundNotFound(r.hi))
			}
		}
	}
	for k := len(w) - 1; k >= 0; k-- {
		out = append(out, dataValue(w[k]))
	}
	if !more && r.bounds && r.hasLo {
		switch {
		case r.atLo != nil:
			out = append(out, dataValue(*r.atLo))
		default:
			out = append(out, r.bound(r.prev, r.hasPrev, r.lo))
		}
	}
	if more && len(w) > 0 {
		// Go on below the earliest point returned.
		t := w[0].Server
		n := 0
		for _, p := range w {
			if p.Server.Equal(t) {
				n++
			}
		}
		if t.Equal(r.hi) {
			n += r.skip
		}
		r.hi, r.skip, r.seeked = t, n, false
	}
	return out, more, ua.Good
}

// codeOf is the status of a read that stopped on err: Good for the end
// of the budget (the read goes on), Bad_InternalError else.
func codeOf(err error) ua.StatusCode {
	if err == nil || errBudget(err) {
		return ua.Good
	}
	return ua.BadInternalError
}
