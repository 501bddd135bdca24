package opcuaserver

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"

	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// injectLink injects a machine fault on the opcua protocol and makes the
// door see it at once; the returned func clears it.
func injectLink(t *testing.T, f scenarios.Fault) func() {
	t.Helper()
	f.Protocol = "opcua"
	if err := eng.Inject(f); err != nil {
		t.Fatal(err)
	}
	srvA.door.Refresh()
	done := false
	clear := func() {
		if !done {
			done = true
			eng.Clear(f.Name)
			srvA.door.Refresh()
		}
	}
	t.Cleanup(clear)
	return clear
}

func TestLatencyDelaysRead(t *testing.T) {
	c := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	const lat = 300 * time.Millisecond
	clear := injectLink(t, scenarios.Fault{Name: "t-lat", Kind: scenarios.Latency, Target: "capper1", Latency: scenarios.Duration(lat)})
	start := time.Now()
	read(t, c, n)
	if d := time.Since(start); d < lat {
		t.Errorf("read took %v with %v latency", d, lat)
	}
	clear()
}

func TestDownRefusesAndDrops(t *testing.T) {
	open := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	read(t, open, n)

	// One machine of two down: the endpoint still answers.
	clearFiller := injectLink(t, scenarios.Fault{Name: "t-down1", Kind: scenarios.CommLoss, Target: "filler1"})
	read(t, open, n)
	dropped := srvA.ConnStats().Dropped

	clearCapper := injectLink(t, scenarios.Fault{Name: "t-down2", Kind: scenarios.CommLoss, Target: "capper1"})
	if c, err := dial(srvA.URL()); err == nil {
		c.Close(context.Background())
		t.Fatal("connected while every machine of the endpoint is down")
	}
	if srvA.ConnStats().Dropped <= dropped {
		t.Errorf("open connection not dropped: %+v", srvA.ConnStats())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := open.Read(ctx, &gua.ReadRequest{NodesToRead: []*gua.ReadValueID{{NodeID: n, AttributeID: gua.AttributeIDValue}}}); err == nil {
		t.Error("read on a dropped connection succeeded")
	}
	clearCapper()
	clearFiller()
	read(t, connect(t, srvA.URL()), n)
}

func TestDisconnectDropsOpenConnections(t *testing.T) {
	open := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	read(t, open, n)
	dropped := srvA.ConnStats().Dropped
	injectLink(t, scenarios.Fault{Name: "t-disc", Kind: scenarios.Disconnect, Target: "filler1"})
	if srvA.ConnStats().Dropped <= dropped {
		t.Fatalf("no connection dropped: %+v", srvA.ConnStats())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := open.Read(ctx, &gua.ReadRequest{NodesToRead: []*gua.ReadValueID{{NodeID: n, AttributeID: gua.AttributeIDValue}}}); err == nil {
		t.Error("read on a dropped connection succeeded")
	}
	read(t, connect(t, srvA.URL()), n)
}

func hello(recv, send, maxMsg uint32, url string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0x464c4548) // HELF
	b = binary.LittleEndian.AppendUint32(b, uint32(32+len(url)))
	for _, v := range []uint32{0, recv, send, maxMsg, 0, uint32(len(url))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return append(b, url...)
}

// TestBadInputKeepsServing sends hostile first messages and chunks while
// a good client keeps reading; each bad connection must end with an ERR
// (or a close), the good client must see no error, and the process must
// not crash.
func TestBadInputKeepsServing(t *testing.T) {
	good := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads int
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := good.Read(ctx, &gua.ReadRequest{NodesToRead: []*gua.ReadValueID{{NodeID: n, AttributeID: gua.AttributeIDValue}}})
			cancel()
			if err != nil {
				readErr = err
				return
			}
			reads++
		}
	}()

	huge := hello(65536, 65536, 0, "opc.tcp://x")
	binary.LittleEndian.PutUint32(huge[4:], 0xFFFFFFF0)
	goodHello := hello(65536, 65536, 0, srvA.URL())
	tests := []struct {
		name    string
		send    []byte
		afterOK []byte // sent after the ACK of a good hello
		code    uint32 // expected ERR code; 0: any
	}{
		{name: "zero buffer sizes", send: hello(0, 0, 0, "opc.tcp://x"), code: 0x80820000},
		{name: "zero send buffer", send: hello(65536, 0, 0, "opc.tcp://x"), code: 0x80820000},
		{name: "tiny max message size", send: hello(65536, 65536, 100, "opc.tcp://x"), code: 0x80820000},
		{name: "truncated hello", send: goodHello[:20], code: 0x800A0000},
		{name: "short header", send: []byte("HEL"), code: 0x800A0000},
		{name: "garbage", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), code: 0x807E0000},
		{name: "huge message size", send: huge, code: 0x80800000},
		{name: "url longer than hello", send: func() []byte {
			b := hello(65536, 65536, 0, "opc.tcp://x")
			binary.LittleEndian.PutUint32(b[28:], 4000)
			return b
		}(), code: 0x80070000},
		{name: "chunk size below header", send: goodHello, afterOK: []byte{'M', 'S', 'G', 'F', 3, 0, 0, 0}, code: 0x80800000},
		{name: "chunk larger than buffer", send: goodHello, afterOK: []byte{'O', 'P', 'N', 'F', 0, 0, 0, 1}, code: 0x80800000},
		{name: "unknown chunk type", send: goodHello, afterOK: []byte("XYZF\x20\x00\x00\x00"), code: 0x807E0000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rejected := srvA.ConnStats().Rejected
			conn, err := net.Dial("tcp", srvA.door.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			if tt.afterOK != nil {
				ack := make([]byte, 28)
				if _, err := io.ReadFull(conn, ack); err != nil || string(ack[:4]) != "ACKF" {
					t.Fatalf("no ACK for a good hello: %q %v", ack, err)
				}
				if _, err := conn.Write(tt.afterOK); err != nil {
					t.Fatal(err)
				}
			}
			got, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("connection not closed: %v (read %q)", err, got)
			}
			if len(got) < 16 || string(got[:4]) != "ERRF" {
				t.Fatalf("got %q, want an ERR message", got)
			}
			if code := binary.LittleEndian.Uint32(got[8:]); tt.code != 0 && code != tt.code {
				t.Errorf("ERR code %#x, want %#x (%s)", code, tt.code, got[16:])
			}
			if srvA.ConnStats().Rejected <= rejected {
				t.Errorf("rejection not counted: %+v", srvA.ConnStats())
			}
		})
	}
	close(stop)
	wg.Wait()
	if readErr != nil || reads == 0 {
		t.Errorf("good client: %d reads, error %v", reads, readErr)
	}
}

