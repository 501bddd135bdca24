package opcuaserver

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// BenchmarkSessionChurn measures the resident memory of a 100k-tag twin
// server (engine included, stepping at 1 Hz) while 20 subscriber sessions
// come and go one after the other, each a gopcua client in its own process
// monitoring all 100k tags with the library's defaults: RSS when idle, the
// highest RSS while a subscriber is served, RSS after the last one closed
// its session and how long it took to get back within 15 % of the idle
// figure; then the same after a subscriber killed with SIGKILL, with the
// session and subscription caps at 30 s.
func BenchmarkSessionChurn(b *testing.B) {
	const tags, sessions, limit = 100_000, 20, 30 * time.Second
	w := deliveryWorkload{tags: tags, tick: time.Second}
	for b.Loop() {
		e, s := deliveryServerConfig(b, w, func(c *Config) {
			c.MaxSessionTimeout = limit
			c.MaxSubscriptionLifetime = limit
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					e.Step(1)
				}
			}
		}()
		var ids []string
		for _, t := range s.Tags() {
			ids = append(ids, fmt.Sprintf("ns=%d;s=%s", s.NamespaceIndex(), t.NodeID))
		}
		// Idle: after the start-up garbage is handed back.
		testkit.Eventually(b, 30*time.Second, "start-up memory released", func() bool { return s.Load().MemoryReleases > 0 })
		time.Sleep(2 * time.Second)
		idle := rss()

		var peak uint64
		serve := func(kill bool) {
			p := gopcuaClient(b, s.URL(), ids)
			if _, err := p.await("ready", 5*time.Minute); err != nil {
				b.Fatal(err)
			}
			testkit.Eventually(b, time.Minute, "initial values", func() bool { return p.count.Load() >= tags })
			// Serve two more steps of every tag.
			want := p.count.Load() + 2*tags
			deadline := time.Now().Add(30 * time.Second)
			for p.count.Load() < want && time.Now().Before(deadline) {
				peak = max(peak, rss())
				time.Sleep(200 * time.Millisecond)
			}
			peak = max(peak, rss())
			if kill {
				p.kill()
			} else {
				p.stop()
			}
		}
		for range sessions {
			serve(false)
		}
		closed := time.Now()
		back := backWithin(idle, 90*time.Second)
		afterClose := rss()
		b.Logf("after %d sessions: RSS %d MB, back within 15%% of idle %d MB in %v (peak %d MB)", sessions, afterClose>>20, idle>>20, back.Round(100*time.Millisecond), peak>>20)
		if back < 0 {
			b.Errorf("RSS %d MB did not come back within 15%% of idle %d MB in 90 s after the last session closed (%v ago)", afterClose>>20, idle>>20, time.Since(closed))
		}

		serve(true)
		killBack := backWithin(idle, limit+60*time.Second)
		afterKill := rss()
		b.Logf("after a killed subscriber: RSS %d MB, back within 15%% of idle in %v (caps %v)", afterKill>>20, killBack.Round(100*time.Millisecond), limit)

		cancel()
		s.Close()
		b.ReportMetric(float64(idle>>20), "idle-MB")
		b.ReportMetric(float64(peak>>20), "serving-max-MB")
		b.ReportMetric(float64(afterClose>>20), "after-close-MB")
		b.ReportMetric(back.Seconds(), "back-after-close-s")
		b.ReportMetric(float64(afterKill>>20), "after-kill-MB")
		b.ReportMetric(killBack.Seconds(), "back-after-kill-s")
	}
}

// backWithin waits until RSS is within 15 % of idle and returns how long
// it took, or -1 after timeout.
func backWithin(idle uint64, timeout time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < timeout {
		if float64(rss()) <= 1.15*float64(idle) {
			return time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return -1
}

// rss is the resident set size of this process in bytes.
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.Sys
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
