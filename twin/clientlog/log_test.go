package clientlog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestLog(burst int) (*Log, *clock, *bytes.Buffer) {
	c := &clock{t: time.Unix(100, 0)}
	var buf bytes.Buffer
	l := New(Options{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Now: c.now, Burst: burst, Capacity: 50})
	return l, c, &buf
}

func TestLogKeepsEntriesAndClients(t *testing.T) {
	l, c, buf := newTestLog(100)
	var heard []Kind
	var mu sync.Mutex
	l.Listen(func(e Entry) { mu.Lock(); heard = append(heard, e.Kind); mu.Unlock() })
	at := func(d time.Duration) time.Time { return c.t.Add(d) }
	ep := "opc.tcp://twin:4840"
	l.Observe(Entry{Time: at(0), Kind: Connect, Protocol: "opcua", Endpoint: ep, Conn: 1, Peer: "10.0.0.5:40000", Machines: []string{"filler1"}})
	l.Observe(Entry{Time: at(0), Kind: Session, Protocol: "opcua", Endpoint: ep, Conn: 1, Peer: "10.0.0.5:40000", Session: "s1", Client: "scada", User: "op"})
	l.Observe(Entry{Time: at(0), Kind: Subscription, Protocol: "opcua", Endpoint: ep, Conn: 1, Peer: "10.0.0.5:40000", Session: "s1", SubscriptionID: 7, Count: 3})
	for i := 0; i < 5; i++ {
		l.Observe(Entry{Time: at(time.Duration(i) * time.Second), Kind: Read, Protocol: "opcua", Endpoint: ep, Conn: 1, Peer: "10.0.0.5:40000", Tags: []int{1, 2}})
	}
	l.Observe(Entry{Time: at(6 * time.Second), Kind: Write, Protocol: "opcua", Endpoint: ep, Conn: 1, Peer: "10.0.0.5:40000", Tag: "line/filler1/sp", Value: 1500.0, Status: 0x803C0000, Reason: "out of range"})
	l.Observe(Entry{Time: at(7 * time.Second), Kind: Disconnect, Protocol: "opcua", Endpoint: ep, Conn: 1, Peer: "10.0.0.5:40000"})
	l.Observe(Entry{Time: at(8 * time.Second), Kind: Connect, Protocol: "opcua", Endpoint: ep, Conn: 2, Peer: "10.0.0.5:40002"})
	l.Observe(Entry{Time: at(8 * time.Second), Kind: Session, Protocol: "opcua", Endpoint: ep, Conn: 2, Peer: "10.0.0.5:40002", Session: "s1", Client: "scada", User: "op", Reconnect: true})

	got, next := l.Since(0)
	kinds := make([]string, len(got))
	for i, e := range got {
		kinds[i] = string(e.Kind)
		if e.Seq != i {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
	}
	want := "connect session subscription write reads disconnect connect session"
	if strings.Join(kinds, " ") != want || next != len(got) {
		t.Fatalf("entries %v (next %d), want %s: reads are summarized, at the disconnect at the latest", kinds, next, want)
	}
	if d := got[4].Detail; !strings.Contains(d, "5 reads in 7s") || !strings.Contains(d, "5 of 2 tags") {
		t.Errorf("reads summary %q", d)
	}
	if more, n := l.Since(next); len(more) != 0 || n != next {
		t.Errorf("Since(next) = %d entries, %d", len(more), n)
	}
	if len(heard) != 12 {
		t.Errorf("the listener heard %d entries, want all 12 (reads too)", len(heard))
	}

	cl := l.Clients()
	if len(cl) != 1 {
		t.Fatalf("clients %+v", cl)
	}
	x := cl[0]
	if x.Host != "10.0.0.5" || x.Connections != 2 || x.Open != 1 || x.Reconnects != 2 || x.Sessions != 1 ||
		x.Subscriptions != 1 || x.Items != 3 || x.Reads != 5 || x.Writes != 1 || x.Refused != 1 ||
		x.Peer != "10.0.0.5:40002" || strings.Join(x.Names, ",") != "scada" || strings.Join(x.Users, ",") != "op" {
		t.Errorf("client summary %+v", x)
	}
	log := buf.String()
	for _, w := range []string{`msg="client connected"`, `msg="client write refused"`, `value=1500`, `reason="out of range"`, `msg="client session resumed on a new connection"`, `session_name=scada`} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %s:\n%s", w, log)
		}
	}
}

