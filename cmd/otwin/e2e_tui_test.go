//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
)

// The terminal end-to-end test: the real otwin binary runs `otwin demo` in
// a detached tmux session, and the test reads the screen with capture-pane
// and types with send-keys, as a user would. Every wait polls the screen
// with a deadline; a failure prints the last screen, the demo's standard
// error and the tail of its log.

// demoSessionLimit bounds one terminal session, start to exit.
const demoSessionLimit = 90 * time.Second

// buildDemoBinary builds ./cmd/otwin into dir, with the race detector when
// this test binary has it, and returns the binary's path.
func buildDemoBinary(t testing.TB, dir string) string {
	t.Helper()
	root, err := demoModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "otwin")
	args := []string{"build", "-o", bin}
	if demoRaceBuild() {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/otwin")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s: %s", strings.Join(args, " "), time.Since(start).Round(10*time.Millisecond))
	return bin
}

// demoModuleRoot is the directory of the module's go.mod.
func demoModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// demoRaceBuild reports whether this test binary was built with -race.
func demoRaceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// demoTerm is one detached tmux session (its own server socket) running
// `otwin demo` under sh: before the demo the shell prints demoShellMarker;
// after it, EXIT=<status> on the screen and into exitFile. The session
// is killed when the test ends.
type demoTerm struct {
	t        *testing.T
	sock     string
	socket   string // the server's socket file
	dir      string
	exitFile string
	pidFile  string // the demo's process id
	errFile  string
	logFile  string
	deadline time.Time
	last     string
	quitting bool // q was pressed: the demo may exit
}

const demoShellMarker = "otwin-e2e: shell before the demo"

var demoSockSeq struct {
	sync.Mutex
	n int
}

// startDemoTerm opens a w×h terminal running `otwin demo args...` with
// NO_COLOR=1 (the cursor is then marked with ">"), a temporary data
// directory and the user e2e. The demo's standard error goes to a file,
// so that anything written there, which would scroll the dashboard, is
// reported rather than corrupting the screen the test reads.
func startDemoTerm(t *testing.T, bin string, w, h int, args ...string) *demoTerm {
	t.Helper()
	demoSockSeq.Lock()
	demoSockSeq.n++
	sock := fmt.Sprintf("otwin-e2e-%d-%d", os.Getpid(), demoSockSeq.n)
	demoSockSeq.Unlock()
	dir, err := os.MkdirTemp("", "otwin-e2e-tui-")
	if err != nil {
		t.Fatal(err)
	}
	tm := &demoTerm{
		t: t, sock: sock, dir: dir,
		exitFile: filepath.Join(dir, "exit"),
		pidFile:  filepath.Join(dir, "pid"),
		errFile:  filepath.Join(dir, "stderr"),
		logFile:  filepath.Join(dir, "data", "otwin.log"),
		deadline: time.Now().Add(demoSessionLimit),
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = demoShellQuote(a)
	}
	script := fmt.Sprintf(`echo %s
NO_COLOR=1 GORACE=%s sh -c 'echo $$ > "$0"; exec "$@"' %s %s demo --data-dir %s --user e2e %s 2>%s
rc=$?
echo "EXIT=$rc" > %s
echo "EXIT=$rc"
exec cat
`, demoShellQuote(demoShellMarker), demoShellQuote(noRaceExitSleep()), demoShellQuote(tm.pidFile), demoShellQuote(bin), demoShellQuote(filepath.Join(dir, "data")), strings.Join(quoted, " "),
		demoShellQuote(tm.errFile), demoShellQuote(tm.exitFile))
	runSh := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(runSh, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			tm.dump()
		}
		kill := exec.Command("tmux", "-L", sock, "kill-server")
		kill.Env = demoTmuxEnv()
		_ = kill.Run()
		if tm.socket != "" {
			_ = os.Remove(tm.socket) // the server leaves it behind
		}
		// The demo gets SIGHUP with its terminal; it must be gone before
		// its data directory is removed.
		tm.reap()
		_ = os.RemoveAll(dir)
	})
	tm.tmux("-f", os.DevNull, "new-session", "-d", "-s", "demo",
		"-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "sh "+demoShellQuote(runSh))
	tm.socket = strings.TrimSpace(tm.tmux("display", "-p", "-t", "demo", "#{socket_path}"))
	return tm
}

func demoShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// tmux runs a tmux command on this session's server and returns its
// output, failing the test on error.
func (tm *demoTerm) tmux(args ...string) string {
	tm.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-L", tm.sock}, args...)...)
	cmd.Env = demoTmuxEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// demoTmuxEnv is the test's environment without TMUX, so that a test run
// inside a tmux session starts its own server rather than nesting.
func demoTmuxEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TMUX=") {
			env = append(env, e)
		}
	}
	return env
}

// reap waits up to 10s for the demo's process to end, then kills it.
func (tm *demoTerm) reap() {
	b, err := os.ReadFile(tm.pidFile)
	if err != nil {
		return // never started
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	gone := func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH }
	if !pollUntil(10*time.Second, gone) {
		tm.t.Errorf("otwin demo (pid %d) still running 10s after its terminal closed; killing it", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		pollUntil(5*time.Second, gone)
	}
}

// screen captures the visible pane, one string per row, trailing blanks
// trimmed.
func (tm *demoTerm) screen() []string {
	tm.t.Helper()
	s := tm.tmux("capture-pane", "-p", "-t", "demo")
	tm.last = s
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return lines
}

// send presses keys by tmux name (Enter, Down, Escape, q, ...).
func (tm *demoTerm) send(keys ...string) {
	tm.t.Helper()
	tm.tmux(append([]string{"send-keys", "-t", "demo"}, keys...)...)
}

// typeText types s literally.
func (tm *demoTerm) typeText(s string) {
	tm.t.Helper()
	tm.tmux("send-keys", "-t", "demo", "-l", s)
}

// waitFor polls the screen every 50ms until cond holds, failing with what
// and the last screen when timeout (or the session's overall deadline)
// passes first. It returns the screen that satisfied cond.
func (tm *demoTerm) waitFor(what string, timeout time.Duration, cond func(lines []string) bool) []string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	if deadline.After(tm.deadline) {
		deadline = tm.deadline
	}
	for {
		lines := tm.screen()
		if cond(lines) {
			return lines
		}
		if !tm.quitting {
			if b, err := os.ReadFile(tm.exitFile); err == nil {
				tm.t.Fatalf("otwin demo ended (%s) while waiting for %s; last screen:\n%s", strings.TrimSpace(string(b)), what, tm.last)
			}
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out after %s waiting for %s; last screen:\n%s", timeout, what, tm.last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dump logs the last screen, the demo's standard error and its log tail.
func (tm *demoTerm) dump() {
	tm.t.Logf("last screen of %s:\n%s", tm.sock, tm.last)
	if b, err := os.ReadFile(tm.errFile); err == nil && len(b) > 0 {
		tm.t.Logf("demo standard error:\n%s", b)
	}
	if b, err := os.ReadFile(tm.logFile); err == nil {
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		tm.t.Logf("demo log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// quit presses q and checks that the demo exits 0 within exitBound (of
// the time the machine gave the test a CPU: testkit.Stopwatch) and
// gives the terminal back: the shell's lines are on the screen again, the
// alternate screen is off, the cursor is visible, and nothing was written
// to standard error over the dashboard.
func (tm *demoTerm) quit() {
	tm.t.Helper()
	sw := testkit.StartStopwatch()
	tm.quitting = true
	tm.send("q")
	var exit string
	if !pollUntil(15*time.Second, func() bool {
		b, err := os.ReadFile(tm.exitFile)
		exit = strings.TrimSpace(string(b))
		return err == nil && exit != ""
	}) {
		tm.screen()
		tm.t.Fatalf("otwin demo did not exit within 15s of q")
	}
	wall, stalled := sw.Stop()
	took := wall - stalled
	tm.t.Logf("otwin demo exited %s, %s after q (and %s the machine gave the test no CPU)", exit, took.Round(10*time.Millisecond), stalled.Round(10*time.Millisecond))
	// The exit file is polled every 20ms, and tmux passes the key on:
	// allow one poll beyond the bound.
	if took > exitBound+20*time.Millisecond {
		tm.t.Errorf("otwin demo exited %v after q, want within %v", took, exitBound)
	}
	if exit != "EXIT=0" {
		tm.t.Errorf("otwin demo: %s, want EXIT=0", exit)
	}
	tm.waitFor("the shell's lines back on the normal screen", 5*time.Second, func(lines []string) bool {
		return demoLinesHave(lines, demoShellMarker) && demoLinesHave(lines, exit)
	})
	if alt := strings.TrimSpace(tm.tmux("display", "-p", "-t", "demo", "#{alternate_on}")); alt != "0" {
		tm.t.Errorf("alternate screen still on after exit (alternate_on=%s)", alt)
	}
	if cur := strings.TrimSpace(tm.tmux("display", "-p", "-t", "demo", "#{cursor_flag}")); cur != "1" {
		tm.t.Errorf("cursor hidden after exit (cursor_flag=%s)", cur)
	}
	for _, l := range tm.screen() {
		if strings.Contains(l, "otwin demo —") {
			tm.t.Errorf("dashboard title still on the screen after exit: %q", l)
		}
	}
	if b, _ := os.ReadFile(tm.errFile); len(bytes.TrimSpace(b)) > 0 {
		tm.t.Errorf("otwin demo wrote to standard error while the dashboard owned the terminal (each line scrolls the alternate screen and corrupts the dashboard):\n%s", b)
	}
}

func demoLinesHave(lines []string, s string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}

// checkDemoFrame fails when the screen is not one dashboard frame: the title
// on the first row and exactly one status bar (a frame taller than the
// terminal, or stray output, scrolls the alternate screen and leaves
// copies behind).
func checkDemoFrame(t *testing.T, lines []string) {
	t.Helper()
	if len(lines) == 0 || !strings.HasPrefix(strings.TrimSpace(lines[0]), "otwin demo —") {
		t.Fatalf("first row is not the dashboard's title; screen:\n%s", strings.Join(lines, "\n"))
	}
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "│ UNACK ") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d status bars on the screen, want 1; screen:\n%s", n, strings.Join(lines, "\n"))
	}
}

// demoTagRow matches a row of the tag table: cursor mark, tag id, value (with
// unit), quality badge.
var demoTagRow = regexp.MustCompile(`^[>› ](\S+/\S+)\s+(\S.*?)\s+(GOOD|UNCR|BAD)\s`)

// demoPaneRight is the part of a row right of the tree's divider (the whole
// row when there is none).
func demoPaneRight(l string) string {
	if i := strings.Index(l, "│"); i >= 0 {
		return l[i+len("│"):]
	}
	return l
}

// demoPaneLeft is the part of a row left of the tree's divider.
func demoPaneLeft(l string) string {
	if i := strings.Index(l, "│"); i >= 0 {
		return l[:i]
	}
	return l
}

// demoTagValues returns the value column of every tag row on the screen.
func demoTagValues(lines []string) map[string]string {
	vals := map[string]string{}
	for _, l := range lines {
		if m := demoTagRow.FindStringSubmatch(demoPaneRight(l)); m != nil {
			vals[m[1]] = m[2]
		}
	}
	return vals
}

// demoTagRows returns the tag ids of the table's rows.
func demoTagRows(lines []string) []string {
	var ids []string
	for _, l := range lines {
		if m := demoTagRow.FindStringSubmatch(demoPaneRight(l)); m != nil {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// demoCursor finds the focused cursor (">"): its screen row index, the
// text of that row within its pane, and the pane (left of the tree's
// divider, or right of it).
func demoCursor(lines []string) (idx int, row string, right bool) {
	for i, l := range lines {
		if strings.HasPrefix(l, ">") {
			return i, demoPaneLeft(l)[1:], false
		}
		if j := strings.Index(l, "│>"); j >= 0 {
			return i, l[j+len("│>"):], true
		}
	}
	return -1, "", false
}

// demoCursorRow returns the text of the focused cursor's row within its
// pane, and whether there is a cursor.
func demoCursorRow(lines []string) (string, bool) {
	i, row, _ := demoCursor(lines)
	return row, i >= 0
}

// moveCursor moves the focused cursor with Up and Down to the first row of
// its pane that satisfies want, at most maxSteps presses. Each press goes
// towards that row where it is on the screen (Down otherwise) and waits
// for the cursor to change rows, so rows whose text changes (ages, values)
// or that are reordered do not mislead it.
func (tm *demoTerm) moveCursor(what string, maxSteps int, want func(row string) bool) {
	tm.t.Helper()
	for step := 0; ; step++ {
		lines := tm.screen()
		ci, row, right := demoCursor(lines)
		if ci >= 0 && want(row) {
			return
		}
		if step == maxSteps {
			tm.t.Fatalf("cursor not on %s after %d presses; last screen:\n%s", what, maxSteps, tm.last)
		}
		key := "Down"
		for i, l := range lines {
			text := demoPaneLeft(l)
			if right {
				text = demoPaneRight(l)
			}
			if text == "" || i == ci {
				continue
			}
			if want(text[1:]) {
				if i < ci {
					key = "Up"
				}
				break
			}
		}
		tm.send(key)
		tm.waitFor("the cursor to leave row "+fmt.Sprint(ci)+" ("+key+")", 3*time.Second, func(lines []string) bool {
			i, _, _ := demoCursor(lines)
			return i >= 0 && i != ci
		})
	}
}

// waitLive waits for the dashboard's first values: a GOOD badge, then a
// number that changes.
func (tm *demoTerm) waitLive() {
	tm.t.Helper()
	first := tm.waitFor("a tag row with a GOOD badge", 30*time.Second, func(lines []string) bool {
		for _, l := range lines {
			if m := demoTagRow.FindStringSubmatch(demoPaneRight(l)); m != nil && m[3] == "GOOD" {
				return true
			}
		}
		return false
	})
	before := demoTagValues(first)
	tm.waitFor("a value that changes", 10*time.Second, func(lines []string) bool {
		for id, v := range demoTagValues(lines) {
			if b, ok := before[id]; ok && b != v && strings.ContainsAny(b, "0123456789") && strings.ContainsAny(v, "0123456789") {
				tm.t.Logf("live: %s went from %s to %s", id, b, v)
				return true
			}
		}
		return false
	})
}

// TestDemoTerminal builds the otwin binary and runs `otwin demo` in real
// terminals, side by side: the bottling line along a user's path at
// 120×40, the bottling line at 80×24 (values, help, quit), and the cnc and
// pasteurizer examples (values, quit).
func TestDemoTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the terminal test of otwin demo needs it (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("the terminal test of otwin demo builds and runs the binary; skipped with -short")
	}
	bin := buildDemoBinary(t, t.TempDir())
	// The sessions run side by side (each in its own tmux server), which
	// keeps the test's time near that of the longest path.
	paths := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"bottling-120x40", func(t *testing.T) { demoUserPath(t, bin) }},
		{"bottling-80x24", func(t *testing.T) { demoSmall(t, bin) }},
		{"cnc", func(t *testing.T) { demoExample(t, bin, "cnc") }},
		{"pasteurizer", func(t *testing.T) { demoExample(t, bin, "pasteurizer") }},
	}
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(p.name, p.run)
		}()
	}
	wg.Wait()
}

// demoExample runs `otwin demo NAME` (a built-in example) at 100×30:
// its values appear and change, q quits cleanly.
func demoExample(t *testing.T, bin, name string) {
	tm := startDemoTerm(t, bin, 100, 30, name)
	tm.waitLive()
	lines := tm.screen()
	checkDemoFrame(t, lines)
	if !strings.Contains(lines[0], "otwin demo — "+name) {
		t.Errorf("title %q, want otwin demo — %s", lines[0], name)
	}
	tm.quit()
}

// demoUserPath walks a user's path at 120×40: live values, the asset
// tree, a filter, the fault panel, a fault whose alert appears, its
// acknowledgement with a comment, and q — which must exit 0 and restore
// the terminal.
func demoUserPath(t *testing.T, bin string) {
	tm := startDemoTerm(t, bin, 120, 40)
	start := time.Now()
	tm.waitLive()
	t.Logf("first changing value %s after the session started", time.Since(start).Round(10*time.Millisecond))
	checkDemoFrame(t, tm.screen())

	// The tree: the cursor to the filling cell, open it, then its tags.
	tm.moveCursor("the filling cell", 10, func(row string) bool { return strings.Contains(row, "filling") })
	tm.waitFor("the filling cell's tags", 5*time.Second, func(lines []string) bool {
		return len(lines) > 1 && strings.Contains(lines[1], "/filling") && demoHasPrefix(demoTagRows(lines), "filler1/")
	})
	tm.send("Enter")
	tm.waitFor("filler1 under the opened cell", 5*time.Second, func(lines []string) bool {
		for _, l := range lines {
			if f := strings.Fields(demoPaneLeft(l)); len(f) > 0 && f[0] == "filler1" {
				return true
			}
		}
		return false
	})
	tm.send("Right")
	tm.waitFor("the cursor in filler1's tag table", 5*time.Second, func(lines []string) bool {
		row, ok := demoCursorRow(lines)
		return ok && strings.HasPrefix(row, "filler1/")
	})

	// The filter: only matching tags remain; esc brings the others back.
	tm.send("/")
	tm.waitFor("the filter prompt", 5*time.Second, func(lines []string) bool {
		return strings.HasPrefix(lines[len(lines)-1], "/")
	})
	tm.typeText("temp")
	tm.send("Enter")
	lines := tm.waitFor("only tags matching temp", 5*time.Second, func(lines []string) bool {
		ids := demoTagRows(lines)
		if len(ids) == 0 || !strings.Contains(lines[1], "/temp") {
			return false
		}
		for _, id := range ids {
			if !strings.Contains(id, "temp") {
				return false
			}
		}
		return true
	})
	if ids := demoTagRows(lines); !demoHasPrefix(ids, "filler1/product_temp") {
		t.Errorf("filter temp: rows %v, want filler1/product_temp among them", ids)
	}
	tm.send("Escape")
	tm.waitFor("the filter cleared", 5*time.Second, func(lines []string) bool {
		return !strings.Contains(lines[1], "/temp") && len(demoTagRows(lines)) > 1
	})
	checkDemoFrame(t, tm.screen())

	// The fault panel. The operator (the default role) has none; the
	// trainer does.
	tm.send("f")
	lines = tm.waitFor("the fault panel or its refusal", 5*time.Second, func(lines []string) bool {
		return demoFaultPanel(lines) || demoScreenHas(lines, "no fault panel")
	})
	if !demoFaultPanel(lines) {
		t.Logf("f as operator: %q; switching to the trainer role", lines[len(lines)-1])
		tm.send(":")
		tm.waitFor("the command prompt", 5*time.Second, func(lines []string) bool {
			return strings.HasPrefix(lines[len(lines)-1], ":")
		})
		tm.typeText("role trainer")
		tm.send("Enter")
		tm.waitFor("the trainer role", 5*time.Second, func(lines []string) bool {
			return strings.Contains(lines[0], "trainer")
		})
		if !demoFaultPanel(tm.screen()) {
			tm.send("f")
		}
		tm.waitFor("the fault panel", 5*time.Second, demoFaultPanel)
	}
	// labeler-busy answers every Modbus request of labeler1 with
	// exception 6: its tags stop updating and raise stale alerts in 5s.
	tm.moveCursor("the fault labeler-busy", 12, func(row string) bool { return strings.HasPrefix(row, "labeler-busy ") })
	tm.send("Enter")
	tm.waitFor("labeler-busy ACTIVE", 5*time.Second, func(lines []string) bool {
		row, ok := demoCursorRow(lines)
		return ok && strings.HasPrefix(row, "labeler-busy ") && strings.Contains(row, "ACTIVE")
	})
	checkDemoFrame(t, tm.screen())

	// The alert, its acknowledgement, its state.
	tm.send(":")
	tm.waitFor("the command prompt", 5*time.Second, func(lines []string) bool {
		return strings.HasPrefix(lines[len(lines)-1], ":")
	})
	tm.typeText("alerts")
	tm.send("Enter")
	injected := time.Now()
	tm.waitFor("an UNACK alert on labeler1", 25*time.Second, func(lines []string) bool {
		for _, l := range lines {
			if m := demoAlertRow.FindStringSubmatch(l); m != nil && m[2] == "UNACK" && strings.Contains(l, "labeler1/") {
				return true
			}
		}
		return false
	})
	t.Logf("alert on labeler1 listed %s after the alerts view opened", time.Since(injected).Round(10*time.Millisecond))
	checkDemoFrame(t, tm.screen())
	tm.moveCursor("an alert on labeler1", 20, func(row string) bool {
		m := demoAlertRow.FindStringSubmatch(">" + row)
		return m != nil && m[2] == "UNACK" && strings.Contains(row, "labeler1/")
	})
	tm.send("a")
	lines = tm.waitFor("the acknowledgement prompt", 5*time.Second, func(lines []string) bool {
		return demoAckPrompt.MatchString(lines[len(lines)-1])
	})
	alertID := demoAckPrompt.FindStringSubmatch(lines[len(lines)-1])[1]
	if !strings.Contains(alertID, "/labeler1/") {
		t.Fatalf("acknowledging %q, want an alert on labeler1", alertID)
	}
	target := alertID[strings.LastIndex(alertID[:strings.LastIndex(alertID, "/")], "/")+1:] // labeler1/<tag>
	tm.typeText("checked by e2e")
	tm.send("Enter")
	tm.waitFor(alertID+" in state ACK", 5*time.Second, func(lines []string) bool {
		for _, l := range lines {
			if m := demoAlertRow.FindStringSubmatch(l); m != nil && m[2] == "ACK" && strings.Contains(l, target+" ") {
				return true
			}
		}
		return false
	})
	tm.moveCursor("the acknowledged alert", 20, func(row string) bool {
		m := demoAlertRow.FindStringSubmatch(">" + row)
		return m != nil && m[2] == "ACK" && strings.Contains(row, target+" ")
	})
	tm.send("Enter")
	tm.waitFor("the alert detail with the acknowledgement", 5*time.Second, func(lines []string) bool {
		if !demoScreenHas(lines, "ALERT "+alertID) {
			return false
		}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 2 && f[0] == "acked" && f[1] == "e2e" && strings.HasSuffix(l, ": checked by e2e") {
				return true
			}
		}
		return false
	})
	checkDemoFrame(t, tm.screen())

	tm.quit()
}

// demoSmall runs `otwin demo` at 80×24: values appear, ? shows the key
// help, q quits cleanly.
func demoSmall(t *testing.T, bin string) {
	tm := startDemoTerm(t, bin, 80, 24)
	tm.waitLive()
	checkDemoFrame(t, tm.screen())
	tm.send("?")
	tm.waitFor("the key help", 5*time.Second, func(lines []string) bool {
		return demoScreenHas(lines, "HELP") && demoScreenHas(lines, "quit") && demoScreenHas(lines, "next view")
	})
	checkDemoFrame(t, tm.screen())
	tm.quit()
}

// demoAlertRow matches a row of the alert list: severity and state.
var demoAlertRow = regexp.MustCompile(`^[> ](CRIT|HIGH|MED|LOW)\s+(UNACK|ACK|RTN)\s`)

// demoAckPrompt matches the bottom line asking for an acknowledgement comment.
var demoAckPrompt = regexp.MustCompile(`^ack (\S+) comment: `)

func demoFaultPanel(lines []string) bool {
	return len(lines) > 1 && strings.HasPrefix(strings.TrimSpace(lines[1]), "FAULTS ")
}

func demoScreenHas(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func demoHasPrefix(ids []string, prefix string) bool {
	for _, id := range ids {
		if strings.HasPrefix(id, prefix) {
			return true
		}
	}
	return false
}
