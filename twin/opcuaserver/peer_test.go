package opcuaserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/uapeer"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/internal/testkit"
)

// Peers are client and server processes that are not this package: the
// test binary itself re-run as a gopcua client (so that its CPU and its
// death are its own), and node-opcua's client and server (testdata/node,
// installed by `npm ci` there; tests skip without it). Every
// peer speaks the same line protocol on stdout: "ready" once subscribed,
// "count <n>" with the data change notifications received so far,
// "listening <url>" and "ran <k>" for the node-opcua server.

// peerEnv makes the test binary run as a peer instead of the tests.
const peerEnv = "OTWIN_OPCUA_PEER"

// runPeer runs the peer named by the environment and returns its exit
// code. Modes: "gopcua" subscribes to every node of OTWIN_OPCUA_NODES on
// OTWIN_OPCUA_URL with gopcua's defaults and counts.
func runPeer(mode string) int {
	var err error
	switch mode {
	case "gopcua":
		err = gopcuaPeer(os.Getenv("OTWIN_OPCUA_URL"), os.Getenv("OTWIN_OPCUA_NODES"))
	default:
		err = fmt.Errorf("unknown peer %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		return 1
	}
	return 0
}

// gopcuaPeer is a gopcua subscriber with the library's defaults: one
// subscription with no parameters (10,000 notifications per publish, one
// Publish request in flight), every node monitored with
// NewMonitoredItemCreateRequestWithDefaults, in calls of 1000 items. Only
// the request timeout is longer (a minute).
func gopcuaPeer(url, nodesFile string) error {
	data, err := os.ReadFile(nodesFile)
	if err != nil {
		return err
	}
	ids := strings.Fields(string(data))
	ctx := context.Background()
	// A longer request timeout than the default 10 s, for a busy machine;
	// it changes nothing of what is delivered.
	c, err := uapeer.Connect(ctx, url, opcua.SecurityMode(gua.MessageSecurityModeNone), opcua.RequestTimeout(time.Minute))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	var count atomic.Int64
	ch := make(chan *opcua.PublishNotificationData, 64)
	go func() {
		for d := range ch {
			if dc, ok := d.Value.(*gua.DataChangeNotification); ok {
				count.Add(int64(len(dc.MonitoredItems)))
			}
		}
	}()
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{}, ch)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(ids); lo += 1000 {
		var reqs []*gua.MonitoredItemCreateRequest
		for k, s := range ids[lo:min(lo+1000, len(ids))] {
			n, err := gua.ParseNodeID(s)
			if err != nil {
				return err
			}
			reqs = append(reqs, opcua.NewMonitoredItemCreateRequestWithDefaults(n, gua.AttributeIDValue, uint32(lo+k)))
		}
		res, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, reqs...)
		if err != nil {
			return err
		}
		for _, r := range res.Results {
			if r.StatusCode != gua.StatusOK {
				return fmt.Errorf("monitor: %v", r.StatusCode)
			}
		}
	}
	fmt.Println("ready")
	quit := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "quit" {
				break
			}
		}
		close(quit)
	}()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fmt.Println("count", count.Load())
		case <-quit:
			fmt.Println("count", count.Load())
			return sub.Cancel(ctx)
		}
	}
}

// peer is a running peer process.
type peer struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	count atomic.Int64 // the last "count"
	mu    sync.Mutex
	lines []string // every line that is not a count
	more  chan struct{}
	exit  chan struct{}
	err   error // after exit
}

