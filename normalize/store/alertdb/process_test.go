package alertdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

// The process tests run this test binary again as a second process that
// opens the same data directory (TestHelperProcess, told what to do by its
// environment) and kill it as a crash would.

const (
	envHelper = "OTWIN_ALERTDB_HELPER"
	envDir    = "OTWIN_ALERTDB_DIR"
)

// helper is a second process running TestHelperProcess in mode on dir;
// its stdout lines arrive on lines. It is killed when the test ends.
type helper struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

func startHelper(t *testing.T, mode, dir string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envDir+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case h.lines <- sc.Text():
			default: // the test reads only what it needs
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}()
	t.Cleanup(h.kill)
	return h
}

// line waits for the helper's next line that starts with prefix.
func (h *helper) line(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l := <-h.lines:
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-h.done:
			t.Fatalf("the helper process ended before printing %q", prefix)
		case <-deadline:
			t.Fatalf("no %q from the helper process within 30s", prefix)
		}
	}
}

// kill ends the helper as a crash does (SIGKILL: no Close, no cleanup)
// and waits for it.
func (h *helper) kill() {
	h.cmd.Process.Kill()
	<-h.done
}

// TestHelperProcess is the second process: "hold" opens the database and
// waits to be killed; "churn" makes transitions and reports, after each
// write, the number of the last transition on disk.
func TestHelperProcess(t *testing.T) {
	mode, dir := os.Getenv(envHelper), os.Getenv(envDir)
	if mode == "" {
		t.Skip("the second process of the process tests")
	}
	db, err := Open(dir, Options{FlushInterval: 20 * time.Millisecond, KeepAge: -1}) // its events are dated 2026-03
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("open")
	if mode == "hold" {
		select {}
	}
	st := store.New(store.Config{Journal: db, Restored: db.Restored()})
	tk := time.NewTicker(time.Millisecond) // a transition rate, not a wait
	var last uint64
	for i := 0; ; i++ {
		<-tk.C
		target := fmt.Sprintf("m%d/t", i%10)
		if (i/10)%2 == 0 {
			st.PublishConditions(raise(target, time.Duration(i)*time.Millisecond))
		} else {
			st.PublishConditions(clearOf(target, time.Duration(i)*time.Millisecond))
		}
		if i%7 == 0 {
			st.Ack(normalize.AlertID(normalize.AlertOutOfRange, target), "olga", "")
		}
		if s := db.Stats(); s.LastSeq != last {
			last = s.LastSeq
			fmt.Println("written", last)
		}
	}
}

// TestOtherProcessRefused: a second process on the data directory is
// refused with its pid; once it is killed (no Close), the lock is free.
func TestOtherProcessRefused(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, "hold", dir)
	h.line(t, "open")
	_, err := Open(dir, Options{})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != h.cmd.Process.Pid {
		t.Fatalf("open while pid %d has it: %v", h.cmd.Process.Pid, err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", h.cmd.Process.Pid)) || !strings.Contains(err.Error(), dir) {
		t.Errorf("message %q: want the directory and the pid", err)
	}
	h.kill()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after the other process was killed: %v", err)
	}
	defer db.Close()
	if readPID(dir) != os.Getpid() {
		t.Errorf("the pid file says %d, want this process's %d", readPID(dir), os.Getpid())
	}
}

// TestCrashKeepsWhatWasWritten: a process killed in the middle of making
// transitions loses only those not yet written (at most the last flush
// interval's): every transition it reported on disk is in the file, the
// numbering has no hole, the file is whole, and every alert's saved state
// is that of its last saved transition.
func TestCrashKeepsWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, "churn", dir)
	var written uint64
	for written < 1000 {
		f := strings.Fields(h.line(t, "written "))
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		written = n
	}
	h.kill()
	db, err := Open(dir, Options{Load: 1 << 30, KeepAge: -1})
	if err != nil {
		t.Fatalf("open after the crash: %v", err)
	}
	defer db.Close()
	r := db.Restored()
	if r.Seq < written {
		t.Fatalf("the file ends at transition %d; %d was reported written before the kill", r.Seq, written)
	}
	t.Logf("reported written %d, found %d after the kill", written, r.Seq)
	last := map[string]normalize.AlertState{}
	for i, c := range r.History {
		if c.Seq != uint64(i+1) {
			t.Fatalf("history[%d] is transition %d: a hole", i, c.Seq)
		}
		last[c.Event.AlertID] = c.Event.State
	}
	if len(r.Alerts) != len(last) {
		t.Fatalf("%d alerts saved, %d in the history", len(r.Alerts), len(last))
	}
	for _, a := range r.Alerts {
		if a.State != last[a.ID] {
			t.Errorf("%s saved as %v, its last saved transition says %v", a.ID, a.State, last[a.ID])
		}
	}
}
