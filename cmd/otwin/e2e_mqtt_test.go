package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"

	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqttpub"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
	"github.com/otwin/otwin/normalize/uns/sparkplugb"
	"github.com/otwin/otwin/scenarios"
)

// startCollectorMQTT builds the collector of the twin's sources and starts
// publishing it with the command-line flags args (as watch, ssh, demo and
// workshop do), then runs it until the test ends. It returns the broker's
// URL (read from what the command prints) and a stop that ends the
// collector and the publisher as the command does on exit.
func startCollectorMQTT(t *testing.T, tw *e2eTwin, sc *scenarios.Scenario, args ...string) (url string, col *collector, stop func()) {
	t.Helper()
	return startSourcesMQTT(t, exportFast(t, sc, tw.Endpoints), args...)
}

// startSourcesMQTT is startCollectorMQTT for sources file f.
func startSourcesMQTT(t *testing.T, f *sources.File, args ...string) (url string, col *collector, stop func()) {
	t.Helper()
	fs := pflag.NewFlagSet("mqtt", pflag.ContinueOnError)
	var o mqttOptions
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	col, err := newCollector(f, dataDir, nil, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	col.Pipeline.TickInterval = 100 * time.Millisecond
	col.Pipeline.ScorecardEvery = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	stopMQTT, err := o.startMQTT(ctx, col, dataDir, &out, e2eLogger())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	url = brokerURLIn(t, out.String())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("collector did not stop within 10s")
			}
			stopMQTT()
			col.Store.Close()
		})
	}
	t.Cleanup(stop)
	return url, col, stop
}

