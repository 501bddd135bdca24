// Package uaapp is what both halves need of an OPC UA application: its
// self-signed instance certificate (the twin's servers, the connector,
// the scenario import) and, for the clients, a gopcua session opened one
// way (endpoint selection, security, user token, a bounded handshake). It
// imports nothing of otwin, so the simulator and the monitoring half may
// both use it.
package uaapp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"
)

// CheckKey rejects an RSA key whose private exponent is shorter than its
// modulus: some stacks take the key size from the length of the exponent,
// and user-token and channel crypto then fail with such a key.
func CheckKey(key *rsa.PrivateKey) error {
	if len(key.D.Bytes()) != key.Size() {
		return fmt.Errorf("RSA private exponent is %d bytes, modulus %d: username logins would fail; regenerate the key", len(key.D.Bytes()), key.Size())
	}
	return nil
}

// Certificate describes a self-signed application instance certificate.
type Certificate struct {
	CommonName string   // the subject's common name (organization "otwin")
	AppURI     string   // the application URI, the certificate's URI SAN
	Hosts      []string // DNS names and IP addresses it is valid for
	// Valid is how long it is valid from an hour ago: ten years when zero.
	Valid time.Duration
	// CA marks it a certificate authority too (a server's, which clients
	// may pin as a trust anchor).
	CA bool
}

// New makes the certificate with a new 2048-bit RSA key that passes
// CheckKey and returns its DER encoding and the key.
func (c Certificate) New() ([]byte, *rsa.PrivateKey, error) {
	var key *rsa.PrivateKey
	for key == nil || CheckKey(key) != nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, fmt.Errorf("generate key: %w", err)
		}
		key = k
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("serial number: %w", err)
	}
	uri, err := url.Parse(c.AppURI)
	if err != nil {
		return nil, nil, fmt.Errorf("application uri: %w", err)
	}
	valid := c.Valid
	if valid == 0 {
		valid = 10 * 365 * 24 * time.Hour
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: c.CommonName, Organization: []string{"otwin"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(valid),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment |
			x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  c.CA,
		URIs:                  []*url.URL{uri},
	}
	for _, h := range c.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	return der, key, nil
}
