package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runValidate runs `otwin validate args...` and returns its output and
// error.
func runValidate(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newValidateCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestValidateShipped(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("shipped scenarios: %v %v", files, err)
	}
	out, errOut, err := runValidate(t, files...)
	if err != nil {
		t.Fatalf("validate shipped: %v\n%s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(files) {
		t.Fatalf("want %d lines, got:\n%s", len(files), out)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, files[i]+": ok (") || !strings.Contains(l, " machines, ") || !strings.HasSuffix(l, " tags)") {
			t.Errorf("line %q", l)
		}
	}
	out, _, err = runValidate(t, "--quiet", files[0])
	if err != nil || out != "" {
		t.Errorf("--quiet: %q, %v", out, err)
	}
}

func TestValidateBroken(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nmachines:\n  - name: m1\n    tags:\n      - name: a\n        unti: bar\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runValidate(t, "../../scenarios/cnc.yaml", bad, filepath.Join(dir, "missing.yaml"))
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err = %v, want exitError{1}", err)
	}
	if !strings.Contains(out, "cnc.yaml: ok") {
		t.Errorf("stdout %q", out)
	}
	want := bad + `:6:9: unknown field "unti" (did you mean "unit"?)`
	if !strings.Contains(errOut, want) {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("stderr %q lacks the missing file", errOut)
	}
}
