package opcua

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/uaapp"
)

// identities caches test certificates: RSA key generation is slow under
// the race detector.
var identities struct {
	sync.Mutex
	m map[string]identity
}

type identity struct {
	der []byte
	key *rsa.PrivateKey
}

// serverIdentity returns the self-signed certificate named name (made
// once per test binary) for 127.0.0.1.
func serverIdentity(t testing.TB, name string) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	identities.Lock()
	defer identities.Unlock()
	if id, ok := identities.m[name]; ok {
		return id.der, id.key
	}
	der, key := makeIdentity(t)
	if identities.m == nil {
		identities.m = map[string]identity{}
	}
	identities.m[name] = identity{der, key}
	return der, key
}

// makeIdentity makes a self-signed certificate for 127.0.0.1.
func makeIdentity(t testing.TB) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	der, key, err := uaapp.Certificate{CommonName: "test server", AppURI: "urn:otwin:test:server", Hosts: []string{"127.0.0.1"}, Valid: time.Hour}.New()
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

// writeCert writes der as PEM into dir/name.
func writeCert(t testing.TB, dir, name string, der []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSignAndEncryptWithUsername(t *testing.T) {
	if testing.Short() {
		t.Skip("awcullen's server takes 3s to close")
	}
	der, key := serverIdentity(t, "server")
	aw := startAwcullenServer(t, der, key, false, []awVar{{name: "X", value: 4.5}})
	url := aw.url
	trust := t.TempDir()
	writeCert(t, trust, "server.pem", der)
	data := t.TempDir()
	cfg := Config{
		URL: url, Nodes: []string{nodeAddr("X")}, PublishingInterval: 50 * time.Millisecond, Timeout: 3 * time.Second,
		SecurityMode: ModeSignAndEncrypt, SecurityPolicy: PolicyBasic256Sha256, DataDir: data, TrustDir: trust,
		Username: "operator", Password: "secret",
	}
	h := runConnector(t, cfg)
	h.waitFor(10*time.Second, "X over an encrypted channel", hasValue(nodeAddr("X"), 4.5))
	h.stop()
	<-h.done
	h.done <- nil

	// The generated client certificate is kept and reused.
	first, err := os.ReadFile(filepath.Join(data, generatedCertFile))
	if err != nil {
		t.Fatalf("generated certificate: %v", err)
	}
	cfg.SecurityMode = ModeSign
	h2 := runConnector(t, cfg)
	h2.waitFor(10*time.Second, "X over a signed channel", hasValue(nodeAddr("X"), 4.5))
	again, _ := os.ReadFile(filepath.Join(data, generatedCertFile))
	if !bytes.Equal(first, again) {
		t.Errorf("client certificate regenerated on the second run")
	}

	// A wrong password is refused: no values, the link is down.
	cfg.Password = "wrong"
	h3 := runConnector(t, cfg)
	rs := h3.waitFor(10*time.Second, "BadNoCommunication for X", func(rs []connectors.Reading) bool {
		_, ok := latest(rs, nodeAddr("X"), isNoComm)
		return ok
	})
	for _, r := range rs {
		if r.Raw != nil {
			t.Errorf("value %v read with a wrong password", r.Raw)
		}
	}
	if hl := h3.c.Health(); hl.State == connectors.Connected || hl.LastError == nil {
		t.Errorf("health %+v after a wrong password, want down with an error", hl)
	}
}

func TestUntrustedServerRefused(t *testing.T) {
	der, key := serverIdentity(t, "server")
	aw := startAwcullenServer(t, der, key, false, []awVar{{name: "X", value: 4.5}})
	other, otherKey := serverIdentity(t, "other")
	trust := t.TempDir()
	writeCert(t, trust, "other.pem", other)
	// The client uses a certificate from files this time.
	dir := t.TempDir()
	writeCert(t, dir, "client.pem", other)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(otherKey)})
	if err := os.WriteFile(filepath.Join(dir, "client.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	h := runConnector(t, Config{
		URL: aw.url, Nodes: []string{nodeAddr("X")}, Timeout: 2 * time.Second,
		SecurityMode: ModeSign, Certificate: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client.key"), TrustDir: trust,
	})
	hl := h.waitHealth(5*time.Second, "a refusal", func(hl connectors.Health) bool { return hl.LastError != nil })
	if !errors.Is(hl.LastError, errUntrusted) {
		t.Errorf("LastError = %v, want %v", hl.LastError, errUntrusted)
	}
	rs := h.waitFor(5*time.Second, "BadNoCommunication for X", func(rs []connectors.Reading) bool {
		_, ok := latest(rs, nodeAddr("X"), isNoComm)
		return ok
	})
	for _, r := range rs {
		if r.Raw != nil {
			t.Errorf("value %v read from an untrusted server", r.Raw)
		}
	}
}
