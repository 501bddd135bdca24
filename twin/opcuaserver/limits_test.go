package opcuaserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/uapeer"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// limitServer starts a server of n float tags on a fake source, with cfg
// changed by mut; it is closed when t ends.
func limitServer(t *testing.T, n int, mut func(*Config)) (*fakeSource, *Server) {
	t.Helper()
	f := newFakeSource()
	tags := make([]twin.TagInfo, n)
	for k := range tags {
		tags[k] = twin.TagInfo{Name: fmt.Sprintf("x%d", k), NodeID: fmt.Sprintf("s/m/x%d", k)}
	}
	f.addMachine("m", scenarios.Location{Site: "s"}, tags...)
	cfg := DefaultConfig("m")
	cfg.DataDir = testDir
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if mut != nil {
		mut(&cfg)
	}
	return f, serve(t, f, cfg)
}

// serve starts a server of src with cfg; it is closed when t ends.
func serve(t *testing.T, src Source, cfg Config) *Server {
	t.Helper()
	s, err := New(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); s.Close() })
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// tagNodes returns the node ids of s's tags.
func tagNodes(s *Server) []*gua.NodeID {
	var out []*gua.NodeID
	for _, t := range s.Tags() {
		out = append(out, gua.NewStringNodeID(s.NamespaceIndex(), t.NodeID))
	}
	return out
}

// monitorAll monitors nodes on sub in calls of 1000 with the given
// sampling interval and queue size and returns the results.
func monitorAll(t *testing.T, sub *opcua.Subscription, nodes []*gua.NodeID, sampling func(k int) float64, queue uint32) []*gua.MonitoredItemCreateResult {
	t.Helper()
	var out []*gua.MonitoredItemCreateResult
	for lo := 0; lo < len(nodes); lo += 1000 {
		var reqs []*gua.MonitoredItemCreateRequest
		for k := lo; k < min(lo+1000, len(nodes)); k++ {
			r := opcua.NewMonitoredItemCreateRequestWithDefaults(nodes[k], gua.AttributeIDValue, uint32(k))
			r.RequestedParameters.SamplingInterval = sampling(k)
			r.RequestedParameters.QueueSize = queue
			reqs = append(reqs, r)
		}
		res, err := sub.Monitor(context.Background(), gua.TimestampsToReturnBoth, reqs...)
		if err != nil {
			t.Fatalf("monitor: %v", err)
		}
		for _, r := range res.Results {
			if r.StatusCode != gua.StatusOK {
				t.Fatalf("monitor: %v", r.StatusCode)
			}
		}
		out = append(out, res.Results...)
	}
	return out
}

// subscribeAll subscribes c to every tag of s (sampling as fast as
// possible, queue of the given size) and counts the data change
// notifications it receives.
func subscribeAll(t *testing.T, c *opcua.Client, s *Server, params *opcua.SubscriptionParameters, queue uint32) *atomic.Int64 {
	t.Helper()
	ch := make(chan *opcua.PublishNotificationData, 1024)
	got := counter(ch)
	sub, err := c.Subscribe(context.Background(), params, ch)
	if err != nil {
		t.Fatal(err)
	}
	monitorAll(t, sub, tagNodes(s), func(int) float64 { return 0 }, queue)
	return got
}

// counter counts data change notifications from ch.
func counter(ch <-chan *opcua.PublishNotificationData) *atomic.Int64 {
	var n atomic.Int64
	go func() {
		for d := range ch {
			if dc, ok := d.Value.(*gua.DataChangeNotification); ok {
				n.Add(int64(len(dc.MonitoredItems)))
			}
		}
	}()
	return &n
}

