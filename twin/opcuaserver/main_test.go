package opcuaserver

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// The shared fixture: one engine on testdata/line.yaml, server A (every
// security mode, anonymous read-only, users op (write) and viewer) serving
// filler1 and capper1, and server B (sign_encrypt only, no anonymous)
// serving filler1. Both are closed together in TestMain.
var (
	eng       *twin.Engine
	srvA      *Server
	srvB      *Server
	clientDER []byte
	testDir   string // DataDir of every test server: one certificate
	clientKey *rsa.PrivateKey
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(peerEnv); mode != "" {
		os.Exit(runPeer(mode))
	}
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	flag.Parse()
	data, err := os.ReadFile("testdata/line.yaml")
	if err != nil {
		return 0, err
	}
	sc, err := scenarios.Parse("testdata/line.yaml", data)
	if err != nil {
		return 0, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.Default()
	}
	eng, err = twin.New(sc, twin.Options{Logger: log})
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "opcuaserver-test")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	testDir = dir

	certPEM, keyPEM, err := generateCertificate("urn:otwin:test:client", nil)
	if err != nil {
		return 0, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	clientDER = cb.Bytes
	if clientKey, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
		return 0, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfgA := DefaultConfig("filler1", "capper1")
	cfgA.DataDir = dir
	cfgA.Namespace = "urn:otwin:opcua-test"
	cfgA.HelloTimeout = 300 * time.Millisecond
	cfgA.Users = []User{{Name: "op", Password: "op-secret", Write: true}, {Name: "viewer", Password: "look"}}
	cfgA.Logger = log
	if srvA, err = New(FromEngine(eng), cfgA); err != nil {
		return 0, err
	}
	cfgB := DefaultConfig("filler1")
	cfgB.DataDir = dir
	cfgB.Security = []string{SecuritySignEncrypt}
	cfgB.Anonymous = false
	cfgB.Users = []User{{Name: "op", Password: "op-secret", Write: true}}
	cfgB.Logger = log
	if srvB, err = New(FromEngine(eng), cfgB); err != nil {
		srvA.Close()
		return 0, err
	}
	for _, s := range []*Server{srvA, srvB} {
		if err := s.Start(ctx); err != nil {
			return 0, err
		}
	}

	code := m.Run()

	// Close with a client connected and subscribed: nothing may be left
	// serving it afterwards.
	c, err := dial(srvA.URL())
	if err != nil {
		return 1, fmt.Errorf("client before close: %w", err)
	}
	defer c.Close(context.Background())
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, make(chan *opcua.PublishNotificationData, 16))
	if err != nil {
		return 1, fmt.Errorf("subscribe before close: %w", err)
	}
	if _, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, opcua.NewMonitoredItemCreateRequestWithDefaults(
		gua.NewStringNodeID(srvA.NamespaceIndex(), eng.Tags()[0].NodeID), gua.AttributeIDValue, 1)); err != nil {
		return 1, fmt.Errorf("monitor before close: %w", err)
	}

	var wg sync.WaitGroup
	for _, s := range []*Server{srvA, srvB} {
		wg.Add(1)
		go func() { defer wg.Done(); s.Close(); s.Close() }()
	}
	wg.Wait()
	if err := noServingGoroutines(5 * time.Second); err != nil {
		return 1, err
	}
	return code, nil
}

// noServingGoroutines waits until no goroutine of the stack or the door is
// left.
func noServingGoroutines(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "awcullen/opcua/server") || strings.Contains(g, "opcuaserver/frontdoor") ||
				strings.Contains(g, "opcuaserver.(*Server)") || strings.Contains(g, "gammazero/workerpool") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutines left serving after Close:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
