package broker_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

func start(t *testing.T, cfg broker.Config) *broker.Broker {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.StoreDir = t.TempDir()
	b, err := broker.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func publish(t *testing.T, url, topic, payload string, retain bool) {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprint("pub-", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", url, tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, retain, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// TestRetainedSurvivesRestart: retained messages are in JetStream on disk
// and survive a restart of the broker on the same store directory.
func TestRetainedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b.URL(), "acme/m/t", "v1", true)
	b.Close()
	b, err = broker.Start(broker.Config{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The broker loads its retained messages from JetStream as it starts:
	// a subscription made in that moment may come before them, so each
	// attempt is a new subscriber.
	testkit.Eventually(t, 20*time.Second, "the retained message after the restart", func() bool {
		sub := mqtttest.Subscribe(t, b.URL(), "", true, 1, "acme/#")
		defer sub.Client.Disconnect(0)
		ok := testkit.Poll(2*time.Second, func() bool {
			m, ok := sub.Last("acme/m/t")
			return ok && m.Retained && string(m.Payload) == "v1"
		})
		return ok
	})
}

// TestLeafNode: a site's broker linked as a leaf node to a central one:
// what the site publishes reaches the central broker's subscribers, and
// its retained messages reach the central broker's retained store (a
// subscriber that comes later gets them there).
func TestLeafNode(t *testing.T) {
	central := start(t, broker.Config{Name: "central", LeafListen: "127.0.0.1:0"})
	if !strings.HasPrefix(central.LeafURL(), "nats-leaf://127.0.0.1:") {
		t.Fatalf("leaf URL %q", central.LeafURL())
	}
	site := start(t, broker.Config{Name: "site1", Leaves: []string{central.LeafURL()}})
	sub := mqtttest.Subscribe(t, central.URL(), "", true, 0, "acme/#")
	// The link comes up in the background: publish until a message
	// crosses it.
	testkit.Eventually(t, 20*time.Second, "a site message at the central subscriber", func() bool {
		publish(t, site.URL(), "acme/site1/m/t", "42", true)
		m, ok := sub.Last("acme/site1/m/t")
		return ok && string(m.Payload) == "42"
	})
	// The central broker stores the site's retained message as it
	// arrives, apart from the live delivery: a subscription made before
	// that gets no retained message, so each attempt is a new subscriber.
	testkit.Eventually(t, 30*time.Second, "the site's retained value at the central broker", func() bool {
		late := mqtttest.Subscribe(t, central.URL(), "", true, 0, "acme/#")
		defer late.Client.Disconnect(0)
		return testkit.Poll(2*time.Second, func() bool {
			m, ok := late.Last("acme/site1/m/t")
			return ok && m.Retained && string(m.Payload) == "42"
		})
	})
}

// TestStartErrors: a listen address in use, or malformed, is an error
// naming it.
func TestStartErrors(t *testing.T) {
	b := start(t, broker.Config{})
	addr := strings.TrimPrefix(b.URL(), "mqtt://")
	_, err := broker.Start(broker.Config{Listen: addr, StoreDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second broker on %s: %v", addr, err)
	}
	for _, bad := range []string{"nonsense", "127.0.0.1:99999"} {
		if _, err := broker.Start(broker.Config{Listen: bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("listen %q: %v", bad, err)
		}
	}
	if _, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Leaves: []string{"::bad"}}); err == nil || !strings.Contains(err.Error(), "leaf URL") {
		t.Errorf("bad leaf URL: %v", err)
	}
}
