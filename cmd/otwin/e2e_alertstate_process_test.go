//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/normalize/store/alertdb"
)

// hotScenario's oven is always too hot: its out_of_range alert is raised
// by itself, before and after every restart.
const hotScenario = `name: hotline
tick: 100ms
location: {enterprise: acme, site: plant, area: bake, line: line1}
machines:
  - name: oven1
    modbus: {port: 0, unit_id: 1}
    tags:
      - name: temp
        unit: degC
        range: {low: 0, high: 100}
        model: {constant: {value: 150}}
        modbus: {table: input, address: 0, type: int16, scale: 0.1}
`

// hotAlert is the alert hotScenario raises.
const hotAlert = "out_of_range:acme/plant/bake/line1/oven1/temp"

// TestE2EAlertStateProcess runs the otwin binary: one otwin per data
// directory, and an acknowledgement that survives a restart of otwin ssh,
// made and seen with OpenSSH in a real terminal of 80×24.
func TestE2EAlertStateProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the otwin binary; skipped with -short")
	}
	bin := buildDemoBinary(t, t.TempDir())
	t.Run("second-process-refused", func(t *testing.T) { t.Parallel(); processDataDirInUse(t, bin) })
	t.Run("openssh-restart-keeps-ack", func(t *testing.T) { t.Parallel(); processRestartKeepsAck(t, bin) })
}

// startSSHProc runs `otwin ssh --scenario` with args and returns it and
// the SSH address it prints.
func startSSHProc(t *testing.T, bin string, args ...string) (*proc, string) {
	t.Helper()
	p := startProc(t, bin, append([]string{"ssh", "--listen", "127.0.0.1:0"}, args...)...)
	return p, p.sshAddr()
}

