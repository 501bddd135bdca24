// Package mqttconn is what otwin's MQTT clients share — the publisher
// (normalize/uns/mqttpub) and the reader of a dashboard
// (normalize/uns/mqttsub): the broker URL and its schemes, TLS with client
// certificates, user name and password, the client options of the
// eclipse/paho.mqtt.golang client, the first connection and the words of
// its errors, and a connection that buffers reads and coalesces writes.
package mqttconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultConnectTimeout bounds the first connection.
const DefaultConnectTimeout = 10 * time.Second

// Settings are how a client reaches and authenticates to a broker: the
// --broker URL and the --mqtt-user, --mqtt-password, --mqtt-ca,
// --mqtt-cert and --mqtt-key flags.
type Settings struct {
	// Broker is the broker's URL: mqtt:// or tcp:// (plain), mqtts://,
	// ssl:// or tls:// (TLS), ws:// or wss:// (websocket). A NATS server
	// is reached through its MQTT listener. Required.
	Broker string
	// Username and Password authenticate to the broker.
	Username, Password string
	// CAFile is a PEM file of the certificate authorities that sign the
	// broker's certificate (default: the system's).
	CAFile string
	// CertFile and KeyFile are the client certificate and its key (PEM),
	// for brokers that demand one.
	CertFile, KeyFile string
	// ConnectTimeout bounds the first connection (and each TLS
	// handshake). Default DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// Check returns every problem of s (nil when none).
func (s *Settings) Check() []error {
	var errs []error
	if s.Broker == "" {
		errs = append(errs, errors.New("no broker URL"))
	} else if u, err := url.Parse(s.Broker); err != nil {
		errs = append(errs, fmt.Errorf("broker URL %q: %w", Redact(s.Broker), err))
	} else if !knownScheme(u.Scheme) {
		errs = append(errs, fmt.Errorf("broker URL %q: scheme %q: want mqtt, mqtts, tcp, ssl, tls, ws or wss", Redact(s.Broker), u.Scheme))
	} else if u.Host == "" {
		errs = append(errs, fmt.Errorf("broker URL %q: no host", Redact(s.Broker)))
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		errs = append(errs, errors.New("client certificate and key go together"))
	}
	if s.Password != "" && s.Username == "" {
		errs = append(errs, errors.New("password without user name"))
	}
	return errs
}

// IsBrokerURL says s is a URL of a scheme a broker is reached by
// (mqtt://, mqtts://, …), as opposed to a file name.
func IsBrokerURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && knownScheme(u.Scheme) && u.Host != ""
}

func knownScheme(s string) bool {
	switch s {
	case "mqtt", "tcp", "mqtts", "ssl", "tls", "ws", "wss":
		return true
	}
	return false
}

// IsTLS says the URL's scheme asks for TLS.
func IsTLS(broker string) bool {
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

// TLSConfig builds the TLS configuration from the CA, certificate and key
// files; nil when the broker URL is not TLS and no file is given.
func (s *Settings) TLSConfig() (*tls.Config, error) {
	if !IsTLS(s.Broker) && s.CAFile == "" && s.CertFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if u, err := url.Parse(s.Broker); err == nil {
		tc.ServerName = u.Hostname()
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", s.CAFile)
		}
		tc.RootCAs = pool
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", s.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Redact returns the broker URL without a password in it.
func Redact(broker string) string {
	u, err := url.Parse(broker)
	if err != nil || u.User == nil {
		return broker
	}
	return strings.Replace(u.Redacted(), "xxxxx", "…", 1)
}

// DefaultNode is a collector's or dashboard's name when none is given:
// the host name, or "otwin" without one.
func DefaultNode() string {
	if h, _ := os.Hostname(); h != "" {
		return h
	}
	return "otwin"
}
