package main

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/modbusserver"
	"github.com/otwin/otwin/twin/opcuaserver"
)

// TestE2EClockStepBack: a device clock that steps back (a clock_skew
// fault ahead that ends, an NTP correction, or a skew behind that starts)
// must neither stop the data nor hide the skew. The connector orders
// values by the server's timestamp, not the device's (connectors/opcua
// doc), so a source time 30s behind is delivered and raises clock_skew.
func TestE2EClockStepBack(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "e2eskew", `
name: e2eskew
tick: 100ms
opcua: {security: [none]}
machines:
  - name: dev
    opcua: {port: 4903}
    tags:
      - name: v
        range: {low: 0, high: 100}
        model:
          sine: {offset: 50, amplitude: 10, period: 20s}
          noise: {stddev: 0.5}
      - name: c
        model: {constant: {value: 5}}
`)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	setRules(t, f, "dev/v", sources.Rules{ClockSkew: 2 * time.Second})
	col := startE2ECollector(t, f)
	waitUntil(t, 20*time.Second, "dev/v and dev/c Good", func() bool {
		v, ok1 := col.Store.Latest("dev/v")
		c, ok2 := col.Store.Latest("dev/c")
		return ok1 && ok2 && v.Status.IsGood() && c.Status.IsGood()
	})

	t.Run("resubscribe_old_constant", func(t *testing.T) {
		// After a reconnect the server sends a constant again with the
		// source time of its last change, older than the skew limit: that
		// is no clock skew (a regression test, see
		// TestE2EShippedScenarios/no_false_alerts).
		c, _ := col.Store.Latest("dev/c")
		// Older than its skew limit (the default, 5s).
		waitUntil(t, 15*time.Second, "dev/c's source time older than 6s", func() bool {
			return time.Since(c.SourceTime) > 6*time.Second
		})
		before, _ := healthOf(col.Store, "dev-opcua")
		mark := col.Rec.Mark()
		// The samples of dev/c from the drop on: it turns not Good when
		// the link goes, and Good again only when the server sends it
		// again, which may come before the connector says it is back.
		n := col.Rec.Count("dev/c")
		if _, err := tw.Control.Inject(context.Background(), scenarios.Fault{Name: "drop", Kind: scenarios.Disconnect, Target: "dev"}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "dev-opcua reconnected", func() bool {
			h, _ := healthOf(col.Store, "dev-opcua")
			return h.Reconnects > before.Reconnects && h.State == connectors.Connected
		})
		waitUntil(t, 5*time.Second, "dev/c again after the reconnect", func() bool {
			return slices.ContainsFunc(col.Rec.Samples("dev/c")[n:], func(s normalize.Sample) bool { return s.Status.IsGood() })
		})
		if a, _, ok := col.Rec.AlertSince(mark, "clock_skew:dev-opcua", "raised"); ok {
			t.Errorf("a constant re-sent after a reconnect raised %s: %s", a.Alert.ID, a.Alert.Message)
		}
	})
	// A clock 30s behind: the data must go on (dev/v changes every tick)
	// and the skew must show.
	pre, _ := col.Store.Alert("clock_skew:dev-opcua")
	mark := col.Rec.Mark()
	fault := scenarios.Fault{Name: "behind", Kind: scenarios.ClockSkew, Target: "dev", Skew: scenarios.Duration(-30 * time.Second)}
	if _, err := tw.Control.Inject(context.Background(), fault); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tw.Control.Clear(context.Background(), "behind") })
	n := col.Rec.Count("dev/v")
	flowing := pollUntil(2*time.Second, func() bool { return col.Rec.Count("dev/v") >= n+3 })
	shown := pre.Active() || pollUntil(2*time.Second, func() bool {
		_, _, raised := col.Rec.AlertSince(mark, "clock_skew:dev-opcua", "raised")
		return raised
	})
	if !flowing || !shown {
		t.Fatalf("with the device clock 30s behind, %d samples of dev/v in 2s (normalizer out-of-order drops: %d), clock_skew shown: %v",
			col.Rec.Count("dev/v")-n, col.Normalizer.Stats().OutOfOrder, shown)
	}
}

