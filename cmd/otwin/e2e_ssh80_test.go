package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/sshserve"
)

// The dashboard at 80×24 over OpenSSH in tmux, as a technician on a
// laptop sees it: ids long enough to have filled the bottom line before
// a comment could be typed, two alerts raised one after the other.

// ssh80Scenario is a piece of a bottling line: long asset paths, a tag
// named for its unit, and one fault per machine.
const ssh80Scenario = `
name: bottling80
tick: 100ms
location: {enterprise: acme, site: springfield, area: packaging, line: line1}
machines:
  - name: filler1
    modbus: {port: 0, unit_id: 1}
    tags:
      - name: bottles_per_minute
        unit: bottles/min
        range: {low: 0, high: 700}
        model: {constant: {value: 600}}
        modbus: {table: input, address: 0, type: uint16}
  - name: capper1
    modbus: {port: 0, unit_id: 1}
    tags:
      - name: load
        unit: "%"
        range: {low: 0, high: 100}
        model: {constant: {value: 40}}
        modbus: {table: input, address: 0, type: uint16}
faults:
  - name: overspeed
    kind: out_of_range
    target: filler1/bottles_per_minute
    value: 750
  - name: overload
    kind: out_of_range
    target: capper1/load
    value: 130
`

const (
	fillerTarget = "acme/springfield/packaging/line1/filler1/bottles_per_minute"
	capperTarget = "acme/springfield/packaging/line1/capper1/load"
)

// sshPane runs OpenSSH as user in a detached tmux session of w×h cells on
// a private server socket; the pane stays after ssh ends.
func sshPane(t *testing.T, f *sshFixture, dir, user string, w, h int) *tmuxPane {
	t.Helper()
	cmd := openSSHCommand(f.svc.addr, user, f.users[user].privPath, filepath.Join(dir, "known_hosts"))
	return startPane(t, dir, user, cmd+"; echo ssh-exit=$?", w, h)
}

// keys presses keys by tmux name (Enter, Escape, a, ...).
func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	if out, err := p.run(append([]string{"send-keys", "-t", "e2e"}, keys...)...); err != nil {
		p.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// typeText types s literally.
func (p *tmuxPane) typeText(s string) {
	p.t.Helper()
	if out, err := p.run("send-keys", "-t", "e2e", "-l", s); err != nil {
		p.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// lines is the pane's screen, one string per row.
func (p *tmuxPane) lines() []string {
	return strings.Split(strings.TrimRight(p.capture(), "\n"), "\n")
}

// waitLines waits until cond holds for the screen and returns it.
func (p *tmuxPane) waitLines(what string, timeout time.Duration, cond func([]string) bool) []string {
	p.t.Helper()
	var lines []string
	if !pollUntil(timeout, func() bool { lines = p.lines(); return cond(lines) }) {
		p.t.Fatalf("timed out after %s waiting for %s; the pane shows:\n%s", timeout, what, strings.Join(lines, "\n"))
	}
	return lines
}

// command types a ":" line and enters it.
func (p *tmuxPane) command(line string) {
	p.t.Helper()
	p.keys(":")
	p.waitLines("the command line", 5*time.Second, func(l []string) bool { return strings.HasPrefix(l[len(l)-1], ":") })
	p.typeText(line)
	p.keys("Enter")
}

// cursorRow is the row of the focused cursor (">"), or "".
func cursorRow(lines []string) string {
	if i := cursorLine(lines); i >= 0 {
		return lines[i]
	}
	return ""
}

// cursorLine is the screen line of the cursor's row, -1 if none.
func cursorLine(lines []string) int {
	return slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, ">") })
}

func alertOf(f *sshFixture, target string) (normalize.Alert, bool) {
	for _, a := range f.col.Store.Alerts() {
		if a.Target == target && a.Kind == normalize.AlertOutOfRange {
			return a, true
		}
	}
	return normalize.Alert{}, false
}

