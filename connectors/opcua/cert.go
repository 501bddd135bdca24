package opcua

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/otwin/otwin/uaapp"
)

// Names of the generated client certificate and key inside DataDir.
const (
	generatedCertFile = "opcua-client-cert.pem"
	generatedKeyFile  = "opcua-client-key.pem"
)

// loadCertificate reads a PEM (or DER) certificate file and returns DER.
func loadCertificate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: PEM block %q, want CERTIFICATE", path, blk.Type)
		}
		der = blk.Bytes
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return der, nil
}

// loadKey reads a PEM RSA private key (PKCS#1 or PKCS#8).
func loadKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: key is %T, want RSA", path, k)
	}
	return rk, nil
}

// clientIdentity returns the client certificate (DER) and key: the
// configured files, or the certificate generated into dataDir, created on
// first use.
func clientIdentity(cfg Config) ([]byte, *rsa.PrivateKey, error) {
	if cfg.Certificate != "" {
		der, err := loadCertificate(cfg.Certificate)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate: %w", err)
		}
		key, err := loadKey(cfg.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("key: %w", err)
		}
		return der, key, nil
	}
	certPath := filepath.Join(cfg.DataDir, generatedCertFile)
	keyPath := filepath.Join(cfg.DataDir, generatedKeyFile)
	if der, err := loadCertificate(certPath); err == nil {
		if key, kerr := loadKey(keyPath); kerr == nil {
			return der, key, nil
		}
	}
	der, key, err := generateClientCert(cfg.Name)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data dir: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, nil, fmt.Errorf("write client key: %w", err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, nil, fmt.Errorf("write client certificate: %w", err)
	}
	return der, key, nil
}

// applicationURI is the client's OPC UA application URI for name.
func applicationURI(name string) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return "urn:otwin:" + url.PathEscape(host) + ":" + url.PathEscape(name)
}

// generateClientCert makes a self-signed OPC UA application instance
// certificate valid for ten years.
func generateClientCert(name string) ([]byte, *rsa.PrivateKey, error) {
	host, _ := os.Hostname()
	der, key, err := uaapp.Certificate{CommonName: "otwin " + name, AppURI: applicationURI(name), Hosts: []string{host}}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("client certificate: %w", err)
	}
	return der, key, nil
}

// loadTrusted reads every certificate (PEM or DER) in dir.
func loadTrusted(dir string) ([][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("trust dir: %w", err)
	}
	var certs [][]byte
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".pem", ".crt", ".der", ".cer":
		default:
			continue
		}
		der, err := loadCertificate(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("trust dir: %w", err)
		}
		certs = append(certs, der)
	}
	return certs, nil
}

// errUntrusted says the server's certificate is not in the trust dir.
var errUntrusted = errors.New("server certificate not in trust_dir")

// checkTrusted reports errUntrusted unless cert is one of trusted.
func checkTrusted(cert []byte, trusted [][]byte) error {
	for _, t := range trusted {
		if bytes.Equal(cert, t) {
			return nil
		}
	}
	return errUntrusted
}
