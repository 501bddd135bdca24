package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/otwin/otwin/role"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/sshserve"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newSSHCmd) }

// sshOptions are the flags of the commands that serve the dashboard over SSH.
type sshOptions struct {
	listen      string
	usersFile   string
	hostKey     string
	auditFile   string
	maxSessions int
	idle        time.Duration
	readyFile   string
	// recordDir receives every session's recording ("" records none).
	recordDir string
	// tuiNow, when set, is every session's clock (tests freeze it).
	tuiNow func() time.Time
}

func (o *sshOptions) register(cmd *cobra.Command, dataDir *string) {
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:2222", "address to accept SSH connections on")
	f.StringVar(&o.usersFile, "users", "", "users file: who may log in, with which keys and role (required)")
	f.StringVar(&o.hostKey, "host-key", "", "SSH host key (default: <data-dir>/ssh_host_ed25519, generated once)")
	f.StringVar(&o.auditFile, "audit", "", "audit log of logins, refusals and actions, JSON lines (default: <data-dir>/audit.jsonl)")
	f.IntVar(&o.maxSessions, "max-sessions", 64, "most sessions at once")
	f.DurationVar(&o.idle, "idle-timeout", 30*time.Minute, "close a session after this long without a key press")
	f.StringVar(&o.readyFile, "ready-file", "", "write the SSH address, the twin's endpoints, control URL and token as JSON (mode 0600) once serving")
}

// sessionInfo is what the workshop learns of a session that opens.
type sessionInfo struct {
	User, Role string
	// Started is when the session began; Cast is its recording ("" when
	// not recorded).
	Started time.Time
	Cast    string
}

// sshHooks let the workshop follow sessions and actions.
type sshHooks struct {
	join     func(sessionInfo)
	leave    func(sessionInfo)
	onAction actionHook
	// reload sees the users file after each reload (the workshop's roster).
	reload func(*sshserve.Users)
	// console, when set, gives the session of each user whose role is
	// trainer its instructor console; other roles never get one.
	console func(sess *session) tui.Trainer
}

// sshService is a running SSH dashboard server.
type sshService struct {
	srv       *sshserve.Server
	addr      string
	audit     *sshserve.AuditLog
	usersFile string
	hooks     sshHooks
	close     func() error
}

// startSSH serves the dashboard of col over SSH: each session its own model
// bound to its user, role and policy, fed by its own store subscription.
// With a control client, trainers (and engineers the users file allows)
// drive the twin's faults.
func startSSH(ctx context.Context, o sshOptions, dataDir string, col *collector, ctl *control.Client, title string, hooks sshHooks, logger *slog.Logger) (*sshService, error) {
	users, err := sshserve.LoadUsers(o.usersFile)
	if err != nil {
		return nil, err
	}
	if o.hostKey == "" {
		o.hostKey = filepath.Join(dataDir, "ssh_host_ed25519")
	}
	if o.auditFile == "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
		o.auditFile = filepath.Join(dataDir, "audit.jsonl")
	}
	af, err := os.OpenFile(o.auditFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	audit := sshserve.NewAuditLog(af)
	srv, err := sshserve.New(sshserve.Config{
		HostKeyPath: o.hostKey,
		Users:       users,
		MaxSessions: o.maxSessions,
		IdleTimeout: o.idle,
		Audit:       audit,
		Logger:      logger,
		RecordDir:   o.recordDir,
		NewModel: func(s *sshserve.Session) (tea.Model, error) {
			r, err := role.Parse(s.User.Role)
			if err != nil {
				return nil, err
			}
			sess := &session{
				user: s.User.Name, role: s.User.Role, remote: s.Remote,
				policy: rolePolicy(s.User.Role, s.User.AllowFaults), audit: audit, onAction: hooks.onAction,
			}
			opts := tui.Options{
				User: s.User.Name, Role: r, Title: title, Renderer: s.Renderer, LockRole: true,
				Width: s.Width, Height: s.Height, Now: o.tuiNow,
				// the session's end closes its feed and store subscription
				Context:    s.Context,
				Scorecards: col.scorecards(),
			}
			if ctl != nil {
				// the twin's audit names the session's user
				opts.Faults = &controlFaults{c: ctl.As(s.User.Name), sess: sess}
			}
			if hooks.console != nil && r == role.Trainer {
				opts.Trainer = hooks.console(sess)
			}
			if hooks.join != nil {
				info := sessionInfo{User: s.User.Name, Role: s.User.Role, Started: s.Started, Cast: s.Cast}
				hooks.join(info)
				go func() {
					<-s.Context.Done()
					hooks.leave(info)
				}()
			}
			return tui.New(col.backend(sess), opts), nil
		},
	})
	if err != nil {
		af.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		af.Close()
		return nil, fmt.Errorf("ssh: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil {
			logger.Error("ssh server stopped", "err", err)
		}
	}()
	var once sync.Once
	var closeErr error
	return &sshService{srv: srv, addr: ln.Addr().String(), audit: audit, usersFile: o.usersFile, hooks: hooks, close: func() error {
		once.Do(func() { closeErr = errors.Join(srv.Close(), af.Close()) })
		return closeErr
	}}, nil
}