// TestE2EEndpointRestart: stopping a twin endpoint raises comm loss within
// its window and marks its tags Uncertain_NoCommunicationLastUsableValue
// with the last good value kept; a new server on the same port recovers
// the same collector (not restarted), with no duplicate and no
// out-of-order sample per tag, in the pipeline's events and in a store
// subscription.
func TestE2EEndpointRestart(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "e2erestart", twoProtocolScenario)
	eng, err := twin.New(sc, twin.Options{Logger: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	engDone := make(chan error, 1)
	go func() { engDone <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-engDone })
	dataDir := t.TempDir()
	ns := sc.Machines[0].OPCUA.Namespace
	startUA := func(port int) *opcuaserver.Server {
		srv, err := opcuaserver.New(opcuaserver.FromEngine(eng), opcuaserver.Config{
			Host: "127.0.0.1", Port: port, Namespace: ns, Machines: []string{"ua"}, DataDir: dataDir,
			Security: []string{opcuaserver.SecurityNone}, Anonymous: true, Logger: e2eLogger(),
		})
		if err != nil {
			t.Fatalf("opc ua server on port %d: %v", port, err)
		}
		if err := srv.Start(ctx); err != nil {
			t.Fatalf("opc ua server on port %d: %v", port, err)
		}
		return srv
	}
	startMB := func(port int) *modbusserver.Server {
		srv, err := modbusserver.New(eng, modbusserver.Config{Host: "127.0.0.1", Port: port, Machines: []string{"mb"}, Logger: e2eLogger()})
		if err != nil {
			t.Fatalf("modbus server on port %d: %v", port, err)
		}
		if err := srv.Start(ctx); err != nil {
			t.Fatalf("modbus server on port %d: %v", port, err)
		}
		return srv
	}
	ua, mb := startUA(0), startMB(0)
	var mu sync.Mutex // guards ua and mb, replaced below
	t.Cleanup(func() {
		mu.Lock()
		u, m := ua, mb
		mu.Unlock()
		u.Close()
		m.Close()
	})
	uaURL, mbAddr := ua.URL(), mb.Addr()
	f := exportFast(t, sc, []endpoint{
		{Machine: "ua", Protocol: "opcua", URL: uaURL, Namespace: ns},
		{Machine: "mb", Protocol: "modbus", Address: mbAddr, UnitID: 1},
	})
	col := startE2ECollector(t, f)
	sub := subscribeStore(t, col.Store)
	ids := pointIDs(f)
	waitUntil(t, 20*time.Second, "every tag Good", func() bool {
		for _, id := range ids {
			if s, ok := col.Store.Latest(id); !ok || !s.Status.IsGood() {
				return false
			}
		}
		return true
	})

	tests := []struct {
		name, source, machine string
		window                time.Duration // request timeout + comm loss
		stop                  func() error
		restart               func()
	}{
		{name: "opcua", source: "ua-opcua", machine: "ua", window: 2 * time.Second,
			stop: func() error { mu.Lock(); srv := ua; mu.Unlock(); return srv.Close() },
			restart: func() {
				_, p, _ := net.SplitHostPort(strings.TrimPrefix(uaURL, "opc.tcp://"))
				port, _ := strconv.Atoi(p)
				srv := startUA(port)
				mu.Lock()
				ua = srv
				mu.Unlock()
			}},
		{name: "modbus", source: "mb-modbus", machine: "mb", window: 1500 * time.Millisecond,
			stop: func() error { mu.Lock(); srv := mb; mu.Unlock(); return srv.Close() },
			restart: func() {
				_, p, _ := net.SplitHostPort(mbAddr)
				port, _ := strconv.Atoi(p)
				srv := startMB(port)
				mu.Lock()
				mb = srv
				mu.Unlock()
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := tc.machine + "/v"
			alert := "comm_loss:" + tc.source
			before, _ := col.Store.Latest(id)
			mark := col.Rec.Mark()
			start := time.Now()
			stopped := make(chan error, 1)
			go func() { stopped <- tc.stop() }() // an OPC UA server takes seconds to close
			waitUntil(t, 2*tc.window+2*time.Second, alert+" raised", func() bool {
				_, _, ok := col.Rec.AlertSince(mark, alert, "raised")
				return ok
			})
			rec, i, _ := col.Rec.AlertSince(mark, alert, "raised")
			t.Logf("%s raised %s after the stop: %s", alert, rec.At.Sub(start).Round(time.Millisecond), rec.Alert.Message)
			// The message says why, naming the endpoint: e.g. "dial
			// 127.0.0.1:5020 on mb-modbus: … connection refused".
			if !strings.Contains(rec.Alert.Message, tc.source) {
				t.Errorf("%s message %q lacks its cause", alert, rec.Alert.Message)
			}
			if took := rec.At.Sub(start); took > 2*tc.window {
				t.Errorf("%s raised after %s, want within %s", alert, took, 2*tc.window)
			}
			for _, tag := range []string{"v", "n"} {
				tid := tc.machine + "/" + tag
				waitUntil(t, 3*time.Second, tid+" Uncertain with its last good value", func() bool {
					s, ok := col.Store.Latest(tid)
					return ok && s.Status&0xFFFF0000 == connectors.UncertainNoCommunicationLastUsableValue && s.HasLastGood
				})
				s, _ := col.Store.Latest(tid)
				if s.Value != s.LastGood {
					t.Errorf("%s while down: value %g, want the last good %g", tid, s.Value, s.LastGood)
				}
			}
			if err := <-stopped; err != nil {
				t.Errorf("close the %s server: %v", tc.name, err)
			}
			tc.restart()
			waitUntil(t, 15*time.Second, alert+" cleared", func() bool {
				_, _, ok := col.Rec.AlertSince(i, alert, "cleared")
				return ok
			})
			waitUntil(t, 5*time.Second, id+" Good again", func() bool {
				s, ok := col.Store.Latest(id)
				return ok && s.Status.IsGood() && s.Seq > before.Seq
			})
			waitUntil(t, 2*time.Second, tc.source+" reconnect counted in Health", func() bool {
				h, _ := healthOf(col.Store, tc.source)
				return h.Reconnects > 0 && h.State == connectors.Connected
			})
		})
	}
	t.Cleanup(func() {
		// After both subtests: every tag's samples in order, without
		// duplicates, from the pipeline and from the store subscription.
		for _, id := range ids {
			if err := checkOrder(col.Rec.Samples(id)); err != nil {
				t.Errorf("pipeline events: %v", err)
			}
			if err := checkOrder(sub.Samples(id)); err != nil {
				t.Errorf("store subscription: %v", err)
			}
			if n := len(col.Rec.Samples(id)); n < 4 {
				t.Errorf("%s: only %d samples", id, n)
			}
		}
	})
}

// twoProtocolScenario has one OPC UA machine (ua) and one Modbus machine
// (mb), each with a moving value v (0..100 °C) and a counter n.
