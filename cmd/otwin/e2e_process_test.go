//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/uapeer"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"
	gossh "golang.org/x/crypto/ssh"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize/sources"
)

// The process end-to-end tests: the real otwin binary, as a user runs it,
// stopped by the signals a terminal or a service manager sends.

// exitBound is how soon after q, SIGINT or SIGTERM every command must have
// exited: a correctness bound (no command may wait on a library's
// shutdown sleep), measured on the monotonic clock less the time the
// machine ran other work.
const exitBound = 500 * time.Millisecond

// brewScenario puts two machines of one template on one OPC UA port, each
// in its own namespace, with equal node ids; mash is also on Modbus.
const brewScenario = `name: brew
location: {site: brewery, line: hot-side}
templates:
  Vessel:
    tags:
      - {name: temp, unit: degC, range: {low: 0, high: 110}, node_id: temp, model: {sine: {offset: 60, amplitude: 5, period: 20s}}}
      - {name: level, unit: "%", model: {random_walk: {start: 50, step: 1, min: 0, max: 100}}}
machines:
  - name: kettle
    template: Vessel
    opcua: {port: 4840, namespace: "urn:x:kettle"}
  - name: mash
    template: Vessel
    opcua: {port: 4840, namespace: "urn:x:brewhouse"}
    modbus: {port: 5020}
    tags:
      - {name: rate, unit: bottles/min, model: {constant: {value: 3}}, modbus: {table: holding, address: 0, type: uint16}}
`

// proc is a running otwin command.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *lockedLines
	stderr *lockedLines
	done   chan struct{}
	err    error
}

// lockedLines collects a stream's lines.
type lockedLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lockedLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *lockedLines) follow(r io.Reader, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.mu.Unlock()
	}
}

// startProc runs bin with args; it is killed when the test ends.
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GORACE="+noRaceExitSleep())
	outR, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, stdout: &lockedLines{}, stderr: &lockedLines{}, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go p.stdout.follow(outR, &wg)
	go p.stderr.follow(errR, &wg)
	go func() {
		wg.Wait()
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), strings.Join(p.stdout.all(), "\n"), strings.Join(p.stderr.all(), "\n"))
		}
	})
	return p
}

// stop sends sig and returns how long the process took to exit, less the
// time the machine gave the test no CPU (testkit.Stopwatch: a loaded
// machine delays every process alike); it fails the test when it has not
// exited within 10 s or exited with an error.
func (p *proc) stop(sig syscall.Signal) time.Duration {
	p.t.Helper()
	sw := testkit.StartStopwatch()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("no exit within 10s of %v", sig)
	}
	wall, stalled := sw.Stop()
	if p.err != nil {
		p.t.Errorf("exit after %v: %v", sig, p.err)
	}
	p.t.Logf("exited %v after %v (%v of it the machine gave the test no CPU)", wall, sig, stalled)
	return wall - stalled
}

// sshAddr waits for the SSH address that ssh and workshop print.
func (p *proc) sshAddr() string {
	p.t.Helper()
	var addr string
	waitUntil(p.t, 30*time.Second, "the SSH address on stdout", func() bool {
		for _, l := range p.stdout.all() {
			if _, rest, ok := strings.Cut(l, " on "); ok {
				addr, _, _ = strings.Cut(rest, " ")
				return true
			}
		}
		return false
	})
	return addr
}

// noRaceExitSleep is GORACE with the race detector's sleep before exit
// (1 s by default) turned off, so that a -race build exits as soon as a
// plain one does.
func noRaceExitSleep() string {
	return strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
}

// readJSON waits for path and decodes it into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	waitUntil(t, 30*time.Second, path, func() bool {
		data, err := os.ReadFile(path)
		return err == nil && json.Unmarshal(data, v) == nil
	})
}

// TestE2EProcess builds otwin and runs it as a user does.
func TestE2EProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the otwin binary; skipped with -short")
	}
	bin := buildDemoBinary(t, t.TempDir())
	t.Run("namespaces-export-watch", func(t *testing.T) { t.Parallel(); processNamespaces(t, bin) })
	t.Run("sim-sigint", func(t *testing.T) { t.Parallel(); processSimStop(t, bin, syscall.SIGINT) })
	t.Run("sim-sigterm", func(t *testing.T) { t.Parallel(); processSimStop(t, bin, syscall.SIGTERM) })
	t.Run("ssh-scenario", func(t *testing.T) { t.Parallel(); processSSHStop(t, bin, "ssh") })
	t.Run("workshop", func(t *testing.T) { t.Parallel(); processSSHStop(t, bin, "workshop") })
}

