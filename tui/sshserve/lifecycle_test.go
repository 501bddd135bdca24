package sshserve

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// endsWithRestore reports whether out, a session's output, ends by giving
// the terminal back (normal screen, cursor shown, attributes reset) and
// then one line saying why.
func endsWithRestore(out, why string) bool {
	return strings.HasSuffix(out, restoreTerminal+"\r\x1b[Kotwin: "+why+"\r\n")
}

// TestShutdownRestoresTerminals: Close ends every running session by
// restoring its terminal and saying why, before the connection drops;
// the logout is audited with the reason.
func TestShutdownRestoresTerminals(t *testing.T) {
	f := start(t, -1)
	var outs []*syncBuffer
	var sessions []*gossh.Session
	for _, u := range []string{"olga", "tom"} {
		c, err := f.dial(t, gossh.PublicKeys(f.keys[u]))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, _, out := openPTY(t, c)
		waitFor(t, u+"'s dashboard", func() bool { return strings.Contains(out.String(), "user="+u) })
		outs = append(outs, out)
		sessions = append(sessions, s)
	}
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for i, s := range sessions {
		done := make(chan error, 1)
		go func() { done <- s.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session still open after Close")
		}
		if !endsWithRestore(outs[i].String(), "the server is shutting down") {
			t.Errorf("session %d output does not end with the terminal restored and the reason: %q", i, tail(outs[i].String()))
		}
	}
	if !hasEvent(auditEvents(t, f), func(e AuditEvent) bool { return e.Event == "logout" && e.Result == "server shutdown" }) {
		t.Errorf("no shutdown logout audited:\n%s", f.audit.String())
	}
	if _, err := f.dial(t, gossh.PublicKeys(f.keys["olga"])); err == nil {
		t.Error("a closed server accepted a connection")
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return s[len(s)-200:]
	}
	return s
}

// TestReloadAndKick: Reload ends the session of a removed user and of a
// user whose role changed, each with its message; an unchanged user's
// session goes on; the new file decides new logins. Kick ends a user's
// sessions with the reason given.
func TestReloadAndKick(t *testing.T) {
	f := start(t, -1)
	type sess struct {
		s   *gossh.Session
		out *syncBuffer
	}
	open := func(user string) sess {
		c, err := f.dial(t, gossh.PublicKeys(f.keys[user]))
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		t.Cleanup(func() { c.Close() })
		s, _, out := openPTY(t, c)
		waitFor(t, user+"'s dashboard", func() bool { return strings.Contains(out.String(), "user="+user) })
		return sess{s, out}
	}
	olga, tom := open("olga"), open("tom")

	// olga becomes a supervisor; tom is removed; ann is added.
	ann, annLine := newKey(t)
	yml := strings.Replace(f.yml, "role: operator", "role: supervisor", 1)
	tomAt := strings.Index(yml, "  - name: tom")
	yml = yml[:tomAt] + "  - name: ann\n    role: quality\n    keys: [\"" + annLine + "\"]\n"
	u, err := ParseUsers("users.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	ended := f.srv.Reload(u)
	if strings.Join(ended, ",") != "olga,tom" {
		t.Errorf("Reload ended %v, want olga and tom", ended)
	}
	for _, c := range []struct {
		s    sess
		want string
	}{
		{tom, "your access was removed from the users file"},
		{olga, "your account changed (now olga, supervisor): log in again to work with it"},
	} {
		waitFor(t, "the session to end with "+c.want, func() bool { return endsWithRestore(c.s.out.String(), c.want) })
	}
	if _, err := f.dial(t, gossh.PublicKeys(f.keys["tom"])); err == nil {
		t.Error("tom's key still gets in after the reload")
	}
	f.keys["ann"] = ann
	a := open("ann")
	if !strings.Contains(a.out.String(), "role=quality") {
		t.Errorf("ann's session: %q", tail(a.out.String()))
	}
	o2 := open("olga")
	if !strings.Contains(o2.out.String(), "role=supervisor") {
		t.Errorf("olga's new session: %q", tail(o2.out.String()))
	}
	evs := auditEvents(t, f)
	if !hasEvent(evs, func(e AuditEvent) bool {
		return e.Event == "reload" && e.Result == "ok: 2 users; ended the sessions of olga, tom"
	}) {
		t.Errorf("reload not audited:\n%s", f.audit.String())
	}
	if !hasEvent(evs, func(e AuditEvent) bool {
		return e.Event == "logout" && e.User == "tom" && e.Result == "access removed by a users file reload"
	}) {
		t.Errorf("tom's logout not audited with the reason:\n%s", f.audit.String())
	}

	// A reload that changes nothing for ann leaves her session alone.
	if ended := f.srv.Reload(u); len(ended) != 0 {
		t.Errorf("same users file again ended %v", ended)
	}
	if n := f.srv.Kick("ann", "the trainer ended your session"); n != 1 {
		t.Fatalf("Kick ended %d sessions, want 1", n)
	}
	waitFor(t, "ann's kick", func() bool { return endsWithRestore(a.out.String(), "the trainer ended your session") })
	if endsWithRestore(o2.out.String(), "the trainer ended your session") {
		t.Error("kicking ann ended olga's session")
	}
}

// TestRecording: a session recorded as asciicast v2 has the header with
// the terminal's size, its screen output as "o" events in time order, its
// resizes as "r" events, and ends with the closing text; a recording past
// its limit stops with a marker event and still records the closing.
func TestRecording(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limit     int64
		truncated bool
	}{
		{"whole", 0, false},
		{"truncated", 2048, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "casts")
			f := startWith(t, Config{IdleTimeout: -1, RecordDir: dir, RecordLimit: tc.limit})
			c, err := f.dial(t, gossh.PublicKeys(f.keys["olga"]))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, _, out := openPTY(t, c)
			waitFor(t, "frames", func() bool { return strings.Contains(out.String(), "frame=40") })
			if err := s.WindowChange(30, 100); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "more frames", func() bool { return strings.Contains(out.String(), "frame=60") })
			f.srv.Kick("olga", "recorded and done")
			waitFor(t, "the kick", func() bool { return endsWithRestore(out.String(), "recorded and done") })
			waitFor(t, "the session to end", func() bool { return f.srv.Active() == 0 })

			files, _ := filepath.Glob(filepath.Join(dir, "olga-*.cast"))
			if len(files) != 1 {
				t.Fatalf("recordings %v, want one", files)
			}
			h, evs := readCast(t, files[0])
			if h.Version != 2 || h.Width != 80 || h.Height != 24 || h.Env["TERM"] != "xterm-256color" || h.Timestamp == 0 {
				t.Errorf("header %+v", h)
			}
			var text strings.Builder
			var last float64
			var resized, marker bool
			for i, e := range evs {
				if e.t < last {
					t.Errorf("event %d at %.6f before %.6f", i, e.t, last)
				}
				last = e.t
				switch e.kind {
				case "o":
					text.WriteString(e.data)
				case "r":
					resized = resized || e.data == "100x30"
				case "m":
					marker = marker || strings.Contains(e.data, "truncated")
				}
			}
			if !strings.Contains(text.String(), "user=olga role=operator") {
				t.Error("the recording lacks the dashboard's text")
			}
			if !strings.HasSuffix(text.String(), restoreTerminal+"\r\x1b[Kotwin: recorded and done\r\n") {
				t.Errorf("the recording does not end with the closing: %q", tail(text.String()))
			}
			if marker != tc.truncated {
				t.Errorf("truncation marker %v, want %v", marker, tc.truncated)
			}
			st, _ := os.Stat(files[0])
			if tc.truncated {
				// The limit, plus the marker and the closing that are always
				// written.
				if st.Size() > tc.limit+400 {
					t.Errorf("truncated recording is %d bytes, limit %d", st.Size(), tc.limit)
				}
			} else {
				if !resized {
					t.Error("no resize event for 100x30")
				}
				if strings.Count(text.String(), "frame=") < 40 {
					t.Error("the whole recording has fewer frames than were drawn")
				}
			}
		})
	}
}

