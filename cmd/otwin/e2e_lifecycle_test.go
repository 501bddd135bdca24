package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/tui/sshserve"
)

// End-to-end tests of a session's life with the real OpenSSH client in
// tmux at 80×24: the end of a session from the server side (shutdown, a
// reload that removes the user, a kick) gives the participant their
// terminal back with one line saying why; the recording of a session
// replays to the participant's screens.

// needTerminalTools skips the test without ssh and tmux.
func needTerminalTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
	if testing.Short() {
		t.Skip("builds the binary and drives real terminals; skipped with -short")
	}
}

// startPane runs cmd alone in a detached tmux session of w×h on its own
// server; the pane stays after cmd ends ("; exec cat" keeps it open and
// prints nothing).
func startPane(t *testing.T, dir, name, cmd string, w, h int) *tmuxPane {
	t.Helper()
	p := &tmuxPane{t: t, socket: filepath.Join(dir, name+".sock")}
	if out, err := p.run("-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h),
		"sh", "-c", cmd+"; exec cat"); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { p.run("kill-server") })
	return p
}

// terminalState reports whether the pane is on the alternate screen and
// whether its cursor is shown.
func (p *tmuxPane) terminalState() (alt, cursor bool) {
	out, err := p.run("display-message", "-p", "-t", "e2e", "#{alternate_on} #{cursor_flag}")
	if err != nil {
		p.t.Fatalf("tmux display: %v: %s", err, out)
	}
	f := strings.Fields(out)
	return len(f) == 2 && f[0] == "1", len(f) == 2 && f[1] == "1"
}

// waitRestored waits until the pane shows why its session ended, back on
// the normal screen with the cursor shown.
func (p *tmuxPane) waitRestored(why string) {
	p.t.Helper()
	p.waitScreen(10*time.Second, "otwin: "+why)
	if !pollUntil(5*time.Second, func() bool { alt, cursor := p.terminalState(); return !alt && cursor }) {
		alt, cursor := p.terminalState()
		p.t.Fatalf("after %q the terminal is on the alternate screen: %v, cursor shown: %v:\n%s", why, alt, cursor, p.capture())
	}
}

// openSSHCommand is the ssh command line of user with key to addr, for a
// pane.
func openSSHCommand(addr, user, key, knownHosts string, extra ...string) string {
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"ssh", "-tt", "-F", "/dev/null", "-i", key, "-p", port,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "LogLevel=ERROR"}, extra...)
	return strings.Join(append(args, user+"@"+host), " ")
}

