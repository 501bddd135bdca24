package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/otwin/otwin/internal/memlimit"
	"github.com/otwin/otwin/role"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newWatchCmd) }

// viewOptions are the dashboard flags shared by watch and demo.
type viewOptions struct {
	role    string
	user    string
	noColor bool
}

func (v *viewOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&v.role, "role", "operator", "opening view: "+strings.Join(role.Names(), ", "))
	f.StringVar(&v.user, "user", "", "your name in acknowledgements (default: $USER)")
	f.BoolVar(&v.noColor, "no-color", os.Getenv("NO_COLOR") != "", "no colours (also $NO_COLOR)")
}

func (v *viewOptions) tuiOptions(title string) (tui.Options, error) {
	r, err := role.Parse(v.role)
	if err != nil {
		return tui.Options{}, fmt.Errorf("--role: %w", err)
	}
	user := v.user
	if user == "" {
		user = os.Getenv("USER")
	}
	if user == "" {
		user = "local"
	}
	return tui.Options{User: user, Role: r, Title: title, NoColor: v.noColor}, nil
}

// watchHelp is the long help of the command.
const watchHelp = `Run the production connectors on every endpoint of a sources file (OPC UA servers,
Modbus TCP devices), normalize every reading, raise data-quality alerts, and show
them in the dashboard. With --headless, stream normalized samples and alert
transitions as JSON lines on standard output instead (the log goes to standard
error), and every --scorecard-every the data-quality scorecards. --metrics serves
Prometheus metrics of the connectors, the store, the alerts and the scorecards.

The sources file format is described in normalize/sources/README.md; 'otwin sim
--export-sources' writes one for a running twin.

Given a broker URL instead (mqtt://, mqtts://), the dashboard reads every otwin
collector that publishes there (under --mqtt-prefix; see --broker): their
assets, tags, alerts, health and scorecards, side by side. Their alerts stay
theirs: acknowledgements, shelves and comments go back over MQTT to the
collector that owns the alert, and its answer is shown. With --headless, what they
publish — samples, alert transitions, and their scorecards side by side whenever
one publishes its own — streams as the same JSON lines; --metrics serves the
same figures for all of them.`

