package mqttpub

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
)

// Defaults of Config.
const (
	// DefaultBuffer is how many unacknowledged QoS 1 messages are kept
	// through a broker outage.
	DefaultBuffer = 50000
	// MaxBuffer is the most: MQTT numbers the messages in flight with 16
	// bits, and the client library keeps room for its subscriptions.
	MaxBuffer = 65000
	// DefaultConnectTimeout bounds the first connection.
	DefaultConnectTimeout = mqttconn.DefaultConnectTimeout
	// DefaultSparkplugGroup is the Sparkplug B group id.
	DefaultSparkplugGroup = "otwin"
)

// Defaults with the embedded broker (normalize/uns/broker), in the
// collector's process, unless the user sets them. The NATS server writes
// every retained and every QoS 1 message to JetStream, and stores a
// retained message before it reads the connection's next one, which caps
// a connection at ~70k retained messages a second; QoS 1 messages cost it
// twice what QoS 0 ones do (BenchmarkPublish100k: with both, 100k tags at
// 1 Hz do not fit in 2 cores).
const (
	// EmbeddedRetainInterval: a tag changing once a second is retained
	// every fifth sample.
	EmbeddedRetainInterval = 5 * time.Second
	// EmbeddedQoS of the samples is 0: the publisher and the broker share
	// a process, so there is no link whose outage QoS 1 would bridge; what
	// QoS 1 adds there is only a backlog, in the broker, for subscribers
	// with persistent QoS 1 sessions while they are away (--mqtt-qos 1 for
	// them). Alerts, health and status are QoS 1 whatever the setting.
	EmbeddedQoS byte = 0
)

// Config configures a Publisher. Its fields are the command line's
// --mqtt-* flags.
type Config struct {
	// Broker is the broker's URL: mqtt:// or tcp:// (plain), mqtts://,
	// ssl:// or tls:// (TLS), ws:// or wss:// (websocket). A NATS server
	// is reached through its MQTT listener. Required.
	Broker string
	// Node is the collector's name: its level in the topics (see
	// uns.Topics) and its Sparkplug edge node id. Default: the host name.
	Node string
	// ClientID is the MQTT client id; the broker keeps the persistent
	// session under it, so it must be the same at every start and unique
	// per collector. Default "otwin-<node>" (and "otwin-<node>-spb" for
	// the Sparkplug connection).
	ClientID string
	// Username and Password authenticate to the broker.
	Username, Password string
	// CAFile is a PEM file of the certificate authorities that sign the
	// broker's certificate (default: the system's).
	CAFile string
	// CertFile and KeyFile are the client certificate and its key (PEM),
	// for brokers that demand one.
	CertFile, KeyFile string
	// QoS of the JSON samples: 1 (default: every sample is kept until the
	// broker acknowledges it, through outages up to Buffer) or 0 (nothing
	// kept: an outage loses what it spans). Alerts, health and status are
	// QoS 1 always.
	QoS byte
	// QoSSet says QoS was given (QoS 0 is a valid choice).
	QoSSet bool
	// Prefix is the first topic levels (see uns.NewTopics), e.g. the
	// enterprise.
	Prefix string
	// JSON publishes the unified namespace (samples, alerts, health,
	// status) as JSON. On unless only Sparkplug is asked for.
	JSON bool
	// Sparkplug publishes Sparkplug B (NBIRTH, DBIRTH, DDATA, NDEATH) on
	// its own connection.
	Sparkplug bool
	// SparkplugGroup is the Sparkplug group id. Default "otwin".
	SparkplugGroup string
	// Buffer is how many QoS 1 messages may wait for the broker's
	// acknowledgement, in flight or through an outage; past it samples
	// are dropped and counted. Default DefaultBuffer, at most MaxBuffer.
	Buffer int
	// RetainInterval, when set, retains a tag's sample only when the tag
	// was last published retained at least that long ago; the others go
	// out without retain, and a tag that stops changing has its newest
	// sample published again, retained, once its retained one is twice
	// the interval old. So a subscriber that comes later gets each tag's
	// value at most twice the interval behind (with its timestamps), while
	// the broker writes far fewer retained messages. 0 (the default with
	// an external broker) retains every sample; EmbeddedRetainInterval is
	// the embedded broker's default.
	RetainInterval time.Duration
	// StoreDir, when set, keeps those messages in files there (the client
	// library's file store) so that they survive a restart of the
	// collector; otherwise they are kept in memory.
	StoreDir string
	// ConnectTimeout bounds the first connection. Default 10s.
	ConnectTimeout time.Duration
	// Heartbeat is how often the online status is published again, for
	// readers to tell a collector gone silent. Default uns.Heartbeat.
	Heartbeat time.Duration
	// Logger logs connection changes, drops and refused commands; nil
	// discards.
	Logger *slog.Logger
	// Now is the clock of alerts and status. Default time.Now.
	Now func() time.Time
}

// withDefaults returns cfg with its defaults filled in.
func (cfg Config) withDefaults() Config {
	if cfg.Node == "" {
		cfg.Node = mqttconn.DefaultNode()
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "otwin-" + cfg.Node
	}
	if !cfg.QoSSet {
		cfg.QoS = 1
	}
	if !cfg.JSON && !cfg.Sparkplug {
		cfg.JSON = true
	}
	if cfg.SparkplugGroup == "" {
		cfg.SparkplugGroup = DefaultSparkplugGroup
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = uns.Heartbeat
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// Validate reports every problem of cfg at once.
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	var errs []error
	errs = append(errs, cfg.settings().Check()...)
	if _, err := uns.NewTopics(cfg.Prefix, cfg.Node); err != nil {
		errs = append(errs, err)
	}
	if cfg.QoS > 1 {
		errs = append(errs, fmt.Errorf("QoS %d: want 0 or 1", cfg.QoS))
	}
	if cfg.RetainInterval < 0 {
		errs = append(errs, fmt.Errorf("retain interval %s: want 0 (every sample) or more", cfg.RetainInterval))
	}
	if cfg.Buffer < 1 || cfg.Buffer > MaxBuffer {
		errs = append(errs, fmt.Errorf("buffer %d: want 1 to %d messages", cfg.Buffer, MaxBuffer))
	}
	if cfg.Sparkplug {
		errs = append(errs, uns.CheckSparkplugID("group id", cfg.SparkplugGroup), uns.CheckSparkplugID("edge node id (--mqtt-node)", cfg.Node))
	}
	return errors.Join(errs...)
}

// settings are the connection's part of cfg.
func (cfg *Config) settings() *mqttconn.Settings {
	return &mqttconn.Settings{
		Broker: cfg.Broker, Username: cfg.Username, Password: cfg.Password,
		CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, ConnectTimeout: cfg.ConnectTimeout,
	}
}

// redact returns the broker URL without a password in it.
func redact(broker string) string { return mqttconn.Redact(broker) }
