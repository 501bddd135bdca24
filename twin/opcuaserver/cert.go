package opcuaserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Names of the certificate and key files in Config.DataDir.
const (
	certFile = "opcua-server.crt"
	keyFile  = "opcua-server.key"
)

// certMu serialises certificate generation within the process, so that
// servers sharing a DataDir generate one pair.
var certMu sync.Mutex

// ensureCertificate returns the paths of the server certificate and key in
// dir, generating a self-signed pair for appURI when none exists. An
// existing key must pass usableKey.
func ensureCertificate(dir, appURI string, hosts []string) (certPath, keyPath string, err error) {
	certMu.Lock()
	defer certMu.Unlock()
	certPath, keyPath = filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	if _, err := os.Stat(certPath); err == nil {
		pair, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return "", "", fmt.Errorf("load %s: %w", certPath, err)
		}
		key, ok := pair.PrivateKey.(*rsa.PrivateKey)
		if !ok {
			return "", "", fmt.Errorf("%s: key is not RSA", keyPath)
		}
		if err := usableKey(key); err != nil {
			return "", "", fmt.Errorf("%s: %w", keyPath, err)
		}
		return certPath, keyPath, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create data dir: %w", err)
	}
	certPEM, keyPEM, err := generateCertificate(appURI, hosts)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("write key: %w", err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("write certificate: %w", err)
	}
	return certPath, keyPath, nil
}

// usableKey rejects RSA keys whose private exponent is shorter than the
// modulus: the OPC UA stack sizes username-token decryption from
// len(D.Bytes()), so such a key fails every username login.
func usableKey(key *rsa.PrivateKey) error {
	if len(key.D.Bytes()) != key.Size() {
		return fmt.Errorf("RSA private exponent is %d bytes, modulus %d: username logins would fail; regenerate the key", len(key.D.Bytes()), key.Size())
	}
	return nil
}

// generateCertificate makes a self-signed 2048-bit RSA application
// instance certificate for appURI, valid for hosts.
func generateCertificate(appURI string, hosts []string) (certPEM, keyPEM []byte, err error) {
	var key *rsa.PrivateKey
	for {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, fmt.Errorf("generate key: %w", err)
		}
		if usableKey(key) == nil {
			break
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("serial number: %w", err)
	}
	uri, err := url.Parse(appURI)
	if err != nil {
		return nil, nil, fmt.Errorf("application uri: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "otwin twin", Organization: []string{"otwin"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		URIs:                  []*url.URL{uri},
	}
	for _, h := range append([]string{"localhost", "127.0.0.1"}, hosts...) {
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
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}
