// Package sshserve serves the dashboard over SSH: one tea.Program, one
// renderer and one model per session, behind public-key authentication
// with a users file that gives each key a name and a role.
//
// It wraps charmbracelet/wish in one place, for what wish does not do
// safely by itself: without an auth handler wish lets anyone in, without a
// host key option it writes a key into the working directory, its
// bubbletea middleware sets a global colour profile and spins on a closed
// window-change channel when a session ends on a still-open connection,
// and its idle timeout counts output (a redrawing dashboard never idles).
// Here: public-key auth only (password and keyboard-interactive are not
// offered; every failed attempt is audited), the host key is generated once into a path
// the caller gives, each session gets its own renderer, the window-change
// loop stops when its channel closes, and the idle timeout counts input.
//
// A session ended from the server side (Close, Shutdown, Kick, Reload,
// the idle timeout) gets its terminal back — normal screen, cursor shown,
// attributes reset — and one line saying why. With Config.RecordDir every
// session's screen is recorded as asciicast v2 (see CastHeader), bounded
// by Config.RecordLimit.
package sshserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/keygen"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"
)

// Session is what the model factory knows of one SSH session.
type Session struct {
	// User is the authenticated user.
	User *User
	// Remote is the peer's address.
	Remote string
	// Renderer is this session's own lipgloss renderer (its colour profile
	// follows the client's terminal and NO_COLOR).
	Renderer *lipgloss.Renderer
	// Width and Height are the initial window size.
	Width, Height int
	// Context ends with the session.
	Context context.Context
	// Started is when the session began (time 0 of its recording).
	Started time.Time
	// Cast is the path of the session's asciicast recording, "" when the
	// server does not record.
	Cast string
}

// Config configures a Server.
type Config struct {
	// HostKeyPath is the host key's file; generated (ed25519) when missing.
	// Required: the server never writes into the working directory.
	HostKeyPath string
	// Users may log in. Reload replaces them while the server runs.
	Users *Users
	// MaxSessions bounds concurrent sessions. Default 64.
	MaxSessions int
	// IdleTimeout closes a session with no input for this long. Default
	// 30m; negative disables.
	IdleTimeout time.Duration
	// NewModel builds the model of a session. Required.
	NewModel func(*Session) (tea.Model, error)
	// Audit receives logins, logouts and refusals (may be nil).
	Audit *AuditLog
	// Logger for server-side events.
	Logger *slog.Logger
	// RecordDir, when set, receives an asciicast v2 recording of every
	// session's screen, named <user>-<start>.cast.
	RecordDir string
	// RecordLimit caps one recording's size in bytes; 0 means
	// DefaultRecordLimit.
	RecordLimit int64
	// ShutdownGrace bounds how long Close waits for sessions to restore
	// their terminals before it drops the connections. Default 3s.
	ShutdownGrace time.Duration
}

// Server is an SSH server of dashboard sessions.
type Server struct {
	cfg    Config
	srv    *ssh.Server
	users  atomic.Pointer[Users]
	active atomic.Int64
	wg     sync.WaitGroup

	mu      sync.Mutex
	live    map[*live]struct{}
	closing bool
	// conns counts open connections; connGone is signalled (without
	// blocking) when one closes.
	conns    atomic.Int64
	connGone chan struct{}
	// pending follows each connection's authentication until it succeeds
	// or fails, keyed by its remote address.
	pending sync.Map
}

// live is one running session, as Reload, Kick and Close see it.
type live struct {
	user   *User
	key    gossh.PublicKey
	cancel context.CancelFunc

	mu      sync.Mutex
	reason  string // for the audit log
	message string // for the participant
}

// end asks the session to close, telling its participant message and
// recording reason; the first end wins.
func (l *live) end(reason, message string) {
	l.mu.Lock()
	if l.reason == "" {
		l.reason, l.message = reason, message
	}
	l.mu.Unlock()
	l.cancel()
}

func (l *live) why() (reason, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason, l.message
}

