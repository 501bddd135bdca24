package isolate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
)

// Beyond readings, a child relays its connector's alarm stream
// (connectors.AlarmRelay: frame 'A', when the parent relays alarms) and
// answers the parent's requests: history reads (connectors.HistoryReader)
// and actions on alarms (connectors.AlarmActor). A request is a JSON
// object on the child's standard input after the start message, one per
// line; its reply a frame 'Q' naming it. A request the child's connector
// cannot take is answered with an error (connectors.ErrNoHistory for a
// history read); a request outstanding when its child ends fails, saying
// so. When a child that relayed alarms ends, the parent relays
// connectors.AlarmLost for it.

const (
	frameAlarm byte = 'A'
	frameReply byte = 'Q'
)

// request is one request of the parent, as JSON on the child's input.
type request struct {
	ID      uint64                     `json:"id"`
	History *connectors.HistoryRequest `json:"history,omitempty"`
	Alarm   *connectors.AlarmAction    `json:"alarm,omitempty"`
}

// reply is the answer to one request.
type reply struct {
	history connectors.History
	err     error
}

// Reply kinds.
const (
	replyOK byte = iota
	replyHistory
	replyError
)

// alarm writes an alarm message as a frame.
func (e *encoder) alarm(a *connectors.Alarm) error {
	e.buf = e.buf[:0]
	e.buf = append(e.buf, byte(a.What))
	e.str(a.Source)
	e.optTime(a.Received)
	e.str(a.ConditionID)
	e.str(a.ConditionName)
	e.str(a.Address)
	e.str(a.SourceName)
	e.uvarint(uint64(a.Severity))
	e.rawString(a.Message)
	var flags byte
	for i, b := range []bool{a.Active, a.Acked, a.Confirmable, a.Confirmed, a.Retain, a.Refresh} {
		if b {
			flags |= 1 << i
		}
	}
	e.buf = append(e.buf, flags)
	e.optTime(a.Time)
	e.optTime(a.ActiveTime)
	e.optTime(a.AckedTime)
	e.str(a.User)
	e.rawString(a.Comment)
	e.rawString(a.Why)
	return e.frame(frameAlarm)
}

// alarm decodes an alarm frame's payload into a.
func (d *decoder) alarm(a *connectors.Alarm) error {
	*a = connectors.Alarm{What: connectors.AlarmWhat(d.byte())}
	a.Source = d.str()
	a.Received = d.optTime()
	a.ConditionID = d.str()
	a.ConditionName = d.str()
	a.Address = d.str()
	a.SourceName = d.str()
	a.Severity = uint16(d.uvarint())
	a.Message = d.rawString()
	flags := d.byte()
	for i, b := range []*bool{&a.Active, &a.Acked, &a.Confirmable, &a.Confirmed, &a.Retain, &a.Refresh} {
		*b = flags&(1<<i) != 0
	}
	a.Time = d.optTime()
	a.ActiveTime = d.optTime()
	a.AckedTime = d.optTime()
	a.User = d.str()
	a.Comment = d.rawString()
	a.Why = d.rawString()
	return d.done("alarm")
}

// optTime writes a time that may be zero.
func (e *encoder) optTime(t time.Time) {
	e.bool(!t.IsZero())
	if !t.IsZero() {
		e.time(t)
	}
}

// optTime reads a time that may be zero.
func (d *decoder) optTime() time.Time {
	if d.bool() {
		return d.time()
	}
	return time.Time{}
}

// reply writes the reply to request id as a frame.
func (e *encoder) reply(id uint64, r *reply) error {
	e.buf = e.buf[:0]
	e.uvarint(id)
	switch {
	case r.err != nil:
		e.buf = append(e.buf, replyError)
		e.status(r.err)
		e.bool(errors.Is(r.err, connectors.ErrNoHistory))
	case r.history.Values != nil || r.history.Aggregate != "":
		e.buf = append(e.buf, replyHistory)
		e.rawString(r.history.Aggregate)
		e.uvarint(uint64(len(r.history.Values)))
		for _, v := range r.history.Values {
			e.optTime(v.Time)
			if err := e.raw(v.Raw); err != nil {
				return err
			}
			e.status(v.Status)
		}
	default:
		e.buf = append(e.buf, replyOK)
	}
	return e.frame(frameReply)
}

