package opcuaserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
)

func TestApplySettings(t *testing.T) {
	no, yes := false, true
	var c Config
	c.ApplySettings(scenarios.OPCUASettings{
		Security:  []string{"sign_encrypt"},
		Anonymous: &no,
		Users: []scenarios.User{
			{Name: "a", Password: "p"},
			{Name: "b", Password: "q", Write: &no},
			{Name: "c", Password: "r", Write: &yes},
		},
	})
	if c.Anonymous || c.AnonymousWrite || len(c.Security) != 1 || c.Security[0] != SecuritySignEncrypt {
		t.Errorf("config %+v", c)
	}
	want := []User{{"a", "p", true}, {"b", "q", false}, {"c", "r", true}}
	if len(c.Users) != len(want) {
		t.Fatalf("users %+v", c.Users)
	}
	for i := range want {
		if c.Users[i] != want[i] {
			t.Errorf("user %d = %+v, want %+v", i, c.Users[i], want[i])
		}
	}
	c.ApplySettings(scenarios.OPCUASettings{Anonymous: &yes, AnonymousWrite: true})
	if !c.Anonymous || !c.AnonymousWrite || len(c.Users) != 0 {
		t.Errorf("anonymous writers: config %+v", c)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{Port: -1, Security: []string{"tls"}, Users: []User{{Name: ""}, {Name: "x"}, {Name: "x"}}}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no machines", "port -1", `security mode "tls"`, "user 1 has no name", `user "x" defined twice`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := DefaultConfig("m").Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestRolesAllocationFree(t *testing.T) {
	s := &Server{cfg: Config{}, writers: map[string]bool{"op": true, "viewer": false}}
	tests := []struct {
		name     string
		identity any
		anonW    bool
		write    bool
		err      bool
	}{
		{"anonymous", ua.AnonymousIdentity{}, false, false, false},
		{"anonymous allowed to write", ua.AnonymousIdentity{}, true, true, false},
		{"writer", ua.UserNameIdentity{UserName: "op"}, false, true, false},
		{"reader", ua.UserNameIdentity{UserName: "viewer"}, false, false, false},
		{"certificate", ua.X509Identity{}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.cfg.AnonymousWrite = tt.anonW
			roles, err := s.roles(tt.identity, "", "")
			if (err != nil) != tt.err {
				t.Fatalf("err %v", err)
			}
			if _, ok := err.(ua.StatusCode); err != nil && !ok {
				t.Errorf("error %T is not a ua.StatusCode", err)
			}
			write := false
			for _, r := range roles {
				if r == ua.ObjectIDWellKnownRoleOperator {
					write = true
				}
			}
			if write != tt.write {
				t.Errorf("roles %v: write %v, want %v", roles, write, tt.write)
			}
			if n := testing.AllocsPerRun(100, func() { s.roles(tt.identity, "", "") }); n != 0 {
				t.Errorf("%v allocations per call", n)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	s := &Server{users: map[string]string{"op": "secret"}, log: discardLogger()}
	if err := s.authenticate(ua.UserNameIdentity{UserName: "op", Password: "secret"}, "", ""); err != nil {
		t.Errorf("good password refused: %v", err)
	}
	for _, id := range []ua.UserNameIdentity{{UserName: "op", Password: "Secret"}, {UserName: "op"}, {UserName: "x", Password: "secret"}} {
		err := s.authenticate(id, "", "")
		if code, ok := err.(ua.StatusCode); !ok || code != ua.BadUserAccessDenied {
			t.Errorf("%+v: error %v (%T), want ua.BadUserAccessDenied", id, err, err)
		}
	}
}

func TestCertificateKeptAndChecked(t *testing.T) {
	dir := t.TempDir()
	c1, k1, err := ensureCertificate(dir, ApplicationURI, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(c1)
	c2, _, err := ensureCertificate(dir, ApplicationURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(c2); string(first) != string(second) {
		t.Error("certificate regenerated instead of kept")
	}
	if fi, _ := os.Stat(k1); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode().Perm())
	}
	block, _ := pem.Decode(first)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != ApplicationURI {
		t.Errorf("certificate URIs %v", cert.URIs)
	}

	// A key whose private exponent is a byte short breaks username logins:
	// refused with a message naming the file.
	bad := t.TempDir()
	key := shortExponentKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, URIs: cert.URIs}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bad, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(bad, keyFile), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	if _, _, err := ensureCertificate(bad, ApplicationURI, nil); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("short-exponent key accepted or unnamed: %v", err)
	}
}

// shortExponentKey returns a small RSA key whose D is shorter than its
// modulus.
func shortExponentKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	for range 10000 {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		if len(k.D.Bytes()) < k.Size() {
			return k
		}
	}
	t.Skip("no short-exponent key found")
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAdvertiseHost(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct{ host, advertise, want string }{
		{"", "", "127.0.0.1"},
		{"127.0.0.1", "", "127.0.0.1"},
		{"0.0.0.0", "", host},
		{"::", "", host},
		{"0.0.0.0", "twin.lan", "twin.lan"},
	}
	for _, tt := range tests {
		c := Config{Host: tt.host, AdvertiseHost: tt.advertise}.withDefaults()
		if c.AdvertiseHost != tt.want {
			t.Errorf("host %q advertise %q: got %q, want %q", tt.host, tt.advertise, c.AdvertiseHost, tt.want)
		}
	}
}