// New checks cfg and builds a server; Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.HostKeyPath == "" {
		return nil, errors.New("sshserve: host key path is required")
	}
	if cfg.Users == nil {
		return nil, errors.New("sshserve: a users file is required")
	}
	if cfg.NewModel == nil {
		return nil, errors.New("sshserve: NewModel is required")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 64
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := ensureHostKey(cfg.HostKeyPath); err != nil {
		return nil, err
	}
	if cfg.RecordDir != "" {
		if err := os.MkdirAll(cfg.RecordDir, 0o755); err != nil {
			return nil, fmt.Errorf("sshserve: recordings: %w", err)
		}
	}
	s := &Server{cfg: cfg, live: map[*live]struct{}{}, connGone: make(chan struct{}, 1)}
	s.users.Store(cfg.Users)
	// Public keys only: with no password or keyboard-interactive handler
	// the server offers neither, so a client never prompts for a password
	// that cannot work. Every failed attempt is still audited (authLog,
	// failed).
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(cfg.HostKeyPath),
		wish.WithPublicKeyAuth(s.publicKey),
		wish.WithMiddleware(s.session),
	)
	if err != nil {
		return nil, fmt.Errorf("sshserve: %w", err)
	}
	srv.ServerConfigCallback = func(ssh.Context) *gossh.ServerConfig {
		return &gossh.ServerConfig{AuthLogCallback: s.authLog}
	}
	srv.ConnectionFailedCallback = s.failed
	srv.ConnCallback = s.countConn
	s.srv = srv
	return s, nil
}

// authAttempt is what one connection tried before it got in or gave up.
type authAttempt struct {
	mu      sync.Mutex
	user    string
	methods []string
	audited bool // a refusal of this connection is in the audit log
}

// authLog sees every authentication attempt: a success forgets the
// connection; a password or keyboard-interactive attempt (not offered,
// but a client may try) is refused and audited at once.
func (s *Server) authLog(conn gossh.ConnMetadata, method string, err error) {
	key := remote(conn.RemoteAddr())
	if err == nil {
		s.pending.Delete(key)
		return
	}
	v, _ := s.pending.LoadOrStore(key, &authAttempt{})
	a := v.(*authAttempt)
	a.mu.Lock()
	a.user = conn.User()
	if !slices.Contains(a.methods, method) {
		a.methods = append(a.methods, method)
	}
	a.mu.Unlock()
	switch method {
	case "none", "publickey": // publickey refusals are audited with their key
	default:
		s.refuseConn(conn.User(), key, method, "", method+" authentication is not offered: public keys only")
		a.mu.Lock()
		a.audited = true
		a.mu.Unlock()
	}
}

// failed sees a connection that never got in: unless one of its attempts
// was audited already, its refusal is audited now (a client that offered
// no key, or gave up because the server offers public keys only).
func (s *Server) failed(conn net.Conn, err error) {
	key := remote(conn.RemoteAddr())
	v, ok := s.pending.LoadAndDelete(key)
	if !ok {
		s.cfg.Logger.Debug("ssh connection failed before authentication", "remote", key, "err", err)
		return
	}
	a := v.(*authAttempt)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.audited {
		s.refuseConn(a.user, key, strings.Join(a.methods, ","), "", "no listed public key offered")
	}
}

// countConn counts a connection until it closes.
func (s *Server) countConn(_ ssh.Context, c net.Conn) net.Conn {
	s.conns.Add(1)
	return &countedConn{Conn: c, done: func() {
		s.conns.Add(-1)
		select {
		case s.connGone <- struct{}{}:
		default:
		}
	}}
}

// countedConn runs done once when it is closed.
type countedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}

// ensureHostKey generates an ed25519 host key at path when none exists, with
// its directory (mode 0700).
func ensureHostKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("host key: %w", err)
	}
	if _, err := keygen.New(path, keygen.WithKeyType(keygen.Ed25519), keygen.WithWrite()); err != nil {
		return fmt.Errorf("host key %s: %w", path, err)
	}
	return nil
}

// Serve accepts sessions on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdownLinger bounds how long Shutdown waits for clients to close
// their connections after their sessions ended.
const shutdownLinger = 25 * time.Millisecond

// Close ends every session as Shutdown does, with "the server is
// shutting down".
func (s *Server) Close() error { return s.Shutdown("the server is shutting down") }