func newWatchCmd() *cobra.Command {
	var (
		headless  bool
		dataDir   string
		view      viewOptions
		logFlags  logOptions
		alerts    alertStateOptions
		mqtt      mqttOptions
		met       metricsOptions
		rec       recordFlags
		cardEvery time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch (SOURCES | mqtt://BROKER)",
		Short: "Read the endpoints of a sources file, or the collectors on a broker, into the dashboard",
		Long:  watchHelp,
		Example: `  otwin watch sources.yaml
  otwin watch sources.yaml --headless | jq 'select(.type=="alert")'
  otwin watch plant.yaml --headless --scorecard-every 5m | jq 'select(.type=="scorecard") | .lines'
  otwin watch plant.yaml --metrics 127.0.0.1:9464
  otwin watch plant.yaml --role maintenance
  otwin watch plant.yaml --broker embedded --mqtt-prefix acme
  otwin watch plant.yaml --headless --record incident.otwrec > /dev/null
  otwin watch mqtt://broker.plant:1883 --mqtt-prefix acme --mqtt-user olga
  otwin watch mqtt://broker.plant:1883 --mqtt-prefix acme --headless | jq 'select(.type=="scorecard")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if mqttconn.IsBrokerURL(args[0]) {
				if mqtt.enabled() || rec.path != "" {
					return errors.New("watch " + args[0] + ": --broker and --record are for reading sources; a broker is read into the dashboard or, with --headless, to stdout")
				}
				mqtt.broker = args[0]
				return watchBroker(ctx, &mqtt, &met, &view, &logFlags, dataDir, headless, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			f, err := sources.Load(args[0])
			if err != nil {
				return err
			}
			logger, state, done, err := openRun(&logFlags, &alerts, dataDir, cmd.ErrOrStderr(), !headless)
			if err != nil {
				return err
			}
			defer done()
			col, err := newCollector(f, dataDir, state, logger)
			if err != nil {
				return err
			}
			memlimit.Follow(collectorMemory, ctx.Done())
			stopMQTT, err := mqtt.startMQTT(ctx, col, dataDir, cmd.ErrOrStderr(), logger)
			if err != nil {
				return err
			}
			defer stopMQTT()
			closeRec, err := rec.start(col, args[0], logger)
			if err != nil {
				return err
			}
			if closeRec != nil {
				defer closeRec()
			}
			col.Pipeline.ScorecardEvery = cardEvery
			if cardEvery <= 0 {
				col.Pipeline.ScorecardEvery = -1
			}
			if _, err := met.serve(ctx, col, logger); err != nil {
				return err
			}
			if headless {
				return runHeadless(ctx, col, cmd.OutOrStdout())
			}
			opts, err := view.tuiOptions("otwin watch — " + filepath.Base(args[0]))
			if err != nil {
				return err
			}
			return runDashboard(ctx, col, opts, nil)
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "no dashboard: samples, alert transitions and scorecards as JSON lines on stdout")
	cmd.Flags().DurationVar(&cardEvery, "scorecard-every", pipeline.DefaultScorecardEvery, "with --headless or --broker, write or publish the data-quality scorecards this often (0: never)")
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for the OPC UA client certificate and the saved alert state (one otwin at a time)")
	met.register(cmd.Flags())
	view.register(cmd)
	mqtt.register(cmd.Flags())
	logFlags.register(cmd.Flags())
	alerts.register(cmd.Flags())
	rec.register(cmd.Flags())
	return cmd
}

// watchBroker runs the dashboard over the collectors that publish to the
// broker of o (a dashboard reading a broker) until the user quits; with
// headless set it streams what they publish — their samples, alert
// transitions and scorecards (every collector's side by side, whenever
// one publishes its own) — to out as the JSON lines of watch --headless,
// until ctx ends or a line cannot be written.
func watchBroker(ctx context.Context, o *mqttOptions, met *metricsOptions, view *viewOptions, logFlags *logOptions, dataDir string, headless bool, out, errOut io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger, _, done, err := openRun(logFlags, nil, dataDir, errOut, !headless)
	if err != nil {
		return err
	}
	defer done()
	if headless {
		o.events = pipeline.NewJSONLines(out).Batched()
		o.afterEvents = func() {
			if o.events.Flush(); o.events.Err() != nil {
				cancel()
			}
		}
	}
	col, stop, err := o.startReader(ctx, dataDir, errOut, logger)
	if err != nil {
		return err
	}
	stop = sync.OnceFunc(stop)
	defer stop()
	if _, err := met.serve(ctx, col, logger); err != nil {
		return err
	}
	if !headless {
		opts, err := view.tuiOptions("otwin watch — " + o.readTitle())
		if err != nil {
			return err
		}
		return runDashboard(ctx, col, opts, nil)
	}
	col.Store.KeepHistory(1) // no dashboard shows the history
	<-ctx.Done()
	stop() // the reader's last lines are written
	if werr := o.events.Err(); werr != nil {
		return fmt.Errorf("watch --headless: %w", werr)
	}
	return nil
}

// defaultLogFile is where the log goes while the dashboard owns the terminal.
func defaultLogFile(dataDir string) string {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return filepath.Join(os.TempDir(), "otwin.log")
	}
	return filepath.Join(dataDir, "otwin.log")
}

// runHeadless streams the pipeline's events as JSON lines until ctx ends,
// or until a line cannot be written: then it stops and says why. The hook
// set before, if any (the MQTT publisher), sees every event first.
func runHeadless(ctx context.Context, col *collector, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// No dashboard shows the tags' history: keep none but the latest
	// (100 MB less at 100,000 tags).
	col.Store.KeepHistory(1)
	out := pipeline.NewJSONLines(w).Batched()
	prev := col.Pipeline.OnEvent
	col.Pipeline.OnEvent = func(e pipeline.Event) {
		if prev != nil {
			prev(e)
		}
		out.Handle(e)
	}
	prevAfter := col.Pipeline.AfterEvents
	col.Pipeline.AfterEvents = func() {
		if prevAfter != nil {
			prevAfter()
		}
		if out.Flush(); out.Err() != nil {
			cancel()
		}
	}
	err := col.Run(ctx)
	if werr := out.Err(); werr != nil {
		return fmt.Errorf("watch --headless: %w", werr)
	}
	return err
}

// runDashboard runs the collector and the dashboard in this terminal until
// the user quits or ctx ends.
// With a control client, the fault panel drives that twin.
func runDashboard(ctx context.Context, col *collector, opts tui.Options, ctl *control.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- col.Run(ctx) }()
	sess := &session{user: opts.User, role: string(opts.Role), policy: localPolicy}
	opts.Scorecards = col.scorecards()
	if ctl != nil {
		opts.Faults = &controlFaults{c: ctl, sess: sess}
	}
	m := tui.New(col.backend(sess), opts)
	defer m.Close()
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithMouseCellMotion())
	_, err := p.Run()
	cancel()
	if perr := <-runErr; perr != nil && err == nil && ctx.Err() == nil {
		err = perr
	}
	if err == tea.ErrProgramKilled {
		err = nil
	}
	return err
}

// collectorMemory is the soft memory limit watch follows: the live heap
// plus a quarter, at least 64 MiB, never under 128 MiB. A collector of
// 100k points holds about 150 MB of heap; the default pacing would let it
// grow to twice that before a collection.
var collectorMemory = memlimit.Policy{Floor: 128 << 20, MinHeadroom: 64 << 20, Fraction: 0.25}
