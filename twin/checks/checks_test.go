package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/statuscode"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// The judges' logic on scripted entries and fault events, with a clock
// the test sets (the end-to-end tests in cmd/otwin drive real clients).

const line = `
name: t
tick: 100ms
machines:
  - name: filler1
    opcua: {port: 0}
    modbus: {port: 0}
    tags:
      - {name: speed, range: {low: 0, high: 1200}, model: {constant: {value: 600}}, modbus: {table: input, address: 0, type: float32}}
      - {name: speed_sp, writable: true, range: {low: 0, high: 1200}, model: {constant: {value: 600}}, modbus: {table: holding, address: 0, type: float32}}
      - {name: note, type: string, model: {constant: {value: ok}}}
faults:
  - {name: drop, kind: disconnect, target: filler1}
  - {name: down, kind: comm_loss, target: filler1}
checks:
`

// script is a scenario's engine with a scripted clock and fault events,
// and the entries of its clients.
type script struct {
	t      *testing.T
	eng    *twin.Engine
	start  time.Time
	now    time.Duration
	events []twin.Event
	ev     *Evaluator
	conn   uint64
}

func (s *script) Status() twin.Status {
	st := s.eng.Status()
	st.Elapsed, st.Speed, st.TimeScale, st.Paused = scenarios.Duration(s.now), 1, 1, false
	return st
}

func (s *script) Events(since int) ([]twin.Event, int) {
	if since >= len(s.events) {
		return nil, len(s.events)
	}
	return s.events[since:], len(s.events)
}

func (s *script) Tags() []twin.TagInfo           { return s.eng.Tags() }
func (s *script) Machines() []twin.MachineInfo   { return s.eng.Machines() }
func (s *script) Lookup(id string) (int, bool)   { return s.eng.Lookup(id) }
func (s *script) wall(d time.Duration) time.Time { return s.start.Add(d) }