// Shutdown stops accepting sessions, ends every session (each
// participant's terminal is restored and told why), waits for them for
// up to Config.ShutdownGrace, then closes every connection and waits for
// the sessions' programs to end.
func (s *Server) Shutdown(why string) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.live {
		l.end("server shutdown", why)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	deadline := time.NewTimer(s.cfg.ShutdownGrace)
	defer deadline.Stop()
	select {
	case <-done:
	case <-deadline.C:
		s.cfg.Logger.Warn("ssh sessions still running after the shutdown grace; dropping them", "grace", s.cfg.ShutdownGrace)
	}
	// Clients close their connection once their session has ended. The
	// connection is not cut in the same instant as the session's end: a
	// client that reads both at once (OpenSSH) prints "connection closed
	// by remote host" after the line saying why. A connection kept open
	// for more sessions (ControlMaster, a program's client) is closed
	// after a moment, well within the half second a stopping command has.
	linger := time.NewTimer(min(s.cfg.ShutdownGrace, shutdownLinger))
	defer linger.Stop()
	for s.conns.Load() > 0 {
		select {
		case <-s.connGone:
			continue
		case <-linger.C:
		case <-deadline.C:
		}
		break
	}
	err := s.srv.Close()
	<-done
	return err
}

// Active is the number of sessions running.
func (s *Server) Active() int { return int(s.active.Load()) }

// Users returns the users file in force.
func (s *Server) Users() *Users { return s.users.Load() }

// Kick ends every session of user, telling them why; it returns how many
// it ended.
func (s *Server) Kick(user, why string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for l := range s.live {
		if l.user.Name == user {
			l.end("kicked: "+why, why)
			n++
		}
	}
	return n
}

// Reload puts u in force for new logins and applies it to the sessions
// running: a session whose key is no longer listed ends ("your access was
// removed"); a session whose user now has another name, role or fault
// permission ends too, telling the participant to log in again (a
// session's view and rights are built for one role when it opens, so the
// new role takes effect on the next login, and the old rights end at
// once). Other sessions go on untouched. The reload is audited. It
// returns the names of the users whose sessions it ended.
func (s *Server) Reload(u *Users) []string {
	s.users.Store(u)
	s.mu.Lock()
	var ended []string
	for l := range s.live {
		nu := u.Lookup(l.key)
		switch {
		case nu == nil:
			l.end("access removed by a users file reload", "your access was removed from the users file")
		case nu.Name != l.user.Name || nu.Role != l.user.Role || nu.AllowFaults != l.user.AllowFaults:
			l.end("role changed by a users file reload", fmt.Sprintf("your account changed (now %s, %s): log in again to work with it", nu.Name, nu.Role))
		default:
			continue
		}
		if !slices.Contains(ended, l.user.Name) {
			ended = append(ended, l.user.Name)
		}
	}
	s.mu.Unlock()
	sort.Strings(ended)
	res := fmt.Sprintf("ok: %d users", len(u.Users))
	if len(ended) > 0 {
		res += "; ended the sessions of " + strings.Join(ended, ", ")
	}
	s.cfg.Audit.Record(AuditEvent{Event: "reload", Result: res})
	s.cfg.Logger.Info("users file reloaded", "users", len(u.Users), "ended", ended)
	return ended
}

func (s *Server) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	if s.users.Load().Lookup(key) != nil {
		return true
	}
	s.refuse(ctx, "publickey", gossh.FingerprintSHA256(key), "unknown key")
	// The connection's refusal is audited: its failure need not be again.
	v, _ := s.pending.LoadOrStore(remote(ctx.RemoteAddr()), &authAttempt{})
	a := v.(*authAttempt)
	a.mu.Lock()
	a.audited = true
	a.mu.Unlock()
	return false
}

func (s *Server) refuse(ctx ssh.Context, method, key, why string) {
	s.refuseConn(ctx.User(), remote(ctx.RemoteAddr()), method, key, why)
}

func (s *Server) refuseConn(user, rem, method, key, why string) {
	s.cfg.Audit.Record(AuditEvent{Event: "refused", User: user, Remote: rem, Method: method, Key: key, Result: why})
	s.cfg.Logger.Info("ssh refused", "user", user, "remote", rem, "method", method, "why", why)
}