// TestE2ESSH80x24: an operator at 80×24 over OpenSSH. The alert view,
// opened again after a second alert was raised, has its cursor on the
// new one, and a acknowledges that one; the prompt keeps what is typed on
// the screen (the id shortened by meaning, the question whole); a on the
// tree acknowledges the alert marked below it. A trainer's a is marked
// refused and refused by the server, audited. Every screen keeps the role
// and the clock in its header.
func TestE2ESSH80x24(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	f := startSSHFixture(t, sshOpts{src: ssh80Scenario, users: [][2]string{{"olga", "operator"}, {"tom", "trainer"}}})
	dir := t.TempDir()
	header := func(lines []string, role string) {
		t.Helper()
		if !strings.Contains(lines[0], role+" ") || !strings.Contains(lines[0], ":") || len([]rune(strings.TrimRight(lines[0], " "))) > 80 {
			t.Errorf("header %q: want the role and the clock within 80 columns", lines[0])
		}
	}

	op := sshPane(t, f, dir, "olga", 80, 24)
	op.waitScreen(15*time.Second, "olga (operator)", "[Tree]", "bottles_per_minute", "600 bottles/min")

	// The first alert, on the capper; the alert view opens on it.
	if err := f.tw.Engine.InjectNamed("overload"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the capper's alert", func() bool { _, ok := alertOf(f, capperTarget); return ok })
	op.command("alerts")
	lines := op.waitLines("the cursor on the capper's alert", 10*time.Second, func(l []string) bool {
		return strings.Contains(cursorRow(l), "capper1/load")
	})
	header(lines, "operator")

	// Back to the tree; the second alert, on the filler; the alert view
	// again (tab, tab): the cursor on the new alert, not where it was.
	op.command("tree")
	op.waitScreen(5*time.Second, "[Tree]")
	if err := f.tw.Engine.InjectNamed("overspeed"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the filler's alert", func() bool { _, ok := alertOf(f, fillerTarget); return ok })
	op.waitScreen(10*time.Second, "filler1/bottles_per_minute")
	op.keys("Tab", "Tab")
	lines = op.waitLines("the alert view, the cursor on the filler's alert", 10*time.Second, func(l []string) bool {
		return strings.Contains(l[0], "[Alerts]") && strings.Contains(cursorRow(l), "filler1/bottles_per_minute")
	})
	header(lines, "operator")

	// a: the prompt names the filler's alert, shortened by meaning, and
	// asks for the comment; every letter typed shows, the end of a text
	// longer than the room left scrolled into view.
	op.keys("a")
	lines = op.waitLines("the acknowledgement prompt", 5*time.Second, func(l []string) bool {
		return strings.HasPrefix(l[len(l)-1], "ack out_of_range:")
	})
	prompt := lines[len(lines)-1]
	if !strings.HasPrefix(prompt, "ack out_of_range:…/filler1/bottles_per_minute comment:") { // tmux trims the line's blanks
		t.Fatalf("prompt %q: want the kind, the machine, the tag and the question", prompt)
	}
	short := "belt slipping"
	op.typeText(short)
	op.waitLines("the comment typed", 5*time.Second, func(l []string) bool {
		return strings.HasSuffix(strings.TrimRight(l[len(l)-1], " "), "comment: "+short)
	})
	rest := ", speed sensor cleaned and checked by olga"
	op.typeText(rest)
	op.waitLines("the end of a long comment", 5*time.Second, func(l []string) bool {
		last := strings.TrimRight(l[len(l)-1], " ")
		return strings.Contains(last, " comment: ") && strings.HasSuffix(last, "checked by olga")
	})
	op.keys("Enter")
	comment := short + rest
	waitUntil(t, 5*time.Second, "the filler's alert acknowledged by olga", func() bool {
		a, _ := alertOf(f, fillerTarget)
		return a.State == normalize.ActiveAcked && a.AckedBy == "olga" && a.Comment == comment
	})
	if a, _ := alertOf(f, capperTarget); a.State != normalize.ActiveUnacked {
		t.Errorf("the capper's alert is %v after the filler's ack, want it still unacknowledged", a.State)
	}
	f.waitAudit(t, "olga's ack of the filler's alert", func(e sshserve.AuditEvent) bool {
		return e.Event == "acknowledge" && e.User == "olga" && strings.HasSuffix(e.Target, fillerTarget) && e.Comment == comment && e.Result == "ok"
	})

	// The tree: the alerts below it mark the newest alert waiting for an
	// acknowledgement, the capper's; a acknowledges it.
	op.command("tree")
	lines = op.waitLines("the capper's alert marked below the tree", 5*time.Second, func(l []string) bool {
		for _, x := range l {
			if strings.HasPrefix(x, "›") && strings.Contains(x, "capper1/load") {
				return true
			}
		}
		return false
	})
	header(lines, "operator")
	op.keys("a")
	op.waitLines("the prompt about the capper's alert", 5*time.Second, func(l []string) bool {
		return strings.HasPrefix(l[len(l)-1], "ack out_of_range:") && strings.HasSuffix(strings.TrimRight(l[len(l)-1], " "), "capper1/load comment:")
	})
	op.keys("Enter")
	waitUntil(t, 5*time.Second, "the capper's alert acknowledged", func() bool {
		a, _ := alertOf(f, capperTarget)
		return a.State == normalize.ActiveAcked && a.AckedBy == "olga"
	})

	// A trainer: a is marked refused in the footer (struck through), and
	// refused by the server when pressed, audited.
	tr := sshPane(t, f, dir, "tom", 80, 24)
	tr.waitScreen(15*time.Second, "tom (trainer)")
	tr.command("alerts")
	lines = tr.waitLines("the trainer's alert view", 5*time.Second, func(l []string) bool {
		return strings.Contains(l[0], "[Alerts]") && strings.Contains(l[len(l)-1], "a:ack")
	})
	header(lines, "trainer")
	if out, err := tr.run("capture-pane", "-p", "-e", "-t", "e2e"); err != nil || !strings.Contains(out, "\x1b[9m") {
		t.Errorf("no struck-through footer entry (err %v):\n%q", err, lastLine(out))
	}
	tr.keys("a")
	lines = tr.waitLines("the refusal", 5*time.Second, func(l []string) bool {
		return strings.Contains(l[len(l)-1], "refused: trainers cannot acknowledge alerts")
	})
	if last := strings.TrimSpace(lines[len(lines)-1]); !strings.HasPrefix(last, "ack ") || !strings.Contains(last, "capper1/load: refused") {
		t.Errorf("refusal %q: want the alert it is about (the capper's, the one left unacknowledged)", last)
	}
	f.waitAudit(t, "tom's refused ack", func(e sshserve.AuditEvent) bool {
		return e.Event == "acknowledge" && e.User == "tom" && strings.HasPrefix(e.Result, "refused: trainers cannot acknowledge alerts")
	})

	op.keys("q")
	op.waitScreen(10*time.Second, "ssh-exit=0")
	tr.keys("q")
	tr.waitScreen(10*time.Second, "ssh-exit=0")
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
