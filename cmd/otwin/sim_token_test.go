package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSimRequiresToken: otwin sim serves its control API with a token,
// written into the ready file (mode 0600) and the data directory; the CLI
// gets in with the ready file or $OTWIN_TOKEN and is refused without;
// --token sets the token for scripts.
func TestSimRequiresToken(t *testing.T) {
	dir := t.TempDir()
	ready, data := filepath.Join(dir, "twin.json"), filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRoot()
	var out lockedBuffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"sim", "cnc", "--ephemeral", "--ready-file", ready, "--data-dir", data, "--token", "s3cret-for-scripts", "--log-level", "warn"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("otwin sim: %v\n%s", err, out.String())
		}
	}()
	var rf readyFile
	waitUntil(t, 30*time.Second, "the ready file", func() bool {
		b, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(b, &rf) == nil
	})
	if rf.Token != "s3cret-for-scripts" || rf.Control == "" {
		t.Fatalf("ready file: control %q token %q", rf.Control, rf.Token)
	}
	if st, _ := os.Stat(ready); st.Mode().Perm() != 0o600 {
		t.Errorf("ready file mode %v, want 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(filepath.Join(data, tokenFileName)); strings.TrimSpace(string(b)) != rf.Token {
		t.Errorf("data dir token %q", b)
	}
	if !strings.Contains(out.String(), "(token in "+ready+")") {
		t.Errorf("stdout does not say where the token is:\n%s", out.String())
	}
	if got, err := otwin(t, "clock", "status", "--ready-file", ready); err != nil || !strings.Contains(got, "scenario:") {
		t.Errorf("with the ready file: %v\n%s", err, got)
	}
	t.Setenv("OTWIN_TOKEN", "")
	if _, err := otwin(t, "clock", "status", "--control", rf.Control); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("without a token: %v, want refused", err)
	}
	if _, err := otwin(t, "clock", "status", "--control", rf.Control, "--token", "guess"); err == nil || !strings.Contains(err.Error(), "wrong token") {
		t.Errorf("with a wrong token: %v, want refused", err)
	}
	t.Setenv("OTWIN_TOKEN", rf.Token)
	if got, err := otwin(t, "fault", "list", "--control", rf.Control); err != nil || !strings.Contains(got, "mill1-wear-drift") {
		t.Errorf("with $OTWIN_TOKEN: %v\n%s", err, got)
	}
}