// processDataDirInUse: while `otwin ssh` has a data directory, watch,
// ssh, demo and workshop on it exit at once with a message naming the
// directory and the pid; once it stopped, the directory is free again.
func processDataDirInUse(t *testing.T, bin string) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	scPath := filepath.Join(dir, "hot.yaml")
	if err := os.WriteFile(scPath, []byte(hotScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	_, usersPath := writeUsers(t, dir, [][2]string{{"olga", "operator"}})
	// A sources file for watch: the oven on a port nobody serves.
	srcPath := filepath.Join(dir, "sources.yaml")
	b, err := yaml.Marshal(exportSources(parseScenario(t, "hotline", hotScenario),
		[]endpoint{{Machine: "oven1", Protocol: "modbus", Address: "127.0.0.1:1", UnitID: 1}}, exportBoth))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(srcPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	first, _ := startSSHProc(t, bin, "--scenario", scPath, "--users", usersPath, "--data-dir", data)
	want := fmt.Sprintf("otwin: data directory %s is in use by another process (pid %d), which has its alert database %s open; stop that process, or use another data directory (--data-dir)",
		data, first.cmd.Process.Pid, filepath.Join(data, alertdb.FileName))
	for _, args := range [][]string{
		{"watch", srcPath, "--headless"},
		{"watch", srcPath},
		{"ssh", "--sources", srcPath, "--users", usersPath, "--listen", "127.0.0.1:0"},
		{"ssh", "--scenario", scPath, "--users", usersPath, "--listen", "127.0.0.1:0"},
		{"demo", scPath},
		{"workshop", scPath, "--users", usersPath, "--listen", "127.0.0.1:0", "--report-dir", filepath.Join(dir, "debrief")},
	} {
		cmd := exec.Command(bin, append(args, "--data-dir", data)...)
		cmd.Env = append(os.Environ(), "GORACE="+noRaceExitSleep())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("otwin %s on a data directory in use: %v, want exit status 1", strings.Join(args, " "), err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("otwin %s on a data directory in use still runs after 10s", strings.Join(args, " "))
		}
		if got := strings.TrimSpace(stderr.String()); got != want {
			t.Errorf("otwin %s says:\n%s\nwant:\n%s", args[0], got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "debrief")); !os.IsNotExist(err) {
		t.Errorf("the refused workshop wrote a debrief: %v", err)
	}
	first.stop(syscall.SIGTERM)
	second := startProc(t, bin, "watch", srcPath, "--headless", "--data-dir", data, "--log-level", "error")
	waitUntil(t, 10*time.Second, "the second otwin's pid in the data directory", func() bool {
		b, err := os.ReadFile(filepath.Join(data, alertdb.PIDFileName))
		return err == nil && strings.TrimSpace(string(b)) == fmt.Sprint(second.cmd.Process.Pid)
	})
	second.stop(syscall.SIGTERM)
}

// processRestartKeepsAck: an operator acknowledges, over OpenSSH in an
// 80×24 terminal, the alert `otwin ssh --scenario` raised; otwin ssh is
// stopped (SIGTERM) and started again on the same data directory; the
// operator logs in again and finds the alert acknowledged by them, with
// their comment, though its condition was raised anew.
func processRestartKeepsAck(t *testing.T, bin string) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh is not installed")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	scPath := filepath.Join(dir, "hot.yaml")
	if err := os.WriteFile(scPath, []byte(hotScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	users, usersPath := writeUsers(t, dir, [][2]string{{"olga", "operator"}})
	args := []string{"--scenario", scPath, "--users", usersPath, "--data-dir", data, "--log-level", "debug", "--log-file", filepath.Join(dir, "otwin.log")}

	// login runs OpenSSH as olga in a new 80×24 tmux pane, opens the
	// alert list and waits for the oven's alert in state.
	login := func(addr, state string) *tmuxPane {
		t.Helper()
		p := sshPane(t, &sshFixture{svc: &sshService{addr: addr}, users: users}, t.TempDir(), "olga", 80, 24)
		p.waitScreen(20*time.Second, "olga (operator)")
		p.command("alerts")
		p.waitLines("the oven's alert "+state, 30*time.Second, func(lines []string) bool {
			_, ok := alertRowIn(lines, "oven1/temp", state)
			return ok
		})
		return p
	}

	first, addr := startSSHProc(t, bin, args...)
	p := login(addr, "UNACK")
	p.keys("a")
	lines := p.waitLines("the acknowledgement prompt", 5*time.Second, func(lines []string) bool {
		return paneAckPrompt.MatchString(lines[len(lines)-1])
	})
	// (a long id is shortened from the left on an 80-column screen)
	if id := paneAckPrompt.FindStringSubmatch(lines[len(lines)-1])[1]; !strings.HasPrefix(id, "out_of_range:") || !strings.HasSuffix(hotAlert, strings.TrimPrefix(strings.TrimPrefix(id, "out_of_range:"), "…")) {
		t.Fatalf("acknowledging %q, want %s", id, hotAlert)
	}
	p.typeText("cooling checked")
	p.keys("Enter")
	p.waitLines("the alert acknowledged", 5*time.Second, func(lines []string) bool {
		_, ok := alertRowIn(lines, "oven1/temp", "ACK")
		return ok
	})
	p.keys("q")
	p.waitScreen(10*time.Second, "ssh-exit=0")
	first.stop(syscall.SIGTERM)
	for _, name := range []string{alertdb.PIDFileName, alertdb.FileName + "-wal"} {
		if _, err := os.Stat(filepath.Join(data, name)); !os.IsNotExist(err) {
			t.Errorf("%s left in the data directory after a clean stop: %v", name, err)
		}
	}

	second, addr := startSSHProc(t, bin, args...)
	p = login(addr, "ACK")
	// Its detail: acknowledged by olga, with her comment.
	p.waitLines("the cursor on the alert", 5*time.Second, func(lines []string) bool {
		row, ok := alertRowIn(lines, "oven1/temp", "ACK")
		return ok && strings.HasPrefix(row, ">")
	})
	p.keys("Enter")
	p.waitLines("the acknowledgement in the alert's detail", 5*time.Second, func(lines []string) bool {
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 2 && f[0] == "acked" && f[1] == "olga" && strings.HasSuffix(strings.TrimSpace(l), ": cooling checked") {
				return true
			}
		}
		return false
	})
	checkPaneFrame(t, p)
	p.keys("q")
	p.waitScreen(10*time.Second, "ssh-exit=0")
	second.stop(syscall.SIGTERM)
}

// paneAckPrompt matches the bottom line asking for an acknowledgement
// comment (tmux drops its trailing space).
var paneAckPrompt = regexp.MustCompile(`^ack (\S+) comment:`)

// alertRowIn returns the alert list's row of target (machine/tag) in
// state (UNACK, ACK, RTN).
func alertRowIn(lines []string, target, state string) (string, bool) {
	for _, l := range lines {
		if m := demoAlertRow.FindStringSubmatch(l); m != nil && m[2] == state && strings.Contains(l, target) {
			return l, true
		}
	}
	return "", false
}

// checkPaneFrame: the dashboard fills the 80×24 pane exactly, no line
// wider than the terminal.
func checkPaneFrame(t *testing.T, p *tmuxPane) {
	t.Helper()
	lines := p.lines()
	if len(lines) != 24 {
		t.Errorf("the pane shows %d lines, want 24:\n%s", len(lines), p.capture())
	}
	for i, l := range lines {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("line %d is %d wide: %q", i+1, w, l)
		}
	}
}
