package uaapp

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// Client says how to open a session with a server.
type Client struct {
	URL string
	// Timeout bounds GetEndpoints, the dial and every request; the whole
	// connect (handshake, channel, session) gets three times it and the
	// session timeout is ten times it, at least a minute.
	Timeout time.Duration
	// SecurityPolicy ("None", "Basic256Sha256", ...) and SecurityMode
	// ("None", "Sign", "SignAndEncrypt") select the endpoint.
	SecurityPolicy, SecurityMode string
	Username, Password           string // anonymous without a user name
	AppName, AppURI, SessionName string
	// Cert and Key identify the client on a secure channel, or CertFile
	// and KeyFile (PEM or DER files) when set.
	Cert              []byte
	Key               *rsa.PrivateKey
	CertFile, KeyFile string
	// Unlisted lets a session without security and without a user go
	// ahead when the server lists no endpoint for the address dialled (a
	// server behind NAT or a port mapping): such a session needs nothing
	// from the endpoint description.
	Unlisted bool
	// Check vets the endpoint chosen (its server certificate) before the
	// session opens; nil accepts it.
	Check  func(*ua.EndpointDescription) error
	Logger *slog.Logger // nil: no log
}

// Dial finds the endpoint, checks it and opens a session; gopcua's own
// reconnecting is off (a caller reconnects with a fresh client). Errors
// name the step that failed.
func (c Client) Dial(ctx context.Context) (*opcua.Client, error) {
	ectx, cancel := context.WithTimeout(ctx, c.Timeout)
	eps, err := opcua.GetEndpoints(ectx, c.URL, opcua.DialTimeout(c.Timeout), opcua.RequestTimeout(c.Timeout))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("get endpoints: %w", err)
	}
	policy := ua.FormatSecurityPolicyURI(c.SecurityPolicy)
	mode := ua.MessageSecurityModeFromString(c.SecurityMode)
	secure := mode != ua.MessageSecurityModeNone
	ep, err := opcua.SelectEndpoint(eps, policy, mode)
	if err != nil {
		if !c.Unlisted || secure || c.Username != "" {
			return nil, fmt.Errorf("no endpoint with security %s/%s among the %d offered for %s: %w", c.SecurityMode, c.SecurityPolicy, len(eps), c.URL, err)
		}
		if c.Logger != nil {
			c.Logger.Debug("no endpoint listed for the dialled address; connecting without security", "offered", len(eps))
		}
		ep = nil
	}
	if ep != nil && c.Check != nil {
		if err := c.Check(ep); err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", ep.EndpointURL, err)
		}
	}
	tokenType := ua.UserTokenTypeAnonymous
	opts := []opcua.Option{
		opcua.AutoReconnect(false),
		opcua.DialTimeout(c.Timeout),
		opcua.RequestTimeout(c.Timeout),
		opcua.SessionTimeout(max(10*c.Timeout, time.Minute)),
		opcua.ApplicationName(c.AppName),
		opcua.ApplicationURI(c.AppURI),
		opcua.SessionName(c.SessionName),
		opcua.SecurityPolicy(policy),
		opcua.SecurityMode(mode),
	}
	switch {
	case !secure:
	case c.CertFile != "":
		opts = append(opts, opcua.CertificateFile(c.CertFile), opcua.PrivateKeyFile(c.KeyFile))
	default:
		opts = append(opts, opcua.Certificate(c.Cert), opcua.PrivateKey(c.Key))
	}
	if c.Username != "" {
		tokenType = ua.UserTokenTypeUserName
		opts = append(opts, opcua.AuthUsername(c.Username, c.Password))
	} else {
		opts = append(opts, opcua.AuthAnonymous())
	}
	if ep != nil {
		opts = append(opts, opcua.SecurityFromEndpoint(ep, tokenType))
	}
	cl, err := opcua.NewClient(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	// The deadline bounds the HEL/ACK handshake too, which gopcua only
	// limits when the context has one: a peer that accepts the TCP
	// connection and stays silent would hang the connect for ever.
	cctx, ccancel := context.WithTimeout(ctx, 3*c.Timeout)
	defer ccancel()
	if err := cl.Connect(cctx); err != nil {
		xctx, xcancel := context.WithTimeout(context.Background(), time.Second)
		_ = cl.Close(xctx)
		xcancel()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return cl, nil
}
