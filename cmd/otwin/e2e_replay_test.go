package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// stableCapture waits until two captures of the pane 300ms apart are
// equal and returns it.
func stableCapture(t *testing.T, p *tmuxPane) string {
	t.Helper()
	var last string
	if !pollUntil(10*time.Second, func() bool {
		c := p.capture()
		same := c == last && c != ""
		last = c
		if !same {
			<-time.After(300 * time.Millisecond) // the interval between the two captures compared
		}
		return same
	}) {
		t.Fatalf("the pane keeps changing:\n%s", last)
	}
	return last
}

// lastFrameAt is the moment of a recording's last dashboard frame: the
// last output event that draws text, before the closing (the program's
// terminal restore, control sequences only, and the line saying why).
func lastFrameAt(t *testing.T, c *cast) time.Duration {
	t.Helper()
	for i := len(c.events) - 1; i >= 0; i-- {
		e := c.events[i]
		if e.kind != "o" || strings.Contains(e.data, "otwin: ") {
			continue
		}
		if strings.TrimSpace(ansi.Strip(e.data)) != "" {
			return e.at
		}
	}
	t.Fatalf("%s: no frame before the session's end", c.path)
	return 0
}

// TestE2EReplayLastFrame: olga's session, in OpenSSH at 80×24, is
// recorded; the trainer ends it. Rendered through a terminal (tmux), the
// recording replayed by `otwin replay --to` up to its last dashboard frame
// shows exactly the screen olga last saw in the dashboard, and replayed
// whole (by otwin replay, and by asciinema when installed) ends on exactly
// the screen she was left with: her terminal back, and the line saying
// why.
func TestE2EReplayLastFrame(t *testing.T) {
	needTerminalTools(t)
	t.Parallel()
	dir := t.TempDir()
	bin := buildDemoBinary(t, dir)
	casts := filepath.Join(dir, "casts")
	frozen := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	f := startSSHFixture(t, sshOpts{record: casts, now: func() time.Time { return frozen }})
	kh := filepath.Join(dir, "known_hosts")
	live := startPane(t, dir, "olga", openSSHCommand(f.svc.addr, "olga", f.users["olga"].privPath, kh), 80, 24)
	live.waitScreen(15*time.Second, "olga (operator)", "press1/temp")
	// Work a little, then rest on a screen that holds still (help) for
	// the capture: the clock is frozen.
	for _, k := range []string{"Tab", "Tab", "?"} {
		if _, err := live.run("send-keys", "-t", "e2e", k); err != nil {
			t.Fatal(err)
		}
	}
	live.waitScreen(5*time.Second, "HELP · keys and commands")
	f.tw.Engine.Pause() // the values hold still too
	lastDashboard := stableCapture(t, live)
	if n := f.svc.srv.Kick("olga", "the trainer ended your session"); n != 1 {
		t.Fatalf("kick ended %d sessions", n)
	}
	live.waitRestored("the trainer ended your session")
	lastScreen := stableCapture(t, live)

	files, _ := filepath.Glob(filepath.Join(casts, "olga-*.cast"))
	if len(files) != 1 {
		t.Fatalf("recordings %v, want olga's one", files)
	}
	waitUntil(t, 5*time.Second, "the recording closed", func() bool { return f.svc.srv.Active() == 0 })
	c, err := readCast(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.header.Width != 80 || c.header.Height != 24 {
		t.Errorf("recorded at %d×%d, want 80×24", c.header.Width, c.header.Height)
	}

	to := lastFrameAt(t, c)
	held := startPane(t, dir, "held", fmt.Sprintf("%s replay --speed 20 --to %s %s; echo replay-exit=$?", bin, to, files[0]), 80, 24)
	if !pollUntil(15*time.Second, func() bool { return held.capture() == lastDashboard }) {
		var tailEvents []string
		for _, e := range c.events[max(0, len(c.events)-25):] {
			tailEvents = append(tailEvents, fmt.Sprintf("%s %s %q", e.at, e.kind, e.data))
		}
		t.Errorf("replayed to %s the screen differs from olga's last dashboard screen.\nreplay:\n%s\nlive:\n%s\nthe recording's last events:\n%s", to, held.capture(), lastDashboard, strings.Join(tailEvents, "\n"))
	}
	if _, err := held.run("send-keys", "-t", "e2e", "q"); err != nil {
		t.Fatal(err)
	}
	held.waitScreen(10*time.Second, "replay-exit=0")
	if alt, cursor := held.terminalState(); alt || !cursor {
		t.Errorf("after q the replay left the terminal on the alternate screen (%v) or the cursor hidden (%v)", alt, !cursor)
	}

	players := map[string]string{"otwin replay": fmt.Sprintf("%s replay --speed 20 %s", bin, files[0])}
	if _, err := exec.LookPath("asciinema"); err == nil {
		players["asciinema cat"] = "asciinema cat " + files[0]
	} else {
		t.Log("asciinema is not installed: only otwin replay plays the recording (.ci/run installs it)")
	}
	for name, cmd := range players {
		p := startPane(t, dir, strings.ReplaceAll(name, " ", "-"), cmd, 80, 24)
		if !pollUntil(20*time.Second, func() bool { return p.capture() == lastScreen }) {
			t.Errorf("%s ends on a screen other than olga's last.\nreplay:\n%s\nlive:\n%s", name, p.capture(), lastScreen)
		}
	}
}
