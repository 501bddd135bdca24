package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
	"github.com/otwin/otwin/normalize/uns/mqttpub"
)

// mqttOptions are the flags of the collecting commands (watch, ssh, demo,
// workshop) that publish the normalized stream over MQTT.
type mqttOptions struct {
	broker       string
	brokerListen string
	leaves       []string
	leafListen   string
	prefix       string
	node         string
	clientID     string
	user         string
	password     string
	ca           string
	cert, key    string
	qos          int
	format       string
	group        string
	buffer       int
	storeDir     string
	retain       time.Duration
	retainFlag   *pflag.Flag // --mqtt-retain-interval and --mqtt-qos, to tell whether they were given
	qosFlag      *pflag.Flag

	// pub is the publisher startMQTT started (for tests).
	pub *mqttpub.Publisher
	// events, when set, gets what a dashboard reading a broker takes, as
	// JSON lines (watch mqtt://… --headless); afterEvents flushes them.
	events      *pipeline.JSONLines
	afterEvents func()
}

func (o *mqttOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.broker, "broker", "", `publish the unified namespace over MQTT: "embedded" (a broker in this process) or a broker URL (mqtt://host:1883, mqtts://host:8883)`)
	f.StringVar(&o.brokerListen, "broker-listen", broker.DefaultListen, "address of the embedded broker's MQTT listener")
	f.StringSliceVar(&o.leaves, "broker-leaf", nil, "link the embedded broker as a NATS leaf node to this central broker (nats-leaf://host:7422); repeatable")
	f.StringVar(&o.leafListen, "broker-leaf-listen", "", "accept leaf node links from site brokers on this address (host:7422)")
	f.StringVar(&o.prefix, "mqtt-prefix", "", "first topic levels, e.g. the enterprise (acme)")
	f.StringVar(&o.node, "mqtt-node", "", "this collector's name in the topics and its Sparkplug edge node id (default: the host name)")
	f.StringVar(&o.clientID, "mqtt-client-id", "", "MQTT client id; the broker keeps the persistent session under it (default otwin-<node>)")
	f.StringVar(&o.user, "mqtt-user", "", "MQTT user name (with --broker embedded: the one the broker requires)")
	f.StringVar(&o.password, "mqtt-password", "", "MQTT password (default $OTWIN_MQTT_PASSWORD)")
	f.StringVar(&o.ca, "mqtt-ca", "", "PEM file of the CAs that sign the broker's certificate")
	f.StringVar(&o.cert, "mqtt-cert", "", "client certificate (PEM), for brokers that demand one")
	f.StringVar(&o.key, "mqtt-key", "", "key of --mqtt-cert (PEM)")
	f.IntVar(&o.qos, "mqtt-qos", 1, "QoS of the JSON samples: 1 (buffered through outages) or 0 (default 0 with --broker embedded: the broker is in this process, no link to buffer)")
	o.qosFlag = f.Lookup("mqtt-qos")
	f.StringVar(&o.format, "mqtt-format", "json", "json, sparkplug, or json,sparkplug")
	f.StringVar(&o.group, "sparkplug-group", mqttpub.DefaultSparkplugGroup, "Sparkplug B group id")
	f.IntVar(&o.buffer, "mqtt-buffer", mqttpub.DefaultBuffer, fmt.Sprintf("QoS 1 messages kept for the broker through an outage (at most %d); an alert at 80%%, drops counted past it", mqttpub.MaxBuffer))
	f.DurationVar(&o.retain, "mqtt-retain-interval", 0, fmt.Sprintf("retain a tag's sample only when it was last retained this long ago; a subscriber that comes later gets values at most twice that old (0: every sample; default %s with --broker embedded, 0 otherwise)", mqttpub.EmbeddedRetainInterval))
	o.retainFlag = f.Lookup("mqtt-retain-interval")
	f.StringVar(&o.storeDir, "mqtt-store", "", "keep the unacknowledged messages in files in this directory (they survive a restart); default: in memory")
}

// passwordOrEnv is --mqtt-password, or $OTWIN_MQTT_PASSWORD.
func (o *mqttOptions) passwordOrEnv() string {
	if o.password != "" {
		return o.password
	}
	return os.Getenv("OTWIN_MQTT_PASSWORD")
}

// enabled says --broker was given.
func (o *mqttOptions) enabled() bool { return o.broker != "" }

// embedded says --broker embedded: the broker runs in this process.
func (o *mqttOptions) embedded() bool { return o.broker == "embedded" }