// processNamespaces: two machines on one port in two namespaces are
// served, listed in the ready file, exported and read by `otwin watch`
// with every tag Good.
func processNamespaces(t *testing.T, bin string) {
	dir := t.TempDir()
	scPath := filepath.Join(dir, "brew.yaml")
	if err := os.WriteFile(scPath, []byte(brewScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "validate", scPath).CombinedOutput(); err != nil {
		t.Fatalf("otwin validate: %v\n%s", err, out)
	}
	ready, export := filepath.Join(dir, "twin.json"), filepath.Join(dir, "sources.yaml")
	sim := startProc(t, bin, "sim", scPath, "--ephemeral", "--ready-file", ready, "--export-sources", export, "--data-dir", filepath.Join(dir, "sim"))
	var rf readyFile
	readJSON(t, ready, &rf)
	byMachine := map[string]endpoint{}
	for _, ep := range rf.Endpoints {
		if ep.Protocol == "opcua" {
			byMachine[ep.Machine] = ep
		}
	}
	k, m := byMachine["kettle"], byMachine["mash"]
	if k.URL == "" || k.URL != m.URL || k.Namespace != "urn:x:kettle" || m.Namespace != "urn:x:brewhouse" {
		t.Fatalf("ready file OPC UA endpoints: %+v", rf.Endpoints)
	}
	f, err := sources.Load(export)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]string{}
	for _, s := range f.Sources {
		for _, p := range s.Points {
			nodes[p.Asset+"/"+p.Tag] = p.Address
		}
	}
	for id, want := range map[string]string{
		"brewery/hot-side/kettle/temp":  "nsu=urn:x:kettle;s=temp",
		"brewery/hot-side/mash/temp":    "nsu=urn:x:brewhouse;s=temp",
		"brewery/hot-side/mash/level":   "nsu=urn:x:brewhouse;s=brewery/hot-side/mash/level",
		"brewery/hot-side/kettle/level": "nsu=urn:x:kettle;s=brewery/hot-side/kettle/level",
	} {
		if nodes[id] != want {
			t.Errorf("exported %s = %q, want %q", id, nodes[id], want)
		}
	}

	watch := startProc(t, bin, "watch", export, "--headless", "--data-dir", filepath.Join(dir, "watch"), "--log-level", "error")
	ids := pointIDs(f)
	type sample struct{ Type, ID, Quality, Status string }
	latest := func() (map[string]sample, []string) {
		got := map[string]sample{}
		var bad []string
		for _, l := range watch.stdout.all() {
			var s sample
			if json.Unmarshal([]byte(l), &s) != nil || s.Type != "sample" {
				continue
			}
			got[s.ID] = s
			if s.Status == "Bad_NodeIdUnknown" {
				bad = append(bad, s.ID)
			}
		}
		return got, bad
	}
	ok := pollUntil(30*time.Second, func() bool {
		got, bad := latest()
		if len(bad) > 0 {
			return true
		}
		for _, id := range ids {
			if got[id].Quality != "Good" {
				return false
			}
		}
		return true
	})
	got, bad := latest()
	if len(bad) > 0 {
		t.Fatalf("unknown node ids read: %v", bad)
	}
	if !ok {
		t.Fatalf("not every tag Good within 30s: %+v", got)
	}
	t.Logf("%d tags Good through otwin watch: %v", len(ids), ids)
	if d := watch.stop(syscall.SIGINT); d > exitBound {
		t.Errorf("otwin watch exited %v after SIGINT, want within %v", d, exitBound)
	}
	if d := sim.stop(syscall.SIGTERM); d > exitBound {
		t.Errorf("otwin sim exited %v after SIGTERM, want within %v", d, exitBound)
	}
}

