package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/checks"
	"github.com/otwin/otwin/twin/clientlog"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newTestCmd) }

// testOptions are the flags of otwin test.
type testOptions struct {
	cfg        twinConfig
	speed      float64
	duration   time.Duration
	waitClient time.Duration
	junit      string
	json       string
	ready      string
	cmdLog     string
	export     string
	exportVia  string
	logFlags   logOptions
}

// Environment of the command otwin test runs.
const (
	envReady   = "OTWIN_READY_FILE"
	envControl = "OTWIN_CONTROL"
	envSources = "OTWIN_SOURCES"
	envToken   = control.TokenEnv
)

func newTestCmd() *cobra.Command {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test SCENARIO [flags] [-- COMMAND [ARG...]]",
		Short: "Run a scenario to its end and judge its checks against the twin's clients",
		Long: `test serves the scenario like 'otwin sim', plays its timeline to the end (the
last timeline event or fault, plus the longest time a check allows; or
--duration), and judges the scenario's checks against what the clients did at
the twin's servers: reconnecting after a fault, writes within a tag's range, a
setpoint written after an event, every tag polled, sessions held.

With a COMMAND after --, the integration under test, test starts it once the
twin serves and stops it at the end. $OTWIN_READY_FILE, $OTWIN_CONTROL,
$OTWIN_TOKEN (the control API's token) and $OTWIN_SOURCES (a sources file that
reads the twin) are set in its environment and expanded in its arguments (quote them, so that the shell leaves them).
Without a COMMAND, start your client yourself: --ready-file says where the twin
is, --wait-client holds the clock until the client connects.

It exits 0 when every check passed, 1 when any failed, never fired (what it is
about never happened: a fault nobody was connected for, a machine nobody read)
or could not be decided in the time the run had, and 2 when it could not run.
No terminal is needed: it prints a report and writes --junit and --json.`,
		Example: `  otwin test line.yaml --junit report.xml -- ./my-collector --config plant.yaml
  otwin test line.yaml --speed 5 --json report.json -- otwin watch sources.yaml --headless
  otwin test line.yaml --ready-file twin.json --export-sources sources.yaml --wait-client 30s &`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if n := cmd.ArgsLenAtDash(); n >= 0 {
				command = args[n:]
				args = args[:n]
			}
			if len(args) != 1 {
				return fmt.Errorf("test takes one scenario (and a command after --), got %q", args)
			}
			err := o.run(cmd.Context(), args[0], command, cmd.OutOrStdout(), cmd.ErrOrStderr())
			var ee exitError
			if err != nil && !errors.As(err, &ee) {
				fmt.Fprintln(cmd.ErrOrStderr(), "otwin test:", err)
				return exitError{2}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.speed, "speed", 1, "run simulated time this many times faster (on top of the scenario's time_scale)")
	f.DurationVar(&o.duration, "duration", 0, "simulated time to run (default: to the end of the timeline plus the longest check window)")
	f.DurationVar(&o.waitClient, "wait-client", 0, "hold the clock until the first client connects, at most this long (0: start at once)")
	f.StringVar(&o.junit, "junit", "", "write a JUnit XML report to this file")
	f.StringVar(&o.json, "json", "", "write a JSON report to this file")
	f.StringVar(&o.cmdLog, "command-log", "", "write the COMMAND's output to this file (default: standard error)")
	f.StringVar(&o.ready, "ready-file", "", "write the endpoints as JSON to this file once every server listens (removed on exit)")
	f.StringVar(&o.export, "export-sources", "", "write a sources file pointing the connectors at this twin")
	f.StringVar(&o.exportVia, "export-protocol", exportBoth, "protocol of the exported sources: both, opcua or modbus")
	f.StringVar(&o.cfg.Host, "host", "127.0.0.1", "address every server binds")
	f.IntVar(&o.cfg.PortOffset, "port-offset", 0, "add N to every port of the scenario")
	f.BoolVar(&o.cfg.Ephemeral, "ephemeral", false, "serve every endpoint on a free port (see the ready file)")
	f.StringVar(&o.cfg.DataDir, "data-dir", defaultDataDir(), "directory for the OPC UA certificate and key, and the control token")
	f.StringVar(&o.cfg.Token, "token", "", "control API token (default $"+control.TokenEnv+", else a random one)")
	o.cfg.Modbus.register(f)
	o.logFlags.register(f)
	return cmd
}