// config turns the flags into the publisher's configuration for brokerURL.
func (o *mqttOptions) config(brokerURL string, logger *slog.Logger) (mqttpub.Config, error) {
	cfg := mqttpub.Config{
		Broker: brokerURL, Node: o.node, ClientID: o.clientID, Username: o.user, Password: o.passwordOrEnv(),
		CAFile: o.ca, CertFile: o.cert, KeyFile: o.key, Prefix: o.prefix, SparkplugGroup: o.group,
		Buffer: o.buffer, StoreDir: o.storeDir, RetainInterval: o.retain, Logger: logger,
	}
	qos := o.qos
	if o.embedded() {
		if !o.retainFlag.Changed {
			cfg.RetainInterval = mqttpub.EmbeddedRetainInterval
		}
		if !o.qosFlag.Changed {
			qos = int(mqttpub.EmbeddedQoS)
		}
	}
	switch qos {
	case 0, 1:
		cfg.QoS, cfg.QoSSet = byte(qos), true
	default:
		return cfg, fmt.Errorf("--mqtt-qos %d: use 0 or 1", qos)
	}
	for _, f := range strings.Split(o.format, ",") {
		switch strings.TrimSpace(f) {
		case "json":
			cfg.JSON = true
		case "sparkplug", "spb", "sparkplugb":
			cfg.Sparkplug = true
		default:
			return cfg, fmt.Errorf("--mqtt-format %q: use json, sparkplug, or json,sparkplug", o.format)
		}
	}
	return cfg, nil
}

// startMQTT starts what the flags ask for: the embedded broker, and a
// publisher attached to col's pipeline (before it runs). It says where it
// publishes on out. The returned stop closes both (publisher first); it is
// a no-op without --broker.
func (o *mqttOptions) startMQTT(ctx context.Context, col *collector, dataDir string, out io.Writer, logger *slog.Logger) (stop func(), err error) {
	if !o.enabled() {
		return func() {}, nil
	}
	log := logger.With("part", "mqtt")
	emb, url, err := o.startEmbedded(dataDir, log)
	if err != nil {
		return nil, err
	}
	closeBroker := func() {
		if emb != nil {
			emb.Close()
		}
	}
	cfg, err := o.config(url, log)
	if err != nil {
		closeBroker()
		return nil, err
	}
	pub, err := mqttpub.New(cfg)
	if err != nil {
		closeBroker()
		return nil, err
	}
	mqttpub.Attach(pub, col.Pipeline)
	if cfg.JSON {
		pub.HandleCommands(col.takeCommand(log))
	}
	if err := pub.Start(ctx); err != nil {
		closeBroker()
		return nil, err
	}
	o.pub = pub
	fmt.Fprintf(out, "otwin: publishing over MQTT to %s (%s; topics under %q)\n", brokerShown(emb, url, out), o.format, o.prefixShown())
	return func() {
		pub.Close()
		closeBroker()
	}, nil
}

// startEmbedded starts the embedded broker when --broker embedded asks
// for it, and returns the URL of the broker to use (--broker's, or the
// embedded one's).
func (o *mqttOptions) startEmbedded(dataDir string, log *slog.Logger) (emb *broker.Broker, url string, err error) {
	if !o.embedded() {
		if len(o.leaves) > 0 || o.leafListen != "" {
			return nil, "", errors.New("--broker-leaf and --broker-leaf-listen need --broker embedded")
		}
		return nil, o.broker, nil
	}
	password := o.passwordOrEnv()
	if o.user == "" && password != "" {
		return nil, "", errors.New("--broker embedded: a password needs --mqtt-user")
	}
	name := cmp.Or(o.node, mqttconn.DefaultNode())
	emb, err = broker.Start(broker.Config{
		Listen: o.brokerListen, StoreDir: filepath.Join(dataDir, "broker"),
		Username: o.user, Password: password, Logger: log,
		Name: brokerName(name), Leaves: o.leaves, LeafListen: o.leafListen,
	})
	if err != nil {
		return nil, "", fmt.Errorf("--broker embedded: %w", err)
	}
	return emb, emb.URL(), nil
}

// brokerShown names the broker at url for the start-up lines on out (and
// says where the embedded one accepts leaf node links).
func brokerShown(emb *broker.Broker, url string, out io.Writer) string {
	if emb == nil {
		return "broker " + mqttconn.Redact(url)
	}
	if u := emb.LeafURL(); u != "" {
		fmt.Fprintf(out, "otwin: the embedded broker accepts leaf node links on %s\n", u)
	}
	return "the embedded broker on " + url
}

func (o *mqttOptions) prefixShown() string {
	if o.prefix == "" {
		return "<asset path>/<tag>"
	}
	return o.prefix + "/…"
}

// brokerName makes a JetStream domain name of a host or collector name:
// letters, digits, - and _ only.
func brokerName(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	if out == "" {
		return "otwin"
	}
	return out
}
