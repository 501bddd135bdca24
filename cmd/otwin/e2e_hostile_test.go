package main

import (
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize/sources"
)

// TestE2EHostileServerContained: an OPC UA server that is not ours sends
// what gopcua v0.8.0 cannot survive — a Variant array of negative length
// (a panic in the library's own goroutine), then a 2^30-1 array-dimension
// count (a 4 GiB allocation). Its connector runs isolated (OPC UA's
// default): only its child process ends, again at every reconnect, while
// this collector and its other endpoints (a twin OPC UA server and a
// Modbus device) go on delivering. The lost endpoint shows comm loss with
// the reason, and recovers once the server behaves.
func TestE2EHostileServerContained(t *testing.T) {
	t.Parallel()
	// Endpoints ua-opcua and mb-modbus, and bad-opcua behind the front.
	sc := parseScenario(t, "e2ehostile", twoProtocolScenario+"  - {name: bad, template: Sensor, opcua: {port: 4932}}\n")
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	var bad *sources.Source
	for i := range f.Sources {
		if f.Sources[i].Name == "bad-opcua" {
			bad = &f.Sources[i]
		}
	}
	if bad == nil || !bad.Isolated() {
		t.Fatalf("no isolated source bad-opcua in %+v", f.Sources)
	}
	cfg := bad.Config.(*opcua.Config)
	front := startHostileFront(t, strings.TrimPrefix(cfg.URL, "opc.tcp://"), frontNegativeLength)
	cfg.URL = front.URL()
	col := startE2ECollectorWith(t, f, isolate.Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	var badConn *isolate.Connector
	for _, c := range col.Connectors {
		if c.Name() == "bad-opcua" {
			badConn, _ = c.(*isolate.Connector)
		}
	}
	if badConn == nil {
		t.Fatal("bad-opcua does not run isolated")
	}
	var okIDs, badIDs []string
	for _, s := range f.Sources {
		for _, p := range s.Points {
			if s.Name == "bad-opcua" {
				badIDs = append(badIDs, p.Asset+"/"+p.Tag)
			} else {
				okIDs = append(okIDs, p.Asset+"/"+p.Tag)
			}
		}
	}
	if len(okIDs) < 2 || len(badIDs) < 1 {
		t.Fatalf("tags: ok %v, bad %v", okIDs, badIDs)
	}
	allGood := func(ids []string) func() bool {
		return func() bool {
			for _, id := range ids {
				if s, ok := col.Store.Latest(id); !ok || !s.Status.IsGood() {
					return false
				}
			}
			return true
		}
	}
	waitUntil(t, 20*time.Second, "the other endpoints' tags Good", allGood(okIDs))

	// The hostile server crashes the child at every connect.
	waitUntil(t, 20*time.Second, "two ends of bad-opcua's process", func() bool { return badConn.Stats().Ends >= 2 })
	st := badConn.Stats()
	if !strings.Contains(st.LastEnd, "panic: reflect.MakeSlice: negative len") || front.poisoned.Load() < 2 {
		t.Errorf("last end %q after %d poisoned responses; want gopcua's panic", st.LastEnd, front.poisoned.Load())
	}
	if _, _, ok := col.Rec.AlertSince(0, "comm_loss:bad-opcua", "raised"); !ok {
		waitUntil(t, 5*time.Second, "comm_loss:bad-opcua", func() bool {
			_, _, ok := col.Rec.AlertSince(0, "comm_loss:bad-opcua", "raised")
			return ok
		})
	}
	rec, _, _ := col.Rec.AlertSince(0, "comm_loss:bad-opcua", "raised")
	t.Logf("comm_loss:bad-opcua: %s", rec.Alert.Message)
	if !strings.Contains(rec.Alert.Message, "process of bad-opcua ended") {
		t.Errorf("comm loss message %q does not say why", rec.Alert.Message)
	}
	if h := badConn.Health(); h.State == connectors.Connected {
		t.Errorf("bad-opcua health %+v while its server is hostile", h)
	}

	// Meanwhile the others keep delivering, sample after sample.
	counts := map[string]int{}
	for _, id := range okIDs {
		counts[id] = col.Rec.Count(id)
	}
	ends := badConn.Stats().Ends
	waitUntil(t, 20*time.Second, "two more ends", func() bool { return badConn.Stats().Ends >= ends+2 })
	for _, id := range okIDs {
		if n := col.Rec.Count(id); n <= counts[id] {
			t.Errorf("%s: no sample while bad-opcua crashed (%d before, %d after)", id, counts[id], n)
		}
		if s, _ := col.Store.Latest(id); !s.Status.IsGood() || time.Since(s.Received) > 2*time.Second {
			t.Errorf("%s: latest %v received %s ago", id, s.Status, time.Since(s.Received).Round(time.Millisecond))
		}
	}

	// A 4 GiB allocation ends only the child, at its memory limit.
	front.setMode(frontHugeDimensions)
	waitUntil(t, 20*time.Second, "an end at the memory limit", func() bool {
		return strings.Contains(badConn.Stats().LastEnd, "memory limit exceeded")
	})
	t.Logf("bad-opcua's process ended: %s", badConn.Stats().LastEnd)

	// The server behaves again: the endpoint recovers.
	mark := col.Rec.Mark()
	front.setMode(frontBehave)
	waitUntil(t, 30*time.Second, "bad-opcua's tags Good", allGood(badIDs))
	waitUntil(t, 10*time.Second, "comm_loss:bad-opcua cleared", func() bool {
		_, _, ok := col.Rec.AlertSince(mark, "comm_loss:bad-opcua", "cleared")
		return ok
	})
	if h := badConn.Health(); h.State != connectors.Connected {
		t.Errorf("bad-opcua health after recovery %+v", h)
	}
	if !allGood(okIDs)() {
		t.Error("the other endpoints are not Good at the end")
	}
	t.Logf("bad-opcua: %+v", badConn.Stats())
}
