package connslot

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// clock is a manual clock for the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuf is a goroutine-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(l.b.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func newLimiter(t *testing.T, max int, clk *clock, logEvery time.Duration) (*Limiter, *logBuf) {
	t.Helper()
	lb := &logBuf{}
	l := New(Config{Max: max, IdleAfter: 10 * time.Second, LogEvery: logEvery, Endpoint: "test 127.0.0.1:1",
		Logger: slog.New(slog.NewTextHandler(lb, nil)), Now: clk.Now})
	t.Cleanup(l.Close)
	return l, lb
}

// conn is a fake connection: its slot and how often it was told to yield.
type conn struct {
	slot    *Slot
	yielded atomic.Int32
}

func admit(t *testing.T, l *Limiter, peer string) (*conn, bool) {
	t.Helper()
	c := &conn{}
	s, ok := l.Admit(peer, func() { c.yielded.Add(1) })
	c.slot = s
	return c, ok
}

func mustAdmit(t *testing.T, l *Limiter, peer string) *conn {
	t.Helper()
	c, ok := admit(t, l, peer)
	if !ok {
		t.Fatalf("Admit(%s) refused, want a slot (stats %+v)", peer, l.Stats())
	}
	return c
}

func TestFullOfIdleYieldsOldest(t *testing.T) {
	clk := newClock()
	l, _ := newLimiter(t, 3, clk, time.Hour)
	var cs []*conn
	for i := range 3 {
		cs = append(cs, mustAdmit(t, l, fmt.Sprintf("10.0.0.1:%d", 1000+i)))
		clk.Add(time.Millisecond)
	}
	// None has sent a request: all idle; the first admitted yields.
	n := mustAdmit(t, l, "10.0.0.2:5000")
	if got := cs[0].yielded.Load(); got != 1 {
		t.Fatalf("oldest idle yielded %d times, want 1", got)
	}
	for _, c := range append(cs[1:], n) {
		if c.yielded.Load() != 0 {
			t.Fatalf("%s yielded, want only the oldest", c.slot.Peer())
		}
	}
	// Its Release afterwards must not free anyone else's slot.
	cs[0].slot.Release()
	cs[0].slot.Release()
	if st := l.Stats(); st.InUse != 3 || st.Yielded != 1 || st.Refused != 0 || st.Admitted != 4 {
		t.Fatalf("stats %+v, want 3 in use, 1 yielded, 4 admitted", st)
	}
}

func TestAllLiveRefuses(t *testing.T) {
	clk := newClock()
	l, _ := newLimiter(t, 2, clk, time.Hour)
	a, b := mustAdmit(t, l, "10.0.0.1:1"), mustAdmit(t, l, "10.0.0.1:2")
	a.slot.Touch()
	b.slot.Touch()
	if _, ok := admit(t, l, "10.0.0.3:1"); ok {
		t.Fatal("admitted a connection while every slot is live")
	}
	if a.yielded.Load()+b.yielded.Load() != 0 {
		t.Fatal("a live connection yielded")
	}
	// Live until IdleAfter of silence; then the one silent longest yields.
	clk.Add(4 * time.Second)
	b.slot.Touch()
	clk.Add(6 * time.Second) // a: silent 10s, b: 6s
	if !a.slot.Idle() || b.slot.Idle() {
		t.Fatalf("idle a=%v b=%v, want a idle, b live", a.slot.Idle(), b.slot.Idle())
	}
	c := mustAdmit(t, l, "10.0.0.3:2")
	if a.yielded.Load() != 1 || b.yielded.Load() != 0 {
		t.Fatalf("yielded a=%d b=%d, want only a", a.yielded.Load(), b.yielded.Load())
	}
	// A freed slot is taken without any yield.
	b.slot.Release()
	mustAdmit(t, l, "10.0.0.3:3")
	if c.yielded.Load() != 0 {
		t.Fatal("a connection yielded although a slot was free")
	}
	if st := l.Stats(); st.InUse != 2 || st.Refused != 1 || st.Yielded != 1 {
		t.Fatalf("stats %+v, want 2 in use, 1 refused, 1 yielded", st)
	}
}

func TestNeverTouchedYieldsBeforeRecentlySilent(t *testing.T) {
	clk := newClock()
	l, _ := newLimiter(t, 2, clk, time.Hour)
	old := mustAdmit(t, l, "10.0.0.1:1")
	old.slot.Touch()
	clk.Add(30 * time.Second) // old: silent 30s, idle
	fresh := mustAdmit(t, l, "10.0.0.1:2")
	clk.Add(time.Second)
	mustAdmit(t, l, "10.0.0.1:3")
	// Both idle; old's last activity is earlier than fresh's admission.
	if old.yielded.Load() != 1 || fresh.yielded.Load() != 0 {
		t.Fatalf("yielded old=%d fresh=%d, want the one idle longest (old)", old.yielded.Load(), fresh.yielded.Load())
	}
}

