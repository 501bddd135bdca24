package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
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
}

func (o *sshOptions) register(cmd *cobra.Command, dataDir *string) {
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:2222", "address to accept SSH connections on")
	f.StringVar(&o.usersFile, "users", "", "users file: who may log in, with which keys and role (required)")
	f.StringVar(&o.hostKey, "host-key", "", "SSH host key (default: <data-dir>/ssh_host_ed25519, generated once)")
	f.StringVar(&o.auditFile, "audit", "", "audit log of logins, refusals and actions, JSON lines (default: <data-dir>/audit.jsonl)")
	f.IntVar(&o.maxSessions, "max-sessions", 64, "most sessions at once")
	f.DurationVar(&o.idle, "idle-timeout", 30*time.Minute, "close a session after this long without a key press")
	_ = cmd.MarkFlagRequired("users")
}

// sshHooks let the workshop follow sessions and actions.
type sshHooks struct {
	join     func(user, role string)
	leave    func(user string)
	onAction actionHook
	// console, when set, gives the session of each user whose role is
	// trainer its instructor console; other roles never get one.
	console func(sess *session) tui.Trainer
}

// sshService is a running SSH dashboard server.
type sshService struct {
	srv   *sshserve.Server
	addr  string
	audit *sshserve.AuditLog
	close func() error
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
				Width: s.Width, Height: s.Height,
				// the session's end closes its feed and store subscription
				Context:    s.Context,
				Scorecards: col.scorecards(),
			}
			if ctl != nil {
				opts.Faults = &controlFaults{c: ctl, sess: sess}
			}
			if hooks.console != nil && r == role.Trainer {
				opts.Trainer = hooks.console(sess)
			}
			if hooks.join != nil {
				hooks.join(s.User.Name, s.User.Role)
				go func() {
					<-s.Context.Done()
					hooks.leave(s.User.Name)
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
	return &sshService{srv: srv, addr: ln.Addr().String(), audit: audit, close: func() error {
		err := srv.Close()
		return errors.Join(err, af.Close())
	}}, nil
}

func newSSHCmd() *cobra.Command {
	var (
		o           sshOptions
		sourcesFile string
		scenario    string
		dataDir     string
		logFlags    logOptions
		alerts      alertStateOptions
		mqtt        mqttOptions
		met         metricsOptions
	)
	cmd := &cobra.Command{
		Use:   "ssh --users FILE (--sources FILE | --scenario SCENARIO | --broker URL)",
		Short: "Serve the dashboard over SSH, each user with their role",
		Long: `Serve the live dashboard over SSH: 'ssh -p 2222 host' drops a listed user into it with
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

Only public keys listed in the users file get in; passwords are refused. Roles
are enforced here, on the server: operators, supervisors, maintenance and quality
acknowledge and shelve alerts; trainers inject faults; everyone views. Logins,
refusals and every action are written to the audit log.`,
		Example: `  otwin ssh --users users.yaml --sources plant.yaml --listen 0.0.0.0:2222
  otwin ssh --users users.yaml --scenario bottling
  otwin ssh --users users.yaml --broker mqtt://broker.plant:1883 --mqtt-prefix acme
  otwin ssh --users users.yaml --broker embedded --broker-leaf-listen 0.0.0.0:7422
  ssh -p 2222 localhost`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			reading := sourcesFile == "" && scenario == "" && mqtt.enabled()
			if !reading && (sourcesFile == "") == (scenario == "") {
				return errors.New("give exactly one of --sources and --scenario, or --broker alone to read the collectors that publish there")
			}
			logger, closeLog, err := logFlags.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			var state *alertState // the collectors read from a broker keep their alerts
			if !reading {
				if state, err = alerts.open(dataDir, logger); err != nil {
					return err
				}
				defer state.Close()
			}
			var (
				col   *collector
				ctl   *control.Client
				title string
			)
			switch {
			case reading:
				var stop func()
				if col, stop, err = mqtt.startReader(ctx, dataDir, cmd.OutOrStdout(), logger); err != nil {
					return err
				}
				defer stop()
				title = "otwin · " + mqtt.readTitle()
			case scenario != "":
				sc, err := loadScenarioArg([]string{scenario})
				if err != nil {
					return err
				}
				line, err := startLocalLine(ctx, sc, dataDir, state, logger)
				if err != nil {
					return err
				}
				defer line.Close()
				col, ctl, title = line.Collector, line.Control, "otwin · "+sc.Name
			default:
				f, err := sources.Load(sourcesFile)
				if err != nil {
					return err
				}
				if col, err = newCollector(f, dataDir, state, logger.With("part", "collector")); err != nil {
					return err
				}
				title = "otwin · " + filepath.Base(sourcesFile)
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if !reading {
				stopMQTT, err := mqtt.startMQTT(ctx, col, dataDir, cmd.OutOrStdout(), logger)
				if err != nil {
					return err
				}
				defer stopMQTT()
			}
			if _, err := met.serve(ctx, col, logger); err != nil {
				return err
			}
			runErr := make(chan error, 1)
			go func() { runErr <- col.Run(ctx) }()
			svc, err := startSSH(ctx, o, dataDir, col, ctl, title, sshHooks{}, logger.With("part", "ssh"))
			if err != nil {
				return err
			}
			defer svc.close()
			fmt.Fprintf(cmd.OutOrStdout(), "otwin: dashboard over SSH on %s (ssh -p %s <host>)\n", svc.addr, portOf(svc.addr))
			select {
			case <-ctx.Done():
			case err := <-runErr:
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sourcesFile, "sources", "", "sources file of the endpoints to read")
	cmd.Flags().StringVar(&scenario, "scenario", "", "run this scenario's twin in-process and read it")
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for the host key, certificates, the audit log and the saved alert state (one otwin at a time)")
	o.register(cmd, &dataDir)
	mqtt.register(cmd.Flags())
	logFlags.register(cmd.Flags())
	alerts.register(cmd.Flags())
	met.register(cmd.Flags())
	return cmd
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}
