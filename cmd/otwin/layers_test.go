package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the one rule of the house: the simulator half (scenarios,
// twin) and the monitoring half (connectors, normalize, tui) never import
// each other; they meet only on the wire and in cmd/. The leaf packages
// both halves share (units, datatype, role, ctxrole, statuscode,
// mbexception, recording, uaapp, internal/memlimit) and the tests' kit
// (internal/testkit) import nothing of otwin.
func TestLayers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	const mod = "github.com/otwin/otwin/"
	halves := map[string][]string{
		"monitoring": {"connectors", "normalize", "tui"},
		"simulator":  {"scenarios", "twin"},
		"leaf":       {"units", "datatype", "role", "ctxrole", "statuscode", "mbexception", "recording", "uaapp", "internal/testkit", "internal/memlimit"},
	}
	forbidden := map[string][]string{
		"monitoring": halves["simulator"],
		"simulator":  halves["monitoring"],
		"leaf":       append(append([]string{"cmd"}, halves["simulator"]...), halves["monitoring"]...),
	}
	for half, roots := range halves {
		for _, root := range roots {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+root+"/...").CombinedOutput()
			if err != nil {
				t.Fatalf("go list %s: %v\n%s", root, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, bad := range forbidden[half] {
					if dep == mod+bad || strings.HasPrefix(dep, mod+bad+"/") {
						t.Errorf("%s (%s half) depends on %s", root, half, dep)
					}
				}
			}
		}
	}
}