// newScript builds the engine of line plus checks (YAML list items).
func newScript(t *testing.T, checks string) *script {
	t.Helper()
	sc, err := scenarios.Parse("t.yaml", []byte(line+checks))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := twin.New(sc, twin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &script{t: t, eng: eng, start: time.Unix(1000, 0)}
	if s.ev, err = newEvaluator(sc, s, func() time.Time { return s.wall(s.now) }); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *script) tag(id string) int {
	i, ok := s.eng.Lookup(id)
	if !ok {
		s.t.Fatalf("no tag %s", id)
	}
	return i
}

// fault logs a fault event at d.
func (s *script) fault(kind, name string, d time.Duration) {
	s.events = append(s.events, twin.Event{Seq: len(s.events), Kind: kind, Fault: name, Elapsed: scenarios.Duration(d), Time: s.wall(d)})
}

// entry observes e at d.
func (s *script) entry(d time.Duration, e clientlog.Entry) {
	e.Time = s.wall(d)
	if e.Peer == "" {
		e.Peer = "10.0.0.5:40000"
	}
	if e.Endpoint == "" {
		e.Endpoint = "opc.tcp://twin:4840"
		if e.Protocol == "modbus" {
			e.Endpoint = "twin:502"
		}
	}
	s.ev.Observe(e)
}

// connect opens a new connection at d and returns its number.
func (s *script) connect(d time.Duration, protocol string) uint64 {
	s.conn++
	s.entry(d, clientlog.Entry{Kind: clientlog.Connect, Protocol: protocol, Conn: s.conn, Machines: []string{"filler1"}})
	return s.conn
}

// polls reads tags over Modbus on conn every period in [from, to).
func (s *script) polls(conn uint64, from, to, period time.Duration, tags ...int) {
	for d := from; d < to; d += period {
		s.entry(d, clientlog.Entry{Kind: clientlog.Read, Protocol: "modbus", Conn: conn, Function: 4, Tags: tags})
	}
}

// finish judges at end and returns the one result.
func (s *script) finish(end time.Duration) Result {
	s.t.Helper()
	s.now = end
	rep := s.ev.Finish()
	if len(rep.Results) != 1 {
		s.t.Fatalf("%d results", len(rep.Results))
	}
	return rep.Results[0]
}

func expect(t *testing.T, r Result, st Status, msg ...string) {
	t.Helper()
	text := r.Message + "\n" + strings.Join(r.Details, "\n")
	if r.Status != st {
		t.Fatalf("status %s, want %s:\n%s", r.Status, st, text)
	}
	for _, m := range msg {
		if !strings.Contains(text, m) {
			t.Errorf("report lacks %q:\n%s", m, text)
		}
	}
}

const sec = time.Second

func TestResubscribe(t *testing.T) {
	const check = "  - {name: back, kind: resubscribe, fault: drop, within: 5s}\n"
	// subscriber: an OPC UA session with a subscription of both numeric
	// tags, dropped by the fault at 5s; it comes back at back.
	subscriber := func(s *script, back time.Duration, resume bool) {
		c := s.connect(1*sec, "opcua")
		s.entry(1*sec, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c, Session: "s1", Client: "app"})
		s.entry(1*sec, clientlog.Entry{Kind: clientlog.Subscription, Protocol: "opcua", Conn: c, Session: "s1", SubscriptionID: 1,
			Items: []clientlog.Item{{Tag: s.tag("filler1/speed"), Every: sec}, {Tag: s.tag("filler1/speed_sp"), Every: sec}}})
		s.fault(twin.EventInject, "drop", 5*sec)
		s.fault(twin.EventExpire, "drop", 5*sec)
		s.entry(5*sec+20*time.Millisecond, clientlog.Entry{Kind: clientlog.Disconnect, Protocol: "opcua", Conn: c})
		if back <= 0 {
			return
		}
		c2 := s.connect(back, "opcua")
		if resume {
			s.entry(back, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c2, Session: "s1", Client: "app", Reconnect: true})
			return
		}
		s.entry(back, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c2, Session: "s2", Client: "app"})
		s.entry(back+sec, clientlog.Entry{Kind: clientlog.Subscription, Protocol: "opcua", Conn: c2, Session: "s2", SubscriptionID: 2,
			Items: []clientlog.Item{{Tag: s.tag("filler1/speed"), Every: sec}, {Tag: s.tag("filler1/speed_sp"), Every: sec}}})
	}
	t.Run("session resumed in time", func(t *testing.T) {
		s := newScript(t, check)
		subscriber(s, 7*sec, true)
		expect(t, s.finish(20*sec), Passed, "OPC UA client 10.0.0.5: back on all 2 tags 2s after fault drop ended at +5s")
	})
	t.Run("new subscription in time", func(t *testing.T) {
		s := newScript(t, check)
		subscriber(s, 6*sec, false)
		expect(t, s.finish(20*sec), Passed, "2s after")
	})
	t.Run("too late", func(t *testing.T) {
		s := newScript(t, check)
		subscriber(s, 12*sec, false)
		expect(t, s.finish(20*sec), Failed, "only 8s after fault drop ended at +5s (within 5s)")
	})
	t.Run("never back", func(t *testing.T) {
		s := newScript(t, check)
		subscriber(s, 0, false)
		expect(t, s.finish(20*sec), Failed, "read or subscribed 0 of its 2 tags again")
	})
	t.Run("run too short", func(t *testing.T) {
		s := newScript(t, check)
		subscriber(s, 0, false)
		expect(t, s.finish(7*sec), Undecided, "the run ended 2s after fault drop ended")
	})
	t.Run("modbus poller comes back", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "modbus")
		s.polls(c, 0, 5*sec, sec, s.tag("filler1/speed"))
		s.fault(twin.EventInject, "drop", 5*sec)
		s.fault(twin.EventExpire, "drop", 5*sec)
		s.entry(5*sec+10*time.Millisecond, clientlog.Entry{Kind: clientlog.Disconnect, Protocol: "modbus", Conn: c})
		c2 := s.connect(8*sec, "modbus")
		s.polls(c2, 8500*time.Millisecond, 20*sec, sec, s.tag("filler1/speed"))
		expect(t, s.finish(20*sec), Passed, "Modbus client 10.0.0.5: back on all 1 tags 3.5s after")
	})
	t.Run("fault never injected", func(t *testing.T) {
		s := newScript(t, check)
		s.connect(0, "modbus")
		expect(t, s.finish(20*sec), NeverFired, "fault drop was not injected")
	})
	t.Run("no client before the fault", func(t *testing.T) {
		s := newScript(t, check)
		s.fault(twin.EventInject, "drop", 5*sec)
		s.fault(twin.EventExpire, "drop", 5*sec)
		c := s.connect(6*sec, "modbus")
		s.polls(c, 6*sec, 20*sec, sec, s.tag("filler1/speed"))
		expect(t, s.finish(20*sec), NeverFired, "no client had read or subscribed filler1")
	})
	t.Run("fault still active", func(t *testing.T) {
		s := newScript(t, "  - {name: back, kind: resubscribe, fault: down, within: 5s}\n")
		c := s.connect(0, "modbus")
		s.polls(c, 0, 5*sec, sec, s.tag("filler1/speed"))
		s.fault(twin.EventInject, "down", 5*sec)
		expect(t, s.finish(20*sec), Undecided, "still active at the end of the run")
	})
}

