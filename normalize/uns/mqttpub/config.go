package mqttpub

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/otwin/otwin/normalize/uns"
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
	DefaultConnectTimeout = 10 * time.Second
	// DefaultSparkplugGroup is the Sparkplug B group id.
	DefaultSparkplugGroup = "otwin"
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
	// QoS of the JSON messages: 1 (default: every sample is kept until the
	// broker acknowledges it, through outages up to Buffer) or 0 (nothing
	// kept: an outage loses what it spans).
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
	// StoreDir, when set, keeps those messages in files there (the client
	// library's file store) so that they survive a restart of the
	// collector; otherwise they are kept in memory.
	StoreDir string
	// ConnectTimeout bounds the first connection. Default 10s.
	ConnectTimeout time.Duration
	// Logger logs connection changes, drops and refused commands; nil
	// discards.
	Logger *slog.Logger
	// Now is the clock of alerts and status. Default time.Now.
	Now func() time.Time
}

// withDefaults returns cfg with its defaults filled in.
func (cfg Config) withDefaults() Config {
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
		if cfg.Node == "" {
			cfg.Node = "otwin"
		}
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
	if cfg.Broker == "" {
		errs = append(errs, errors.New("no broker URL"))
	} else if u, err := url.Parse(cfg.Broker); err != nil {
		errs = append(errs, fmt.Errorf("broker URL %q: %w", cfg.Broker, err))
	} else if !knownScheme(u.Scheme) {
		errs = append(errs, fmt.Errorf("broker URL %q: scheme %q: want mqtt, mqtts, tcp, ssl, tls, ws or wss", cfg.Broker, u.Scheme))
	} else if u.Host == "" {
		errs = append(errs, fmt.Errorf("broker URL %q: no host", cfg.Broker))
	}
	if _, err := uns.NewTopics(cfg.Prefix, cfg.Node); err != nil {
		errs = append(errs, err)
	}
	if cfg.QoS > 1 {
		errs = append(errs, fmt.Errorf("QoS %d: want 0 or 1", cfg.QoS))
	}
	if cfg.Buffer < 1 || cfg.Buffer > MaxBuffer {
		errs = append(errs, fmt.Errorf("buffer %d: want 1 to %d messages", cfg.Buffer, MaxBuffer))
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		errs = append(errs, errors.New("client certificate and key go together"))
	}
	if cfg.Password != "" && cfg.Username == "" {
		errs = append(errs, errors.New("password without user name"))
	}
	if cfg.Sparkplug {
		errs = append(errs, uns.CheckSparkplugID("group id", cfg.SparkplugGroup), uns.CheckSparkplugID("edge node id (--mqtt-node)", cfg.Node))
	}
	return errors.Join(errs...)
}

func knownScheme(s string) bool {
	switch s {
	case "mqtt", "tcp", "mqtts", "ssl", "tls", "ws", "wss":
		return true
	}
	return false
}

// isTLS says the URL's scheme asks for TLS.
func isTLS(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "mqtts", "ssl", "tls", "wss":
		return true
	}
	return false
}

// tlsConfig builds the TLS configuration from the CA, certificate and key
// files; nil when the broker URL is not TLS and no file is given.
func (cfg Config) tlsConfig() (*tls.Config, error) {
	if !isTLS(cfg.Broker) && cfg.CAFile == "" && cfg.CertFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if u, err := url.Parse(cfg.Broker); err == nil {
		tc.ServerName = u.Hostname()
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", cfg.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// redact returns the broker URL without a password in it.
func redact(broker string) string {
	u, err := url.Parse(broker)
	if err != nil || u.User == nil {
		return broker
	}
	return strings.Replace(u.Redacted(), "xxxxx", "…", 1)
}
