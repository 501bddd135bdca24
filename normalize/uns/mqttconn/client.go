package mqttconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Client settings. Reconnects back off from 1s to maxReconnect; a write
// that blocks writeTimeout drops the connection (and reconnects).
const (
	maxReconnect = 5 * time.Second
	writeTimeout = 5 * time.Second
	keepAlive    = 30 * time.Second
)

// Options are the client options of every otwin connection: MQTT 3.1.1
// (the client library speaks no MQTT 5), automatic reconnection (backing
// off from 1s to 5s), TLS (tc, from Settings.TLSConfig) and credentials,
// and a connection that buffers reads and coalesces writes (openConn) for
// tcp and TLS URLs. The caller sets the session, handlers and will.
func Options(cfg *Settings, clientID string, tc *tls.Config) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(clientID).
		SetProtocolVersion(4). // 3.1.1; no silent fallback to 3.1 on a refusal
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnect).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetWriteTimeout(writeTimeout).
		SetKeepAlive(keepAlive).
		SetOrderMatters(false)
	if cfg.Username != "" {
		o.SetUsername(cfg.Username).SetPassword(cfg.Password)
	}
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	if u, err := url.Parse(cfg.Broker); err == nil && u.Scheme != "ws" && u.Scheme != "wss" {
		o.SetCustomOpenConnectionFn(openConn(tc, cfg.ConnectTimeout))
	}
	return o
}

// Connect makes the first connection of c, within timeout. The error
// names the broker and says why: refused credentials or authorization,
// TLS, unreachable.
func Connect(ctx context.Context, c mqtt.Client, broker string, timeout time.Duration) error {
	tok := c.Connect()
	t := time.NewTimer(timeout + time.Second)
	defer t.Stop()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return fmt.Errorf("mqtt broker %s: %w", Redact(broker), ctx.Err())
	case <-t.C:
		c.Disconnect(0)
		return fmt.Errorf("mqtt broker %s: no answer within %s", Redact(broker), timeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("mqtt broker %s: %s", Redact(broker), explain(err, IsTLS(broker)))
	}
	return nil
}

// explain words a connection error for the user; overTLS says the URL
// asked for TLS.
func explain(err error, overTLS bool) string {
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return "the broker refused the user name or password (CONNACK 4)"
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return "the broker refused the connection: not authorized (CONNACK 5; check the user name, password or client certificate)"
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return "the broker rejected the client id (CONNACK 2)"
	case errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return "the broker is unavailable (CONNACK 3)"
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return "the broker does not speak MQTT 3.1.1 (CONNACK 1)"
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Sprintf("TLS: the broker's certificate is signed by an authority not trusted here (give its CA with --mqtt-ca): %v", unknownCA)
	case errors.As(err, &hostErr):
		return fmt.Sprintf("TLS: the broker's certificate is not for this host name: %v", hostErr)
	case errors.As(err, &invalid):
		return fmt.Sprintf("TLS: the broker's certificate is not valid: %v", invalid)
	case strings.Contains(err.Error(), "remote error: tls:"):
		return fmt.Sprintf("TLS: the broker refused the handshake (a client certificate missing or not trusted? see --mqtt-cert): %v", err)
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return fmt.Sprintf("TLS: the broker does not speak TLS on this port (use mqtt:// instead): %v", err)
	case overTLS && closed(err):
		return fmt.Sprintf("TLS: the broker closed the connection after the handshake (a client certificate missing or not trusted? see --mqtt-cert): %v", err)
	case closed(err):
		return fmt.Sprintf("the broker closed the connection (does it want TLS on this port? then use mqtts://): %v", err)
	}
	return fmt.Sprintf("cannot connect: %v", err)
}

// closed says the peer closed or reset the connection.
func closed(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE)
}
