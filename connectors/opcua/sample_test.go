package opcua

import (
	"os"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors"
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
	if err := cfg.Check(); err != nil {
		t.Fatalf("sample.yaml does not check: %v", err)
	}
	// The directory is a deployment's; the name and points come from
	// beside the section, the data directory from the process.
	cfg.TrustDir = t.TempDir()
	c, err := cfg.NewConnector("press3", []string{"nsu=urn:acme:press3;s=Press3.Hydraulics.Pressure", "nsu=urn:acme:press3;i=1001"},
		connectors.Env{DataDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("sample.yaml does not validate: %v", err)
	}
	got := c.(*Connector).Config()
	if got.PublishingInterval != 500*time.Millisecond || got.SamplingInterval != 250*time.Millisecond || got.Timeout != 10*time.Second ||
		got.Deadband != 0.1 || len(got.Nodes) != 2 || got.BrowseRoot == "" || got.Username != "otwin" || got.Name != "press3" {
		t.Errorf("sample decoded as %+v", got)
	}
}