type castEvent struct {
	t    float64
	kind string
	data string
}

// readCast parses an asciicast v2 file strictly: a header line, then
// [time, kind, data] lines.
func readCast(t *testing.T, path string) (CastHeader, []castEvent) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var h CastHeader
	var evs []castEvent
	for n := 1; sc.Scan(); n++ {
		if n == 1 {
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
				t.Fatalf("%s:1: %v", path, err)
			}
			continue
		}
		var raw []any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil || len(raw) != 3 {
			t.Fatalf("%s:%d: %q: %v", path, n, sc.Text(), err)
		}
		ts, ok1 := raw[0].(float64)
		kind, ok2 := raw[1].(string)
		data, ok3 := raw[2].(string)
		if !ok1 || !ok2 || !ok3 {
			t.Fatalf("%s:%d: want [number, string, string]: %q", path, n, sc.Text())
		}
		evs = append(evs, castEvent{ts, kind, data})
	}
	return h, evs
}

// TestCastUTF8Split: a multi-byte character cut between two writes is
// recorded whole in the later event.
func TestCastUTF8Split(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.cast")
	t0 := time.Unix(1000, 0)
	c, err := newCastWriter(path, CastHeader{Width: 80, Height: 24}, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	deg := []byte("21 °C")
	c.Output(t0.Add(time.Second), deg[:4]) // "21 " and the first byte of °
	c.Output(t0.Add(2*time.Second), deg[4:])
	if err := c.Close(t0.Add(3*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	_, evs := readCast(t, path)
	if len(evs) != 2 || evs[0].data != "21 " || evs[1].data != "°C" || evs[1].t != 2 {
		t.Errorf("events %+v, want \"21 \" at 1s and \"°C\" at 2s", evs)
	}
	if _, err := newCastWriter(path, CastHeader{}, t0, 0); err == nil {
		t.Error("an existing recording was overwritten")
	}
}