func TestPolled(t *testing.T) {
	const check = "  - {name: p, kind: polled, machine: filler1, protocol: modbus, every: 2s}\n"
	tags := func(s *script) []int { return []int{s.tag("filler1/speed"), s.tag("filler1/speed_sp")} }
	t.Run("every second", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "modbus")
		s.polls(c, 500*time.Millisecond, 30*sec, sec, tags(s)...)
		expect(t, s.finish(30*sec), Passed, "all 2 tags of filler1 read or subscribed every 2s from +2s to +30s")
	})
	t.Run("a gap", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "modbus")
		s.polls(c, 500*time.Millisecond, 10*sec, sec, tags(s)...)
		s.polls(c, 15500*time.Millisecond, 30*sec, sec, tags(s)...)
		expect(t, s.finish(30*sec), Failed, "2 of 2 tags", "filler1/speed: unread for 6s from +9.5s")
	})
	t.Run("a fast reader with a gap", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "modbus")
		s.polls(c, 0, 10*sec, 10*time.Millisecond, tags(s)...)
		s.polls(c, 13*sec, 30*sec, 10*time.Millisecond, tags(s)...)
		s.ev.mu.Lock()
		n := len(s.ev.pending)
		s.ev.mu.Unlock()
		if n > 40 {
			t.Errorf("%d pending entries for 2700 reads in 27 s: the reads were not coalesced", n)
		}
		expect(t, s.finish(30*sec), Failed, "filler1/speed: unread for 3.01s from +9.99s")
	})
	t.Run("one tag forgotten", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "modbus")
		s.polls(c, 500*time.Millisecond, 30*sec, sec, s.tag("filler1/speed"))
		r := s.finish(30 * sec)
		expect(t, r, Failed, "1 of 2 tags", "filler1/speed_sp: never read or subscribed")
	})
	t.Run("gap during comm loss is not counted", func(t *testing.T) {
		s := newScript(t, "  - {name: p, kind: polled, machine: filler1, protocol: modbus, every: 2s, grace: 3s}\n")
		c := s.connect(0, "modbus")
		s.polls(c, 500*time.Millisecond, 10*sec, sec, tags(s)...)
		s.fault(twin.EventInject, "down", 10*sec)
		s.fault(twin.EventClear, "down", 14*sec)
		s.polls(c, 16500*time.Millisecond, 30*sec, sec, tags(s)...)
		expect(t, s.finish(30*sec), Passed)
	})
	t.Run("a subscription counts", func(t *testing.T) {
		s := newScript(t, "  - {name: p, kind: polled, machine: filler1, protocol: opcua, every: 2s}\n")
		c := s.connect(0, "opcua")
		s.entry(0, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c, Session: "s"})
		items := []clientlog.Item{{Tag: s.tag("filler1/speed"), Every: sec}, {Tag: s.tag("filler1/speed_sp"), Every: sec}, {Tag: s.tag("filler1/note"), Every: sec}}
		s.entry(sec, clientlog.Entry{Kind: clientlog.Subscription, Protocol: "opcua", Conn: c, Session: "s", SubscriptionID: 1, Items: items})
		expect(t, s.finish(30*sec), Passed, "all 3 tags")
	})
	t.Run("a slow subscription does not", func(t *testing.T) {
		s := newScript(t, "  - {name: p, kind: polled, machine: filler1, protocol: opcua, every: 2s}\n")
		c := s.connect(0, "opcua")
		s.entry(0, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c, Session: "s"})
		items := []clientlog.Item{{Tag: s.tag("filler1/speed"), Every: 5 * sec}}
		s.entry(sec, clientlog.Entry{Kind: clientlog.Subscription, Protocol: "opcua", Conn: c, Session: "s", SubscriptionID: 1, Items: items})
		expect(t, s.finish(30*sec), Failed, "3 of 3 tags")
	})
	t.Run("nobody connects", func(t *testing.T) {
		s := newScript(t, check)
		expect(t, s.finish(30*sec), NeverFired, "no client connected to filler1's endpoints over modbus")
	})
}