// TestE2ESSHServerLifecycle runs the otwin binary (`otwin ssh --scenario`)
// and logs in with OpenSSH at 80×24. The ready file gives the SSH address,
// the control URL and token; the control API refuses calls without the
// token (401, audited) and audits the calls of a session's fault panel
// with its user. SIGHUP reloads the users file: the removed user's
// terminal is restored with a message, the others' sessions go on and a
// user added gets in. SIGTERM restores every participant's terminal with
// "the server is shutting down". A client that prefers passwords is told
// the server offers public keys only.
func TestE2ESSHServerLifecycle(t *testing.T) {
	needTerminalTools(t)
	t.Parallel()
	dir := t.TempDir()
	bin := buildDemoBinary(t, dir)
	users, usersFile := writeUsers(t, dir, [][2]string{{"olga", "operator"}, {"max", "maintenance"}, {"tom", "trainer"}})
	scenario := filepath.Join(dir, "press.yaml")
	if err := os.WriteFile(scenario, []byte(sshScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	data, ready, audit := filepath.Join(dir, "data"), filepath.Join(dir, "ready.json"), filepath.Join(dir, "audit.jsonl")
	var out lockedBuffer
	srv := exec.Command(bin, "ssh", "--users", usersFile, "--scenario", scenario, "--listen", "127.0.0.1:0",
		"--data-dir", data, "--ready-file", ready, "--audit", audit, "--log-level", "warn")
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		srv.Process.Kill()
		<-exited
	})
	var rf readyFile
	waitUntil(t, 30*time.Second, "the ready file", func() bool {
		b, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(b, &rf) == nil && rf.SSH != ""
	})
	if st, err := os.Stat(ready); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ready file mode %v (%v), want 0600: it holds the token", st.Mode().Perm(), err)
	}
	tok, err := os.ReadFile(filepath.Join(data, tokenFileName))
	if err != nil || strings.TrimSpace(string(tok)) != rf.Token || len(rf.Token) != 64 {
		t.Fatalf("token file %q (%v), ready file token %q", tok, err, rf.Token)
	}
	if st, _ := os.Stat(filepath.Join(data, tokenFileName)); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", st.Mode().Perm())
	}

	// The control API: the CLI with the ready file gets in; without the
	// token it is refused.
	if got, err := otwin(t, "fault", "list", "--ready-file", ready); err != nil || !strings.Contains(got, "overheat") {
		t.Errorf("otwin fault list --ready-file: %v\n%s", err, got)
	}
	if _, err := otwin(t, "clock", "status", "--control", rf.Control); err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), tokenFileName) {
		t.Errorf("otwin clock status without a token: %v, want HTTP 401 naming where the token is", err)
	}

	kh := filepath.Join(dir, "known_hosts")
	panes := map[string]*tmuxPane{}
	for _, u := range []string{"olga", "max", "tom"} {
		panes[u] = startPane(t, dir, u, openSSHCommand(rf.SSH, u, users[u].privPath, kh), 80, 24)
	}
	panes["olga"].waitScreen(15*time.Second, "olga (operator)")
	panes["max"].waitScreen(15*time.Second, "max (maintenance)")
	panes["tom"].waitScreen(15*time.Second, "tom (trainer)", "overheat")
	// tom injects from his fault panel: the twin's audit names him.
	if _, err := panes["tom"].run("send-keys", "-t", "e2e", "Enter"); err != nil {
		t.Fatal(err)
	}
	readAudit := func() []sshserve.AuditEvent {
		b, _ := os.ReadFile(audit)
		var evs []sshserve.AuditEvent
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var e sshserve.AuditEvent
			if json.Unmarshal([]byte(l), &e) == nil {
				evs = append(evs, e)
			}
		}
		return evs
	}
	hasAudit := func(what string, match func(sshserve.AuditEvent) bool) {
		t.Helper()
		waitUntil(t, 10*time.Second, "audit: "+what, func() bool {
			for _, e := range readAudit() {
				if match(e) {
					return true
				}
			}
			return false
		})
	}
	hasAudit("tom's inject through the control API", func(e sshserve.AuditEvent) bool {
		return e.Event == "control" && e.User == "tom" && e.Target == "POST /v1/faults" && e.Result == "ok" && e.Remote != ""
	})
	hasAudit("the refused call", func(e sshserve.AuditEvent) bool {
		return e.Event == "control" && e.Target == "GET /v1/status" && strings.HasPrefix(e.Result, "refused (HTTP 401): no token")
	})

	// A client that would rather type a password: the server offers
	// public keys only, so it is not asked for one.
	pw := startPane(t, dir, "pw", openSSHCommand(rf.SSH, "olga", users["max"].privPath, kh,
		"-o", "PreferredAuthentications=password,keyboard-interactive")+"; echo ssh-exit=$?", 80, 24)
	pw.waitScreen(10*time.Second, "Permission denied (publickey)", "ssh-exit=255")

	// SIGHUP: max removed, ann added, olga and tom unchanged.
	ann := newSSHKey(t, dir, "ann")
	b, _ := os.ReadFile(usersFile)
	yml := string(b)
	i, j := strings.Index(yml, "  - name: max"), strings.Index(yml, "  - name: tom")
	yml = yml[:i] + yml[j:] + fmt.Sprintf("  - name: ann\n    role: quality\n    keys: [%q]\n", ann.authorized)
	if err := os.WriteFile(usersFile, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	panes["max"].waitRestored("your access was removed from the users file")
	waitUntil(t, 5*time.Second, "the reload on stdout", func() bool {
		return strings.Contains(out.String(), "reloaded: 3 users; ended the sessions of max")
	})
	for _, u := range []string{"olga", "tom"} {
		if alt, _ := panes[u].terminalState(); !alt || !strings.Contains(panes[u].capture(), u+" (") {
			t.Errorf("%s's session did not survive the reload:\n%s", u, panes[u].capture())
		}
	}
	pa := startPane(t, dir, "ann", openSSHCommand(rf.SSH, "ann", ann.privPath, kh), 80, 24)
	pa.waitScreen(15*time.Second, "ann (quality)")
	hasAudit("the reload", func(e sshserve.AuditEvent) bool { return e.Event == "reload" && strings.Contains(e.Result, "max") })
	mx := startPane(t, dir, "max2", openSSHCommand(rf.SSH, "max", users["max"].privPath, kh)+"; echo ssh-exit=$?", 80, 24)
	mx.waitScreen(10*time.Second, "Permission denied", "ssh-exit=255")

	// SIGTERM: otwin exits within exitBound (less the time the machine
	// gave the test no CPU), OpenSSH clients and all, and every
	// participant's terminal comes back, with why.
	sw := testkit.StartStopwatch()
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		wall, stalled := sw.Stop()
		if exitErr != nil {
			t.Errorf("otwin ssh exited with %v after SIGTERM:\n%s", exitErr, out.String())
		}
		if d := wall - stalled; d > exitBound {
			t.Errorf("otwin ssh with three OpenSSH sessions exited %v after SIGTERM (%v of it stalled), want within %v", wall, stalled, exitBound)
		} else {
			t.Logf("otwin ssh with three OpenSSH sessions exited %v after SIGTERM (%v of it the machine gave the test no CPU)", wall.Round(time.Millisecond), stalled.Round(time.Millisecond))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("otwin ssh still running 20s after SIGTERM:\n%s", out.String())
	}
	for _, p := range []*tmuxPane{panes["olga"], panes["tom"], pa} {
		p.waitRestored("the server is shutting down")
	}
	for name, p := range map[string]*tmuxPane{"olga": panes["olga"], "tom": panes["tom"], "ann": pa} {
		// The reason is the one line: the client closed its connection
		// itself, it was not cut under it.
		if c := p.capture(); strings.Contains(c, "closed by remote host") {
			t.Errorf("%s's terminal shows more than the reason:\n%s", name, c)
		}
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Errorf("the ready file outlived the server: %v", err)
	}
	hasAudit("olga's shutdown logout", func(e sshserve.AuditEvent) bool {
		return e.Event == "logout" && e.User == "olga" && e.Result == "server shutdown"
	})
}