// reload reads the users file again and puts it in force (see
// sshserve.Server.Reload); a file that does not load leaves the users in
// force as they were, and the failure is audited.
func (s *sshService) reload() (string, error) {
	u, err := sshserve.LoadUsers(s.usersFile)
	if err != nil {
		s.audit.Record(sshserve.AuditEvent{Event: "reload", Target: s.usersFile, Result: "not reloaded: " + err.Error()})
		return "", fmt.Errorf("users file not reloaded, the users in force stay: %w", err)
	}
	ended := s.srv.Reload(u)
	if s.hooks.reload != nil {
		s.hooks.reload(u)
	}
	msg := fmt.Sprintf("users file %s reloaded: %d users", s.usersFile, len(u.Users))
	if len(ended) > 0 {
		msg += "; ended the sessions of " + strings.Join(ended, ", ")
	}
	return msg, nil
}

// reloadOnHUP reloads the users file at every SIGHUP until ctx ends,
// saying so on out and errOut.
func (s *sshService) reloadOnHUP(ctx context.Context, out, errOut io.Writer) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				msg, err := s.reload()
				if err != nil {
					fmt.Fprintln(errOut, "otwin:", err)
					continue
				}
				fmt.Fprintln(out, "otwin:", msg)
			}
		}
	}()
}

// removeReady removes the ready file when the command stops serving: a
// reader polling for it never finds the address of a server that is
// gone.
func removeReady(path string) {
	if path != "" {
		os.Remove(path)
	}
}

// controlAuditor writes the twin's control calls into the SSH audit log,
// once there is one (the twin starts first).
type controlAuditor struct {
	log atomic.Pointer[sshserve.AuditLog]
}

// record is a twinConfig.Audit.
func (a *controlAuditor) record(c control.Call) {
	res := "ok"
	switch {
	case c.Refused != "":
		res = fmt.Sprintf("refused (HTTP %d): %s", c.Status, c.Refused)
	case c.Status >= 300:
		res = fmt.Sprintf("HTTP %d", c.Status)
	}
	a.log.Load().Record(sshserve.AuditEvent{Time: c.Time, Event: "control", User: c.User, Remote: c.Remote, Target: c.Method + " " + c.Path, Result: res})
}

// writeServeReady writes the ready file of a command that serves SSH: the SSH
// address and, over a local twin (rt not nil), the twin's endpoints,
// control URL and token (mode 0600: it holds the token).
func writeServeReady(path string, sc string, rt *runningTwin, sshAddr string) error {
	if path == "" {
		return nil
	}
	rf := readyFile{Scenario: sc, SSH: sshAddr}
	if rt != nil { // with a twin in-process
		rf.Scenario, rf.Endpoints, rf.Control, rf.Token = rt.Scenario.Name, rt.Endpoints, rt.ControlURL, rt.ControlToken
	}
	data, _ := json.MarshalIndent(rf, "", "  ")
	if err := writeFileAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	return nil
}

