package opcuaserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/otwin/otwin/twin"
)

// deliveryWorkload is a number of tags that all change every tick.
type deliveryWorkload struct {
	name  string
	tags  int
	tick  time.Duration
	ticks int // ticks measured
}

var deliveryWorkloads = []deliveryWorkload{
	{"20k-tags-5Hz", 20_000, 200 * time.Millisecond, 50},
	{"100k-tags-1Hz", 100_000, time.Second, 10},
}

// deliveryResult is what one server delivered to one client.
type deliveryResult struct {
	ratio     float64       // changes delivered / changes made
	serverCPU time.Duration // during the run and the catch-up
	clientCPU time.Duration
	window    time.Duration // ticks × tick
	lag       time.Duration // from the last change to the last notification
}

// BenchmarkClientDefaults measures the share of changes that reach a
// subscriber using its library's defaults — gopcua (10,000 notifications
// per publish, one Publish request in flight, queue 10, sampling 0) and
// node-opcua (its subscription and monitoring defaults) — from the twin's
// server and, as the anchor, from a node-opcua server with the same
// workload, in one run: delivered-% and the server's CPU as % of one core
// while the tags change (engine included for the twin), for each. The
// clients run as separate processes. node-opcua comes from testdata/node
// (`npm ci` there); without it the anchor and the node-opcua client are
// left out.
//
// Each iteration runs both servers once; run it with the default
// -benchtime (one iteration) or -benchtime=Nx.
func BenchmarkClientDefaults(b *testing.B) {
	_, _, nodeErr := nodeMissing()
	for _, w := range deliveryWorkloads {
		for _, client := range []string{"gopcua", "node-opcua"} {
			b.Run(w.name+"/client="+client, func(b *testing.B) {
				if client == "node-opcua" && nodeErr != "" {
					b.Skip(nodeErr)
				}
				var ours, anchor []deliveryResult
				for b.Loop() {
					ours = append(ours, runDelivery(b, "otwin", client, w))
					if nodeErr == "" {
						anchor = append(anchor, runDelivery(b, "node-opcua", client, w))
					}
				}
				report := func(name string, rs []deliveryResult) {
					var ratio, cpu, ccpu, window, lag float64
					for _, r := range rs {
						ratio += r.ratio
						cpu += r.serverCPU.Seconds()
						ccpu += r.clientCPU.Seconds()
						window += r.window.Seconds()
						lag += r.lag.Seconds()
					}
					n := float64(len(rs))
					b.ReportMetric(100*ratio/n, name+"-delivered-%")
					b.ReportMetric(100*cpu/window, name+"-server-cpu-%")
					b.ReportMetric(100*ccpu/window, name+"-client-cpu-%")
					b.ReportMetric(lag/n, name+"-lag-s")
				}
				report("otwin", ours)
				if len(anchor) > 0 {
					report("nodeopcua", anchor)
				}
			})
		}
	}
}

// runDelivery serves w from serverKind ("otwin" or "node-opcua") to a
// client of clientKind ("gopcua" or "node-opcua") and measures it.
func runDelivery(b *testing.B, serverKind, clientKind string, w deliveryWorkload) deliveryResult {
	b.Helper()
	var (
		url       string
		ids       []string
		run       func() // makes w.ticks changes of every tag
		serverCPU func() time.Duration
		stop      func()
	)
	switch serverKind {
	case "otwin":
		e, s := deliveryServer(b, w)
		url = s.URL()
		for _, t := range s.Tags() {
			ids = append(ids, fmt.Sprintf("ns=%d;s=%s", s.NamespaceIndex(), t.NodeID))
		}
		run = func() {
			tick := time.NewTicker(w.tick)
			defer tick.Stop()
			for range w.ticks {
				<-tick.C
				e.Step(1)
			}
		}
		serverCPU = cpuTime
		stop = func() { s.Close() }
	case "node-opcua":
		p, u, nodeIDs := nodeServer(b, w.tags, w.tick)
		url, ids = u, nodeIDs
		run = func() {
			p.send(fmt.Sprint("run ", w.ticks))
			if _, err := p.await("ran ", time.Duration(w.ticks)*w.tick+time.Minute); err != nil {
				b.Fatal(err)
			}
		}
		serverCPU = p.cpu
		stop = p.stop
	}
	defer stop()

	var c *peer
	if clientKind == "gopcua" {
		c = gopcuaClient(b, url, ids)
	} else {
		c = nodeClient(b, url, ids)
	}
	defer c.stop()
	if _, err := c.await("ready", 5*time.Minute); err != nil {
		b.Fatalf("%s client of %s server: %v", clientKind, serverKind, err)
	}
	deadline := time.Now().Add(time.Minute)
	for c.count.Load() < int64(w.tags) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c.count.Load() < int64(w.tags) {
		b.Fatalf("%s client of %s server: %d initial values of %d", clientKind, serverKind, c.count.Load(), w.tags)
	}
	base := c.settle(time.Second, 30*time.Second)

	cpu0, ccpu0 := serverCPU(), c.cpu()
	run()
	lastChange := time.Now()
	got := c.settle(2*time.Second, time.Minute) - base
	settled := time.Now()
	r := deliveryResult{
		ratio:     float64(got) / float64(w.tags*w.ticks),
		serverCPU: serverCPU() - cpu0,
		clientCPU: c.cpu() - ccpu0,
		window:    time.Duration(w.ticks) * w.tick,
		lag:       max(0, settled.Add(-2*time.Second).Sub(lastChange)),
	}
	b.Logf("%s server -> %s client: %d of %d changes (%.2f %%), server cpu %v, client cpu %v, lag %v",
		serverKind, clientKind, got, w.tags*w.ticks, 100*r.ratio, r.serverCPU.Round(time.Millisecond), r.clientCPU.Round(time.Millisecond), r.lag.Round(time.Millisecond))
	return r
}

// deliveryServer starts a twin server of w.tags counters that count one
// per tick (the engine is stepped by the caller), 500 per machine.
func deliveryServer(tb testing.TB, w deliveryWorkload) (*twin.Engine, *Server) {
	tb.Helper()
	return deliveryServerConfig(tb, w, nil)
}

// deliveryServerConfig is deliveryServer with the configuration changed
// by mut.
func deliveryServerConfig(tb testing.TB, w deliveryWorkload, mut func(*Config)) (*twin.Engine, *Server) {
	tb.Helper()
	e, names := benchEngineShape(tb, w.tags, 500, w.tick)
	cfg := benchConfig(tb, names)
	if mut != nil {
		mut(&cfg)
	}
	s, err := New(FromEngine(e), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	// As otwin sim does.
	LimitMemory(s.closing)
	return e, s
}
