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
// Here: public-key auth only (password and keyboard-interactive attempts
// are refused and audited), the host key is generated once into a path
// the caller gives, each session gets its own renderer, the window-change
// loop stops when its channel closes, and the idle timeout counts input.
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
}

// Config configures a Server.
type Config struct {
	// HostKeyPath is the host key's file; generated (ed25519) when missing.
	// Required: the server never writes into the working directory.
	HostKeyPath string
	// Users may log in.
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
}

// Server is an SSH server of dashboard sessions.
type Server struct {
	cfg    Config
	srv    *ssh.Server
	active atomic.Int64
	wg     sync.WaitGroup
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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := ensureHostKey(cfg.HostKeyPath); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg}
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(cfg.HostKeyPath),
		wish.WithPublicKeyAuth(s.publicKey),
		wish.WithPasswordAuth(func(ctx ssh.Context, _ string) bool {
			s.refuse(ctx, "password", "", "password authentication is disabled")
			return false
		}),
		wish.WithKeyboardInteractiveAuth(func(ctx ssh.Context, _ gossh.KeyboardInteractiveChallenge) bool {
			s.refuse(ctx, "keyboard-interactive", "", "keyboard-interactive authentication is disabled")
			return false
		}),
		wish.WithMiddleware(s.session),
	)
	if err != nil {
		return nil, fmt.Errorf("sshserve: %w", err)
	}
	s.srv = srv
	return s, nil
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

// Close stops accepting, closes every session and waits for their
// programs to end.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.wg.Wait()
	return err
}

// Active is the number of sessions running.
func (s *Server) Active() int { return int(s.active.Load()) }

func (s *Server) publicKey(ctx ssh.Context, key ssh.PublicKey) bool {
	if s.cfg.Users.Lookup(key) != nil {
		return true
	}
	s.refuse(ctx, "publickey", gossh.FingerprintSHA256(key), "unknown key")
	return false
}

func (s *Server) refuse(ctx ssh.Context, method, key, why string) {
	s.cfg.Audit.Record(AuditEvent{Event: "refused", User: ctx.User(), Remote: remote(ctx.RemoteAddr()), Method: method, Key: key, Result: why})
	s.cfg.Logger.Info("ssh refused", "user", ctx.User(), "remote", remote(ctx.RemoteAddr()), "method", method, "why", why)
}

func remote(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// session is the middleware that runs one dashboard per session.
func (s *Server) session(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		defer next(sess)
		s.wg.Add(1)
		defer s.wg.Done()
		// The key the session authenticated with (x/crypto >= 0.31 calls the
		// callback last with the key actually used).
		user := s.cfg.Users.Lookup(sess.PublicKey())
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
		s.cfg.Audit.Record(AuditEvent{Event: "login", User: user.Name, Role: user.Role, Remote: rem, Method: "publickey", Key: gossh.FingerprintSHA256(sess.PublicKey())})
		start := time.Now()
		var idled atomic.Bool // closed by the idle timeout
		defer func() {
			e := AuditEvent{Event: "logout", User: user.Name, Role: user.Role, Remote: rem, Comment: time.Since(start).Round(time.Second).String()}
			if idled.Load() {
				e.Result = "idle timeout"
			}
			s.cfg.Audit.Record(e)
		}()

		ctx, cancel := context.WithCancel(sess.Context())
		defer cancel()
		model, err := s.cfg.NewModel(&Session{
			User:     user,
			Remote:   rem,
			Renderer: sessionRenderer(sess, pty),
			Width:    pty.Window.Width,
			Height:   pty.Window.Height,
			Context:  ctx,
		})
		if err != nil {
			fmt.Fprintln(sess.Stderr(), "otwin:", err)
			_ = sess.Exit(1)
			return
		}
		// Input ending (the client closed the session, maybe on a
		// connection that stays open) ends the program.
		in := &inputClock{r: sess, onEOF: cancel}
		in.touch()
		p := tea.NewProgram(model,
			tea.WithInput(in), tea.WithOutput(sess), tea.WithAltScreen(),
			tea.WithContext(ctx), tea.WithoutSignalHandler(),
			tea.WithEnvironment(append(sess.Environ(), "TERM="+pty.Term)))
		go s.watch(ctx, cancel, p, winCh, in, &idled)
		if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
			s.cfg.Logger.Warn("ssh session ended with an error", "user", user.Name, "err", err)
		}
		p.Kill()
		if idled.Load() {
			fmt.Fprintf(sess.Stderr(), "\r\notwin: closed after %s without input\r\n", s.cfg.IdleTimeout)
		}
		_ = sess.Exit(0)
	}
}

// watch forwards window changes and enforces the idle timeout; it returns
// when the session ends or the window-change channel closes.
func (s *Server) watch(ctx context.Context, cancel context.CancelFunc, p *tea.Program, winCh <-chan ssh.Window, in *inputClock, idled *atomic.Bool) {
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
			p.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
		case <-tick:
			if in.idle() >= s.cfg.IdleTimeout {
				idled.Store(true)
				cancel()
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
