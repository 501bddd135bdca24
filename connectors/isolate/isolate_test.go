package isolate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/internal/testkit"
)

var quiet = slog.New(slog.DiscardHandler)

// fast are supervision options for tests: restarts within 50-400ms.
var fast = isolate.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, HealthEvery: 20 * time.Millisecond}

// running is a connector running into its own channel, stopped with the
// test.
type running struct {
	t    *testing.T
	c    connectors.Connector
	out  chan connectors.Reading
	stop context.CancelFunc
	done chan error
}

func run(t *testing.T, c connectors.Connector) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, c: c, out: make(chan connectors.Reading, 64), stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx, r.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10s", c.Name())
		}
	})
	return r
}

// next returns the next reading, failing after 10s.
func (r *running) next() connectors.Reading {
	r.t.Helper()
	select {
	case rd := <-r.out:
		return rd
	case <-time.After(10 * time.Second):
		r.t.Fatalf("%s: no reading within 10s; health %+v", r.c.Name(), r.c.Health())
		return connectors.Reading{}
	}
}

// until reads until cond holds for a reading, failing after 15s.
func (r *running) until(what string, cond func(connectors.Reading) bool) connectors.Reading {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if rd := r.next(); cond(rd) {
			return rd
		}
	}
	r.t.Fatalf("%s: no reading with %s within 15s; health %+v", r.c.Name(), what, r.c.Health())
	return connectors.Reading{}
}

func scriptSpec(name string, cfg scriptConfig, points ...string) connectors.Spec {
	return connectors.Spec{Name: name, Config: &cfg, Points: points}
}