func TestClientRequestsRevised(t *testing.T) {
	t.Parallel()
	_, s := limitServer(t, 4, func(c *Config) {
		c.MaxSessionTimeout = 30 * time.Second
		c.MaxSubscriptionLifetime = 40 * time.Second
	})
	c := connect(t, s.URL(), opcua.SessionTimeout(time.Hour))
	if got := c.Session().RevisedTimeout(); got != 30*time.Second {
		t.Errorf("session timeout: asked 1h, granted %v, want the cap 30s", got)
	}
	ctx := context.Background()
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: time.Second, LifetimeCount: 3600, MaxKeepAliveCount: 100}, make(chan *opcua.PublishNotificationData, 16))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel(ctx)
	if life := time.Duration(sub.RevisedLifetimeCount) * sub.RevisedPublishingInterval; life > 40*time.Second || sub.RevisedPublishingInterval != time.Second {
		t.Errorf("subscription: asked 1s x 3600, granted %v x %d = %v, want at most the cap 40s", sub.RevisedPublishingInterval, sub.RevisedLifetimeCount, life)
	}
	if sub.RevisedMaxKeepAliveCount*3 > sub.RevisedLifetimeCount {
		t.Errorf("keep-alive count %d over a third of the lifetime count %d", sub.RevisedMaxKeepAliveCount, sub.RevisedLifetimeCount)
	}
	asked := []float64{0, 37, 1500, -1, 1e7}
	want := []float64{100, 100, 2000, 1000, 60000}
	res := monitorAll(t, sub, tagNodes(s), func(k int) float64 { return asked[k] }, 1)
	for k, r := range res {
		if r.RevisedSamplingInterval != want[k] {
			t.Errorf("sampling interval %v revised to %v, want %v", asked[k], r.RevisedSamplingInterval, want[k])
		}
	}
}

// TestDistinctSamplingIntervalsBounded: 6,000 distinct sampling intervals
// from three anonymous sessions, on tag variables and on a node of the
// stack's own (the server's current time), start at most one sampler per
// granted interval: the goroutines left are bounded by the interval list,
// not by what clients ask for.
func TestDistinctSamplingIntervalsBounded(t *testing.T) {
	t.Parallel()
	_, s := limitServer(t, 10, nil)
	nodes := tagNodes(s)
	nodes = append(nodes, gua.NewNumericNodeID(0, 2258)) // Server_ServerStatus_CurrentTime
	ctx := context.Background()
	base := runtime.NumGoroutine()
	const sessions, perSession = 3, 2000
	for sess := range sessions {
		c := connect(t, s.URL())
		sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: time.Second}, make(chan *opcua.PublishNotificationData, 1024))
		if err != nil {
			t.Fatal(err)
		}
		many := make([]*gua.NodeID, perSession)
		for k := range many {
			many[k] = nodes[k%len(nodes)]
		}
		monitorAll(t, sub, many, func(k int) float64 { return float64(sess*perSession+k) + 0.25 }, 1)
	}
	if got := s.Load().Samplers; got > len(SamplingIntervals) {
		t.Errorf("%d samplers for %d intervals asked, want at most %d", got, sessions*perSession, len(SamplingIntervals))
	}
	// The clients' own goroutines, the sampler's and the stack's poll
	// groups (one per granted interval each).
	if grown := runtime.NumGoroutine() - base; grown > 2*len(SamplingIntervals)+sessions*20 {
		t.Errorf("%d goroutines more after %d distinct sampling intervals", grown, sessions*perSession)
	}
}