// processSimStop: sim with a subscribed OPC UA client, an OPC UA
// connection at the Hello stage and a Modbus connection exits within
// exitBound of sig, its clients see their connections closed, and its
// ready file is gone.
func processSimStop(t *testing.T, bin string, sig syscall.Signal) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "twin.json")
	sim := startProc(t, bin, "sim", "bottling", "--ephemeral", "--ready-file", ready, "--data-dir", filepath.Join(dir, "data"))
	var rf readyFile
	readJSON(t, ready, &rf)
	var uaURL, mbAddr string
	for _, ep := range rf.Endpoints {
		switch {
		case ep.Protocol == "opcua" && uaURL == "":
			uaURL = ep.URL
		case ep.Protocol == "modbus" && mbAddr == "":
			mbAddr = ep.Address
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := uapeer.Connect(ctx, uaURL, opcua.SecurityMode(gua.MessageSecurityModeNone), opcua.AutoReconnect(false))
	if err != nil {
		t.Fatalf("connect %s: %v", uaURL, err)
	}
	defer c.Close(context.Background())
	notes := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, notes)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.FindNamespace(ctx, "urn:otwin:bottling")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, opcua.NewMonitoredItemCreateRequestWithDefaults(
		gua.NewStringNodeID(ns, "acme/springfield/packaging/line1/filling/filler1/speed"), gua.AttributeIDValue, 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-notes:
	case <-ctx.Done():
		t.Fatal("no notification before the signal")
	}
	u, _ := url.Parse(uaURL)
	helloOnly, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer helloOnly.Close()
	mb, err := net.Dial("tcp", mbAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	// A Modbus read answered: the connection is served.
	if _, err := mb.Write([]byte{0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(mb, make([]byte, 9)); err != nil {
		t.Fatalf("modbus read before the signal: %v", err)
	}

	if d := sim.stop(sig); d > exitBound {
		t.Errorf("otwin sim exited %v after %v, want within %v", d, sig, exitBound)
	} else {
		t.Logf("otwin sim exited %v after %v", d.Round(time.Millisecond), sig)
	}
	if _, err := os.Stat(ready); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready file still there after exit: %v", err)
	}
	// Every connection was closed by the server, with a FIN: reads end
	// with EOF, not a reset.
	for name, conn := range map[string]net.Conn{"opc ua (before hello)": helloOnly, "modbus": mb} {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Errorf("%s connection: %v, want a clean close (EOF)", name, err)
		}
	}
	if _, err := c.Node(gua.NewStringNodeID(ns, "acme/springfield/packaging/line1/filling/filler1/speed")).Value(ctx); err == nil {
		t.Error("the subscribed gopcua client still reads after the exit")
	}
}

// processSSHStop: `otwin ssh --scenario` or `otwin workshop` with a
// dashboard session open exits within exitBound of SIGTERM, and the
// session's connection is closed.
func processSSHStop(t *testing.T, bin, command string) {
	dir := t.TempDir()
	users, usersPath := writeUsers(t, dir, [][2]string{{"tom", "trainer"}})
	args := []string{command}
	if command == "ssh" {
		args = append(args, "--scenario")
	}
	args = append(args, "bottling", "--users", usersPath, "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"))
	if command == "workshop" {
		args = append(args, "--report-dir", filepath.Join(dir, "debrief"))
	}
	p := startProc(t, bin, args...)
	addr := p.sshAddr()
	c, err := dialSSH(addr, "tom", gossh.PublicKeys(users["tom"].signer))
	if err != nil {
		t.Fatalf("ssh %s: %v", addr, err)
	}
	defer c.Close()
	tm := openTerm(t, c)
	tm.waitText(30*time.Second, "tom (trainer)")
	d := p.stop(syscall.SIGTERM)
	if d > exitBound {
		t.Errorf("otwin %s exited %v after SIGTERM, want within %v", command, d, exitBound)
	} else {
		t.Logf("otwin %s exited %v after SIGTERM", command, d.Round(time.Millisecond))
	}
	if !pollUntil(time.Second, tm.closed) {
		t.Errorf("the SSH session is still open after otwin %s exited", command)
	}
	if command == "workshop" {
		if _, err := os.Stat(filepath.Join(dir, "debrief")); err != nil {
			t.Errorf("no debrief written on exit: %v", err)
		}
	}
}