func newIsolated(t *testing.T, spec connectors.Spec, opts isolate.Options) *isolate.Connector {
	t.Helper()
	c, err := isolate.New(spec, connectors.Env{DataDir: t.TempDir(), Logger: quiet}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func good(r connectors.Reading) bool { return r.Status == nil && r.Raw != nil }

func TestChildDeliversAndStops(t *testing.T) {
	c := newIsolated(t, scriptSpec("calm", scriptConfig{Every: 5 * time.Millisecond}, "a", "b", "c"), fast)
	r := run(t, c)
	seen := map[string]bool{}
	for len(seen) < 3 {
		rd := r.next()
		if !good(rd) || rd.Source != "calm" || rd.Received.IsZero() {
			t.Fatalf("reading %+v", rd)
		}
		seen[rd.Address] = true
	}
	h := c.Health()
	for !(h.State == connectors.Connected && h.Protocol == "script") {
		r.next()
		h = c.Health()
	}
	st := c.Stats()
	if st.Starts != 1 || st.PID == 0 || st.PID == os.Getpid() {
		t.Fatalf("stats %+v", st)
	}
	r.stop()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		r.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
	if p, err := os.FindProcess(st.PID); err == nil && p.Signal(syscall.Signal(0)) == nil {
		t.Errorf("child %d still running after Run returned", st.PID)
	}
	if got := c.Stats(); got.Ends != 0 || got.PID != 0 {
		t.Errorf("stats after a stop %+v: a stop is no crash", got)
	}
}

// TestCrashContained: a child whose connector panics in a goroutine of
// its own (as gopcua's decoder does on a hostile message) ends; this
// process goes on, another endpoint keeps delivering, the lost endpoint
// reads Bad_NoCommunication saying why and is Down, and it recovers once
// the endpoint behaves again.
func TestCrashContained(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "hostile")
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	hostile := newIsolated(t, scriptSpec("hostile", scriptConfig{Every: 5 * time.Millisecond, Panic: 5, While: flag}, "x", "y"), fast)
	calm, err := scriptSpec("calm", scriptConfig{Every: 5 * time.Millisecond}, "a").New(connectors.Env{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rh, rc := run(t, hostile), run(t, calm)

	// The calm endpoint in this process keeps delivering throughout.
	var calmMu sync.Mutex
	calmTimes := []time.Time{}
	calmDone := make(chan struct{})
	go func() {
		defer close(calmDone)
		for {
			select {
			case rd := <-rc.out:
				calmMu.Lock()
				calmTimes = append(calmTimes, rd.Received)
				calmMu.Unlock()
			case <-time.After(2 * time.Second):
				return
			}
		}
	}()

	down := map[string]connectors.Reading{}
	for len(down) < 2 {
		rd := rh.until("a link-down reading", func(rd connectors.Reading) bool {
			code, _ := connectors.StatusOf(rd.Status)
			return code == connectors.BadNoCommunication && rd.LinkDown
		})
		down[rd.Address] = rd
	}
	for a, rd := range down {
		if !strings.Contains(rd.Status.Error(), "panic: hostile message") || !strings.Contains(rd.Status.Error(), "process of hostile ended") {
			t.Errorf("%s: status %q, want the crash's reason", a, rd.Status)
		}
	}
	testkit.Eventually(t, 15*time.Second, "a second crash", func() bool { return hostile.Stats().Ends >= 2 })
	if h := hostile.Health(); h.State == connectors.Connected && h.LastError == nil {
		t.Errorf("health while crashing: %+v", h)
	}
	if h := hostile.Health(); h.LastError == nil || !strings.Contains(h.LastError.Error(), "panic: hostile message") {
		t.Errorf("last error %v, want the panic", h.LastError)
	}

	// The endpoint behaves again: the next child delivers.
	ends := hostile.Stats().Ends
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	rh.until("good values again", good)
	testkit.Eventually(t, 15*time.Second, "Connected", func() bool { return hostile.Health().State == connectors.Connected })
	h, st := hostile.Health(), hostile.Stats()
	if h.Reconnects < 1 || h.Errors < st.Ends || st.Starts < st.Ends+1 || st.Ends > ends+1 {
		t.Errorf("after recovery: health %+v, stats %+v (ends before %d)", h, st, ends)
	}

	// No gap in the calm endpoint's readings while the other crashed.
	rc.stop()
	<-calmDone
	calmMu.Lock()
	defer calmMu.Unlock()
	if len(calmTimes) < 20 {
		t.Fatalf("calm endpoint delivered %d readings", len(calmTimes))
	}
	for i := 1; i < len(calmTimes); i++ {
		if gap := calmTimes[i].Sub(calmTimes[i-1]); gap > time.Second {
			t.Errorf("calm endpoint silent for %s while the other crashed", gap)
		}
	}
}

// TestMemoryLimitEndsOnlyTheChild: a huge allocation (a hostile length
// field) ends the child at once, with the reason.
func TestMemoryLimitEndsOnlyTheChild(t *testing.T) {
	opts := fast
	opts.MemoryLimit = 256 << 20
	c := newIsolated(t, scriptSpec("greedy", scriptConfig{Every: 5 * time.Millisecond, Panic: 3, Alloc: 1 << 30}, "x"), opts)
	r := run(t, c)
	rd := r.until("Bad_NoCommunication", func(rd connectors.Reading) bool { return rd.Status != nil })
	if !strings.Contains(rd.Status.Error(), "memory limit exceeded") {
		t.Errorf("status %q, want the memory limit", rd.Status)
	}
	st := c.Stats()
	if st.Ends < 1 || !strings.Contains(st.LastEnd, "limit 256 MiB") {
		t.Errorf("stats %+v", st)
	}
	t.Logf("child ended: %s", st.LastEnd)
}

// TestGiveUpIsFinal: a connector that cannot go on (its Run returns an
// error) is not restarted; Run returns its error.
func TestGiveUpIsFinal(t *testing.T) {
	c := newIsolated(t, scriptSpec("broken", scriptConfig{Fail: "certificate unreadable"}, "x"), fast)
	err := c.Run(context.Background(), make(chan connectors.Reading, 1))
	if err == nil || !strings.Contains(err.Error(), "certificate unreadable") || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Run = %v", err)
	}
	if st := c.Stats(); st.Starts != 1 {
		t.Errorf("stats %+v: restarted", st)
	}
	if h := c.Health(); h.State != connectors.Down || h.LastError == nil {
		t.Errorf("health %+v", h)
	}
}

// TestNewChecksInProcess: configuration problems are reported by New, as
// without isolation.
func TestNewChecksInProcess(t *testing.T) {
	_, err := isolate.New(scriptSpec("none", scriptConfig{}), connectors.Env{Logger: quiet}, fast)
	if err == nil || !strings.Contains(err.Error(), "no points") {
		t.Errorf("New = %v", err)
	}
	_, err = isolate.New(connectors.Spec{Name: "x"}, connectors.Env{}, fast)
	if err == nil {
		t.Error("New without configuration")
	}
}

// TestChildLogRelayed: the child's log reaches the parent's logger with
// its attributes.
func TestChildLogRelayed(t *testing.T) {
	var mu sync.Mutex
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := isolate.New(connectors.Spec{Name: "m", Config: mbConfig("127.0.0.1:1"), Points: []string{"holding:0:int16"}},
		connectors.Env{Logger: log}, fast)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	testkit.Eventually(t, 15*time.Second, "the child's log", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(buf.String(), "modbus device down") && strings.Contains(buf.String(), "source=m")
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// mbConfig is a Modbus configuration of the registered kind.
func mbConfig(addr string) connectors.Config {
	k, _ := connectors.Lookup("modbus")
	cfg := k.NewConfig()
	if err := json.Unmarshal([]byte(fmt.Sprintf(`{"address":%q,"poll_interval":20000000,"timeout":50000000}`, addr)), cfg); err != nil {
		panic(err)
	}
	return cfg
}

// TestChildThatIsNoChild: a command that does not speak the pipe (here
// one that says why it ends) is an end with that reason (its exit status
// and first line), restarted with backoff, never a hang.
func TestChildThatIsNoChild(t *testing.T) {
	opts := fast
	opts.Command = []string{os.Args[0], "-test.run=^$", "-test.badflag"}
	c := newIsolated(t, scriptSpec("mute", scriptConfig{Every: 5 * time.Millisecond}, "x"), opts)
	r := run(t, c)
	rd := r.until("Bad_NoCommunication", func(rd connectors.Reading) bool { return rd.Status != nil })
	if !strings.Contains(rd.Status.Error(), "exit status 2") || !strings.Contains(rd.Status.Error(), "badflag") {
		t.Errorf("status %q, want the exit status and the first line the command wrote", rd.Status)
	}
	testkit.Eventually(t, 15*time.Second, "a restart", func() bool { return c.Stats().Starts >= 2 })
}