// reply decodes a reply frame's payload.
func (d *decoder) reply() (uint64, reply, error) {
	var r reply
	id := d.uvarint()
	switch k := d.byte(); k {
	case replyOK:
	case replyError:
		err := d.status()
		if err == nil {
			err = errors.New("error without text")
		}
		r.err = &childError{err: err, noHistory: d.bool()}
	case replyHistory:
		r.history.Aggregate = d.rawString()
		n := d.uvarint()
		if n > uint64(len(d.p)) {
			d.fail(errShort)
		}
		r.history.Values = make([]connectors.HistoryValue, 0, min(n, uint64(len(d.p))))
		for i := uint64(0); i < n && d.err == nil; i++ {
			r.history.Values = append(r.history.Values, connectors.HistoryValue{Time: d.optTime(), Raw: d.raw(), Status: d.status()})
		}
	default:
		d.fail(fmt.Errorf("reply kind %d", k))
	}
	return id, r, d.done("reply")
}

// childError is an error a child's connector returned: its text and
// status code, and whether it said the endpoint keeps no history.
type childError struct {
	err       error
	noHistory bool
}

func (e *childError) Error() string { return e.err.Error() }

// Unwrap returns the error as sent (its StatusCode, when it had one) and
// connectors.ErrNoHistory when it wrapped it.
func (e *childError) Unwrap() []error {
	if e.noHistory {
		return []error{e.err, connectors.ErrNoHistory}
	}
	return []error{e.err}
}

// requests is the parent's side of its children's requests and alarm
// streams.
type requests struct {
	// alarms receives the alarm stream; set by RelayAlarms before Run.
	alarms chan<- connectors.Alarm

	mu sync.Mutex
	// in is the running child's standard input; nil while none runs.
	in      io.Writer
	next    uint64
	pending map[uint64]chan reply
	// relayed says the running child relayed an alarm message: its end
	// is then relayed as connectors.AlarmLost.
	relayed bool
}

// attach makes in the running child's input.
func (q *requests) attach(in io.Writer) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.in = in
}

// detach says the running child ended, failing its outstanding requests
// with why.
func (q *requests) detach(why error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.in = nil
	for id, ch := range q.pending {
		ch <- reply{err: why}
		delete(q.pending, id)
	}
}

// answer hands a child's reply to its request.
func (q *requests) answer(id uint64, r reply) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ch, ok := q.pending[id]; ok {
		ch <- r
		delete(q.pending, id)
	}
}

// ask sends a request to the running child and waits for its reply.
func (c *Connector) ask(ctx context.Context, r request) reply {
	q := &c.rq
	ch := make(chan reply, 1)
	q.mu.Lock()
	if q.in == nil {
		q.mu.Unlock()
		return reply{err: fmt.Errorf("source %s: its %s connector process is not running (restarting)", c.spec.Name, c.kind.Title)}
	}
	q.next++
	r.ID = q.next
	b, err := json.Marshal(r)
	if err == nil {
		_, err = q.in.Write(append(b, '\n'))
	}
	if err != nil {
		q.mu.Unlock()
		return reply{err: fmt.Errorf("source %s: send to its connector process: %w", c.spec.Name, err)}
	}
	if q.pending == nil {
		q.pending = make(map[uint64]chan reply)
	}
	q.pending[r.ID] = ch
	q.mu.Unlock()
	select {
	case rep := <-ch:
		return rep
	case <-ctx.Done():
		q.mu.Lock()
		delete(q.pending, r.ID)
		q.mu.Unlock()
		return reply{err: fmt.Errorf("source %s: %w", c.spec.Name, ctx.Err())}
	}
}