func TestMaxConnections(t *testing.T) {
	f := newFakeSource()
	f.addMachine("m", scenarios.Location{}, twin.TagInfo{Name: "x"})
	cfg := DefaultConfig("m")
	cfg.DataDir = testDir
	cfg.MaxConnections = 2
	cfg.HelloTimeout = 5 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Not started: Close does not pay the stack's shutdown wait, and the
	// door still accepts into its backlog; start the door alone.
	defer s.Close()
	s.door.Start(func(c net.Conn) { io.Copy(io.Discard, c) })
	// Two live connections (a Hello and a message sent, within
	// IdleAfter): the third is refused. An idle one would make room
	// instead (TestIdleSocketsDoNotLockOut).
	opn := append([]byte("OPNF\x18\x00\x00\x00"), make([]byte, 16)...)
	for range 2 {
		c, err := net.Dial("tcp", s.door.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(append(hello(65536, 65536, 0, ""), opn...)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 3*time.Second, "two connections active", func() bool { return s.ConnStats().Accepted == 2 })
	c, err := net.Dial("tcp", s.door.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	if len(got) < 12 || string(got[:4]) != "ERRF" || binary.LittleEndian.Uint32(got[8:]) != 0x80810000 {
		t.Errorf("third connection got %q, want ERR Bad_TcpNotEnoughResources", got)
	}
	if s.ConnStats().Refused != 1 {
		t.Errorf("stats %+v", s.ConnStats())
	}
}

func TestNewErrors(t *testing.T) {
	f := newFakeSource()
	f.addMachine("m", scenarios.Location{Site: "s"}, twin.TagInfo{Name: "x"}, twin.TagInfo{Name: "y", NodeID: "s/m/x"})
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"unknown machine", func(c *Config) { c.Machines = []string{"nope"} }, `unknown machine "nope"`},
		{"duplicate node id", func(c *Config) {}, `node id "s/m/x" of tag m/y is already used by tag m/x in namespace urn:otwin:twin`},
		{"bad security", func(c *Config) { c.Security = []string{"tls"} }, `security mode "tls"`},
		{"nobody can log in", func(c *Config) { c.Anonymous = false }, "nobody can log in"},
		{"bad port", func(c *Config) { c.Port = 70000 }, "port 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig("m")
			cfg.DataDir = testDir
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			tt.cfg(&cfg)
			s, err := New(f, cfg)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestStartAfterClose(t *testing.T) {
	f := newFakeSource()
	f.addMachine("m", scenarios.Location{}, twin.TagInfo{Name: "x"})
	cfg := DefaultConfig("m")
	cfg.DataDir = testDir
	s, err := New(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start after Close succeeded")
	}
	if c, err := net.DialTimeout("tcp", s.door.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("socket still open after Close")
	}
}

// TestRandomChunksKeepServing sends random chunks (random bodies, wild
// OPN fields) after a good Hello, 32 connections at a time, and checks
// the server still serves: bodies are the stack's to decode, and none may
// crash the process.
func TestRandomChunksKeepServing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const total, parallel = 64, 32
	msgs := make([][]byte, total)
	for i := range msgs {
		typ := []string{"OPNF", "MSGF", "CLOF", "MSGC", "MSGA"}[r.IntN(5)]
		body := make([]byte, 8+r.IntN(300))
		for k := range body {
			body[k] = byte(r.IntN(256))
		}
		if typ == "OPNF" && r.IntN(2) == 0 {
			// channel id 0 and a wild security policy length
			binary.LittleEndian.PutUint32(body[0:], 0)
			binary.LittleEndian.PutUint32(body[4:], uint32(r.Int32()))
		}
		msgs[i] = append(binary.LittleEndian.AppendUint32([]byte(typ), uint32(8+len(body))), body...)
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, msg := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := net.Dial("tcp", srvA.door.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
			conn.Write(hello(65536, 65536, 0, srvA.URL()))
			io.ReadFull(conn, make([]byte, 28))
			conn.Write(msg)
			io.Copy(io.Discard, conn)
		}()
	}
	wg.Wait()
	read(t, connect(t, srvA.URL()), nodeOf(t, srvA, "filler1/level"))
}
