package mqttpub

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// startErr starts a publisher that must fail; it returns the error.
func startErr(t *testing.T, cfg Config) error {
	t.Helper()
	cfg.Node = "edge1"
	cfg.ConnectTimeout = 15 * time.Second // TLS handshakes under -race on a loaded machine are slow
	p, err := New(cfg)
	if err != nil {
		return err
	}
	err = p.Start(context.Background())
	if err == nil {
		p.Close()
		t.Fatalf("%s: started, want an error", cfg.Broker)
	}
	return err
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	t.Logf("error: %v", err)
	for _, p := range parts {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("error %v: want it to say %q", err, p)
		}
	}
}

// TestRefusedCredentials: a broker that refuses the user name or password
// is an error at start naming the broker.
func TestRefusedCredentials(t *testing.T) {
	t.Run("mosquitto", func(t *testing.T) {
		m := mqtttest.StartMosquitto(t, "allow_anonymous false", "password_file "+passwordFile(t, "otwin", "s3cret"))
		err := startErr(t, Config{Broker: m.URL(), Username: "otwin", Password: "wrong"})
		wantErr(t, err, m.URL(), "refused", "not authorized")
		err = startErr(t, Config{Broker: m.URL()})
		wantErr(t, err, m.URL(), "not authorized")
		startPublisher(t, Config{Broker: m.URL(), Username: "otwin", Password: "s3cret"}) // the right ones work
	})
	t.Run("embedded", func(t *testing.T) {
		b := startEmbedded(t, broker.Config{Username: "otwin", Password: "s3cret"})
		err := startErr(t, Config{Broker: b.URL(), Username: "otwin", Password: "wrong"})
		wantErr(t, err, b.URL(), "refused")
		startPublisher(t, Config{Broker: b.URL(), Username: "otwin", Password: "s3cret"})
	})
	t.Run("unreachable", func(t *testing.T) {
		err := startErr(t, Config{Broker: "mqtt://127.0.0.1:1"})
		wantErr(t, err, "mqtt://127.0.0.1:1", "cannot connect", "refused")
	})
	t.Run("password not shown", func(t *testing.T) {
		err := startErr(t, Config{Broker: "mqtt://me:hunter2@127.0.0.1:1"})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %v shows the password", err)
		}
	})
}

// TestTLS: a TLS broker whose certificate is not trusted, or that demands
// a client certificate not given, is an error at start saying so; with
// the CA and a client certificate the publisher connects.
func TestTLS(t *testing.T) {
	ca := mqtttest.NewCA(t)
	srvCert, srvKey := ca.Issue(t, "broker", false)
	cliCert, cliKey := ca.Issue(t, "otwin", true)
	other := mqtttest.NewCA(t)
	otherCert, otherKey := other.Issue(t, "intruder", true)

	check := func(t *testing.T, url string) {
		wantErr(t, startErr(t, Config{Broker: url}), url, "TLS", "authority not trusted", "--mqtt-ca")
		wantErr(t, startErr(t, Config{Broker: url, CAFile: ca.CertFile}), url, "TLS")
		wantErr(t, startErr(t, Config{Broker: url, CAFile: ca.CertFile, CertFile: otherCert, KeyFile: otherKey}), url, "TLS")
		plain := strings.Replace(url, "mqtts://", "mqtt://", 1)
		wantErr(t, startErr(t, Config{Broker: plain}), plain, "use mqtts://")
		cfg := Config{Broker: url, CAFile: ca.CertFile, CertFile: cliCert, KeyFile: cliKey}
		p := startPublisher(t, cfg)
		tc, err := cfg.settings().TLSConfig()
		must(t, err)
		sub := &mqtttest.Subscriber{}
		sub.Connect(t, url, "", true, 1, func(o *mqtt.ClientOptions) { o.SetTLSConfig(tc) }, "tls/#")
		s := num("tls/m/t", 1, 1)
		p.Sample(&s)
		testkit.Eventually(t, 30*time.Second, "the sample over TLS", func() bool { _, ok := sub.Last("tls/m/t"); return ok })
	}
	t.Run("mosquitto", func(t *testing.T) {
		if mqtttest.MosquittoPath() == "" {
			t.Skip("mosquitto not installed")
		}
		m := mqtttest.StartMosquitto(t, "cafile "+ca.CertFile, "certfile "+srvCert, "keyfile "+srvKey, "require_certificate true")
		check(t, m.URL("mqtts"))
	})
	t.Run("embedded", func(t *testing.T) {
		cert, err := tls.LoadX509KeyPair(srvCert, srvKey)
		must(t, err)
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(ca.CertFile)
		must(t, err)
		pool.AppendCertsFromPEM(pem)
		b := startEmbedded(t, broker.Config{TLS: &tls.Config{
			Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
		}})
		check(t, b.URL())
	})
}

// TestConfigErrors: every problem of a configuration at once.
func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Broker: "http://x", Prefix: "a/+", QoS: 2, QoSSet: true, Buffer: 70000, CertFile: "c.pem", Password: "p", Sparkplug: true, SparkplugGroup: "g/1", Node: "n"})
	wantErr(t, err, `scheme "http"`, "prefix", "QoS 2", "buffer 70000", "certificate and key", "password without user", "group id")
	_, err = New(Config{Node: "n"})
	wantErr(t, err, "no broker URL")
	_, err = New(Config{Broker: "mqtts://localhost:8883", CAFile: "/nonexistent/ca.pem", Node: "n"})
	wantErr(t, err, "mqtts://localhost:8883", "CA file")
}