// RelayAlarms makes Run relay the alarm stream of the connector in the
// child (connectors.AlarmRelay); call it before Run. A child's end is
// relayed as connectors.AlarmLost.
func (c *Connector) RelayAlarms(out chan<- connectors.Alarm) { c.rq.alarms = out }

// ReadHistory asks the connector in the child for a point's history
// (connectors.HistoryReader).
func (c *Connector) ReadHistory(ctx context.Context, req connectors.HistoryRequest) (connectors.History, error) {
	r := c.ask(ctx, request{History: &req})
	return r.history, r.err
}

// ActOnAlarm asks the connector in the child to act on a condition of its
// endpoint (connectors.AlarmActor).
func (c *Connector) ActOnAlarm(ctx context.Context, x connectors.AlarmAction) error {
	return c.ask(ctx, request{Alarm: &x}).err
}

// relayAlarm delivers an alarm message of the running child.
func (c *Connector) relayAlarm(ctx context.Context, a connectors.Alarm) {
	if c.rq.alarms == nil {
		return
	}
	c.rq.mu.Lock()
	c.rq.relayed = true
	c.rq.mu.Unlock()
	select {
	case c.rq.alarms <- a:
	case <-ctx.Done():
	}
}

// alarmsLost relays connectors.AlarmLost for a child that relayed alarms
// and ended; false when ctx ended first.
func (c *Connector) alarmsLost(ctx context.Context, cause error) bool {
	c.rq.mu.Lock()
	relayed := c.rq.relayed
	c.rq.relayed = false
	c.rq.mu.Unlock()
	if c.rq.alarms == nil || !relayed {
		return true
	}
	a := connectors.Alarm{Source: c.spec.Name, What: connectors.AlarmLost, Received: time.Now(), Why: cause.Error()}
	select {
	case c.rq.alarms <- a:
		return true
	case <-ctx.Done():
		return false
	}
}

// serveRequests reads the parent's requests from dec until the input
// ends, answering each in a goroutine of its own; then it calls done (the
// end of the input stops the child: requests under way see their
// context end).
func (w *childWriter) serveRequests(ctx context.Context, dec *json.Decoder, conn connectors.Connector, done func()) {
	defer done()
	for {
		var r request
		if err := dec.Decode(&r); err != nil {
			return
		}
		go func() {
			rep := answer(ctx, conn, &r)
			w.mu.Lock()
			defer w.mu.Unlock()
			if err := w.enc.reply(r.ID, &rep); errors.Is(err, errUnsupported) {
				rep = reply{err: err}
				w.fail(w.enc.reply(r.ID, &rep))
			} else {
				w.fail(err)
			}
			w.fail(w.enc.flush())
		}()
	}
}

// answer carries out one request with conn.
func answer(ctx context.Context, conn connectors.Connector, r *request) reply {
	switch {
	case r.History != nil:
		h, ok := conn.(connectors.HistoryReader)
		if !ok {
			return reply{err: fmt.Errorf("%s: %w", conn.Name(), connectors.ErrNoHistory)}
		}
		hist, err := h.ReadHistory(ctx, *r.History)
		return reply{history: hist, err: err}
	case r.Alarm != nil:
		a, ok := conn.(connectors.AlarmActor)
		if !ok {
			return reply{err: fmt.Errorf("%s: its endpoint has no alarms to act on", conn.Name())}
		}
		return reply{err: a.ActOnAlarm(ctx, *r.Alarm)}
	}
	return reply{err: errors.New("empty request")}
}

var (
	_ connectors.AlarmRelay    = (*Connector)(nil)
	_ connectors.AlarmActor    = (*Connector)(nil)
	_ connectors.HistoryReader = (*Connector)(nil)
)
