package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/sshserve"
)

// End-to-end tests of the dashboard over SSH: a twin and a collector run
// in-process on 127.0.0.1, startSSH serves their live store on a free
// port, and real SSH clients (golang.org/x/crypto/ssh with a PTY, and
// OpenSSH in tmux) log in with the keys of a users file written here.

// sshScenario is a small Modbus-only line: Modbus starts and stops at
// once, so each test pays for its own twin in milliseconds. "overheat"
// forces the press temperature out of its range (an out_of_range alert on
// line1/press1/temp); "jam" is the second fault of the fault panel.
const sshScenario = `
name: sshline
tick: 100ms
location: {enterprise: acme, site: plant, area: press, line: line1}
machines:
  - name: press1
    modbus: {port: 0, unit_id: 1}
    tags:
      - name: temp
        unit: degC
        range: {low: 0, high: 100}
        model: {sine: {offset: 50, amplitude: 5, period: 20s}}
        modbus: {table: input, address: 0, type: int16, scale: 0.1}
      - name: strokes
        type: uint32
        unit: pcs
        model: {counter: {rate: 5}}
        modbus: {table: input, address: 2, type: uint32}
faults:
  - name: overheat
    kind: out_of_range
    target: press1/temp
    value: 150
  - name: jam
    kind: stuck
    target: press1/strokes
`

// overheatAlert is the alert the overheat fault raises.
const overheatAlert = "out_of_range:acme/plant/press/line1/press1/temp"

// sshUser is one user of the users file the fixture writes.
type sshUser struct {
	name, role string
	signer     gossh.Signer
	authorized string // authorized_keys line
	privPath   string // OpenSSH private key file
}

// sshFixture is a twin, a collector and the SSH server over its store.
type sshFixture struct {
	tw        *e2eTwin
	col       *e2eCollector
	svc       *sshService
	auditPath string
	users     map[string]*sshUser
	dir       string
}

// newSSHKey makes an ed25519 user key, also written as an OpenSSH private
// key file (mode 0600) for the ssh command.
func newSSHKey(t testing.TB, dir, name string) *sshUser {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+"_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return &sshUser{
		name: name, signer: signer, privPath: path,
		authorized: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + name,
	}
}

// sshOpts configures startSSHFixture.
type sshOpts struct {
	idle time.Duration
	// users are name and role; a role "engineer+faults" is an engineer
	// the users file allows to inject faults.
	users [][2]string
	// src overrides the scenario.
	src string
	// maxSessions defaults to 64.
	maxSessions int
	// record is the recordings' directory ("" records none).
	record string
	// now freezes the dashboards' clock when set.
	now func() time.Time
}

// startSSHFixture runs the scenario's twin and collector and serves the
// dashboard over SSH on 127.0.0.1:0 for the users given (default: olga
// operator, max maintenance, tom trainer, sue supervisor).
func startSSHFixture(t testing.TB, o sshOpts) *sshFixture {
	t.Helper()
	if o.src == "" {
		o.src = sshScenario
	}
	if o.users == nil {
		o.users = [][2]string{{"olga", "operator"}, {"max", "maintenance"}, {"tom", "trainer"}, {"sue", "supervisor"},
			{"ed", "engineer"}, {"eve", "engineer+faults"}}
	}
	sc := parseScenario(t, "sshline", o.src)
	tw := startE2ETwin(t, sc)
	col := startE2ECollector(t, exportFast(t, sc, tw.Endpoints))
	return serveSSH(t, tw, col, "otwin — "+sc.Name, o, sshHooks{})
}

// serveSSH writes the users file and starts startSSH over col's store.
func serveSSH(t testing.TB, tw *e2eTwin, col *e2eCollector, title string, o sshOpts, hooks sshHooks) *sshFixture {
	t.Helper()
	dir := t.TempDir()
	f := &sshFixture{tw: tw, col: col, dir: dir, auditPath: filepath.Join(dir, "audit.jsonl")}
	var usersFile string
	f.users, usersFile = writeUsers(t, dir, o.users)
	idle := o.idle
	if idle == 0 {
		idle = time.Hour
	}
	svc, err := startSSH(context.Background(), sshOptions{
		listen: "127.0.0.1:0", usersFile: usersFile, auditFile: f.auditPath,
		maxSessions: cmp.Or(o.maxSessions, 64), idle: idle, recordDir: o.record, tuiNow: o.now,
	}, filepath.Join(dir, "data"), col.collector, tw.Control, title, hooks, e2eLogger())
	if err != nil {
		t.Fatalf("start ssh: %v", err)
	}
	t.Cleanup(func() {
		if err := svc.close(); err != nil {
			t.Errorf("close ssh: %v", err)
		}
	})
	f.svc = svc
	return f
}