// run runs the test of the scenario at path.
func (o *testOptions) run(ctx context.Context, path string, command []string, stdout, stderr io.Writer) error {
	if err := checkExportChoice(o.exportVia); err != nil {
		return err
	}
	if !(o.speed > 0) {
		return fmt.Errorf("--speed %v: must be > 0", o.speed)
	}
	sc, err := loadScenarioArg([]string{path})
	if err != nil {
		return err
	}
	if len(sc.Checks) == 0 {
		return fmt.Errorf("%s: the scenario has no checks: nothing to test (see 'checks' in scenarios/README.md)", path)
	}
	length := o.duration
	if length <= 0 {
		if length, err = runLength(sc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	logger, closeLog, err := o.logFlags.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	o.cfg.Logger = logger
	o.cfg.Token = cmp.Or(o.cfg.Token, os.Getenv(control.TokenEnv))
	var (
		ev        *checks.Evaluator
		connected = make(chan struct{})
	)
	o.cfg.OnEngine = func(eng *twin.Engine, log *clientlog.Log) error {
		var err error
		if ev, err = checks.New(sc, eng); err != nil {
			return err
		}
		log.Listen(ev.Observe)
		log.Listen(firstConnect(connected))
		if o.waitClient > 0 {
			eng.Pause()
		}
		return eng.SetSpeed(o.speed)
	}
	rt, err := startTwin(ctx, sc, o.cfg)
	if err != nil {
		return err
	}
	defer rt.Close()
	ready := o.ready
	if ready == "" && len(command) > 0 {
		dir, err := os.MkdirTemp("", "otwin-test-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		ready = filepath.Join(dir, "twin.json")
		if o.export == "" {
			o.export = filepath.Join(dir, "sources.yaml")
		}
	}
	done, err := announce(stderr, rt, o.export, o.exportVia, ready)
	if err != nil {
		return err
	}
	defer done()
	evCtx, stopEv := context.WithCancel(ctx)
	defer stopEv()
	go ev.Run(evCtx)

	var child *testChild
	if len(command) > 0 {
		out := stderr
		if o.cmdLog != "" {
			f, err := os.Create(o.cmdLog)
			if err != nil {
				return fmt.Errorf("--command-log: %w", err)
			}
			defer f.Close()
			out = f
		}
		child, err = startChild(command, out, ready, rt.ControlURL, rt.ControlToken, o.export)
		if err != nil {
			return err
		}
		defer child.stop()
	}
	if o.waitClient > 0 {
		if err := waitFirst(ctx, connected, o.waitClient, child); err != nil {
			return err
		}
		rt.Engine.Resume()
	}
	fmt.Fprintf(stderr, "otwin test: running %s of simulated time at speed %v\n", length, o.speed)
	interrupted := waitElapsed(ctx, rt.Engine, length, rt.Done())
	rep := ev.Finish()
	var childNote string
	if child != nil {
		childNote = child.stop()
	}
	if err := o.write(rep, childNote); err != nil {
		return err
	}
	writeTestText(stdout, rep, childNote, interrupted)
	if interrupted || !rep.Passed() {
		return exitError{1}
	}
	return nil
}

// runLength is how long a test of sc runs by default: to its last
// timeline event or fault (a fault's end when it has a duration), plus the
// longest time a check allows.
func runLength(sc *scenarios.Scenario) (time.Duration, error) {
	var last, window time.Duration
	for _, e := range sc.Timeline {
		last = max(last, e.At.D())
	}
	for _, f := range sc.Faults {
		if f.Start != nil {
			last = max(last, f.Start.D()+f.Duration.D())
		}
	}
	for _, c := range sc.Checks {
		if c.At != nil {
			last = max(last, c.At.D())
		}
		window = max(window, c.Within.D(), 2*c.Every.D())
	}
	if last == 0 {
		return 0, errors.New("no timeline event or fault start bounds the run: give --duration")
	}
	return last + window + time.Second, nil
}

// firstConnect returns a listener that closes ch at the first connection.
func firstConnect(ch chan struct{}) func(clientlog.Entry) {
	var once sync.Once
	return func(e clientlog.Entry) {
		if e.Kind == clientlog.Connect {
			once.Do(func() { close(ch) })
		}
	}
}

// waitFirst waits for the first client to connect, at most limit.
func waitFirst(ctx context.Context, connected <-chan struct{}, limit time.Duration, child *testChild) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	var exited <-chan struct{}
	if child != nil {
		exited = child.exited
	}
	select {
	case <-connected:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-exited:
		return fmt.Errorf("the command exited before any client connected: %s", child.status())
	case <-t.C:
		return fmt.Errorf("no client connected within --wait-client %s", limit)
	}
}

// waitElapsed waits until the engine has run length of simulated time;
// it reports whether ctx ended first.
func waitElapsed(ctx context.Context, eng *twin.Engine, length time.Duration, stopped <-chan error) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for eng.Status().Elapsed.D() < length {
		select {
		case <-ctx.Done():
			return true
		case <-stopped:
			return true
		case <-t.C:
		}
	}
	return false
}

// write writes the JUnit and JSON reports asked for.
func (o *testOptions) write(rep *checks.Report, childNote string) error {
	if o.junit != "" {
		var b strings.Builder
		if err := testJUnit(rep, childNote).write(&b); err != nil {
			return err
		}
		if err := writeFileAtomic(o.junit, []byte(b.String())); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if o.json != "" {
		doc := struct {
			*checks.Report
			Passed  bool   `json:"passed"`
			Command string `json:"command,omitempty"`
		}{rep, rep.Passed(), childNote}
		data, _ := json.MarshalIndent(doc, "", "  ")
		if err := writeFileAtomic(o.json, append(data, '\n')); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	return nil
}

// statusWord is how the text report names a verdict.
var statusWord = map[checks.Status]string{
	checks.Passed:     "PASS",
	checks.Failed:     "FAIL",
	checks.NeverFired: "NEVER FIRED",
	checks.Undecided:  "UNDECIDED",
}

// writeTestText writes the report for people.
func writeTestText(w io.Writer, rep *checks.Report, childNote string, interrupted bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tCHECK\tKIND\tWHY")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", statusWord[r.Status], r.Name, r.Kind, r.Message)
	}
	tw.Flush()
	for _, r := range rep.Results {
		if r.Status == checks.Passed || len(r.Details) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s):\n", r.Name, statusWord[r.Status])
		for _, d := range r.Details {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	if childNote != "" {
		fmt.Fprintf(w, "\ncommand: %s\n", childNote)
	}
	fmt.Fprintf(w, "\n%s: %d checks over %s: %d passed, %d failed, %d never fired, %d undecided",
		rep.Scenario, len(rep.Results), rep.Elapsed, rep.Count(checks.Passed), rep.Count(checks.Failed), rep.Count(checks.NeverFired), rep.Count(checks.Undecided))
	if interrupted {
		fmt.Fprint(w, " (interrupted before the end of the run)")
	}
	fmt.Fprintln(w)
}

// testJUnit is rep as JUnit: a suite, a case per check; a failed check
// fails its case, a check that never fired is skipped with the reason,
// an undecided one is an error.
func testJUnit(rep *checks.Report, childNote string) *junitSuites {
	suite := junitSuite{Name: "otwin test " + rep.Scenario, Time: fmt.Sprintf("%.3f", rep.Elapsed.D().Seconds())}
	for _, r := range rep.Results {
		c := junitCase{Name: r.Name, Classname: "otwin.check." + string(r.Kind), Time: "0"}
		text := r.Message
		if len(r.Details) > 0 {
			text += "\n" + strings.Join(r.Details, "\n")
		}
		switch r.Status {
		case checks.Passed:
			c.SystemOut = text
		case checks.Failed:
			c.Failure = &junitFailure{Message: r.Message, Type: string(r.Kind), Text: text}
		case checks.NeverFired:
			c.Skipped = &junitSkipped{Message: "never fired: " + r.Message}
			c.SystemOut = text
		default:
			c.Error = &junitFailure{Message: r.Message, Type: "undecided", Text: text}
		}
		if childNote != "" {
			c.SystemOut = strings.TrimSpace(c.SystemOut + "\ncommand: " + childNote)
		}
		suite.Cases = append(suite.Cases, c)
	}
	j := &junitSuites{Name: "otwin test"}
	j.add(suite)
	return j
}

// testChild is the command under test.
type testChild struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	at     time.Time
	start  time.Time
	note   string
}

// startChild starts command with the twin's addresses in its
// environment; its output goes to out.
func startChild(command []string, out io.Writer, ready, controlURL, token, sources string) (*testChild, error) {
	env := map[string]string{envReady: ready, envControl: controlURL, envToken: token, envSources: sources}
	args := make([]string, len(command))
	for i, a := range command {
		args[i] = os.Expand(a, func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return os.Getenv(k)
		})
	}
	c := exec.Command(args[0], args[1:]...)
	c.Stdout, c.Stderr = out, out
	c.Env = os.Environ()
	for k, v := range env {
		if v != "" {
			c.Env = append(c.Env, k+"="+v)
		}
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", command[0], err)
	}
	ch := &testChild{cmd: c, exited: make(chan struct{}), start: time.Now()}
	go func() {
		ch.err = c.Wait()
		ch.at = time.Now()
		close(ch.exited)
	}()
	return ch, nil
}

// status says how the command ended.
func (c *testChild) status() string {
	if c.err == nil {
		return fmt.Sprintf("%s exited with status 0 after %s", c.cmd.Path, c.at.Sub(c.start).Round(time.Millisecond))
	}
	return fmt.Sprintf("%s: %v after %s", c.cmd.Path, c.err, c.at.Sub(c.start).Round(time.Millisecond))
}

// stop ends the command if it still runs (SIGTERM, then SIGKILL after
// 5 s) and says how it ended. Calling it again returns the same.
func (c *testChild) stop() string {
	if c.note != "" {
		return c.note
	}
	select {
	case <-c.exited:
		c.note = c.status() + " (before the end of the run)"
		return c.note
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.note = fmt.Sprintf("%s ran until the end of the run and was stopped", c.cmd.Path)
	return c.note
}
