package opcuaserver

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/awcullen/opcua/ua"
)

// HistoryRead of events (Part 11 6.5.2): the events an EventHistory
// holds for a notifier (a machine's object or the Server object), each
// answered with the fields the request's select clauses name, in time
// order (latest first when reading backward), with continuation points as
// for data.

// EventHistory is what HistoryRead of events reads: the events the twin
// reported, by the notifiers they were reported on. The server keeps an
// EventLog (Server.EventLog) that an alarms module records its events
// into; Config.EventHistory replaces it. Its methods must be safe for
// concurrent use.
type EventHistory interface {
	// ReadEvents calls yield with the events reported on notifier with
	// a Time in [from, to) (from and to zero: unbounded), oldest first
	// (newest first when backward), starting after the event of sequence
	// number resume (0: at the first), until yield returns false.
	ReadEvents(notifier ua.NodeID, from, to time.Time, backward bool, resume uint64, yield func(HistoricalEvent) bool)
}

// HistoricalEvent is one stored event.
type HistoricalEvent struct {
	// Seq numbers the events of a history from 1 on, in the order they
	// were recorded; a continuation resumes after it.
	Seq uint64
	// Time is when the event happened (its Time field).
	Time time.Time
	// Event gives the event's fields (ua.BaseEvent, or an alarm's
	// condition type).
	Event ua.Event
}

// EventLog is an EventHistory that keeps the last events recorded in
// memory. Safe for concurrent use.
type EventLog struct {
	mu   sync.RWMutex
	max  int
	ring []loggedEvent
	seq  uint64 // of the last event recorded
}

type loggedEvent struct {
	ev        HistoricalEvent
	notifiers []ua.NodeID
}

// DefaultEventLogSize is the number of events an EventLog keeps by
// default.
const DefaultEventLogSize = 10000

// NewEventLog returns an EventLog that keeps the last size events
// (DefaultEventLogSize when size <= 0).
func NewEventLog(size int) *EventLog {
	if size <= 0 {
		size = DefaultEventLogSize
	}
	return &EventLog{max: size}
}

// Record stores an event that happened at t, reported on notifiers, and
// returns its sequence number. Events are expected in time order; an
// earlier one is stored with the time of the latest.
func (l *EventLog) Record(ev ua.Event, t time.Time, notifiers ...ua.NodeID) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) > 0 {
		if last := l.ring[(l.seq-1)%uint64(l.max)].ev.Time; t.Before(last) {
			t = last
		}
	}
	l.seq++
	e := loggedEvent{ev: HistoricalEvent{Seq: l.seq, Time: t, Event: ev}, notifiers: slices.Clone(notifiers)}
	if len(l.ring) < l.max {
		l.ring = append(l.ring, e)
	} else {
		l.ring[(l.seq-1)%uint64(l.max)] = e
	}
	return l.seq
}

// ReadEvents implements EventHistory.
func (l *EventLog) ReadEvents(notifier ua.NodeID, from, to time.Time, backward bool, resume uint64, yield func(HistoricalEvent) bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := uint64(len(l.ring))
	oldest := l.seq - n + 1
	at := func(s uint64) loggedEvent { return l.ring[(s-1)%uint64(l.max)] }
	in := func(e loggedEvent) bool {
		return (from.IsZero() || !e.ev.Time.Before(from)) && (to.IsZero() || e.ev.Time.Before(to)) &&
			slices.Contains(e.notifiers, notifier)
	}
	if n == 0 {
		return
	}
	if !backward {
		s := max(oldest, resume+1)
		for ; s <= l.seq; s++ {
			if e := at(s); in(e) && !yield(e.ev) {
				return
			}
		}
		return
	}
	s := l.seq
	if resume > 0 {
		s = resume - 1
	}
	for ; s >= oldest && s > 0; s-- {
		if e := at(s); in(e) && !yield(e.ev) {
			return
		}
	}
}

// eventRead is a ReadEvent of one notifier.
type eventRead struct {
	id       ua.NodeID
	hist     EventHistory
	from, to time.Time // [from, to) of event times; zero: unbounded
	backward bool
	limit    int
	filter   ua.EventFilter
	resume   uint64
}

func (r *eventRead) node() ua.NodeID { return r.id }

func (r *eventRead) close() {}