// TestKilledClientStopsWithinCap: a subscriber killed with SIGKILL leaves
// a session and a subscription nobody will use; both end, and the
// sampling of its items stops, within the caps.
func TestKilledClientStopsWithinCap(t *testing.T) {
	t.Parallel()
	const limit = 10 * time.Second // the stack's minimum for both
	_, s := limitServer(t, 200, func(c *Config) {
		c.MaxSessionTimeout = limit
		c.MaxSubscriptionLifetime = limit
	})
	var ids []string
	for _, n := range tagNodes(s) {
		ids = append(ids, n.String())
	}
	p := gopcuaClient(t, s.URL(), ids) // gopcua's defaults ask for 20 min
	if _, err := p.await("ready", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// The items join the sampler when the stack has created them, which
	// may follow the client's "ready" by a moment.
	if !testkit.Poll(10*time.Second, func() bool {
		l := s.Load()
		return l.Sessions == 1 && l.Subscriptions == 1 && l.SampledItems == 200
	}) {
		t.Fatalf("before the kill: %+v", s.Load())
	}
	p.kill()
	killed := time.Now()
	// The subscription expires after its lifetime without a Publish
	// request; its items leave the sampler at the janitor's next round.
	testkit.Eventually(t, limit+5*time.Second, "the killed client's subscription and its sampling gone", func() bool {
		l := s.Load()
		return l.Subscriptions == 0 && l.SampledItems == 0
	})
	// The janitor looks every 250 ms.
	if el := time.Since(killed); el > limit+time.Second {
		t.Errorf("sampling stopped %v after the kill, cap %v", el, limit)
	}
	t.Logf("sampling stopped %v after the kill (cap %v)", time.Since(killed).Round(100*time.Millisecond), limit)
	// The stack looks for timed-out sessions every 5 s.
	testkit.Eventually(t, limit+10*time.Second, "the killed client's session gone", func() bool { return s.Load().Sessions == 0 })
	testkit.Eventually(t, 5*time.Second, "memory released", func() bool { return s.Load().MemoryReleases > 0 })
}

// TestSessionSurvivesNewChannel: a client that loses its connection and
// comes back within the session timeout activates its session on a new
// secure channel and keeps it, with its subscription.
func TestSessionSurvivesNewChannel(t *testing.T) {
	t.Parallel()
	f, s := limitServer(t, 2, nil)
	ctx := context.Background()
	c1, err := dial(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c1.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 200 * time.Millisecond}, make(chan *opcua.PublishNotificationData, 16))
	if err != nil {
		t.Fatal(err)
	}
	monitorAll(t, sub, tagNodes(s), func(int) float64 { return 0 }, 1)
	sess, err := c1.DetachSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c1.Close(ctx) // the channel only: the session was detached
	testkit.Eventually(t, 5*time.Second, "the first connection closed", func() bool { return s.ConnStats().Active == 0 })
	if l := s.Load(); l.Sessions != 1 || l.Subscriptions != 1 {
		t.Fatalf("after the connection closed: %+v", l)
	}

	c2, err := opcua.NewClient(s.URL(), opcua.SecurityMode(gua.MessageSecurityModeNone), opcua.AutoReconnect(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Dial(ctx); err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	if err := c2.ActivateSession(ctx, sess); err != nil {
		t.Fatalf("activate the session on a new channel: %v", err)
	}
	f.set(map[int]any{0: 42.0})
	testkit.Eventually(t, 5*time.Second, "the new value read on the kept session", func() bool {
		return read(t, c2, tagNodes(s)[0])[0].Value.Value() == 42.0
	})
	if l := s.Load(); l.Sessions != 1 || l.Subscriptions != 1 || l.SampledItems != 2 {
		t.Errorf("after the reconnect: %+v, want the one session and its subscription", l)
	}
}

// TestMoreNotificationsSentAtOnce: a subscription that may carry 100
// notifications per response gets 1000 changes in ten responses one
// round trip apart, not one publishing interval (5 s) apart: all of them
// within two intervals, where waiting would take ten.
func TestMoreNotificationsSentAtOnce(t *testing.T) {
	t.Parallel()
	const n = 1000
	f, s := limitServer(t, n, nil)
	c := connect(t, s.URL())
	got := subscribeAll(t, c, s, &opcua.SubscriptionParameters{Interval: 5 * time.Second, MaxNotificationsPerPublish: 100}, 1)
	testkit.Eventually(t, 20*time.Second, "initial values", func() bool { return got.Load() == n })
	early := s.Load().EarlyPublishes
	vals := map[int]any{}
	for k := range n {
		vals[k] = 1.0
	}
	f.set(vals)
	start := time.Now()
	testkit.Eventually(t, 60*time.Second, "every change", func() bool { return got.Load() == 2*n })
	// The first response waits for the publishing interval; the other
	// nine follow at once.
	if el := time.Since(start); el > 2*5*time.Second {
		t.Errorf("1000 changes took %v with MoreNotifications, want at most two 5s intervals", el)
	}
	if e := s.Load().EarlyPublishes - early; e == 0 {
		t.Error("no publish cycle run early for MoreNotifications")
	}
}

// TestMoreNotificationsClientStopsReading: a subscriber that asked for
// fewer notifications per response than are queued (so that every
// response says MoreNotifications), with many Publish requests in flight,
// stops reading while its tags keep changing. The server goes on serving
// another client at once, drops the stalled connection after SendTimeout
// (its writes no longer complete), and ends the abandoned subscription
// within the cap.
func TestMoreNotificationsClientStopsReading(t *testing.T) {
	t.Parallel()
	const n, limit = 5000, 10 * time.Second
	f, s := limitServer(t, n, func(c *Config) {
		c.SendTimeout = time.Second
		// The session outlives the subscription, so that the server goes
		// on answering the queued requests until its writes stall.
		c.MaxSessionTimeout = 6 * limit
		c.MaxSubscriptionLifetime = limit
	})
	// The proxy reads 4 KiB at a time from the server: once paused, the
	// server's writes stall soon, as they do to a client that stops reading.
	proxy := testkit.NewProxy(strings.TrimPrefix(s.URL(), "opc.tcp://"))
	proxy.ReadBuffer = 4096
	proxy.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Every tag changes every 50 ms.
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for v := 0.0; ; v++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			vals := make(map[int]any, n)
			for k := range n {
				vals[k] = v
			}
			f.set(vals)
		}
	}()
	stalled, err := uapeer.Connect(ctx, "opc.tcp://"+proxy.Addr(), opcua.SecurityMode(gua.MessageSecurityModeNone), opcua.AutoReconnect(false), opcua.RequestTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		stalled.Close(cctx)
	}()
	got := subscribeAll(t, stalled, s, &opcua.SubscriptionParameters{Interval: 125 * time.Millisecond, MaxNotificationsPerPublish: 4000}, 10)
	testkit.Eventually(t, 10*time.Second, "notifications flowing, more queued than a response takes", func() bool { return got.Load() > 2*n })

	// Stop reading, with 64 more Publish requests in flight (as many as
	// the stack queues): their responses (each of 4000 notifications, more
	// queued) outgrow every buffer between the server and the client.
	proxy.StopReading()
	var wg sync.WaitGroup
	sends, stopSends := context.WithCancel(ctx)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = stalled.Send(sends, &gua.PublishRequest{}, func(gua.Response) error { return nil })
		}()
	}
	defer func() { stopSends(); wg.Wait() }()
	other := connect(t, s.URL())
	node := tagNodes(s)[0]
	for range 10 {
		start := time.Now()
		read(t, other, node)
		if el := time.Since(start); el > time.Second {
			t.Errorf("a read by another client took %v while a subscriber stalled", el)
		}
		time.Sleep(200 * time.Millisecond)
	}
	testkit.Eventually(t, 45*time.Second, "the stalled connection dropped", func() bool { return s.ConnStats().Stalled == 1 })
	testkit.Eventually(t, limit+15*time.Second, "the stalled subscriber's subscription and items gone", func() bool {
		l := s.Load()
		return l.Subscriptions == 0 && l.SampledItems == 0
	})
}