func TestLogModbusSummaryAndRateLimit(t *testing.T) {
	l, c, buf := newTestLog(3)
	ep := "twin:502"
	for i := 0; i < 10; i++ {
		l.Observe(Entry{Time: c.t.Add(time.Duration(i) * 100 * time.Millisecond), Kind: Connect, Protocol: "modbus", Endpoint: ep, Conn: uint64(i + 1), Peer: "10.0.0.9:5000"})
	}
	for i := 0; i < 30; i++ {
		fc, addr := byte(3), 0
		if i%3 == 0 {
			fc, addr = 4, 10
		}
		l.Observe(Entry{Time: c.t.Add(time.Second + time.Duration(i)*100*time.Millisecond), Kind: Read, Protocol: "modbus", Endpoint: ep, Conn: 1, Peer: "10.0.0.9:5000", Function: fc, Unit: 1, Address: addr, Quantity: 4})
	}
	c.t = c.t.Add(time.Minute)
	l.Flush()
	got, _ := l.Since(0)
	var sum *Entry
	for i := range got {
		if got[i].Kind == Reads {
			sum = &got[i]
		}
	}
	if sum == nil || !strings.Contains(sum.Detail, "fc3×20, fc4×10") || !strings.Contains(sum.Detail, "unit 1 holding 0-3") || !strings.Contains(sum.Detail, "unit 1 input 10-13") {
		t.Fatalf("reads summary %+v", sum)
	}
	x := l.Clients()[0]
	if x.Functions["3"] != 20 || x.Functions["4"] != 10 || x.Connections != 10 {
		t.Errorf("client summary %+v", x)
	}
	log := buf.String()
	if n := strings.Count(log, `msg="client connected"`); n != 3 {
		t.Errorf("%d connect lines in 1 s, want the burst of 3:\n%s", n, log)
	}
	if !strings.Contains(log, "activity_lines_not_logged=7") {
		t.Errorf("the next line does not count the 7 lines left out:\n%s", log)
	}
}

func TestLogRingKeepsTheLast(t *testing.T) {
	l, c, _ := newTestLog(1)
	for i := 0; i < 120; i++ {
		l.Observe(Entry{Time: c.t, Kind: Write, Protocol: "modbus", Endpoint: "e", Conn: 1, Peer: "h:1", Value: i})
	}
	got, next := l.Since(0)
	if len(got) != 50 || got[0].Seq != 70 || got[49].Value != 119 || next != 120 {
		t.Fatalf("%d entries from seq %d, next %d; want the last 50 (capacity)", len(got), got[0].Seq, next)
	}
	if got, _ := l.Since(100); len(got) != 20 || got[0].Seq != 100 {
		t.Fatalf("Since(100) gave %d entries", len(got))
	}
}

func TestWho(t *testing.T) {
	e := Entry{Peer: "10.0.0.5:4000", Client: "scada", User: "op"}
	if got := e.Who(); got != `10.0.0.5:4000 "scada" user op` {
		t.Errorf("Who = %s", got)
	}
	if Host("10.0.0.5:4000") != "10.0.0.5" || Host("[::1]:4840") != "::1" || Host("pipe") != "pipe" {
		t.Error("Host")
	}
	if TableOf(3) != "holding" || TableOf(15) != "coil" || TableOf(2) != "discrete" || TableOf(4) != "input" || TableOf(8) != "" {
		t.Error("TableOf")
	}
}
