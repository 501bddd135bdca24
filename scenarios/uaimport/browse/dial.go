package browse

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
)

// applicationURI is the import's OPC UA application URI (in its
// certificate, too).
const applicationURI = "urn:otwin:scenario-import"

// dial connects with the endpoint that matches the security settings.
func dial(ctx context.Context, cfg Config) (*opcua.Client, error) {
	ectx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	eps, err := opcua.GetEndpoints(ectx, cfg.URL, opcua.DialTimeout(cfg.Timeout), opcua.RequestTimeout(cfg.Timeout))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("get endpoints: %w", err)
	}
	policy := ua.FormatSecurityPolicyURI(cfg.SecurityPolicy)
	mode := ua.MessageSecurityModeFromString(cfg.SecurityMode)
	ep, err := opcua.SelectEndpoint(eps, policy, mode)
	if err != nil {
		return nil, fmt.Errorf("no endpoint with security %s/%s among the %d offered: %w", cfg.SecurityMode, cfg.SecurityPolicy, len(eps), err)
	}
	tokenType := ua.UserTokenTypeAnonymous
	opts := []opcua.Option{
		opcua.AutoReconnect(false),
		opcua.DialTimeout(cfg.Timeout),
		opcua.RequestTimeout(cfg.Timeout),
		opcua.SessionTimeout(max(10*cfg.Timeout, time.Minute)),
		opcua.ApplicationName("otwin scenario import"),
		opcua.ApplicationURI(applicationURI),
		opcua.SessionName("otwin scenario import"),
		opcua.SecurityPolicy(policy),
		opcua.SecurityMode(mode),
	}
	if mode != ua.MessageSecurityModeNone {
		if cfg.Certificate != "" {
			opts = append(opts, opcua.CertificateFile(cfg.Certificate), opcua.PrivateKeyFile(cfg.Key))
		} else {
			der, key, err := certificate()
			if err != nil {
				return nil, err
			}
			opts = append(opts, opcua.Certificate(der), opcua.PrivateKey(key))
		}
	}
	if cfg.Username != "" {
		tokenType = ua.UserTokenTypeUserName
		opts = append(opts, opcua.AuthUsername(cfg.Username, cfg.Password))
	} else {
		opts = append(opts, opcua.AuthAnonymous())
	}
	opts = append(opts, opcua.SecurityFromEndpoint(ep, tokenType))
	cl, err := opcua.NewClient(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	// The deadline bounds the HEL/ACK handshake too: a peer that accepts
	// the connection and stays silent cannot hang the import.
	cctx, ccancel := context.WithTimeout(ctx, 3*cfg.Timeout)
	defer ccancel()
	if err := cl.Connect(cctx); err != nil {
		xctx, xcancel := context.WithTimeout(context.Background(), time.Second)
		_ = cl.Close(xctx)
		xcancel()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return cl, nil
}

// certificate makes a self-signed client certificate for this run, kept
// in memory. The key's private exponent fills the modulus' size: some
// servers size buffers by it.
func certificate() ([]byte, *rsa.PrivateKey, error) {
	var key *rsa.PrivateKey
	for key == nil || len(key.D.Bytes()) != key.Size() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, fmt.Errorf("client key: %w", err)
		}
		key = k
	}
	uri, _ := url.Parse(applicationURI)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "otwin scenario import", Organization: []string{"otwin"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageContentCommitment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("client certificate: %w", err)
	}
	return der, key, nil
}
