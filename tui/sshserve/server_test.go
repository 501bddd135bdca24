package sshserve

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/otwin/otwin/internal/testkit"
)

// tickModel redraws every 20ms (like a live dashboard) and shows the user.
type tickModel struct {
	sess *Session
	n    int
}

type tickMsg struct{}

func tick() tea.Cmd {
	return tea.Tick(20*time.Millisecond, func(time.Time) tea.Msg { return tickMsg{} })
}

func (m tickModel) Init() tea.Cmd { return tick() }
func (m tickModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tickMsg:
		m.n++
		return m, tick()
	case tea.KeyMsg:
		if msg.String() == "q" {
			return m, tea.Quit
		}
	}
	return m, nil
}
func (m tickModel) View() string {
	return fmt.Sprintf("user=%s role=%s frame=%d", m.sess.User.Name, m.sess.User.Role, m.n)
}

// syncBuffer is a bytes.Buffer safe for the session's writer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type fixture struct {
	srv   *Server
	addr  string
	audit *syncBuffer
	keys  map[string]gossh.Signer
	yml   string // the users file
}

func newKey(t *testing.T) (gossh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey())))
}

func start(t *testing.T, idle time.Duration) *fixture {
	t.Helper()
	return startWith(t, Config{IdleTimeout: idle})
}