func TestWritten(t *testing.T) {
	const check = "  - {name: w, kind: written, tag: filler1/speed_sp, value: 450, fault: down, within: 5s}\n"
	write := func(s *script, c uint64, d time.Duration, v any, exception byte) {
		s.entry(d, clientlog.Entry{Kind: clientlog.Write, Protocol: "modbus", Conn: c, Function: 16, Tags: []int{s.tag("filler1/speed_sp")}, Value: v, Exception: exception, Reason: map[byte]string{3: "03 illegal data value"}[exception]})
	}
	t.Run("written in time", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "modbus")
		s.fault(twin.EventInject, "down", 5*sec)
		write(s, c, 7*sec, 450.0, 0)
		expect(t, s.finish(20*sec), Passed, "fault down at +5s: 10.0.0.5:40000 wrote 450 2s later")
	})
	t.Run("wrong value and refused", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "modbus")
		s.fault(twin.EventInject, "down", 5*sec)
		write(s, c, 6*sec, 400.0, 0)
		write(s, c, 7*sec, 450.0, 3)
		write(s, c, 11*sec, 450.0, 0)
		expect(t, s.finish(20*sec), Failed, "no client wrote 450 within 5s; writes seen: 400 at +6s", "450 at +7s by 10.0.0.5:40000 (refused: 03 illegal data value)")
	})
	t.Run("nobody connected", func(t *testing.T) {
		s := newScript(t, check)
		s.fault(twin.EventInject, "down", 5*sec)
		expect(t, s.finish(20*sec), NeverFired, "no client was connected to filler1's endpoints until +10s")
	})
	t.Run("run ends first", func(t *testing.T) {
		s := newScript(t, check)
		s.connect(0, "modbus")
		s.fault(twin.EventInject, "down", 5*sec)
		expect(t, s.finish(8*sec), Undecided, "the run ended 3s later")
	})
	t.Run("at an offset, with a tolerance", func(t *testing.T) {
		s := newScript(t, "  - {name: w, kind: written, tag: filler1/speed_sp, value: 450, tolerance: 0.5, at: 3s, within: 5s}\n")
		c := s.connect(0, "modbus")
		write(s, c, 4*sec, 450.25, 0)
		expect(t, s.finish(20*sec), Passed, "+3s: 10.0.0.5:40000 wrote 450.25 1s later")
	})
	t.Run("fault never injected", func(t *testing.T) {
		s := newScript(t, check)
		s.connect(0, "modbus")
		expect(t, s.finish(20*sec), NeverFired, "fault down was not injected")
	})
}

