package mqttpub

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
	"github.com/otwin/otwin/units"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// testBroker is a broker a test can stop and start again on the same
// address, keeping its retained messages and sessions.
type testBroker interface {
	URL() string
	Stop()
	Start(t testing.TB)
}

// embedded is the embedded broker in a test.
type embedded struct {
	cfg broker.Config
	b   *broker.Broker
	url string
}

func startEmbedded(t testing.TB, cfg broker.Config) *embedded {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.StoreDir == "" {
		cfg.StoreDir = t.TempDir()
	}
	e := &embedded{cfg: cfg}
	e.Start(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(e.url, "mqtt://"), "mqtts://"))
	e.cfg.Listen = "127.0.0.1:" + port
	t.Cleanup(e.Stop)
	return e
}

func (e *embedded) URL() string { return e.url }
func (e *embedded) Stop() {
	if e.b != nil {
		e.b.Close()
		e.b = nil
	}
}
func (e *embedded) Start(t testing.TB) {
	t.Helper()
	var err error
	for i := 0; i < 50; i++ {
		if e.b, err = broker.Start(e.cfg); err == nil {
			e.url = e.b.URL()
			return
		}
		<-time.After(100 * time.Millisecond) // the port of the previous run may linger
	}
	t.Fatal(err)
}

type mosq struct{ *mqtttest.Mosquitto }

func (m mosq) URL() string        { return m.Mosquitto.URL() }
func (m mosq) Start(t testing.TB) { m.Restart() }

// brokers runs f against the embedded broker and against mosquitto.
func brokers(t *testing.T, f func(t *testing.T, b testBroker)) {
	t.Run("embedded", func(t *testing.T) { f(t, startEmbedded(t, broker.Config{})) })
	t.Run("mosquitto", func(t *testing.T) { f(t, mosq{mqtttest.StartMosquitto(t)}) })
}

// testLogger logs to the test's output (failed tests) through a buffer.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func startPublisher(t testing.TB, cfg Config) *Publisher {
	t.Helper()
	if cfg.Node == "" {
		cfg.Node = "edge1"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

var bar, _ = units.Lookup("bar")

func num(id string, v float64, seq uint64) normalize.Sample {
	i := strings.LastIndexByte(id, '/')
	ts := t0.Add(time.Duration(seq) * time.Second)
	return normalize.Sample{
		ID: id, Asset: id[:i], Tag: id[i+1:], Kind: normalize.Number, Value: v, Unit: bar,
		Status: connectors.Good, SourceTime: ts, Received: ts, Source: "plc", Seq: seq,
	}
}

// payload decodes a sample's JSON payload.
type payload struct {
	ID    string   `json:"id"`
	Value *float64 `json:"value"`
	Seq   uint64   `json:"seq"`
	TS    int64    `json:"timestamp_ms"`
}

func decodeSample(t testing.TB, b []byte) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("payload %s: %v", b, err)
	}
	return p
}

func startProxy(t testing.TB, target string) *mqtttest.Proxy { return mqtttest.StartProxy(t, target) }

func hostPort(url string) string {
	i := strings.Index(url, "://")
	return url[i+3:]
}

// passwordFile writes a mosquitto password file with user:pass.
func passwordFile(t testing.TB, user, pass string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passwd")
	if err := mqtttest.RunMosquittoPasswd(p, user, pass); err != nil {
		t.Skipf("mosquitto_passwd: %v", err)
	}
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
