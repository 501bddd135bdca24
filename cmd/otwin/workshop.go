package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
)

func init() { register(newWorkshopCmd) }

func newWorkshopCmd() *cobra.Command {
	var (
		o         sshOptions
		dataDir   string
		reportDir string
		autostart string
		logFlags  logOptions
		alerts    alertStateOptions
		mqtt      mqttOptions
		met       metricsOptions
	)
	cmd := &cobra.Command{
		Use:   "workshop SCENARIO --users FILE",
		Short: "Run a role-based training workshop: twin, connectors and SSH dashboards in one process",
		Long: `Run a workshop on a scenario: the twin, the connectors and an SSH server in one
process. Each participant connects with ssh and works the same live line from
their role (from the users file). The trainer's session opens on the instructor
console: start, pause and speed up the scenario, run the scenario's exercises
(faults on a timeline with the response expected of each role), inject ad-hoc
faults, and watch the live scoreboard. Its keys: space pauses and resumes the
clock, + and - double and halve the speed (0.25x to 64x), enter starts the
selected exercise, d writes the debrief now, f opens the fault panel, c comes
back. Only users whose role is trainer get the console, and every console
action is written to the audit log with their name.

When the workshop ends (Ctrl-C) — or when the trainer asks — the debrief is
written as Markdown and HTML: the injected faults, the alerts, every
participant's actions, and response times per role.`,
		Example: `  otwin workshop bottling --users class.yaml --listen 0.0.0.0:2222
  otwin workshop scenarios/pasteurizer.yaml --users class.yaml --exercise divert-or-not`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			logger, closeLog, err := logFlags.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			state, err := alerts.open(dataDir, logger)
			if err != nil {
				return err
			}
			defer state.Close()
			sc, err := loadScenarioArg(args)
			if err != nil {
				return err
			}
			line, err := startLocalLine(ctx, sc, dataDir, state, logger)
			if err != nil {
				return err
			}
			defer line.Close()
			rt, col, ctl := line.Twin, line.Collector, line.Control
			if _, err := met.serve(ctx, col, logger); err != nil {
				return err
			}
			if reportDir == "" {
				reportDir = "otwin-debrief-" + time.Now().Format("20060102-150405")
			}
			ws := workshop.New(sc, rt.Engine, nil)
			debrief := &debriefWriter{ws: ws, dir: reportDir}
			stopMQTT, err := mqtt.startMQTT(ctx, col, dataDir, cmd.OutOrStdout(), logger)
			if err != nil {
				return err
			}
			defer stopMQTT()
			runErr := make(chan error, 1)
			go func() { runErr <- col.Run(ctx) }()
			go followWorkshop(ctx, ws, col, logger)
			svc, err := startSSH(ctx, o, dataDir, col, ctl, "workshop · "+sc.Name, sshHooks{
				join:  ws.Join,
				leave: ws.Leave,
				onAction: func(user, role, kind, target, comment, refused string) {
					ws.Record(workshop.Action{User: user, Role: role, Kind: kind, Target: target, Comment: comment, Refused: refused})
				},
				console: consoleHook(ws, rt.Engine, debrief),
			}, logger.With("part", "ssh"))
			if err != nil {
				return err
			}
			defer svc.close()
			if autostart != "" {
				if err := ws.StartExercise(autostart); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "otwin: workshop %q on %s (ssh -p %s <host>); exercises: %v\n", sc.Name, svc.addr, portOf(svc.addr), ws.Exercises())
			select {
			case <-ctx.Done():
			case err := <-runErr:
				if err != nil {
					return err
				}
			}
			path, err := debrief.write()
			if err != nil {
				return fmt.Errorf("debrief: %w", err)
			}
			fmt.Fprintf(out, "otwin: debrief written to %s (and .html)\n", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory for the host key, certificates, the audit log and the saved alert state (one otwin at a time)")
	cmd.Flags().StringVar(&reportDir, "report-dir", "", "directory for the debrief (default: ./otwin-debrief-<time>)")
	cmd.Flags().StringVar(&autostart, "exercise", "", "start this exercise at once")
	o.register(cmd, &dataDir)
	mqtt.register(cmd.Flags())
	logFlags.register(cmd.Flags())
	alerts.register(cmd.Flags())
	met.register(cmd.Flags())
	return cmd
}

// followWorkshop feeds the workshop: due exercise steps every 100ms, and
// every alert change from the live store.
func followWorkshop(ctx context.Context, ws *workshop.Workshop, col *collector, logger interface {
	Warn(string, ...any)
}) {
	sub := col.Store.Subscribe()
	defer sub.Close()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, err := range ws.Advance() {
				logger.Warn("workshop", "err", err)
			}
		case b, ok := <-sub.C():
			if !ok {
				return
			}
			if len(b.Alerts) > 0 {
				ws.ObserveAlerts(b.Alerts)
			}
		}
	}
}

// writeDebrief writes debrief.md and debrief.html into dir and returns the
// Markdown file's path. Each file is written whole under a temporary name
// and renamed, so a reader never sees half a report; an error names the
// file.
func writeDebrief(ws *workshop.Workshop, dir string) (string, error) {
	rep := ws.Debrief()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	md := filepath.Join(dir, "debrief.md")
	err := errors.Join(
		writeWhole(md, rep.WriteMarkdown),
		writeWhole(filepath.Join(dir, "debrief.html"), rep.WriteHTML),
	)
	return md, err
}

// writeWhole writes path through write under a temporary name in the same
// directory, then renames it into place.
func writeWhole(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = errors.Join(write(f), f.Chmod(0o644), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