// writeUsers makes a key for each user (name, role; "engineer+faults" is
// an engineer allowed to inject faults) and writes dir/users.yaml.
func writeUsers(t testing.TB, dir string, list [][2]string) (map[string]*sshUser, string) {
	t.Helper()
	users := map[string]*sshUser{}
	var yml strings.Builder
	yml.WriteString("users:\n")
	for _, u := range list {
		k := newSSHKey(t, dir, u[0])
		role, faults := strings.CutSuffix(u[1], "+faults")
		k.role = role
		users[u[0]] = k
		fmt.Fprintf(&yml, "  - name: %s\n    role: %s\n    keys: [%q]\n    allow_faults: %t\n", u[0], role, k.authorized, faults)
	}
	path := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(path, []byte(yml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return users, path
}

// audit returns the audit log's events so far.
func (f *sshFixture) audit(t testing.TB) []sshserve.AuditEvent {
	t.Helper()
	data, err := os.ReadFile(f.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	var evs []sshserve.AuditEvent
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		var e sshserve.AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s:%d: %v", f.auditPath, n, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// waitAudit waits for an audit event that match accepts.
func (f *sshFixture) waitAudit(t testing.TB, what string, match func(sshserve.AuditEvent) bool) sshserve.AuditEvent {
	t.Helper()
	var got sshserve.AuditEvent
	waitUntil(t, 5*time.Second, "audit: "+what, func() bool {
		for _, e := range f.audit(t) {
			if match(e) {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// faultActive reports whether the engine has fault name in effect.
func (f *sshFixture) faultActive(name string) bool {
	for _, s := range f.tw.Engine.Faults() {
		if s.Name == name && s.Active {
			return true
		}
	}
	return false
}

// dial opens an SSH connection as user with its key.
func (f *sshFixture) dial(t testing.TB, user string) *gossh.Client {
	t.Helper()
	c, err := dialSSH(f.svc.addr, user, gossh.PublicKeys(f.users[user].signer))
	if err != nil {
		t.Fatalf("ssh %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialSSH(addr, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: user, Auth: auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         5 * time.Second,
	})
}

// term is one interactive session: a PTY of 120×40 and everything the
// server wrote to it.
type term struct {
	t    testing.TB
	sess *gossh.Session
	in   io.WriteCloser
	mu   sync.Mutex
	out  []byte
	mark int
	n    int64 // bytes read in total
	done chan struct{}
	// more is signalled (without blocking) after each read
	more chan struct{}
}

// open starts a dashboard session on c.
func openTerm(t testing.TB, c *gossh.Client) *term {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	if err := s.RequestPty("xterm-256color", 40, 120, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatalf("pty: %v", err)
	}
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	tm := &term{t: t, sess: s, in: in, done: make(chan struct{}), more: make(chan struct{}, 1)}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := out.Read(buf)
			if n > 0 {
				tm.mu.Lock()
				tm.out = append(tm.out, buf[:n]...)
				tm.n += int64(n)
				tm.mu.Unlock()
				select {
				case tm.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close() })
	return tm
}

// screen is the text written since the last Mark, escapes stripped and
// runs of spaces collapsed to one (columns are padded).
func (tm *term) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return squeeze(ansi.Strip(string(tm.out[tm.mark:])))
}

// squeeze collapses runs of spaces into one.
func squeeze(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Mark makes later waits look only at output written from now on.
func (tm *term) Mark() {
	tm.mu.Lock()
	tm.mark = len(tm.out)
	tm.mu.Unlock()
}

// waitText waits until every one of texts appeared since the last Mark,
// looking again after each read from the server.
func (tm *term) waitText(timeout time.Duration, texts ...string) {
	tm.t.Helper()
	shows := func() bool {
		s := tm.screen()
		for _, x := range texts {
			if !strings.Contains(s, squeeze(x)) {
				return false
			}
		}
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	ok := shows()
	for !ok {
		select {
		case <-tm.more:
			ok = shows()
			continue
		case <-deadline.C:
		}
		break
	}
	if !ok {
		s := tm.screen()
		if len(s) > 4000 {
			s = s[len(s)-4000:]
		}
		tm.t.Fatalf("timed out after %s waiting for %q on the screen; it shows (tail):\n%s", timeout, texts, s)
	}
}

// send types keys.
func (tm *term) send(keys string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.in, keys); err != nil {
		tm.t.Fatalf("send %q: %v", keys, err)
	}
}

// showAlerts opens the alert view (":alerts") filtered by filter.
func (tm *term) showAlerts(filter string) {
	tm.t.Helper()
	tm.send(":")
	tm.waitText(2*time.Second, ":")
	tm.send("alerts\r")
	tm.waitText(5*time.Second, "[Alerts]")
	tm.send("/")
	tm.send(filter + "\r")
}

// closed reports whether the server ended the session.
func (tm *term) closed() bool {
	select {
	case <-tm.done:
		return true
	default:
		return false
	}
}

// bytesRead is how many bytes the server wrote so far.
func (tm *term) bytesRead() int64 {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.n
}

// TestE2ESSHRoleViews: a listed key gets in and its session opens on its
// role's view, with its user and role in the status bar.
func TestE2ESSHRoleViews(t *testing.T) {
	t.Parallel()
	f := startSSHFixture(t, sshOpts{})
	tests := []struct {
		user   string
		want   []string // all on the screen
		absent []string // never on the screen
	}{
		// operator: the asset tree with the line's tags and the alerts
		// below; the fault panel's tab, as every role has it.
		{"olga", []string{"olga (operator)", "[Tree]", "press1/temp", "press1/strokes", "SEV STATE", "Faults"}, nil},
		// maintenance: the tree with the first machine selected, and the
		// connection health of its endpoints.
		{"max", []string{"max (maintenance)", "[Tree]", "> press1", "press1-modbus", "connected"}, nil},
		// trainer: the fault panel listing the scenario's faults.
		{"tom", []string{"tom (trainer)", "[Faults]", "overheat", "out_of_range", "jam"}, nil},
		// supervisor: the alerts overview.
		{"sue", []string{"sue (supervisor)", "[Alerts]", "ALERTS 0"}, []string{"[Tree]"}},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			tm := openTerm(t, f.dial(t, tc.user))
			tm.waitText(10*time.Second, tc.want...)
			for _, a := range tc.absent {
				if strings.Contains(tm.screen(), a) {
					t.Errorf("%s's screen shows %q", tc.user, a)
				}
			}
		})
	}
	f.waitAudit(t, "login of tom", func(e sshserve.AuditEvent) bool {
		return e.Event == "login" && e.User == "tom" && e.Role == "trainer" && e.Method == "publickey" &&
			e.Key == gossh.FingerprintSHA256(f.users["tom"].signer.PublicKey())
	})
}

// TestE2ESSHRefusals: an unknown key is refused; the server offers no
// password or keyboard-interactive login (a client holding only those has
// nothing to try); every refusal is audited with the method (and the
// key's fingerprint).
func TestE2ESSHRefusals(t *testing.T) {
	t.Parallel()
	f := startSSHFixture(t, sshOpts{})
	stranger := newSSHKey(t, t.TempDir(), "mallory")
	if c, err := dialSSH(f.svc.addr, "mallory", gossh.PublicKeys(stranger.signer)); err == nil {
		c.Close()
		t.Fatal("an unknown key got in")
	}
	c, err := dialSSH(f.svc.addr, "olga", gossh.Password("hunter2"))
	if err == nil {
		c.Close()
		t.Fatal("a password got in")
	}
	if !strings.Contains(err.Error(), "no supported methods remain") {
		t.Errorf("password client: %v, want no supported methods (the server offers public keys only)", err)
	}
	// olga's name with mallory's key: the key decides, not the name.
	if c, err := dialSSH(f.svc.addr, "olga", gossh.PublicKeys(stranger.signer)); err == nil {
		c.Close()
		t.Fatal("an unknown key got in under a listed name")
	}
	if c, err := dialSSH(f.svc.addr, "olga", gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
		return []string{"hunter2"}, nil
	})); err == nil {
		c.Close()
		t.Fatal("keyboard-interactive got in")
	}
	fp := gossh.FingerprintSHA256(stranger.signer.PublicKey())
	f.waitAudit(t, "refused unknown key", func(e sshserve.AuditEvent) bool {
		return e.Event == "refused" && e.User == "mallory" && e.Method == "publickey" && e.Key == fp && e.Result == "unknown key"
	})
	waitUntil(t, 5*time.Second, "both keyless clients' refusals audited", func() bool {
		n := 0
		for _, e := range f.audit(t) {
			if e.Event == "refused" && e.User == "olga" && e.Method == "none" && e.Result == "no listed public key offered" {
				n++
			}
		}
		return n == 2
	})
	for _, e := range f.audit(t) {
		if e.Event == "login" {
			t.Errorf("audit has a login: %+v", e)
		}
	}
	if n := f.svc.srv.Active(); n != 0 {
		t.Errorf("%d sessions active after refusals", n)
	}
}

// TestE2ESSHFaultPolicy: fault injection is decided on the server by the
// session's role, against the twin's real control API.
func TestE2ESSHFaultPolicy(t *testing.T) {
	t.Parallel()
	f := startSSHFixture(t, sshOpts{})

	// The per-session fault control of each role, built as startSSH builds
	// it, injecting through the real control API.
	t.Run("api", func(t *testing.T) {
		tests := []struct {
			user, role  string
			allowFaults bool
			ok          bool
		}{
			{"olga", "operator", false, false},
			{"sue", "supervisor", false, false},
			{"max", "maintenance", false, false},
			{"ed", "engineer", false, false},
			{"eve", "engineer", true, true},
			{"tom", "trainer", false, true},
		}
		for _, tc := range tests {
			sess := &session{user: tc.user, role: tc.role, remote: "127.0.0.1:1", policy: rolePolicy(tc.role, tc.allowFaults), audit: f.svc.audit}
			fc := &controlFaults{c: f.tw.Control, sess: sess}
			err := fc.Inject("jam")
			if !tc.ok {
				if !errors.Is(err, errRefused) {
					t.Errorf("%s (%s) inject: %v, want refused", tc.user, tc.role, err)
				}
				if f.faultActive("jam") {
					t.Fatalf("%s (%s): refused injection is active in the engine", tc.user, tc.role)
				}
				if err := fc.Clear("jam"); !errors.Is(err, errRefused) {
					t.Errorf("%s (%s) clear: %v, want refused", tc.user, tc.role, err)
				}
				f.waitAudit(t, tc.user+"'s refused inject", func(e sshserve.AuditEvent) bool {
					return e.Event == "inject" && e.User == tc.user && e.Role == tc.role && e.Target == "jam" && strings.HasPrefix(e.Result, "refused")
				})
				continue
			}
			if err != nil {
				t.Fatalf("%s (%s) inject: %v", tc.user, tc.role, err)
			}
			if !f.faultActive("jam") {
				t.Fatalf("%s (%s): injected fault not active in the engine", tc.user, tc.role)
			}
			if err := fc.Clear("jam"); err != nil {
				t.Fatalf("%s (%s) clear: %v", tc.user, tc.role, err)
			}
			if f.faultActive("jam") {
				t.Fatalf("%s (%s): cleared fault still active", tc.user, tc.role)
			}
			f.waitAudit(t, tc.user+"'s inject", func(e sshserve.AuditEvent) bool {
				return e.Event == "inject" && e.User == tc.user && e.Target == "jam" && e.Result == "ok"
			})
		}
	})

	// Through SSH: maintenance sees the fault panel but its enter is
	// refused by the server; the trainer's enter injects, and clears.
	t.Run("ssh", func(t *testing.T) {
		mx := openTerm(t, f.dial(t, "max"))
		mx.waitText(10*time.Second, "max (maintenance)")
		mx.send("f")
		mx.waitText(5*time.Second, "[Faults]", "overheat")
		mx.Mark()
		mx.send("\r")
		mx.waitText(5*time.Second, "inject overheat: refused: maintenances cannot inject or clear faults")
		if f.faultActive("overheat") {
			t.Fatal("maintenance's injection is active in the engine")
		}
		f.waitAudit(t, "max's refused inject", func(e sshserve.AuditEvent) bool {
			return e.Event == "inject" && e.User == "max" && e.Target == "overheat" && strings.HasPrefix(e.Result, "refused")
		})

		// An operator cannot claim another role in the UI: the session's
		// role comes from the users file (the server would refuse anyway,
		// as the API-level table above shows).
		op := openTerm(t, f.dial(t, "olga"))
		op.waitText(10*time.Second, "olga (operator)")
		op.send(":")
		op.waitText(2*time.Second, ":")
		op.send("role trainer\r")
		op.waitText(5*time.Second, "the role of this session is operator")
		// the fault panel, as every role has it: enter marked refused in
		// the footer, and refused by the server, audited, when pressed
		op.Mark()
		op.send("f")
		op.waitText(5*time.Second, "[Faults]", "overheat", "refused: operators cannot inject or clear faults", "enter:inject/clear")
		op.Mark()
		op.send("\r")
		op.waitText(5*time.Second, "inject overheat: refused: operators cannot inject or clear faults")
		if f.faultActive("overheat") {
			t.Fatal("the operator's injection is active in the engine")
		}
		f.waitAudit(t, "olga's refused inject", func(e sshserve.AuditEvent) bool {
			return e.Event == "inject" && e.User == "olga" && e.Target == "overheat" && strings.HasPrefix(e.Result, "refused")
		})

		// engineers: the users file decides.
		ed := openTerm(t, f.dial(t, "ed"))
		ed.waitText(10*time.Second, "ed (engineer)", "[Tags]")
		ed.send("f")
		ed.waitText(5*time.Second, "[Faults]", "jam")
		ed.send("j")
		ed.Mark()
		ed.send("\r")
		ed.waitText(5*time.Second, "inject jam: refused: engineers cannot inject or clear faults")
		if f.faultActive("jam") {
			t.Fatal("ed's injection (no allow_faults) is active in the engine")
		}
		eve := openTerm(t, f.dial(t, "eve"))
		eve.waitText(10*time.Second, "eve (engineer)", "[Tags]")
		eve.send("f")
		eve.waitText(5*time.Second, "[Faults]", "jam")
		eve.send("j")
		eve.Mark()
		eve.send("\r")
		waitUntil(t, 5*time.Second, "eve's jam active in the engine", func() bool { return f.faultActive("jam") })
		eve.waitText(5*time.Second, "active 1")
		eve.send("\r")
		waitUntil(t, 5*time.Second, "eve's jam cleared", func() bool { return !f.faultActive("jam") })

		tm := openTerm(t, f.dial(t, "tom"))
		tm.waitText(10*time.Second, "tom (trainer)", "[Faults]", "overheat")
		tm.Mark()
		tm.send("\r")
		waitUntil(t, 5*time.Second, "overheat active in the engine", func() bool { return f.faultActive("overheat") })
		tm.waitText(5*time.Second, "active 1")
		tm.Mark()
		tm.send("\r")
		waitUntil(t, 5*time.Second, "overheat cleared in the engine", func() bool { return !f.faultActive("overheat") })
		tm.waitText(5*time.Second, "active 0")
	})
}

// TestE2ESSHSharedLiveView: two sessions show the same live values from
// the one store, and an acknowledgement in one shows in the other.
func TestE2ESSHSharedLiveView(t *testing.T) {
	t.Parallel()
	f := startSSHFixture(t, sshOpts{})
	a := openTerm(t, f.dial(t, "olga"))
	b := openTerm(t, f.dial(t, "max"))
	a.waitText(10*time.Second, "olga (operator)", "press1/strokes")
	b.waitText(10*time.Second, "max (maintenance)", "strokes")

	// Hold the line: the counter stops, and both screens must come to the
	// store's value.
	f.tw.Engine.Pause()
	const id = "acme/plant/press/line1/press1/strokes"
	var (
		last    float64
		changed time.Time
	)
	waitUntil(t, 5*time.Second, "the store to hold a still counter", func() bool {
		s, ok := f.col.Store.Latest(id)
		if !ok {
			return false
		}
		if changed.IsZero() || s.Value != last {
			last, changed = s.Value, time.Now()
			return false
		}
		return time.Since(changed) > 500*time.Millisecond
	})
	want := fmt.Sprintf("%g pcs", last)
	a.Mark()
	b.Mark()
	a.waitText(5*time.Second, "strokes "+want)
	b.waitText(5*time.Second, "strokes "+want)
	f.tw.Engine.Resume()

	// An alert reaches both; olga acknowledges it with a comment; max sees
	// it acknowledged.
	if err := f.tw.Engine.InjectNamed("overheat"); err != nil {
		t.Fatal(err)
	}
	a.waitText(10*time.Second, "value 150 above high limit 100")
	b.waitText(10*time.Second, "!")
	a.send(":")
	a.waitText(2*time.Second, ":")
	a.send("alerts\r")
	a.waitText(5*time.Second, "[Alerts]", "press1/temp")
	// the fault may also raise a spike alert: pick ours by filter
	a.send("/")
	a.send("out_of_range\r")
	a.Mark()
	a.send("a")
	a.waitText(5*time.Second, "ack "+overheatAlert+" comment:")
	b.Mark() // before the ack: the renderer draws a changed line once
	a.send("pressure relief checked\r")
	a.waitText(5*time.Second, "acknowledged "+overheatAlert)
	b.waitText(5*time.Second, " ACK 1 RTN")
	var got normalize.Alert
	for _, x := range f.col.Store.Alerts() {
		if x.ID == overheatAlert {
			got = x
		}
	}
	if got.State != normalize.ActiveAcked || got.AckedBy != "olga" || got.Comment != "pressure relief checked" {
		t.Errorf("store alert after ack: state %v by %q comment %q", got.State, got.AckedBy, got.Comment)
	}
	f.waitAudit(t, "olga's ack", func(e sshserve.AuditEvent) bool {
		return e.Event == "acknowledge" && e.User == "olga" && e.Role == "operator" && e.Target == overheatAlert &&
			e.Comment == "pressure relief checked" && e.Result == "ok"
	})

	// max shelves it for 15 minutes with a reason; olga sees it shelved.
	b.send(":")
	b.waitText(2*time.Second, ":")
	b.send("alerts\r")
	b.waitText(5*time.Second, "[Alerts]")
	b.send("/")
	b.send("out_of_range\r")
	b.Mark()
	b.send("z")
	b.waitText(5*time.Second, "shelve "+overheatAlert+" reason:")
	b.send("sensor swap planned\r")
	b.waitText(5*time.Second, "shelve for")
	a.Mark()
	b.send("15m\r")
	b.waitText(5*time.Second, "shelved "+overheatAlert+" for 15m0s")
	a.waitText(5*time.Second, "SHELVED 1")
	f.waitAudit(t, "max's shelve", func(e sshserve.AuditEvent) bool {
		return e.Event == "shelve" && e.User == "max" && e.Role == "maintenance" && e.Target == overheatAlert &&
			e.Comment == "sensor swap planned" && e.Result == "ok"
	})
}

// TestE2ESSHIdleTimeout: a session with no key press is closed after the
// idle timeout even though the dashboard keeps redrawing it, and the
// logout is audited with the reason; a session whose user types stays.
func TestE2ESSHIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 3 * time.Second
	f := startSSHFixture(t, sshOpts{idle: idle})
	tm := openTerm(t, f.dial(t, "olga"))
	start := time.Now()
	tm.waitText(10*time.Second, "olga (operator)")
	// max types every 300ms (moving the cursor) and must outlive olga.
	busy := openTerm(t, f.dial(t, "max"))
	busy.waitText(10*time.Second, "max (maintenance)")
	stopTyping := make(chan struct{})
	typed := make(chan struct{})
	go func() {
		defer close(typed)
		tk := time.NewTicker(300 * time.Millisecond)
		defer tk.Stop()
		keys := []string{"j", "k"}
		for i := 0; ; i++ {
			select {
			case <-stopTyping:
				return
			case <-tk.C:
				if _, err := io.WriteString(busy.in, keys[i%2]); err != nil {
					return
				}
			}
		}
	}()
	// The screen keeps changing (clock, values, sparklines) while idle.
	n0 := tm.bytesRead()
	waitUntil(t, idle/2, "the idle dashboard to redraw", func() bool { return tm.bytesRead() > n0+200 })
	n1 := tm.bytesRead()
	waitUntil(t, idle/2, "the idle dashboard to redraw again", func() bool { return tm.bytesRead() > n1+200 })
	if tm.closed() {
		t.Fatal("session closed before its idle timeout")
	}
	waitUntil(t, idle+5*time.Second, "the idle session to be closed", tm.closed)
	if d := time.Since(start); d < idle {
		t.Errorf("session closed after %s, before the idle timeout %s", d, idle)
	}
	f.waitAudit(t, "idle logout", func(e sshserve.AuditEvent) bool {
		return e.Event == "logout" && e.User == "olga" && e.Result == "idle timeout"
	})
	// Past the time max's session would have been closed (its timeout
	// plus the check period of idle/4): it is open only because the keys
	// count.
	waitUntil(t, 5*time.Second, "max's session older than the idle timeout", func() bool { return time.Since(start) > idle+2*time.Second })
	close(stopTyping)
	<-typed
	if busy.closed() {
		t.Error("a session with key presses every 300ms was closed as idle")
	}
	if n := f.svc.srv.Active(); n != 1 {
		t.Errorf("%d sessions active, want max's alone", n)
	}
	for _, e := range f.audit(t) {
		if e.Event == "logout" && e.User == "max" {
			t.Errorf("max logged out: %+v", e)
		}
	}
}

// sessionGoroutines returns the stacks of goroutines that belong to a
// dashboard session: its program, its watcher, its feed.
func sessionGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "charmbracelet/bubbletea") || strings.Contains(g, "sshserve.(*Server).watch") ||
			strings.Contains(g, "sshserve.(*Server).session") || strings.Contains(g, "tui.AdaptFeed") ||
			strings.Contains(g, "otwin/tui.") {
			out = append(out, g)
		}
	}
	return out
}

// cpuTime is the process's user+system CPU time.
func cpuTime(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOver measures the process's CPU use, in cores, over window.
func cpuOver(t testing.TB, window time.Duration) float64 {
	t.Helper()
	c0, w0 := cpuTime(t), time.Now()
	<-time.After(window) // the measurement window, not a wait for a condition
	return float64(cpuTime(t)-c0) / float64(time.Since(w0))
}

// TestE2ESSHSessionEndOnOpenConnection: ending a session while its
// connection stays open (as under ControlMaster) stops every goroutine of
// the session and leaves the CPU quiet; the connection still serves a new
// session afterwards, and dropping that connection ends its session too.
func TestE2ESSHSessionEndOnOpenConnection(t *testing.T) {
	// Not parallel: it counts goroutines and CPU of the whole process.
	f := startSSHFixture(t, sshOpts{})
	c := f.dial(t, "olga")
	waitUntil(t, 10*time.Second, "the first samples", func() bool { return len(f.col.Store.Snapshot()) > 0 })
	baseline := runtime.NumGoroutine() // connected, no session yet
	tm := openTerm(t, c)
	tm.waitText(10*time.Second, "olga (operator)", "press1/temp")
	before := cpuOver(t, time.Second) // a live session redrawing
	if len(sessionGoroutines()) == 0 {
		t.Fatal("no session goroutines found while a session runs: the probe is blind")
	}
	during := runtime.NumGoroutine()

	if err := tm.sess.Close(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("close session: %v", err)
	}
	waitUntil(t, 5*time.Second, "the server to end the session", func() bool { return f.svc.srv.Active() == 0 })
	var left []string
	if !pollUntil(5*time.Second, func() bool { left = sessionGoroutines(); return len(left) == 0 }) {
		t.Fatalf("%d session goroutines left after the session ended:\n%s", len(left), strings.Join(left, "\n\n"))
	}
	// The collector's own goroutines come and go (polls, reconnect
	// timers): allow it two.
	var now int
	if !pollUntil(5*time.Second, func() bool { now = runtime.NumGoroutine(); return now <= baseline+2 }) {
		t.Errorf("goroutines: %d before the session, %d during, %d after it ended", baseline, during, now)
	}
	after := cpuOver(t, time.Second)
	t.Logf("CPU with one live session %.3f cores, after it ended on an open connection %.3f cores; goroutines %d before, %d during, %d after",
		before, after, baseline, during, now)
	// A goroutine spinning on a closed channel takes a whole core.
	if after > before+0.3 || after > 0.6 {
		t.Errorf("CPU after the session ended: %.3f cores (with the session: %.3f): something spins", after, before)
	}
	if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Fatalf("connection closed with the session: %v", err)
	}
	// The same connection opens another dashboard.
	tm2 := openTerm(t, c)
	tm2.waitText(10*time.Second, "olga (operator)")
	f.waitAudit(t, "olga's logout", func(e sshserve.AuditEvent) bool { return e.Event == "logout" && e.User == "olga" })

	// The connection dropping under a running session ends it as cleanly.
	c.Close()
	waitUntil(t, 5*time.Second, "the server to end the dropped session", func() bool { return f.svc.srv.Active() == 0 })
	if !pollUntil(5*time.Second, func() bool { left = sessionGoroutines(); return len(left) == 0 }) {
		t.Fatalf("%d session goroutines left after the connection dropped:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// tmuxPane drives a command in a detached tmux session on a private
// server socket.
type tmuxPane struct {
	t      testing.TB
	socket string
}

func (p *tmuxPane) run(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-S", p.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// capture is the pane's screen as text.
func (p *tmuxPane) capture() string {
	out, err := p.run("capture-pane", "-p", "-t", "e2e")
	if err != nil {
		return ""
	}
	return out
}

// waitScreen waits until the pane shows every one of texts.
func (p *tmuxPane) waitScreen(timeout time.Duration, texts ...string) {
	p.t.Helper()
	if !pollUntil(timeout, func() bool {
		s := squeeze(p.capture())
		for _, x := range texts {
			if !strings.Contains(s, squeeze(x)) {
				return false
			}
		}
		return true
	}) {
		p.t.Fatalf("timed out after %s waiting for %q in tmux; the pane shows:\n%s", timeout, texts, p.capture())
	}
}

// TestE2ESSHOpenSSH: the OpenSSH client, in a real terminal (tmux), logs
// in with a listed key, sees its role's view, works the keys and quits;
// a second session reuses the connection the first one left open
// (ControlMaster); with an unlisted key it is refused.
func TestE2ESSHOpenSSH(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	f := startSSHFixture(t, sshOpts{})
	host, port, err := net.SplitHostPort(f.svc.addr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sshArgs := func(user, key string) string {
		return strings.Join([]string{"ssh", "-tt", "-F", "/dev/null", "-i", key, "-p", port,
			"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=" + filepath.Join(dir, "known_hosts"), "-o", "LogLevel=ERROR",
			user + "@" + host}, " ")
	}
	// Each client gets its own tmux server (a private socket); the pane
	// stays after ssh ends to show its exit status.
	start := func(name, cmd string) *tmuxPane {
		t.Helper()
		p := &tmuxPane{t: t, socket: filepath.Join(dir, name+".sock")}
		if out, err := p.run("-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40",
			"sh", "-c", cmd+"; echo ssh-exit=$?; exec cat"); err != nil {
			t.Fatalf("tmux: %v: %s", err, out)
		}
		t.Cleanup(func() { p.run("kill-server") })
		return p
	}

	// tom shares one connection between his sessions (ControlMaster):
	// his first session ends while the connection stays, as the second
	// session over it shows.
	ctlPath := filepath.Join(dir, "cm")
	tomArgs := sshArgs("tom", f.users["tom"].privPath) + " -o ControlMaster=auto -o ControlPath=" + ctlPath + " -o ControlPersist=60s"
	t.Cleanup(func() {
		exec.Command("ssh", "-F", "/dev/null", "-o", "ControlPath="+ctlPath, "-O", "exit", "tom@"+host).Run()
	})
	p := start("tom", tomArgs)
	p.waitScreen(15*time.Second, "tom (trainer)", "[Faults]", "overheat")
	// tab to the tree and down to the tags: the keys go through a real
	// terminal, escape sequences and all.
	if _, err := p.run("send-keys", "-t", "e2e", "Tab"); err != nil {
		t.Fatal(err)
	}
	p.waitScreen(5*time.Second, "[Tree]", "press1/temp")
	// A smaller terminal: ssh forwards the window change and the dashboard
	// lays itself out again, title on the first line, status bar on the
	// second to last, nothing wrapped.
	if out, err := p.run("resize-window", "-t", "e2e", "-x", "80", "-y", "24"); err != nil {
		t.Fatalf("tmux resize: %v: %s", err, out)
	}
	if !pollUntil(5*time.Second, func() bool {
		lines := strings.Split(strings.TrimRight(p.capture(), "\n"), "\n")
		return len(lines) == 24 && strings.HasPrefix(strings.TrimSpace(lines[0]), "otwin — sshline") &&
			strings.Contains(lines[22], "tom (trainer)")
	}) {
		t.Fatalf("after resizing to 80×24 the pane shows:\n%s", p.capture())
	}
	if _, err := p.run("send-keys", "-t", "e2e", "q"); err != nil {
		t.Fatal(err)
	}
	p.waitScreen(10*time.Second, "ssh-exit=0")
	first := f.waitAudit(t, "tom's logout", func(e sshserve.AuditEvent) bool { return e.Event == "logout" && e.User == "tom" })
	if _, err := os.Stat(ctlPath); err != nil {
		t.Fatalf("no control master after the first session: %v", err)
	}
	p = start("tom2", tomArgs)
	p.waitScreen(15*time.Second, "tom (trainer)", "[Faults]")
	var logins []sshserve.AuditEvent
	waitUntil(t, 5*time.Second, "tom's second login", func() bool {
		logins = logins[:0]
		for _, e := range f.audit(t) {
			if e.Event == "login" && e.User == "tom" {
				logins = append(logins, e)
			}
		}
		return len(logins) == 2
	})
	if logins[1].Remote != first.Remote {
		t.Errorf("second session from %s, the first from %s: not one shared connection", logins[1].Remote, first.Remote)
	}
	if _, err := p.run("send-keys", "-t", "e2e", "q"); err != nil {
		t.Fatal(err)
	}
	p.waitScreen(10*time.Second, "ssh-exit=0")
	waitUntil(t, 5*time.Second, "no session left", func() bool { return f.svc.srv.Active() == 0 })

	stranger := newSSHKey(t, dir, "mallory")
	p = start("mallory", sshArgs("mallory", stranger.privPath))
	p.waitScreen(10*time.Second, "Permission denied", "ssh-exit=255")
	f.waitAudit(t, "mallory refused", func(e sshserve.AuditEvent) bool {
		return e.Event == "refused" && e.User == "mallory" && e.Method == "publickey"
	})
}

// TestE2ESSHSessionLimits: a session beyond --max-sessions and a session
// without a terminal are refused with a message, and the first is audited.
func TestE2ESSHSessionLimits(t *testing.T) {
	t.Parallel()
	f := startSSHFixture(t, sshOpts{maxSessions: 1})
	first := openTerm(t, f.dial(t, "olga"))
	first.waitText(10*time.Second, "olga (operator)")

	for _, tc := range []struct {
		name, user string
		pty        bool
		want       string
	}{
		{"over the limit", "sue", true, "too many sessions (1)"},
		{"no terminal", "max", false, "needs a terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := f.dial(t, tc.user).NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if tc.pty {
				if err := s.RequestPty("xterm", 24, 80, nil); err != nil {
					t.Fatal(err)
				}
			}
			var stderr strings.Builder
			s.Stderr = &stderr
			s.Stdout = io.Discard
			err = s.Shell()
			if err == nil {
				err = s.Wait()
			}
			var exit *gossh.ExitError
			if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
				t.Errorf("session ended with %v, want exit status 1", err)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.want)
			}
		})
	}
	f.waitAudit(t, "sue refused", func(e sshserve.AuditEvent) bool {
		return e.Event == "refused" && e.User == "sue" && e.Result == "too many sessions"
	})
	if first.closed() {
		t.Error("the first session ended")
	}
	if n := f.svc.srv.Active(); n != 1 {
		t.Errorf("%d sessions active, want 1", n)
	}
}
