package opcuaserver

import (
	"os"
	"regexp"
	"testing"
)

// TestBackendPinned fails when the OPC UA stack is not the version
// backend.go was written against: its go:linkname targets and the fields
// it reads are that version's unexported internals. (A test binary
// carries no dependency versions, so go.mod is read.)
func TestBackendPinned(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/awcullen/opcua (\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/awcullen/opcua")
	}
	if v := string(m[1]); v != "v1.4.0" {
		t.Errorf("go.mod requires github.com/awcullen/opcua %s; backend.go reaches into v1.4.0's internals: check every go:linkname target and field there, then update this test", v)
	}
	if regexp.MustCompile(`(?m)^replace.*awcullen/opcua|^\s*github\.com/awcullen/opcua .*=>`).Match(mod) {
		t.Error("go.mod replaces github.com/awcullen/opcua; backend.go is pinned to v1.4.0")
	}
	if subFieldsErr != nil {
		t.Error(subFieldsErr)
	}
}