// TestE2EMQTT: the twin's values, read by the real connectors and
// normalized, reach an MQTT subscriber on their ISA-95 topics as JSON and
// as Sparkplug B; endpoint health and an injected fault's alert arrive on
// their topics; on exit the collector's status goes offline. Against the
// embedded broker (--broker embedded) and against mosquitto.
func TestE2EMQTT(t *testing.T) {
	run := func(t *testing.T, external bool, brokerArgs ...string) {
		sc := parseScenario(t, "e2emqtt", twoProtocolScenario)
		tw := startE2ETwin(t, sc)
		args := append(brokerArgs, "--mqtt-node", "edge1", "--mqtt-format", "json,sparkplug", "--mqtt-prefix", "acme")
		url, col, stop := startCollectorMQTT(t, tw, sc, args...)
		sub := mqtttest.Subscribe(t, url, "", true, 1, "#")
		ids := pointIDs(exportFast(t, sc, tw.Endpoints))
		waitUntil(t, 20*time.Second, "a Good sample of every tag over MQTT", func() bool {
			for _, id := range ids {
				m, ok := sub.Last("acme/" + id)
				if !ok || !strings.Contains(string(m.Payload), `"quality":"Good"`) {
					return false
				}
			}
			return true
		})
		for _, id := range ids {
			m, _ := sub.Last("acme/" + id)
			var p struct {
				ID      string          `json:"id"`
				Value   *float64        `json:"value"`
				Seq     uint64          `json:"seq"`
				Context json.RawMessage `json:"context"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil || p.ID != id || p.Value == nil || p.Seq == 0 || string(p.Context) != "{}" {
				t.Errorf("%s: %s (%v)", id, m.Payload, err)
			}
			if s, ok := col.Store.Latest(id); !ok || s.Seq < p.Seq {
				t.Errorf("%s: MQTT seq %d ahead of the store's %d", id, p.Seq, s.Seq)
			}
		}
		for _, src := range []string{"ua-opcua", "mb-modbus", "mqtt"} {
			waitUntil(t, 10*time.Second, "health of "+src, func() bool {
				m, ok := sub.Last("acme/_otwin/edge1/health/" + src)
				return ok && strings.Contains(string(m.Payload), `"state":"connected"`)
			})
		}
		// Sparkplug: one device per asset, its metrics by name in DBIRTH.
		waitUntil(t, 10*time.Second, "the DBIRTH of mb", func() bool { _, ok := sub.Last("spBv1.0/otwin/DBIRTH/edge1/mb"); return ok })
		db, _ := sub.Last("spBv1.0/otwin/DBIRTH/edge1/mb")
		var birth sparkplugb.Payload
		if err := proto.Unmarshal(db.Payload, &birth); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, m := range birth.Metrics {
			names[m.GetName()] = m.GetAlias() != 0
		}
		if !names["v"] || !names["n"] {
			t.Errorf("DBIRTH of mb: metrics %v, want v and n with aliases", names)
		}

		if _, err := tw.Control.Inject(context.Background(), scenarios.Fault{Name: "hot", Kind: scenarios.OutOfRange, Target: "mb/v", Value: ptr(250.0)}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "the out_of_range alert over MQTT", func() bool {
			m, ok := sub.Last("acme/mb/v/_alert/out_of_range")
			return ok && strings.Contains(string(m.Payload), `"transition":"raised"`)
		})

		stop()
		if !external {
			return // the embedded broker stopped with the collector
		}
		late := mqtttest.Subscribe(t, url, "", true, 1, "acme/_otwin/edge1/status")
		waitUntil(t, 10*time.Second, "the status offline", func() bool {
			m, ok := late.Last("acme/_otwin/edge1/status")
			return ok && strings.Contains(string(m.Payload), `"offline"`)
		})
	}
	t.Run("embedded", func(t *testing.T) { run(t, false, "--broker", "embedded", "--broker-listen", "127.0.0.1:0") })
	t.Run("mosquitto", func(t *testing.T) {
		m := mqtttest.StartMosquitto(t)
		run(t, true, "--broker", m.URL())
	})
}

// TestMQTTFlagErrors: bad MQTT flags are errors before anything starts.
func TestMQTTFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--broker", "mqtt://x", "--mqtt-qos", "2"}, "--mqtt-qos 2"},
		{[]string{"--broker", "mqtt://x", "--mqtt-format", "xml"}, `--mqtt-format "xml"`},
		{[]string{"--broker", "embedded", "--broker-listen", "nonsense"}, "embedded broker"},
		{[]string{"--broker", "embedded", "--mqtt-password", "p"}, "needs --mqtt-user"},
		{[]string{"--broker", "ftp://x"}, `scheme "ftp"`},
		{[]string{"--broker", "mqtt://x", "--broker-leaf", "nats-leaf://c:7422"}, "need --broker embedded"},
	} {
		fs := pflag.NewFlagSet("mqtt", pflag.ContinueOnError)
		var o mqttOptions
		o.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, err := o.startMQTT(context.Background(), &collector{}, t.TempDir(), &bytes.Buffer{}, e2eLogger())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestMQTTEmbeddedDefaults: --mqtt-retain-interval and --mqtt-qos
// default to mqttpub.EmbeddedRetainInterval and mqttpub.EmbeddedQoS with
// the embedded broker, and to every sample at QoS 1 with an external one;
// given, they win; a negative interval is an error.
func TestMQTTEmbeddedDefaults(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
		qos  byte
	}{
		{[]string{"--broker", "embedded"}, mqttpub.EmbeddedRetainInterval, mqttpub.EmbeddedQoS},
		{[]string{"--broker", "mqtt://x"}, 0, 1},
		{[]string{"--broker", "embedded", "--mqtt-retain-interval", "0", "--mqtt-qos", "1"}, 0, 1},
		{[]string{"--broker", "mqtt://x", "--mqtt-retain-interval", "2s", "--mqtt-qos", "0"}, 2 * time.Second, 0},
	} {
		fs := pflag.NewFlagSet("mqtt", pflag.ContinueOnError)
		var o mqttOptions
		o.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := o.config("mqtt://127.0.0.1:1883", e2eLogger())
		if err != nil || cfg.RetainInterval != tc.want || cfg.QoS != tc.qos {
			t.Errorf("%v: retain interval %s, QoS %d (err %v), want %s, %d", tc.args, cfg.RetainInterval, cfg.QoS, err, tc.want, tc.qos)
		}
	}
	fs := pflag.NewFlagSet("mqtt", pflag.ContinueOnError)
	var o mqttOptions
	o.register(fs)
	if err := fs.Parse([]string{"--broker", "mqtt://x", "--mqtt-retain-interval", "-1s"}); err != nil {
		t.Fatal(err)
	}
	_, err := o.startMQTT(context.Background(), &collector{}, t.TempDir(), &bytes.Buffer{}, e2eLogger())
	if err == nil || !strings.Contains(err.Error(), "retain interval -1s") {
		t.Errorf("negative retain interval: err %v", err)
	}
}

// TestE2EMQTTLeaf: two collectors, each with its embedded broker linked
// as a leaf node (--broker-leaf) to a central broker: a subscriber of the
// central broker sees both sites' samples and health.
func TestE2EMQTTLeaf(t *testing.T) {
	central, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", LeafListen: "127.0.0.1:0", Name: "central", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer central.Close()
	sub := mqtttest.Subscribe(t, central.URL(), "", true, 0, "#")
	sc := parseScenario(t, "e2emqtt", twoProtocolScenario)
	for _, site := range []string{"site1", "site2"} {
		tw := startE2ETwin(t, sc)
		startCollectorMQTT(t, tw, sc, "--broker", "embedded", "--broker-listen", "127.0.0.1:0",
			"--broker-leaf", central.LeafURL(), "--mqtt-node", site, "--mqtt-prefix", "acme/"+site)
	}
	waitUntil(t, 30*time.Second, "both sites at the central broker", func() bool {
		for _, site := range []string{"site1", "site2"} {
			if _, ok := sub.Last("acme/" + site + "/mb/v"); !ok {
				return false
			}
			if _, ok := sub.Last("acme/" + site + "/_otwin/" + site + "/health/ua-opcua"); !ok {
				return false
			}
		}
		return true
	})
}

// TestE2EWatchBrokerHeadless: `otwin watch mqtt://… --headless` streams
// what a collector publishes to mosquitto as the JSON lines of watch
// --headless — every tag's samples, an alert raised by a fault, the
// collector's scorecards — and --metrics serves the same alerts and
// scorecards.
func TestE2EWatchBrokerHeadless(t *testing.T) {
	m := mqtttest.StartMosquitto(t)
	sc := parseScenario(t, "e2erestart", twoProtocolScenario)
	tw := startE2ETwin(t, sc)
	_, col, _ := startCollectorMQTT(t, tw, sc, "--broker", m.URL(), "--mqtt-node", "edge1")
	ids := make([]string, 0)
	waitUntil(t, 30*time.Second, "the collector's tags", func() bool {
		ids = ids[:0]
		for _, s := range col.Store.Snapshot() {
			ids = append(ids, s.ID)
		}
		return len(ids) == 4
	})

	out := captureStdout(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	metricsAddr := freeAddr(t)
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"watch", m.URL(), "--headless", "--data-dir", t.TempDir(), "--log-level", "error",
			"--mqtt-node", "central", "--metrics", metricsAddr})
	}()
	var h headlessLines
	var perr error
	waitUntil(t, 30*time.Second, "two samples of every tag on stdout", func() bool {
		if h, perr = parseHeadless(out.Lines(), 2); perr != nil {
			return true
		}
		for _, id := range ids {
			if h.samples[id] < 2 {
				return false
			}
		}
		return true
	})
	if perr != nil {
		t.Fatal(perr)
	}
	if _, err := tw.Control.Inject(ctx, scenarios.Fault{Name: "hot", Kind: scenarios.OutOfRange, Target: "mb/v", Value: ptr(250.0)}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "the out_of_range alert and a scorecard of both machines on stdout", func() bool {
		if h, perr = parseHeadless(out.Lines(), 2); perr != nil {
			return true
		}
		return h.raised("out_of_range", "mb/v") && h.cards > 0
	})
	if perr != nil {
		t.Fatal(perr)
	}
	checkMetrics(t, metricsAddr) // the dashboard's: every collector's scorecards
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("otwin watch mqtt:// --headless did not return within 10s of its context ending")
	}
}
