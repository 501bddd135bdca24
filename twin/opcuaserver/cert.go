package opcuaserver

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/otwin/otwin/uaapp"
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
// existing key must pass uaapp.CheckKey (the OPC UA stack sizes
// username-token decryption from the length of its private exponent).
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
		if err := uaapp.CheckKey(key); err != nil {
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

// generateCertificate makes a self-signed 2048-bit RSA application
// instance certificate for appURI, valid for localhost, 127.0.0.1 and
// hosts, and a CA so that clients may pin it; PEM encoded.
func generateCertificate(appURI string, hosts []string) (certPEM, keyPEM []byte, err error) {
	der, key, err := uaapp.Certificate{CommonName: "otwin twin", AppURI: appURI,
		Hosts: append([]string{"localhost", "127.0.0.1"}, hosts...), CA: true}.New()
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}