// sshHelp is the long help of the command.
const sshHelp = `Serve the live dashboard over SSH: 'ssh -p 2222 host' drops a listed user into it with
their own role. One set of connectors and one live store serve every session.

With --sources the connectors read those endpoints (real PLCs). With --scenario
the twin runs in the same process and the connectors read it; trainers (and
engineers the users file allows) may then inject faults. With either, --broker
also publishes what is read over MQTT.

With --broker alone, the dashboard reads every otwin collector that publishes
to that broker (under --mqtt-prefix): one dashboard for many sites. Their
alerts stay theirs: acknowledgements, shelves and comments go back over MQTT to
the collector that owns the alert, which answers. "--broker embedded" runs the
central broker here; sites link their embedded brokers to it as leaf nodes
(--broker-leaf-listen here, --broker-leaf there) or publish to it directly.

Only public keys listed in the users file get in; the server offers no password
or keyboard-interactive login. Roles are enforced here, on the server: operators,
supervisors, maintenance and quality acknowledge and shelve alerts; trainers inject
faults; everyone views. Logins, refusals, every action and every call of the
twin's control API are written to the audit log.

SIGHUP reloads the users file without dropping sessions: a user who was removed
is logged out with a message, a user whose role changed is logged out and asked
to log in again (the new role's view and rights start with the next login); a
file that does not load leaves the users in force. Ctrl-C or SIGTERM ends every
session with the terminal restored and a line saying why.

With --scenario the twin's control API (see 'otwin fault', 'otwin clock')
requires a token: it is written to --ready-file and to control.token in the
data directory (mode 0600).`

// serveFlags are the flags 'otwin ssh' and 'otwin workshop' share: the
// SSH server's, the data directory, the log, the saved alert state, MQTT
// and metrics.
type serveFlags struct {
	o        sshOptions
	dataDir  string
	logFlags logOptions
	alerts   alertStateOptions
	mqtt     mqttOptions
	met      metricsOptions
}

func (f *serveFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", defaultDataDir(), "directory for the host key, certificates, the control token, the audit log and the saved alert state (one otwin at a time)")
	f.o.register(cmd, &f.dataDir)
	f.mqtt.register(cmd.Flags())
	f.logFlags.register(cmd.Flags())
	f.alerts.register(cmd.Flags())
	f.met.register(cmd.Flags())
}

// sshCmd is the flags of 'otwin ssh'.
type sshCmd struct {
	serveFlags
	sourcesFile string
	scenario    string
}

