package uaapp

import (
	"crypto/x509"
	"math/big"
	"testing"
	"time"
)

// TestCertificate: the certificate parses, names the application URI and
// every host, is a CA only when asked, and its key passes CheckKey.
func TestCertificate(t *testing.T) {
	for _, ca := range []bool{false, true} {
		der, key, err := Certificate{CommonName: "otwin t", AppURI: "urn:otwin:t", Hosts: []string{"localhost", "127.0.0.1", ""}, Valid: time.Hour, CA: ca}.New()
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.URIs) != 1 || c.URIs[0].String() != "urn:otwin:t" {
			t.Errorf("URIs %v", c.URIs)
		}
		if len(c.DNSNames) != 1 || c.DNSNames[0] != "localhost" || len(c.IPAddresses) != 1 || c.IPAddresses[0].String() != "127.0.0.1" {
			t.Errorf("hosts %v %v", c.DNSNames, c.IPAddresses)
		}
		if c.IsCA != ca {
			t.Errorf("IsCA %v, want %v", c.IsCA, ca)
		}
		if d := c.NotAfter.Sub(c.NotBefore); d < time.Hour || d > 2*time.Hour+time.Minute {
			t.Errorf("valid for %v", d)
		}
		if err := CheckKey(key); err != nil {
			t.Error(err)
		}
		if !key.PublicKey.Equal(c.PublicKey) {
			t.Error("the certificate is not the key's")
		}
	}
}

// TestCheckKeyShortExponent: a key whose private exponent is shorter than
// its modulus is refused with the reason.
func TestCheckKeyShortExponent(t *testing.T) {
	_, key, err := Certificate{AppURI: "urn:x"}.New()
	if err != nil {
		t.Fatal(err)
	}
	short := *key
	short.D = new(big.Int).Rsh(key.D, 8)
	if err := CheckKey(&short); err == nil {
		t.Error("a short private exponent passed")
	}
}