// TestIdleSocketsDoNotLockOut: sockets that never send a Hello, or send
// one and then nothing, take every connection slot and keep coming back;
// a client that wants to work still gets in, and the log says so in a line
// per interval, not a line per socket.
func TestIdleSocketsDoNotLockOut(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	_, s := limitServer(t, 2, func(c *Config) {
		c.IdleAfter = 300 * time.Millisecond
		c.HelloTimeout = 5 * time.Second
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	addr := strings.TrimPrefix(s.URL(), "opc.tcp://")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 63 silent sockets and 63 that send a Hello and nothing more, each
	// re-opened half a second after it is closed.
	var wg sync.WaitGroup
	defer wg.Wait()
	for k := range 126 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if k%2 == 1 {
					c.Write(hello(65536, 65536, 0, ""))
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				io.Copy(io.Discard, c) // until the server closes it
				stop()
				c.Close()
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
	}
	testkit.Eventually(t, 5*time.Second, "every slot taken", func() bool { return s.ConnStats().Active == 64 })
	for range 3 {
		start := time.Now()
		c, err := dial(s.URL())
		if err != nil {
			t.Fatalf("a client among idle sockets: %v (%+v)", err, s.ConnStats())
		}
		read(t, c, tagNodes(s)[0])
		c.Close(context.Background())
		t.Logf("connected and read in %v", time.Since(start).Round(time.Millisecond))
	}
	cancel()
	wg.Wait()
	st := s.ConnStats()
	if st.Yielded < 3 {
		t.Errorf("stats %+v: idle sockets should have yielded", st)
	}
	out := logs.String()
	lines := strings.Count(out, "\n")
	rate := strings.Count(out, "idle connections closed to make room")
	if rate == 0 || lines > 20 {
		t.Errorf("%d log lines (%d rate lines) for %d yielded and %d rejected connections:\n%s", lines, rate, st.Yielded, st.Rejected, out)
	}
}