func TestRateLogOneLinePerInterval(t *testing.T) {
	clk := newClock()
	l, lb := newLimiter(t, 1, clk, time.Hour)
	live := mustAdmit(t, l, "10.0.0.1:1")
	live.slot.Touch()
	// The first event of a quiet limiter is logged at once.
	if _, ok := admit(t, l, "10.0.0.9:1"); ok {
		t.Fatal("admitted while full and live")
	}
	waitLines(t, lb, 1)
	// A burst within the interval: no line until the interval ends (here:
	// Close).
	for i := range 1940 {
		admit(t, l, fmt.Sprintf("10.0.%d.%d:4000", i%12, i%3))
	}
	if n := len(lb.lines()); n != 1 {
		t.Fatalf("%d lines during the burst, want still 1:\n%s", n, strings.Join(lb.lines(), "\n"))
	}
	l.Close()
	lines := lb.lines()
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "refused=1 ") || !strings.Contains(lines[0], "10.0.0.9 refused=1") {
		t.Errorf("first line %q: want refused=1 naming 10.0.0.9", lines[0])
	}
	want := []string{"level=WARN", "refused=1940", "yielded=0", "max=1", `endpoint="test 127.0.0.1:1"`, "others refused=644\""}
	for _, w := range want {
		if !strings.Contains(lines[1], w) {
			t.Errorf("burst line %q lacks %q", lines[1], w)
		}
	}
	// At most maxPeers hosts by name, plus "others".
	if n := strings.Count(lines[1], "refused=") - 1; n > maxPeers+1 {
		t.Errorf("burst line names %d peers, want at most %d", n, maxPeers+1)
	}
	if _, ok := admit(t, l, "10.0.0.9:2"); ok {
		t.Error("Admit after Close gave a slot")
	}
}

func TestRateLogTimer(t *testing.T) {
	clk := newClock()
	l, lb := newLimiter(t, 1, clk, 20*time.Millisecond)
	mustAdmit(t, l, "10.0.0.1:1")
	mustAdmit(t, l, "10.0.0.2:1") // yields the first, logged at once
	waitLines(t, lb, 1)
	mustAdmit(t, l, "10.0.0.3:1")
	mustAdmit(t, l, "10.0.0.4:1")
	waitLines(t, lb, 2) // after LogEvery, without Close
	lines := lb.lines()
	if !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "yielded=1 ") {
		t.Errorf("first line %q: want an INFO line with yielded=1", lines[0])
	}
	if !strings.Contains(lines[1], "yielded=2 ") || !strings.Contains(lines[1], "10.0.0.2 yielded=1, 10.0.0.3 yielded=1") {
		t.Errorf("second line %q: want yielded=2 naming 10.0.0.2 and 10.0.0.3", lines[1])
	}
}

func waitLines(t *testing.T, lb *logBuf, n int) {
	t.Helper()
	if !testkit.Poll(5*time.Second, func() bool { return len(lb.lines()) >= n }) {
		t.Fatalf("timed out waiting for %d log lines, have:\n%s", n, strings.Join(lb.lines(), "\n"))
	}
}

// TestConcurrent runs Admit, Touch, Release and yields from many
// goroutines (meant for -race) and checks the invariants: never more than
// Max slots, each yield at most once, every slot back after all Release.
func TestConcurrent(t *testing.T) {
	l := New(Config{Max: 8, IdleAfter: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logBuf{}, nil))})
	defer l.Close()
	var wg sync.WaitGroup
	var over atomic.Int32
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				c := &conn{}
				s, ok := l.Admit(fmt.Sprintf("10.0.0.%d:%d", g, i), func() {
					if c.yielded.Add(1) > 1 {
						over.Add(1)
					}
				})
				if !ok {
					continue
				}
				if i%2 == 0 {
					s.Touch()
				}
				if st := l.Stats(); st.InUse > st.Max {
					over.Add(1)
				}
				if i%3 != 0 {
					s.Release()
				}
			}
		})
	}
	wg.Wait()
	if over.Load() != 0 {
		t.Fatalf("%d violations (more than Max slots or a double yield)", over.Load())
	}
	l.mu.Lock()
	held := append([]*Slot(nil), l.slots...)
	l.mu.Unlock()
	for _, s := range held {
		s.Release()
	}
	if st := l.Stats(); st.InUse != 0 || st.Admitted != uint64(16*500)-st.Refused {
		t.Fatalf("stats %+v: want 0 in use and admitted+refused = %d", st, 16*500)
	}
}

func BenchmarkTouch(b *testing.B) {
	l := New(Config{})
	s, _ := l.Admit("127.0.0.1:1", nil)
	b.ReportAllocs()
	for b.Loop() {
		s.Touch()
	}
}
