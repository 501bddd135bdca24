package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/tbrandon/mbserver"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/sources"
)

// floodServerEnv tells this test binary, run as a child process by
// TestE2EAlarmFlood, which server to be: "opcua:<port>" or
// "modbus:<port>".
const floodServerEnv = "OTWIN_FLOOD_SERVER"

// floodNS is the namespace of the OPC UA server's variables.
const floodNS = "urn:otwin:flood"

// TestE2EAlarmFlood: when endpoints die, each raises one alert, its
// comm_loss, and nothing else. Two endpoints served by servers that are
// not ours (gopcua's own OPC UA server, tbrandon/mbserver as it comes),
// each in a process of its own, are read by the real
// connectors, pipeline and store (the collector of a sources file, as
// `otwin watch` runs it), with stale and comm-loss limits short enough to
// fire within the test. The processes are killed: each endpoint raises
// exactly one comm_loss, every tag shows
// Uncertain_NoCommunicationLastUsableValue with its last good value, and
// no other alert rises while the outage lasts (longer than the stale
// limit). Started again on the same ports, the endpoints recover: both
// comm_loss alerts return to normal, every tag is Good, and the two
// comm_loss alerts, waiting for their acknowledgement, are all that is
// left.
func TestE2EAlarmFlood(t *testing.T) {
	t.Parallel()
	uaPort, mbPort := floodPort(t), floodPort(t)
	ua := startFloodServer(t, "opcua", uaPort)
	mb := startFloodServer(t, "modbus", mbPort)
	const limit = 2 * time.Second // stale and comm_loss
	f, err := sources.Parse("flood.yaml", fmt.Appendf(nil, `
defaults: {stale: 2s, comm_loss: 2s}
sources:
  - name: ua
    opcua: {url: "opc.tcp://127.0.0.1:%d", security_mode: None, publishing_interval: 100ms, timeout: 1s}
    points:
      - {node: "nsu=%s;s=v", asset: plant/ua, tag: v}
      - {node: "nsu=%s;s=w", asset: plant/ua, tag: w}
  - name: mb
    modbus: {address: "127.0.0.1:%d", poll_interval: 100ms, timeout: 300ms}
    points:
      - {register: "holding:0:int16", asset: plant/mb, tag: a}
      - {register: "holding:1:int16", asset: plant/mb, tag: b}
`, uaPort, floodNS, floodNS, mbPort))
	if err != nil {
		t.Fatal(err)
	}
	col := startE2ECollector(t, f)
	ids := pointIDs(f)
	allGood := func() bool {
		for _, id := range ids {
			if s, ok := col.Store.Latest(id); !ok || !s.Status.IsGood() {
				return false
			}
		}
		return true
	}
	waitUntil(t, 20*time.Second, "every tag Good", allGood)
	if a := col.Rec.Alerts(); len(a) != 0 {
		t.Fatalf("alerts before any outage: %+v", a)
	}

	mark := col.Rec.Mark()
	killed := time.Now()
	ua.kill()
	mb.kill()
	for _, src := range []string{"ua", "mb"} {
		waitUntil(t, 2*limit+3*time.Second, "comm_loss:"+src+" raised", func() bool {
			_, _, ok := col.Rec.AlertSince(mark, "comm_loss:"+src, normalize.EventRaised)
			return ok
		})
		rec, _, _ := col.Rec.AlertSince(mark, "comm_loss:"+src, normalize.EventRaised)
		t.Logf("comm_loss:%s raised %s after the kill: %s", src, rec.At.Sub(killed).Round(time.Millisecond), rec.Alert.Message)
		if !strings.Contains(rec.Alert.Message, "no answer for") || !strings.Contains(rec.Alert.Message, strconv.Itoa(map[string]int{"ua": uaPort, "mb": mbPort}[src])) {
			t.Errorf("comm_loss:%s says %q: want the outage and its cause, naming the endpoint", src, rec.Alert.Message)
		}
	}
	for _, id := range ids {
		waitUntil(t, 3*time.Second, id+" Uncertain with its last good value", func() bool {
			s, ok := col.Store.Latest(id)
			return ok && s.Status == connectors.UncertainNoCommunicationLastUsableValue && s.HasLastGood && s.Value == s.LastGood
		})
	}
	// The outage goes on past the stale limit, the Modbus connector
	// reporting the silence at every poll: nothing more may rise.
	n := col.Rec.Count("plant/mb/a")
	waitUntil(t, 10*time.Second, "another 2 stale limits of outage", func() bool {
		return time.Since(killed) > 3*limit && col.Rec.Count("plant/mb/a") > n+10
	})
	transitions := func(from int) []string {
		var out []string
		for _, r := range col.Rec.Alerts()[from:] {
			out = append(out, r.Transition+" "+r.Alert.ID)
		}
		return out
	}
	if got := transitions(mark); len(got) != 2 {
		t.Fatalf("alert transitions during the outage: %v; want comm_loss:ua and comm_loss:mb raised, nothing else", got)
	}

	startFloodServer(t, "opcua", uaPort) // the test's end kills them
	startFloodServer(t, "modbus", mbPort)
	for _, src := range []string{"ua", "mb"} {
		waitUntil(t, 15*time.Second, "comm_loss:"+src+" cleared", func() bool {
			_, _, ok := col.Rec.AlertSince(mark, "comm_loss:"+src, normalize.EventCleared)
			return ok
		})
	}
	waitUntil(t, 10*time.Second, "every tag Good again", allGood)
	if got := transitions(mark); len(got) != 4 {
		t.Errorf("alert transitions from the kill to the recovery: %v; want each comm_loss raised and cleared, nothing else", got)
	}
	left := col.Store.Alerts()
	if len(left) != 2 {
		t.Fatalf("alerts left: %+v; want the two comm_loss alone", left)
	}
	for _, a := range left {
		if a.Kind != normalize.AlertCommLoss || a.State != normalize.RTNUnacked {
			t.Errorf("left: %s %s, want comm_loss returned to normal, waiting for its acknowledgement", a.ID, a.State)
		}
		if err := col.Store.Ack(a.ID, "ana", "servers restarted"); err != nil {
			t.Error(err)
		}
	}
	if left := col.Store.Alerts(); len(left) != 0 {
		t.Errorf("alerts left after acknowledging both comm_loss: %+v", left)
	}
}