func remote(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// track registers a running session; it reports false when the server is
// closing.
func (s *Server) track(l *live) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.live[l] = struct{}{}
	return true
}

func (s *Server) untrack(l *live) {
	s.mu.Lock()
	delete(s.live, l)
	s.mu.Unlock()
}

// restoreTerminal puts a participant's terminal back as it was before
// the dashboard: attributes reset, cursor shown, mouse reporting and
// bracketed paste off, the normal screen back. The program restores most
// of this itself when it ends; it is written again so that a session
// ended from the server side leaves a usable terminal whatever state the
// program was in.
const restoreTerminal = "\x1b[0m\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l\x1b[?1049l"

// session is the middleware that runs one dashboard per session.
func (s *Server) session(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		defer next(sess)
		// Counted under the lock that Shutdown takes before it waits: no
		// session is added to a wait in progress.
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			fmt.Fprintln(sess.Stderr(), "otwin: the server is shutting down")
			_ = sess.Exit(1)
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		// The key the session authenticated with (x/crypto >= 0.31 calls the
		// callback last with the key actually used).
		user := s.users.Load().Lookup(sess.PublicKey())
		if user == nil {
			fmt.Fprintln(sess.Stderr(), "otwin: not authorized")
			_ = sess.Exit(1)
			return
		}
		rem := remote(sess.RemoteAddr())
		pty, winCh, isPty := sess.Pty()
		if !isPty {
			fmt.Fprintln(sess.Stderr(), "otwin: the dashboard needs a terminal: connect with ssh -t")
			_ = sess.Exit(1)
			return
		}
		if n := s.active.Add(1); n > int64(s.cfg.MaxSessions) {
			s.active.Add(-1)
			s.cfg.Audit.Record(AuditEvent{Event: "refused", User: user.Name, Role: user.Role, Remote: rem, Method: "publickey", Result: "too many sessions"})
			fmt.Fprintf(sess.Stderr(), "otwin: too many sessions (%d); try again later\n", s.cfg.MaxSessions)
			_ = sess.Exit(1)
			return
		}
		defer s.active.Add(-1)
		ctx, cancel := context.WithCancel(sess.Context())
		defer cancel()
		l := &live{user: user, key: sess.PublicKey(), cancel: cancel}
		if !s.track(l) {
			fmt.Fprintln(sess.Stderr(), "otwin: the server is shutting down")
			_ = sess.Exit(1)
			return
		}
		defer s.untrack(l)
		s.cfg.Audit.Record(AuditEvent{Event: "login", User: user.Name, Role: user.Role, Remote: rem, Method: "publickey", Key: gossh.FingerprintSHA256(sess.PublicKey())})
		start := time.Now()
		defer func() {
			reason, _ := l.why()
			s.cfg.Audit.Record(AuditEvent{Event: "logout", User: user.Name, Role: user.Role, Remote: rem, Comment: time.Since(start).Round(time.Second).String(), Result: reason})
		}()

		rec, castPath := s.record(user, pty, sess, start)
		out := &teeWriter{w: sess, rec: rec, now: time.Now}
		model, err := s.cfg.NewModel(&Session{
			User:     user,
			Remote:   rem,
			Renderer: sessionRenderer(sess, pty),
			Width:    pty.Window.Width,
			Height:   pty.Window.Height,
			Context:  ctx,
			Started:  start,
			Cast:     castPath,
		})
		if err != nil {
			s.closeCast(rec, "")
			fmt.Fprintln(sess.Stderr(), "otwin:", err)
			_ = sess.Exit(1)
			return
		}
		// Input ending (the client closed the session, maybe on a
		// connection that stays open) ends the program.
		in := &inputClock{r: sess, onEOF: cancel}
		in.touch()
		p := tea.NewProgram(model,
			tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen(),
			tea.WithContext(ctx), tea.WithoutSignalHandler(),
			tea.WithEnvironment(append(sess.Environ(), "TERM="+pty.Term)))
		go s.watch(ctx, l, p, winCh, in, rec)
		if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
			s.cfg.Logger.Warn("ssh session ended with an error", "user", user.Name, "err", err)
		}
		p.Kill()
		closing := ""
		if _, msg := l.why(); msg != "" {
			// Ended from this side: give the participant their terminal back
			// and one line saying why.
			closing = restoreTerminal + "\r\x1b[Kotwin: " + msg + "\r\n"
			_, _ = io.WriteString(sess, closing)
		}
		s.closeCast(rec, closing)
		_ = sess.Exit(0)
	}
}

