package opcuaserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/uapeer"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// benchEngine builds an engine of n counter tags (each changes every 1 s
// tick), 500 per machine, 20 machines per line.
func benchEngine(b *testing.B, n int) (*twin.Engine, []string) {
	return benchEngineShape(b, n, 500, time.Second)
}

// benchEngineShape builds n counter tags, perMachine per machine, that
// count one per tick.
func benchEngineShape(b testing.TB, n, perMachine int, tick time.Duration) (*twin.Engine, []string) {
	b.Helper()
	const perLine = 20
	var y strings.Builder
	fmt.Fprintf(&y, "name: bench\ntick: %s\nlocation: {enterprise: e, site: s, area: a}\ntemplates:\n  M:\n    tags:\n", tick)
	for k := range perMachine {
		fmt.Fprintf(&y, "      - {name: t%d, type: uint32, model: {counter: {rate: %g}}}\n", k, float64(time.Second)/float64(tick))
	}
	y.WriteString("machines:\n")
	var names []string
	for m := range (n + perMachine - 1) / perMachine {
		name := fmt.Sprintf("m%d", m)
		names = append(names, name)
		fmt.Fprintf(&y, "  - {name: %s, template: M, location: {line: l%d}, opcua: {port: 0}}\n", name, m/perLine)
	}
	sc, err := scenarios.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return e, names
}

func benchConfig(b testing.TB, machines []string) Config {
	cfg := DefaultConfig(machines...)
	cfg.DataDir = b.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

// BenchmarkAddressSpace measures adding the folders, machines and tag
// variables (with no units) of n tags to a fresh stack, 500 tags per
// machine, and 100k tags under one machine (one parent node).
func BenchmarkAddressSpace(b *testing.B) {
	for _, shape := range []struct{ n, perMachine int }{{10_000, 500}, {100_000, 500}, {100_000, 100_000}} {
		n := shape.n
		b.Run(fmt.Sprintf("tags=%d/per-machine=%d", n, shape.perMachine), func(b *testing.B) {
			e, machines := benchEngineShape(b, n, shape.perMachine, time.Second)
			cfg := benchConfig(b, machines).withDefaults()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				s := &Server{cfg: cfg, src: FromEngine(e), log: cfg.Logger, machines: e.Machines(),
					url: "opc.tcp://127.0.0.1:4840", closing: make(chan struct{})}
				if err := s.newStack(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := cpuTime()
				if err := s.populate(); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c0
				b.StopTimer()
				s.ua.Close()
				s.ua.WorkerPool().StopWait()
				b.StartTimer()
			}
			b.ReportMetric(float64(n), "tags")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkDelivery measures data changes delivered to one gopcua
// subscriber (one subscription, the client's one publish request in
// flight) while all n tags change at 1 Hz: each iteration is one engine
// step, one second apart; after the last one the subscriber gets up to
// catchUp to catch up. changes/s is the delivered rate from the first
// step to the last notification, behind the changes never delivered,
// lag-s the time from the last step to its last notification.
//
// The shapes vary what the subscriber asks for. The stack polls every
// item at its sampling interval and queues at most queue samples per item
// between two publish responses, so:
//   - sampling 1 s of 1 Hz changes loses those that jitter into one
//     interval (a poll round of 100k items takes 0.1-0.3 s);
//   - publishing every 1 s with queue 1 loses a change whenever a response
//     is late and covers two steps, which a busy machine makes common;
//     queue 2 (the recommended subscription for 1 Hz tags) keeps both.
//
// Publishing every 500 ms adds about 0.3 cpu-s per step at 100k items
// (each publish walks every item) without a measurable gain in lag, so it
// is not among the shapes.
func BenchmarkDelivery(b *testing.B) {
	for _, shape := range []struct {
		n          int
		sampling   float64
		publishing time.Duration
		queue      uint32
	}{
		{10_000, 500, time.Second, 1}, {10_000, 1000, time.Second, 1}, {10_000, 500, time.Second, 2},
		{100_000, 500, time.Second, 1}, {100_000, 1000, time.Second, 1}, {100_000, 500, time.Second, 2},
	} {
		n := shape.n
		b.Run(fmt.Sprintf("tags=%d/sampling=%gms/publishing=%s/queue=%d", n, shape.sampling, shape.publishing, shape.queue), func(b *testing.B) {
			e, machines := benchEngine(b, n)
			s, err := New(FromEngine(e), benchConfig(b, machines))
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := s.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c, err := uapeer.Connect(ctx, s.URL(), opcua.SecurityMode(gua.MessageSecurityModeNone), opcua.RequestTimeout(time.Minute))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close(context.Background())

			var got, last atomic.Int64
			ch := make(chan *opcua.PublishNotificationData, 256)
			go func() {
				for d := range ch {
					if dc, ok := d.Value.(*gua.DataChangeNotification); ok {
						got.Add(int64(len(dc.MonitoredItems)))
						last.Store(time.Now().UnixNano())
					}
				}
			}()
			sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{
				Interval:                   shape.publishing,
				MaxNotificationsPerPublish: uint32(4 * n),
				LifetimeCount:              10000,
				MaxKeepAliveCount:          3000,
			}, ch)
			if err != nil {
				b.Fatal(err)
			}
			tags := s.Tags()
			for lo := 0; lo < len(tags); lo += 1000 {
				var reqs []*gua.MonitoredItemCreateRequest
				for k, t := range tags[lo:min(lo+1000, len(tags))] {
					r := opcua.NewMonitoredItemCreateRequestWithDefaults(gua.NewStringNodeID(s.NamespaceIndex(), t.NodeID), gua.AttributeIDValue, uint32(lo+k))
					r.RequestedParameters.SamplingInterval = shape.sampling
					r.RequestedParameters.QueueSize = shape.queue
					reqs = append(reqs, r)
				}
				if _, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, reqs...); err != nil {
					b.Fatal(err)
				}
			}
			waitCount(b, &got, int64(n), 60*time.Second)
			base := got.Load()

			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			steps := 0
			for b.Loop() {
				<-tick.C
				e.Step(1)
				steps++
			}
			lastStep := time.Now()
			want := base + int64(steps*n)
			deadline := time.Now().Add(catchUp)
			for got.Load() < want && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			delivered := got.Load() - base
			elapsed := time.Unix(0, last.Load()).Sub(start)
			b.ReportMetric(float64(delivered)/elapsed.Seconds(), "changes/s")
			b.ReportMetric(float64(max(want-got.Load(), 0)), "behind")
			b.ReportMetric(time.Unix(0, last.Load()).Sub(lastStep).Seconds(), "lag-s")
			b.ReportMetric(float64(s.Published()), "pushed")
			// CPU of the whole process (server, engine and the subscriber)
			// per delivered change and per step: with 2 cores, under 2 s
			// per 1 s step keeps up when the machine is otherwise idle.
			b.ReportMetric(cpu.Seconds()/float64(steps), "cpu-s/step")
			if delivered > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(delivered), "cpu-us/change")
			}
		})
	}
}

// catchUp is how long the subscriber may take to receive the last step.
const catchUp = 15 * time.Second

// cpuTime is the user and system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitCount(b *testing.B, got *atomic.Int64, want int64, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for got.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("initial values: %d of %d notifications", got.Load(), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