// startWith serves olga (operator) and tom (trainer) with cfg's other
// settings.
func startWith(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{audit: &syncBuffer{}, keys: map[string]gossh.Signer{}}
	var yml strings.Builder
	yml.WriteString("users:\n")
	for _, u := range []struct{ name, role string }{{"olga", "operator"}, {"tom", "trainer"}} {
		s, line := newKey(t)
		f.keys[u.name] = s
		fmt.Fprintf(&yml, "  - name: %s\n    role: %s\n    keys: [%q]\n", u.name, u.role, line)
	}
	users, err := ParseUsers("users.yaml", []byte(yml.String()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HostKeyPath = filepath.Join(t.TempDir(), "keys", "host_ed25519")
	cfg.Users = users
	cfg.Audit = NewAuditLog(f.audit)
	cfg.NewModel = func(s *Session) (tea.Model, error) { return tickModel{sess: s}, nil }
	f.yml = yml.String()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.srv, f.addr = srv, ln.Addr().String()
	return f
}

func (f *fixture) dial(t *testing.T, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	t.Helper()
	return gossh.Dial("tcp", f.addr, &gossh.ClientConfig{
		User: "whoever", Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
	})
}

// openPTY starts a dashboard session and returns its output buffer.
func openPTY(t *testing.T, c *gossh.Client) (*gossh.Session, io.WriteCloser, *syncBuffer) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	s.Stdout = out
	s.Stderr = out
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	return s, in, out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

func auditEvents(t *testing.T, f *fixture) []AuditEvent {
	var evs []AuditEvent
	for _, line := range strings.Split(strings.TrimSpace(f.audit.String()), "\n") {
		if line == "" {
			continue
		}
		var e AuditEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

func hasEvent(evs []AuditEvent, pred func(AuditEvent) bool) bool {
	for _, e := range evs {
		if pred(e) {
			return true
		}
	}
	return false
}

func TestListedKeyGetsItsRole(t *testing.T) {
	f := start(t, -1)
	c, err := f.dial(t, gossh.PublicKeys(f.keys["olga"]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, in, out := openPTY(t, c)
	defer s.Close()
	waitFor(t, "the operator's dashboard", func() bool { return strings.Contains(out.String(), "user=olga role=operator") })
	if _, err := in.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("session exit: %v", err)
	}
	waitFor(t, "logout audited", func() bool {
		return hasEvent(auditEvents(t, f), func(e AuditEvent) bool { return e.Event == "logout" && e.User == "olga" })
	})
	if !hasEvent(auditEvents(t, f), func(e AuditEvent) bool { return e.Event == "login" && e.User == "olga" && e.Role == "operator" }) {
		t.Fatalf("no login in audit:\n%s", f.audit.String())
	}
}

func TestUnknownKeyAndPasswordRefused(t *testing.T) {
	f := start(t, -1)
	stranger, _ := newKey(t)
	if c, err := f.dial(t, gossh.PublicKeys(stranger)); err == nil {
		c.Close()
		t.Fatal("unknown key got in")
	}
	if c, err := f.dial(t, gossh.Password("hunter2")); err == nil {
		c.Close()
		t.Fatal("password got in")
	}
	evs := auditEvents(t, f)
	if !hasEvent(evs, func(e AuditEvent) bool {
		return e.Event == "refused" && e.Method == "publickey" && e.Key == gossh.FingerprintSHA256(stranger.PublicKey())
	}) {
		t.Errorf("unknown key refusal not audited:\n%s", f.audit.String())
	}
	// One refusal per connection: the unknown key's, with its
	// fingerprint, not a second one when its connection fails.
	waitFor(t, "the failed connections to be seen", func() bool {
		return hasEvent(auditEvents(t, f), func(e AuditEvent) bool { return e.Method == "none" })
	})
	n := 0
	for _, e := range auditEvents(t, f) {
		if e.Event == "refused" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d refusals audited for two connections:\n%s", n, f.audit.String())
	}
	// The server offers public keys only: a client holding a password has
	// nothing to try, and its refusal is audited all the same.
	waitFor(t, "the password client's refusal in the audit log", func() bool {
		return hasEvent(auditEvents(t, f), func(e AuditEvent) bool {
			return e.Event == "refused" && e.Method == "none" && e.Result == "no listed public key offered"
		})
	})
	evs = auditEvents(t, f)
	if hasEvent(evs, func(e AuditEvent) bool { return e.Event == "login" }) {
		t.Errorf("a refused client was logged in:\n%s", f.audit.String())
	}
}

func TestIdleTimeoutWhileRedrawing(t *testing.T) {
	const idle = 2 * time.Second
	f := start(t, idle)
	c, err := f.dial(t, gossh.PublicKeys(f.keys["tom"]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opened := time.Now()
	s, _, out := openPTY(t, c)
	// The session ends by itself, whatever the load: the frames it keeps
	// drawing are no input.
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case <-done:
	case <-time.After(idle + 15*time.Second):
		t.Fatal("idle session still open while redrawing")
	}
	if d := time.Since(opened); d < idle {
		t.Errorf("the session ended %s after it opened, before the idle timeout (%s)", d, idle)
	}
	if !strings.Contains(out.String(), "frame=3") {
		t.Errorf("the session did not redraw while idle: %q", tail(out.String()))
	}
	if !endsWithRestore(out.String(), "closed after 2s without input") {
		t.Errorf("the idle session's terminal is not given back with the reason: %q", tail(out.String()))
	}
	waitFor(t, "the idle logout in the audit log", func() bool {
		return hasEvent(auditEvents(t, f), func(e AuditEvent) bool {
			return e.Event == "logout" && e.Result == "idle timeout" && e.User == "tom"
		})
	})
	n := 0
	for _, e := range auditEvents(t, f) {
		if e.Event == "logout" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d logout lines for one session:\n%s", n, f.audit.String())
	}
}

// A session that ends while its connection stays open (as with an OpenSSH
// ControlMaster) must leave nothing running.
func TestSessionEndOnOpenConnectionLeavesNoGoroutine(t *testing.T) {
	f := start(t, -1)
	c, err := f.dial(t, gossh.PublicKeys(f.keys["olga"]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	base := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		s, _, out := openPTY(t, c)
		waitFor(t, "dashboard", func() bool { return strings.Contains(out.String(), "frame=") })
		if f.srv.Active() != 1 {
			t.Fatalf("active sessions = %d, want 1", f.srv.Active())
		}
		s.Close() // the session ends; the connection c stays open
		waitFor(t, "session end", func() bool { return f.srv.Active() == 0 })
	}
	// Nothing of the ended sessions keeps running (the connection's own
	// goroutines stay, as before the sessions).
	waitFor(t, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= base+2 })
}

func TestParseUsersErrors(t *testing.T) {
	_, line := newKey(t)
	cases := map[string]string{
		"users:\n  - name: a\n    role: pilot\n    keys: [\"" + line + "\"]\n":                                                                  `unknown role "pilot"`,
		"users:\n  - name: a\n    role: operator\n    keys: [\"ssh-ed25519 nope\"]\n":                                                           "keys[0]",
		"users:\n  - name: a\n    role: operator\n    keyz: []\n":                                                                               "unknown field",
		"users:\n  - name: a\n    role: operator\n    keys: [\"" + line + "\"]\n  - name: b\n    role: quality\n    keys: [\"" + line + "\"]\n": "also a's key",
	}
	for in, want := range cases {
		_, err := ParseUsers("u.yaml", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseUsers(%q) = %v, want error containing %q", in, err, want)
		}
	}
}