// startPeer starts cmd as a peer; it is stopped when tb ends.
func startPeer(tb testing.TB, name string, cmd *exec.Cmd) *peer {
	tb.Helper()
	p := &peer{name: name, cmd: cmd, more: make(chan struct{}, 1), exit: make(chan struct{})}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p.stdin = stdin
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "count "); ok {
				v, _ := strconv.ParseInt(n, 10, 64)
				p.count.Store(v)
				continue
			}
			p.mu.Lock()
			p.lines = append(p.lines, line)
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
		err := cmd.Wait()
		if s := strings.TrimSpace(stderr.String()); s != "" {
			err = fmt.Errorf("%v: %s", err, lastLines(s, 5))
		}
		p.err = err
		close(p.exit)
	}()
	tb.Cleanup(p.stop)
	return p
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// await waits for a line starting with prefix and returns it.
func (p *peer) await(prefix string, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		for ; seen < len(p.lines); seen++ {
			if strings.HasPrefix(p.lines[seen], prefix) {
				l := p.lines[seen]
				p.lines = append(p.lines[:seen], p.lines[seen+1:]...)
				p.mu.Unlock()
				return l, nil
			}
		}
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-p.exit:
			return "", fmt.Errorf("%s exited before %q: %v", p.name, prefix, p.err)
		case <-deadline.C:
			return "", fmt.Errorf("%s: no %q within %v", p.name, prefix, timeout)
		}
	}
}

// send writes a command line to the peer.
func (p *peer) send(cmd string) { _, _ = io.WriteString(p.stdin, cmd+"\n") }

// settle waits until the count has not grown for quiet, or timeout.
func (p *peer) settle(quiet, timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	last, since := p.count.Load(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < quiet {
		time.Sleep(50 * time.Millisecond)
		if n := p.count.Load(); n != last {
			last, since = n, time.Now()
		}
	}
	return last
}

// cpu is the peer's user and system CPU time so far.
func (p *peer) cpu() time.Duration { return procCPU(p.cmd.Process.Pid) }

// stop asks the peer to quit and kills it after 10 s.
func (p *peer) stop() {
	select {
	case <-p.exit:
		return
	default:
	}
	p.send("quit")
	_ = p.stdin.Close()
	select {
	case <-p.exit:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exit
	}
}

// kill ends the peer with SIGKILL, as a crash would.
func (p *peer) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exit
}

// procCPU reads the user and system CPU time of process pid.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// gopcuaClient starts this test binary as a gopcua subscriber of nodes.
func gopcuaClient(tb testing.TB, url string, nodes []string) *peer {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "nodes.txt")
	if err := os.WriteFile(file, []byte(strings.Join(nodes, "\n")), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), peerEnv+"=gopcua", "OTWIN_OPCUA_URL="+url, "OTWIN_OPCUA_NODES="+file)
	return startPeer(tb, "gopcua client", cmd)
}

// nodeClient starts node-opcua's client with its defaults subscribed to
// nodes (subscriber.js).
func nodeClient(tb testing.TB, url string, nodes []string) *peer {
	tb.Helper()
	node, dir := nodePeer(tb)
	file := filepath.Join(tb.TempDir(), "nodes.txt")
	if err := os.WriteFile(file, []byte(strings.Join(nodes, "\n")), 0o644); err != nil {
		tb.Fatal(err)
	}
	return startPeer(tb, "node-opcua client", exec.Command(node, filepath.Join(dir, "subscriber.js"), url, file))
}

// nodeServer starts node-opcua's server with tags counters changing every
// tick while running; it returns the peer, its URL and its node ids.
func nodeServer(tb testing.TB, tags int, tick time.Duration) (*peer, string, []string) {
	tb.Helper()
	node, dir := nodePeer(tb)
	port := testkit.FreePort(tb)
	p := startPeer(tb, "node-opcua server", exec.Command(node, filepath.Join(dir, "server.js"),
		strconv.Itoa(port), strconv.Itoa(tags), strconv.Itoa(int(tick.Milliseconds()))))
	line, err := p.await("listening ", 5*time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	// node-opcua listens on every interface and advertises the host
	// name; the tests stay on loopback.
	_ = line
	url := "opc.tcp://127.0.0.1:" + strconv.Itoa(port)
	ids := make([]string, tags)
	for k := range ids {
		ids[k] = "ns=1;s=t" + strconv.Itoa(k)
	}
	return p, url, ids
}