func TestWriteRange(t *testing.T) {
	write := func(s *script, c uint64, d time.Duration, v any, status uint32) {
		s.entry(d, clientlog.Entry{Kind: clientlog.Write, Protocol: "opcua", Conn: c, Tag: "filler1/speed_sp", Tags: []int{s.tag("filler1/speed_sp")}, Value: v, Status: status, Reason: "value out of range"})
	}
	t.Run("an out-of-range write", func(t *testing.T) {
		s := newScript(t, "  - {name: r, kind: write_range}\n")
		c := s.connect(0, "opcua")
		write(s, c, sec, 500.0, 0)
		write(s, c, 2*sec, 1500.0, uint32(statuscode.BadOutOfRange))
		expect(t, s.finish(10*sec), Failed, "1 of 2 writes", "+2s 10.0.0.5:40000 wrote 1500 to filler1/speed_sp, outside [0, 1200] (refused: value out of range)")
	})
	t.Run("the check's own range", func(t *testing.T) {
		s := newScript(t, "  - {name: r, kind: write_range, tags: [filler1/speed_sp], range: {low: 100, high: 450}}\n")
		c := s.connect(0, "opcua")
		write(s, c, sec, 500.0, 0)
		expect(t, s.finish(10*sec), Failed, "wrote 500 to filler1/speed_sp, outside [100, 450] (accepted)")
	})
	t.Run("all in range", func(t *testing.T) {
		s := newScript(t, "  - {name: r, kind: write_range}\n")
		c := s.connect(0, "opcua")
		write(s, c, sec, 500.0, 0)
		expect(t, s.finish(10*sec), Passed, "1 writes of the 2 watched tags")
	})
	t.Run("nobody connected", func(t *testing.T) {
		s := newScript(t, "  - {name: r, kind: write_range}\n")
		expect(t, s.finish(10*sec), NeverFired, "no client connected")
	})
}

func TestMaxSessions(t *testing.T) {
	const check = "  - {name: m, kind: max_sessions, max: 1}\n"
	t.Run("a new session per reconnect", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "opcua")
		s.entry(0, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c, Session: "a"})
		s.entry(sec, clientlog.Entry{Kind: clientlog.Disconnect, Protocol: "opcua", Conn: c})
		c2 := s.connect(2*sec, "opcua")
		s.entry(2*sec, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c2, Session: "b"})
		expect(t, s.finish(10*sec), Failed, "10.0.0.5 held 2 OPC UA sessions at opc.tcp://twin:4840 at +2s (max 1)")
	})
	t.Run("a session resumed and one closed", func(t *testing.T) {
		s := newScript(t, check)
		c := s.connect(0, "opcua")
		s.entry(0, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c, Session: "a"})
		s.entry(sec, clientlog.Entry{Kind: clientlog.Disconnect, Protocol: "opcua", Conn: c})
		c2 := s.connect(2*sec, "opcua")
		s.entry(2*sec, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c2, Session: "a", Reconnect: true})
		s.entry(3*sec, clientlog.Entry{Kind: clientlog.SessionEnd, Protocol: "opcua", Conn: c2, Session: "a"})
		s.entry(4*sec, clientlog.Entry{Kind: clientlog.Session, Protocol: "opcua", Conn: c2, Session: "b"})
		expect(t, s.finish(10*sec), Passed, "at most 1")
	})
	t.Run("modbus connections", func(t *testing.T) {
		s := newScript(t, "  - {name: m, kind: max_sessions, max: 1, protocol: modbus}\n")
		s.connect(0, "modbus")
		s.connect(sec, "modbus")
		expect(t, s.finish(10*sec), Failed, "held 2 Modbus connections at twin:502")
	})
	t.Run("a client filter", func(t *testing.T) {
		s := newScript(t, "  - {name: m, kind: max_sessions, max: 1, client: '10.9.*'}\n")
		s.connect(0, "modbus")
		s.connect(sec, "modbus")
		expect(t, s.finish(10*sec), NeverFired, "no client connected")
	})
}

// TestOrderAcrossSettle: an entry observed before the fault event it
// follows (the engine's events are read later) is still judged after it.
func TestOrderAcrossSettle(t *testing.T) {
	s := newScript(t, "  - {name: w, kind: written, tag: filler1/speed_sp, value: 450, fault: down, within: 5s}\n")
	c := s.connect(0, "modbus")
	// The write arrives at 5.05 s, the fault event is logged at 5 s but
	// read by the evaluator only at its next sample.
	s.entry(5050*time.Millisecond, clientlog.Entry{Kind: clientlog.Write, Protocol: "modbus", Conn: c, Tags: []int{s.tag("filler1/speed_sp")}, Value: 450.0})
	s.now = 5100 * time.Millisecond
	s.ev.mu.Lock()
	s.ev.process(s.wall(s.now).Add(-Settle)) // before the event is read: nothing is judged yet
	s.ev.mu.Unlock()
	s.fault(twin.EventInject, "down", 5*sec)
	expect(t, s.finish(20*sec), Passed, "wrote 450 50ms later")
}
