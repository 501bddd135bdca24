package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// The 50-session soak: OTWIN_SOAK=1 go test -run 'TestSSHSoak$' -v ./cmd/otwin
//
// One process runs the bottling twin, the collector and the SSH server;
// a second process (this test binary again, TestSSHSoakClient) opens the
// sessions, each on its own connection with a 120×40 PTY, reads
// everything and counts bytes. The server process's CPU time and heap are
// measured with no session and then with every session running at the
// default frame rate, so the per-session figures are the server's own cost
// (twin and collector subtracted, client decryption excluded).
//
// OTWIN_SOAK_SESSIONS (default 50) and OTWIN_SOAK_DURATION (default 60s)
// change the load.

// soakResult is what the client process reports of the measured window.
type soakResult struct {
	Sessions  int     `json:"sessions"`
	Closed    int     `json:"closed"` // sessions that ended during the window
	Silent    int     `json:"silent"` // sessions that received nothing in it
	Bytes     []int64 `json:"bytes"`  // per session, in the window
	Seconds   float64 `json:"seconds"`
	ClientCPU float64 `json:"client_cpu_cores"`
}

func soakEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestSSHSoak(t *testing.T) {
	if os.Getenv("OTWIN_SOAK") == "" {
		t.Skip("set OTWIN_SOAK=1 to run the SSH soak (about 90s)")
	}
	n := soakEnv("OTWIN_SOAK_SESSIONS", 50)
	window := 60 * time.Second
	if d, err := time.ParseDuration(os.Getenv("OTWIN_SOAK_DURATION")); err == nil && d > 0 {
		window = d
	}
	roles := [][2]string{{"olga", "operator"}, {"sue", "supervisor"}, {"max", "maintenance"}, {"quinn", "quality"}, {"eli", "engineer"}, {"tom", "trainer"}}

	sc := shippedScenario(t, "bottling")
	tw := startE2ETwin(t, sc)
	src := exportSources(sc, tw.Endpoints, exportBoth) // the command's own intervals
	col := startE2ECollector(t, src)
	f := serveSSH(t, tw, col, "otwin — "+sc.Name, sshOpts{users: roles}, sshHooks{})
	waitUntil(t, 30*time.Second, "every tag in the store", func() bool {
		return len(col.Store.Snapshot()) >= len(pointIDs(src))
	})

	measure := func(d time.Duration) (cores float64, heap uint64) {
		c := cpuOver(t, d)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return c, ms.HeapAlloc
	}
	idleCPU, idleHeap := measure(10 * time.Second)

	var keys []string
	for _, r := range roles {
		keys = append(keys, r[0]+"="+f.users[r[0]].privPath)
	}
	cmd, stdin, stdout := startTestProcess(t, "TestSSHSoakClient", "OTWIN_SOAK_CLIENT="+f.svc.addr,
		"OTWIN_SOAK_KEYS="+strings.Join(keys, ","), "OTWIN_SOAK_SESSIONS="+strconv.Itoa(n))
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "SOAK "); ok {
				lines <- l
			}
		}
	}()
	next := func(timeout time.Duration) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("soak client ended early")
			}
			return l
		case <-time.After(timeout):
			t.Fatalf("soak client silent for %s", timeout)
		}
		return ""
	}
	if l := next(2 * time.Minute); l != "ready" {
		t.Fatalf("soak client: %s", l)
	}
	if got := f.svc.srv.Active(); got != n {
		t.Fatalf("%d sessions active, want %d", got, n)
	}
	// Warm up: every session has drawn its first screens.
	cpuOver(t, 5*time.Second)
	fmt.Fprintln(stdin, "mark")
	busyCPU, busyHeap := measure(window)
	active := f.svc.srv.Active()
	fmt.Fprintln(stdin, "end")
	var res soakResult
	if err := json.Unmarshal([]byte(next(time.Minute)), &res); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("soak client: %v", err)
	}

	// The client process is gone: every session and its goroutines end.
	waitUntil(t, 30*time.Second, "every session to end", func() bool { return f.svc.srv.Active() == 0 })
	var left []string
	if !pollUntil(10*time.Second, func() bool { left = sessionGoroutines(); return len(left) == 0 }) {
		t.Errorf("%d session goroutines left after every session ended", len(left))
	}
	if active != n || res.Closed != 0 || res.Silent != 0 {
		t.Errorf("sessions: %d active at the end of the window, %d closed in it, %d silent; want %d, 0, 0", active, res.Closed, res.Silent, n)
	}
	var total, most int64
	for _, b := range res.Bytes {
		total += b
		most = max(most, b)
	}
	perCPU := (busyCPU - idleCPU) / float64(n)
	perHeap := (int64(busyHeap) - int64(idleHeap)) / int64(n)
	perBps := float64(total) / float64(n) / res.Seconds
	t.Logf("%d sessions over %s, GOMAXPROCS %d on %d CPUs (shared machine)", n, window, runtime.GOMAXPROCS(0), runtime.NumCPU())
	t.Logf("server process CPU: %.3f cores idle (twin + collector), %.3f cores with the sessions: %.2f %% of a core per session",
		idleCPU, busyCPU, perCPU*100)
	t.Logf("heap: %.1f MiB idle, %.1f MiB with the sessions: %.0f KiB per session",
		float64(idleHeap)/(1<<20), float64(busyHeap)/(1<<20), float64(perHeap)/1024)
	t.Logf("output: %.1f KB/s per session on average, %.1f KB/s the busiest; client process %.3f cores",
		perBps/1000, float64(most)/res.Seconds/1000, res.ClientCPU)
	if perCPU > 0.02 {
		t.Errorf("%.2f %% of a core per session, target 2 %%", perCPU*100)
	}
	if perBps > 100_000 {
		t.Errorf("%.1f KB/s per session, target 100 KB/s", perBps/1000)
	}
}

