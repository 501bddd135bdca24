package opcua

import (
	"os"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// TestSample keeps testdata/sample.yaml, the documented example, valid.
func TestSample(t *testing.T) {
	b, err := os.ReadFile("testdata/sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := yaml.UnmarshalWithOptions(b, &cfg, yaml.Strict()); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	// The directories are those of a deployment; validate the rest.
	cfg.TrustDir = t.TempDir()
	cfg.Logger = testLogger(t)
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("sample.yaml does not validate: %v", err)
	}
	got := c.Config()
	if got.PublishingInterval != 500*time.Millisecond || got.SamplingInterval != 250*time.Millisecond || got.Timeout != 10*time.Second ||
		got.Deadband != 0.1 || len(got.Nodes) != 2 || got.BrowseRoot == "" || got.Username != "otwin" {
		t.Errorf("sample decoded as %+v", got)
	}
}
