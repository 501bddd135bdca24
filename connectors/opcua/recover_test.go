package opcua

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
)

// isNoComm says r reports lost communication: a link-down reading whose
// Bad_NoCommunication says why (the endpoint and the failure).
func isNoComm(r connectors.Reading) bool {
	var sc connectors.StatusCode
	return errors.As(r.Status, &sc) && sc == connectors.BadNoCommunication && r.LinkDown &&
		strings.HasPrefix(r.Status.Error(), "opcua ")
}

// checkOrder fails when a point got an older timestamp after a newer one.
func checkOrder(t *testing.T, rs []connectors.Reading) {
	t.Helper()
	last := map[string]time.Time{}
	for _, r := range rs {
		if r.SourceTime.IsZero() {
			continue
		}
		if r.SourceTime.Before(last[r.Address]) {
			t.Errorf("%s: SourceTime %v delivered after %v", r.Address, r.SourceTime, last[r.Address])
		}
		last[r.Address] = r.SourceTime
	}
}

func TestServerStopsAndRestarts(t *testing.T) {
	vars := []testVar{
		{name: "X", value: 1.0, dataType: id.Double},
		{name: "Y", value: int32(1), dataType: id.Int32},
	}
	ts := startTestServer(t, serverOpts{vars: vars})
	const timeout = time.Second
	h := runConnector(t, Config{URL: ts.url(), Nodes: []string{nodeAddr("X"), nodeAddr("Y")},
		PublishingInterval: 50 * time.Millisecond, Timeout: timeout})

	t0 := time.Now()
	ts.set("X", goodValue(2.0, t0))
	ts.set("Y", goodValue(int32(2), t0))
	h.waitFor(5*time.Second, "X=2 and Y=2", func(rs []connectors.Reading) bool {
		return hasValue(nodeAddr("X"), 2.0)(rs) && hasValue(nodeAddr("Y"), int64(2))(rs)
	})

	// The server goes away: Down and BadNoCommunication for every point
	// within the timeout.
	stopped := time.Now()
	ts.stop()
	// gopcua's server keeps the TCP connections open for seconds after
	// Close (stop returns late): the watchdog has to notice the silence.
	rs := h.waitFor(timeout+5*time.Second, "BadNoCommunication for X and Y", func(rs []connectors.Reading) bool {
		_, x := latest(rs, nodeAddr("X"), isNoComm)
		_, y := latest(rs, nodeAddr("Y"), isNoComm)
		return x && y
	})
	for _, a := range []string{nodeAddr("X"), nodeAddr("Y")} {
		r, _ := latest(rs, a, isNoComm)
		if d := r.Received.Sub(stopped); d > timeout+time.Second {
			t.Errorf("%s: no-communication reading %v after the server stopped, want within %v", a, d, timeout)
		}
		if r.Raw != nil || !r.SourceTime.IsZero() {
			t.Errorf("%s: no-communication reading carries value %v or source time %v", a, r.Raw, r.SourceTime)
		}
	}
	h.waitHealth(time.Second, "state down or connecting", func(hl connectors.Health) bool {
		return hl.State != connectors.Connected && hl.LastError != nil
	})
	nDown := len(h.all())

	// The server comes back on the same port. X's value there is older
	// than the one already delivered (a server whose clock or cache went
	// back): it must be dropped, not delivered after the newer one.
	ts2 := startTestServer(t, serverOpts{port: ts.port, vars: []testVar{
		{name: "X", value: 1.5, dataType: id.Double},
		{name: "Y", value: int32(3), dataType: id.Int32},
	}})
	ts2.set("X", goodValue(1.5, t0.Add(-time.Minute)))
	ts2.set("Y", goodValue(int32(3), time.Now()))
	h.waitFor(10*time.Second, "Y=3 after restart", hasValue(nodeAddr("Y"), int64(3)))
	hl := h.waitHealth(5*time.Second, "connected again", func(hl connectors.Health) bool { return hl.State == connectors.Connected })
	if hl.Reconnects < 1 {
		t.Errorf("Reconnects = %d, want ≥ 1", hl.Reconnects)
	}
	// Info comes again with the first reading after the reconnect.
	rs = h.all()
	gotInfo := false
	for _, r := range rs[nDown:] {
		if r.Address == nodeAddr("Y") && r.Info != nil {
			gotInfo = true
		}
	}
	if !gotInfo {
		t.Errorf("no Info with the first reading of Y after reconnect")
	}
	h.waitFor(5*time.Second, "the stale X counted as out of order", func([]connectors.Reading) bool { return h.c.Stats().OutOfOrder >= 1 })
	if _, ok := latest(h.all(), nodeAddr("X"), func(r connectors.Reading) bool { return r.Raw == 1.5 }); ok {
		t.Errorf("X=1.5 with an older SourceTime was delivered")
	}
	// A newer X is delivered again.
	ts2.set("X", goodValue(3.0, time.Now()))
	rs = h.waitFor(5*time.Second, "X=3", hasValue(nodeAddr("X"), 3.0))
	checkOrder(t, rs)
}

func TestSilentServerTripsWatchdog(t *testing.T) {
	ts := sharedServer(t)
	px := testkit.StartProxy(t, ts.url()[len("opc.tcp://"):])
	const timeout = 600 * time.Millisecond
	x := nodeAddr("W.Temp")
	h := runConnector(t, Config{URL: "opc.tcp://" + px.Addr(), Nodes: []string{x}, PublishingInterval: 50 * time.Millisecond, Timeout: timeout})
	h.waitFor(5*time.Second, "W.Temp", hasValue(x, 21.5))
	h.waitFor(5*time.Second, "a keep-alive", func([]connectors.Reading) bool { return h.c.Stats().KeepAlives > 0 })

	// The link stays open but nothing comes through any more.
	frozen := time.Now()
	px.Pause()
	h.waitFor(timeout+2*time.Second, "BadNoCommunication for W.Temp", func(rs []connectors.Reading) bool {
		_, ok := latest(rs, x, isNoComm)
		return ok
	})
	r, _ := latest(h.all(), x, isNoComm)
	if d := r.Received.Sub(frozen); d > timeout+time.Second {
		t.Errorf("silence noticed after %v, want within %v", d, timeout)
	}
	if hl := h.c.Health(); hl.State == connectors.Connected {
		t.Errorf("state %v after silence, want down", hl.State)
	}
	// Reconnecting through the silent link fails by itself too (the
	// handshake would otherwise wait for ever): the connector keeps trying.
	h.waitHealth(10*timeout, "a second failed attempt", func(hl connectors.Health) bool { return hl.Errors >= 2 })
}