func newSSHCmd() *cobra.Command {
	c := &sshCmd{}
	cmd := &cobra.Command{
		Use:   "ssh --users FILE (--sources FILE | --scenario SCENARIO | --broker URL)",
		Short: "Serve the dashboard over SSH, each user with their role",
		Long:  sshHelp,
		Example: `  otwin ssh --users users.yaml --sources plant.yaml --listen 0.0.0.0:2222
  otwin ssh --users users.yaml --scenario bottling --ready-file /tmp/line.json
  otwin ssh --users users.yaml --broker mqtt://broker.plant:1883 --mqtt-prefix acme
  otwin ssh --users users.yaml --broker embedded --broker-leaf-listen 0.0.0.0:7422
  ssh -p 2222 localhost
  kill -HUP <pid>     # reload users.yaml
  otwin fault inject filler_temp_stuck --ready-file /tmp/line.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.run(cmd) },
	}
	cmd.Flags().StringVar(&c.sourcesFile, "sources", "", "sources file of the endpoints to read")
	cmd.Flags().StringVar(&c.scenario, "scenario", "", "run this scenario's twin in-process and read it")
	cmd.Flags().StringVar(&c.o.recordDir, "record", "", "record every session's screen as asciicast v2 into this directory (see 'otwin replay')")
	c.serveFlags.register(cmd)
	_ = cmd.MarkFlagRequired("users")
	return cmd
}

// reading says the dashboard reads the collectors on a broker (--broker
// alone).
func (c *sshCmd) reading() bool { return c.sourcesFile == "" && c.scenario == "" && c.mqtt.enabled() }

// served is what 'otwin ssh' serves: a collector, and with --scenario the
// twin's line and control client.
type served struct {
	col   *collector
	ctl   *control.Client
	line  *localLine
	title string
	close func()
}

// open starts what the flags ask to serve: the reading of a broker, the
// twin of a scenario and its collector, or a sources file's collector.
func (c *sshCmd) open(ctx context.Context, cmd *cobra.Command, state *alertState, ca *controlAuditor, logger *slog.Logger) (*served, error) {
	switch {
	case c.reading():
		col, stop, err := c.mqtt.startReader(ctx, c.dataDir, cmd.OutOrStdout(), logger)
		if err != nil {
			return nil, err
		}
		return &served{col: col, title: "otwin · " + c.mqtt.readTitle(), close: stop}, nil
	case c.scenario != "":
		sc, err := loadScenarioArg([]string{c.scenario})
		if err != nil {
			return nil, err
		}
		line, err := startLocalLine(ctx, sc, c.dataDir, state, ca.record, logger)
		if err != nil {
			return nil, err
		}
		return &served{col: line.Collector, ctl: line.Control, line: line, title: "otwin · " + sc.Name, close: func() { line.Close() }}, nil
	default:
		f, err := sources.Load(c.sourcesFile)
		if err != nil {
			return nil, err
		}
		col, err := newCollector(f, c.dataDir, state, logger.With("part", "collector"))
		if err != nil {
			return nil, err
		}
		return &served{col: col, title: "otwin · " + filepath.Base(c.sourcesFile), close: func() {}}, nil
	}
}

// run serves the dashboard over SSH until ctx ends or the collector fails.
func (c *sshCmd) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	reading := c.reading()
	if !reading && (c.sourcesFile == "") == (c.scenario == "") {
		return errors.New("give exactly one of --sources and --scenario, or --broker alone to read the collectors that publish there")
	}
	keep := &c.alerts // the collectors read from a broker keep their alerts
	if reading {
		keep = nil
	}
	logger, state, done, err := openRun(&c.logFlags, keep, c.dataDir, cmd.ErrOrStderr(), false)
	if err != nil {
		return err
	}
	defer done()
	var ca controlAuditor
	sv, err := c.open(ctx, cmd, state, &ca, logger)
	if err != nil {
		return err
	}
	defer sv.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !reading {
		stopMQTT, err := c.mqtt.startMQTT(ctx, sv.col, c.dataDir, cmd.OutOrStdout(), logger)
		if err != nil {
			return err
		}
		defer stopMQTT()
	}
	if _, err := c.met.serve(ctx, sv.col, logger); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- sv.col.Run(ctx) }()
	svc, err := startSSH(ctx, c.o, c.dataDir, sv.col, sv.ctl, sv.title, sshHooks{}, logger.With("part", "ssh"))
	if err != nil {
		return err
	}
	defer svc.close()
	ca.log.Store(svc.audit)
	svc.reloadOnHUP(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "otwin: dashboard over SSH on %s (ssh -p %s <host>)\n", svc.addr, portOf(svc.addr))
	var rt *runningTwin
	if sv.line != nil {
		rt = sv.line.Twin
	}
	if err := writeServeReady(c.o.readyFile, "", rt, svc.addr); err != nil {
		return err
	}
	defer removeReady(c.o.readyFile)
	if rt != nil {
		fmt.Fprintf(out, "otwin: twin control API on %s (token in %s)\n", rt.ControlURL, cmp.Or(c.o.readyFile, rt.TokenFile))
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-runErr:
		return err
	}
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}