// floodPort returns a port free on 127.0.0.1 a moment ago (gopcua's server
// and mbserver cannot listen on port 0 and tell the port).
func floodPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// floodServer is a server process started by startFloodServer.
type floodServer struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startFloodServer runs this test binary as a child process serving kind
// on port, and returns once it listens. The test's end kills it.
func startFloodServer(t *testing.T, kind string, port int) *floodServer {
	t.Helper()
	// Its standard input closes when this process ends: then it exits.
	cmd, stdin, stdout := startTestProcess(t, "TestE2EFloodServerProcess", fmt.Sprintf("%s=%s:%d", floodServerEnv, kind, port))
	s := &floodServer{cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "FLOOD "); ok {
				select {
				case ready <- l:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill(); stdin.Close() })
	select {
	case line := <-ready:
		if line != "ready" {
			t.Fatalf("%s server process: %q", kind, line)
		}
	case <-s.done:
		t.Fatalf("%s server process on port %d exited before it listened", kind, port)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s server process on port %d not listening within 20s", kind, port)
	}
	return s
}

// kill kills the server process (SIGKILL: the kernel closes its
// connections) and waits for it.
func (s *floodServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// TestE2EFloodServerProcess is the server process of TestE2EAlarmFlood:
// it serves what floodServerEnv says, prints "FLOOD ready" once it listens, and
// serves until it is killed or its parent goes away (standard input
// closes).
func TestE2EFloodServerProcess(t *testing.T) {
	spec := os.Getenv(floodServerEnv)
	if spec == "" {
		t.Skip("the server process of TestE2EAlarmFlood")
	}
	kind, port, _ := strings.Cut(spec, ":")
	switch kind {
	case "opcua":
		p, _ := strconv.Atoi(port)
		serveGopcua(t, p)
	case "modbus":
		s := mbserver.NewServer()
		s.HoldingRegisters[0], s.HoldingRegisters[1] = 7, 8
		if err := s.ListenTCP("127.0.0.1:" + port); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("%s=%q", floodServerEnv, spec)
	}
	fmt.Println("FLOOD ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// serveGopcua serves variables v and w of floodNS with gopcua's own
// server, both changing every 100ms (a subscription sends nothing while a
// value is steady, and the stale limit is short).
func serveGopcua(t *testing.T, port int) {
	srv := server.New(
		server.EndPoint("127.0.0.1", port),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
		server.SetLogger(quietOPCUALog{}),
	)
	ns := server.NewNodeNameSpace(srv, floodNS)
	var tick atomic.Int64
	value := func(base float64) func() *ua.DataValue {
		return func() *ua.DataValue {
			now := time.Now()
			return &ua.DataValue{
				EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
				Value:           ua.MustVariant(base + float64(tick.Load()%50)),
				SourceTimestamp: now,
				ServerTimestamp: now,
			}
		}
	}
	for name, base := range map[string]float64{"v": 20, "w": 100} {
		n := ns.AddNewVariableStringNode(name, value(base))
		ns.Objects().AddRef(n, id.Organizes, true)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range time.Tick(100 * time.Millisecond) {
			tick.Add(1)
			for _, name := range []string{"v", "w"} {
				ns.ChangeNotification(ua.NewStringNodeID(ns.ID(), name))
			}
		}
	}()
}

// quietOPCUALog discards the gopcua server's log.
type quietOPCUALog struct{}

func (quietOPCUALog) Debug(string, ...any) {}
func (quietOPCUALog) Info(string, ...any)  {}
func (quietOPCUALog) Warn(string, ...any)  {}
func (quietOPCUALog) Error(string, ...any) {}