func (r *eventRead) read(_ *int64, max int, _ ua.TimestampsToReturn) (ua.ExtensionObject, int, bool, ua.StatusCode) {
	n := max
	if r.limit > 0 {
		n = min(n, r.limit)
	}
	out := []ua.HistoryEventFieldList{}
	more := false
	r.hist.ReadEvents(r.id, r.from, r.to, r.backward, r.resume, func(e HistoricalEvent) bool {
		if !matches(r.filter.WhereClause, e.Event) {
			return true
		}
		if len(out) == n {
			more = true
			return false
		}
		fields := make([]ua.Variant, len(r.filter.SelectClauses))
		for k, c := range r.filter.SelectClauses {
			fields[k] = e.Event.GetAttribute(c)
		}
		out = append(out, ua.HistoryEventFieldList{EventFields: fields})
		r.resume = e.Seq
		return true
	})
	return ua.HistoryEvent{Events: out}, len(out), more, ua.Good
}

// ReadEvent answers HistoryRead of events.
func (h *historian) ReadEvent(_ context.Context, nodes []ua.HistoryReadValueID, d ua.ReadEventDetails, ttr ua.TimestampsToReturn, release bool) ([]ua.HistoryReadResult, ua.StatusCode) {
	hasStart, hasEnd := given(d.StartTime), given(d.EndTime)
	if !release && !continuing(nodes) && !domainGiven(hasStart, hasEnd, d.NumValuesPerNode) {
		return nil, ua.BadHistoryOperationInvalid
	}
	return h.serve(nodes, release, "events", func(_ int, n ua.HistoryReadValueID) (reader, ua.StatusCode) {
		switch {
		case !h.notif[n.NodeID] && (h.exists == nil || !h.exists(n.NodeID)):
			return nil, ua.BadNodeIDUnknown
		case !h.notif[n.NodeID] || h.events == nil:
			return nil, ua.BadHistoryOperationUnsupported
		case !filterSupported(d.Filter.WhereClause):
			return nil, ua.BadContentFilterInvalid
		}
		r := &eventRead{id: n.NodeID, hist: h.events, limit: int(d.NumValuesPerNode), filter: d.Filter}
		switch {
		case hasStart && hasEnd && d.EndTime.Before(d.StartTime):
			// (end, start]: from just after end to just after start.
			r.backward, r.from, r.to = true, d.EndTime.Add(time.Nanosecond), d.StartTime.Add(time.Nanosecond)
		case !hasStart:
			r.backward, r.to = true, d.EndTime.Add(time.Nanosecond)
		default:
			r.from = d.StartTime
			if hasEnd {
				r.to = d.EndTime
			}
		}
		return r, ua.Good
	}, ttr), ua.Good
}

// filterSupported reports whether the where clause uses only what matches
// evaluates: OfType, And, Or and Not.
func filterSupported(f ua.ContentFilter) bool {
	for _, el := range f.Elements {
		switch el.FilterOperator {
		case ua.FilterOperatorOfType:
			if len(el.FilterOperands) != 1 {
				return false
			}
			lit, ok := el.FilterOperands[0].(ua.LiteralOperand)
			if !ok {
				return false
			}
			if _, ok := lit.Value.(ua.NodeID); !ok {
				return false
			}
		case ua.FilterOperatorAnd, ua.FilterOperatorOr, ua.FilterOperatorNot:
			for _, op := range el.FilterOperands {
				e, ok := op.(ua.ElementOperand)
				if !ok || int(e.Index) >= len(f.Elements) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// matches evaluates a supported where clause on ev: OfType matches an
// event of that exact type, and every event for BaseEventType.
func matches(f ua.ContentFilter, ev ua.Event) bool {
	if len(f.Elements) == 0 {
		return true
	}
	var eval func(k int, depth int) bool
	eval = func(k int, depth int) bool {
		if depth > len(f.Elements) {
			return false // a cycle
		}
		el := f.Elements[k]
		arg := func(i int) bool {
			if i >= len(el.FilterOperands) {
				return false
			}
			return eval(int(el.FilterOperands[i].(ua.ElementOperand).Index), depth+1)
		}
		switch el.FilterOperator {
		case ua.FilterOperatorOfType:
			t := el.FilterOperands[0].(ua.LiteralOperand).Value.(ua.NodeID)
			return t == ua.ObjectTypeIDBaseEventType || ev.GetAttribute(ua.BaseEventSelectClauses[1]) == ua.Variant(t)
		case ua.FilterOperatorAnd:
			return arg(0) && arg(1)
		case ua.FilterOperatorOr:
			return arg(0) || arg(1)
		case ua.FilterOperatorNot:
			return !arg(0)
		}
		return false
	}
	return eval(0, 0)
}