// record starts the session's recording, or returns nil when the server
// does not record or the file cannot be made (logged: the session goes on
// unrecorded).
func (s *Server) record(user *User, pty ssh.Pty, sess ssh.Session, start time.Time) (*castWriter, string) {
	if s.cfg.RecordDir == "" {
		return nil, ""
	}
	env := map[string]string{"TERM": pty.Term}
	h := CastHeader{Width: pty.Window.Width, Height: pty.Window.Height, Timestamp: start.Unix(),
		Title: fmt.Sprintf("otwin · %s (%s)", user.Name, user.Role), Env: env}
	base := filepath.Join(s.cfg.RecordDir, user.Name+"-"+start.Format("20060102-150405"))
	for i := 1; i < 100; i++ {
		path := base + ".cast"
		if i > 1 {
			path = fmt.Sprintf("%s-%d.cast", base, i)
		}
		c, err := newCastWriter(path, h, start, s.cfg.RecordLimit)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			s.cfg.Logger.Warn("session not recorded", "user", user.Name, "err", err)
			return nil, ""
		}
		return c, path
	}
	s.cfg.Logger.Warn("session not recorded: no free file name", "user", user.Name, "base", base)
	return nil, ""
}

func (s *Server) closeCast(c *castWriter, closing string) {
	if c == nil {
		return
	}
	if err := c.Close(time.Now(), closing); err != nil {
		s.cfg.Logger.Warn("session recording", "err", err)
	}
}

// watch forwards window changes (and records them) and enforces the idle
// timeout; it returns when the session ends or the window-change channel
// closes.
func (s *Server) watch(ctx context.Context, l *live, p *tea.Program, winCh <-chan ssh.Window, in *inputClock, rec *castWriter) {
	var tick <-chan time.Time
	if s.cfg.IdleTimeout > 0 {
		period := s.cfg.IdleTimeout / 4
		if period > time.Second {
			period = time.Second
		}
		t := time.NewTicker(period)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-winCh:
			if !ok {
				winCh = nil // closed: never select it again
				continue
			}
			if rec != nil {
				rec.Resize(time.Now(), w.Width, w.Height)
			}
			p.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
		case <-tick:
			if in.idle() >= s.cfg.IdleTimeout {
				l.end("idle timeout", fmt.Sprintf("closed after %s without input", s.cfg.IdleTimeout))
				return
			}
		}
	}
}

// inputClock is the session's input, recording when the user last typed.
type inputClock struct {
	r     io.Reader
	last  atomic.Int64
	onEOF func()
}

func (c *inputClock) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.touch()
	}
	if err != nil && c.onEOF != nil {
		c.onEOF()
	}
	return n, err
}

func (c *inputClock) touch()              { c.last.Store(time.Now().UnixNano()) }
func (c *inputClock) idle() time.Duration { return time.Since(time.Unix(0, c.last.Load())) }

// sessionRenderer makes the session's own renderer, its colour profile
// taken from the client's TERM, COLORTERM and NO_COLOR.
func sessionRenderer(sess ssh.Session, pty ssh.Pty) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(sess)
	env := map[string]string{}
	for _, kv := range sess.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	term := pty.Term
	switch {
	case env["NO_COLOR"] != "":
		r.SetColorProfile(termenv.Ascii)
	case env["COLORTERM"] == "truecolor" || env["COLORTERM"] == "24bit":
		r.SetColorProfile(termenv.TrueColor)
	case strings.Contains(term, "256color"):
		r.SetColorProfile(termenv.ANSI256)
	case term == "" || term == "dumb":
		r.SetColorProfile(termenv.Ascii)
	default:
		r.SetColorProfile(termenv.ANSI)
	}
	r.SetHasDarkBackground(true)
	return r
}