// TestSSHSoakClient is the client half of TestSSHSoak, run in its own
// process by it; it does nothing on its own.
func TestSSHSoakClient(t *testing.T) {
	addr := os.Getenv("OTWIN_SOAK_CLIENT")
	if addr == "" {
		t.Skip("the client process of TestSSHSoak")
	}
	n := soakEnv("OTWIN_SOAK_SESSIONS", 50)
	type user struct {
		name   string
		signer gossh.Signer
	}
	var users []user
	for _, kv := range strings.Split(os.Getenv("OTWIN_SOAK_KEYS"), ",") {
		name, path, _ := strings.Cut(kv, "=")
		pem, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := gossh.ParsePrivateKey(pem)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, user{name, s})
	}
	terms := make([]*term, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := users[i%len(users)]
			c, err := dialSSH(addr, u.name, gossh.PublicKeys(u.signer))
			if err != nil {
				errs <- fmt.Errorf("session %d (%s): %w", i, u.name, err)
				return
			}
			tm := openTerm(t, c)
			tm.waitText(30*time.Second, u.name+" (")
			terms[i] = tm
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if t.Failed() { // a session's first screen never came (see the log)
		t.FailNow()
	}
	fmt.Println("SOAK ready")
	in := bufio.NewScanner(os.Stdin)
	var (
		start  time.Time
		cpu0   time.Duration
		counts = make([]int64, n)
	)
	for in.Scan() {
		switch in.Text() {
		case "mark":
			start, cpu0 = time.Now(), cpuTime(t)
			for i, tm := range terms {
				counts[i] = tm.bytesRead()
			}
		case "end":
			res := soakResult{Sessions: n, Seconds: time.Since(start).Seconds()}
			res.ClientCPU = float64(cpuTime(t)-cpu0) / float64(time.Since(start))
			for i, tm := range terms {
				b := tm.bytesRead() - counts[i]
				res.Bytes = append(res.Bytes, b)
				if tm.closed() {
					res.Closed++
				}
				if b == 0 {
					res.Silent++
				}
			}
			out, _ := json.Marshal(res)
			fmt.Println("SOAK " + string(out))
		}
	}
}

// BenchmarkSSHSessionOpen is the cost of one login as a class arrives:
// connect, authenticate with a key, open a PTY session and draw the first
// dashboard (user and role in the status bar), then close. Clients run in
// the same process, so ns/op includes both ends of the SSH handshake.
func BenchmarkSSHSessionOpen(b *testing.B) {
	f := startSSHFixture(b, sshOpts{})
	signer := f.users["olga"].signer
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := dialSSH(f.svc.addr, "olga", gossh.PublicKeys(signer))
		if err != nil {
			b.Fatal(err)
		}
		tm := openTerm(b, c)
		tm.waitText(10*time.Second, "olga (operator)")
		tm.sess.Close()
		c.Close()
	}
	b.StopTimer()
	waitUntil(b, 10*time.Second, "every session to end", func() bool { return f.svc.srv.Active() == 0 })
}
