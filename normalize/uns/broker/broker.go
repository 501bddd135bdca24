// Package broker runs the embedded MQTT broker of `--broker embedded`: a
// NATS server (nats-io/nats-server) in the collector's process with its
// MQTT listener, so that a plant needs no broker installed to subscribe to
// the collector's unified namespace.
//
// The NATS MQTT listener speaks MQTT 3.1.1 with QoS 0 and 1 (and 2), keeps
// retained messages and persistent sessions in JetStream, on disk under
// Config.StoreDir, so that both survive a restart; it understands
// Sparkplug B (it keeps NBIRTH/DBIRTH certificates under
// $sparkplug/certificates/…). Every retained message and every QoS 1
// message is a JetStream write, which bounds what it absorbs: see the
// publisher's package (normalize/uns/mqttpub) for the figures measured and
// for when to use an external broker instead.
package broker

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultListen is the MQTT listener's default address.
const DefaultListen = "127.0.0.1:1883"

// startTimeout bounds how long Start waits for the listener (JetStream
// recovers its store first).
const startTimeout = 30 * time.Second

// Config configures the embedded broker.
type Config struct {
	// Listen is host:port of the MQTT listener; port 0 picks a free one.
	// Default DefaultListen (loopback only: set 0.0.0.0:1883 to serve the
	// network).
	Listen string
	// StoreDir is where JetStream keeps retained messages and sessions.
	// Empty: a temporary directory removed by Close (nothing survives).
	StoreDir string
	// Username and Password, when set, are required of every MQTT client.
	Username, Password string
	// TLS, when set, makes the listener speak MQTT over TLS only; with
	// ClientAuth set to tls.RequireAndVerifyClientCert it demands client
	// certificates.
	TLS *tls.Config
	// Name is the server's name and its JetStream domain. Default
	// "otwin". Brokers linked by leaf nodes need names of their own.
	Name string
	// LeafListen, when set, accepts leaf node connections there (host:port,
	// port 0 picks one): this broker is the central one that sites link
	// to.
	LeafListen string
	// Leaves are the leaf node URLs (nats-leaf://host:7422) of central
	// brokers this one links to: what is published here is seen by the
	// central broker's subscribers, and the link reconnects by itself.
	Leaves []string
	// Logger receives the server's notices, warnings and errors; nil
	// discards them.
	Logger *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	srv     *server.Server
	url     string
	leafURL string
	tempDir string
	once    sync.Once
}

// Start starts the broker and waits until its MQTT listener accepts
// connections. The error names the address and says why it did not start
// (address in use, store directory not writable).
func Start(cfg Config) (*Broker, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Name == "" {
		cfg.Name = "otwin"
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("embedded broker: listen address %q: bad port", cfg.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	b := &Broker{}
	dir := cfg.StoreDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "otwin-broker-"); err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		b.tempDir = dir
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded broker: store directory: %w", err)
	}
	opts := &server.Options{
		ServerName:      cfg.Name,
		DontListen:      true, // no NATS client port: MQTT only
		JetStream:       true,
		JetStreamDomain: cfg.Name,
		StoreDir:        dir,
		NoSigs:          true,
		MQTT: server.MQTTOpts{
			Host: host, Port: port,
			Username: cfg.Username, Password: cfg.Password,
			TLSConfig: cfg.TLS,
		},
	}
	if err := leafOptions(&cfg, opts); err != nil {
		b.removeTemp()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		b.removeTemp()
		return nil, fmt.Errorf("embedded broker on %s: %w", cfg.Listen, err)
	}
	lg := &logger{log: cfg.Logger}
	srv.SetLoggerV2(lg, false, false, false)
	go srv.Start()
	deadline := time.Now().Add(startTimeout)
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		e := lg.fatal()
		if e == "" && time.Now().Before(deadline) {
			continue
		}
		srv.Shutdown()
		srv.WaitForShutdown()
		b.removeTemp()
		if e == "" {
			e = fmt.Sprintf("not ready within %s", startTimeout)
		}
		return nil, fmt.Errorf("embedded broker on %s: %s", cfg.Listen, e)
	}
	b.srv = srv
	scheme := "mqtt"
	if cfg.TLS != nil {
		scheme = "mqtts"
	}
	// The server wrote the port it bound into its options (the same
	// pointer) before ReadyForConnections saw the listener.
	b.url = fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, strconv.Itoa(opts.MQTT.Port)))
	if cfg.LeafListen != "" {
		b.leafURL = fmt.Sprintf("nats-leaf://%s", net.JoinHostPort(opts.LeafNode.Host, strconv.Itoa(opts.LeafNode.Port)))
	}
	return b, nil
}

// leafOptions sets the leaf node listener and remotes of cfg in opts.
func leafOptions(cfg *Config, opts *server.Options) error {
	if cfg.LeafListen != "" {
		host, portStr, err := net.SplitHostPort(cfg.LeafListen)
		if err != nil {
			return fmt.Errorf("leaf listen address %q: %w", cfg.LeafListen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return fmt.Errorf("leaf listen address %q: bad port", cfg.LeafListen)
		}
		if port == 0 {
			port = server.RANDOM_PORT
		}
		opts.LeafNode.Host, opts.LeafNode.Port = host, port
	}
	for _, l := range cfg.Leaves {
		u, err := url.Parse(l)
		if err != nil || u.Host == "" {
			return fmt.Errorf("leaf URL %q: want nats-leaf://host:port", l)
		}
		opts.LeafNode.Remotes = append(opts.LeafNode.Remotes, &server.RemoteLeafOpts{URLs: []*url.URL{u}})
	}
	return nil
}

// LeafURL returns the URL sites link to (Config.LeafListen), or "".
func (b *Broker) LeafURL() string { return b.leafURL }

// URL returns the MQTT listener's URL, e.g. "mqtt://127.0.0.1:1883".
func (b *Broker) URL() string { return b.url }

// Close shuts the broker down (its clients are disconnected, without
// their wills being published) and waits until it is down. It is safe to
// call more than once.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
		b.removeTemp()
	})
	return nil
}

func (b *Broker) removeTemp() {
	if b.tempDir != "" {
		_ = os.RemoveAll(b.tempDir)
	}
}

// logger passes the server's log to slog and keeps its first fatal
// error (the server logs it and stops starting), which Start reports.
type logger struct {
	log        *slog.Logger
	mu         sync.Mutex
	firstFatal string
}

func (l *logger) emit(level slog.Level, format string, v []any) {
	if l.log != nil {
		l.log.Log(context.Background(), level, "broker: "+fmt.Sprintf(format, v...))
	}
}

func (l *logger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstFatal
}

func (l *logger) Noticef(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }
func (l *logger) Warnf(format string, v ...any)   { l.emit(slog.LevelWarn, format, v) }
func (l *logger) Errorf(format string, v ...any)  { l.emit(slog.LevelError, format, v) }
func (l *logger) Fatalf(format string, v ...any) {
	l.emit(slog.LevelError, format, v)
	l.mu.Lock()
	if l.firstFatal == "" {
		l.firstFatal = fmt.Sprintf(format, v...)
	}
	l.mu.Unlock()
}
func (l *logger) Debugf(format string, v ...any) {}
func (l *logger) Tracef(format string, v ...any) {}

var _ server.Logger = (*logger)(nil)
