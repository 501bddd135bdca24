package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/cmd/otwin/internal/workshop"
	"github.com/otwin/otwin/tui/sshserve"
)

func init() { register(newWorkshopCmd) }

// workshopHelp is the long help of the command.
const workshopHelp = `Run a workshop on a scenario: the twin, the connectors and an SSH server in one
process. Each participant connects with ssh and works the same live line from
their role (from the users file). The trainer's session opens on the instructor
console: start, pause and speed up the scenario, run the scenario's exercises
(faults on a timeline with the response expected of each role), inject ad-hoc
faults, and watch the live scoreboard of everyone in the users file, online or
not. Its keys: space pauses and resumes the clock, + and - double and halve the
speed (0.25x to 64x), enter starts the selected exercise, d writes the debrief
now, f opens the fault panel, c comes back. Only users whose role is trainer get
the console, and every console action is written to the audit log with their
name.

With --paused the scenario clock stands still until the trainer says go: space
on the console, or 'otwin clock resume --ready-file FILE'. Exercise windows run
in scenario time: at 16x a "within: 2m" window lasts 7.5 s of wall time, and a
paused clock stops it.

Only actions that were carried out count: an acknowledgement the store turned
down ("nothing to acknowledge") is in the timeline, not in the scores.

Every session's screen is recorded (asciicast v2, at most 16 MiB each) into
the report directory's casts/; the debrief links each participant's recording
at the moment of each alert and action. Play one with 'otwin replay'.

When the workshop ends (Ctrl-C or SIGTERM) every session is closed with the
terminal restored and a line saying why, expectations whose window is still
open are missed, and the debrief is written as Markdown and HTML: the injected
faults, the alerts, every participant's actions, and response times per role.
SIGHUP reloads the users file (see 'otwin ssh').

The twin's control API requires a token, written to --ready-file and to
control.token in the data directory (mode 0600); every call is audited.

--rehearse plays every exercise at high speed with no participants (the twin
with its real servers and the real collector, no SSH) and reports each
expectation that can never be met: its fault raises no alert, the role's
opening view filters the alert out, or the role may not take the action. It
exits with status 1 when it finds one.`

// workshopCmd is the flags of 'otwin workshop'.
type workshopCmd struct {
	serveFlags
	reportDir string
	autostart string
	paused    bool
	rehearse  bool
	speed     float64
}

func newWorkshopCmd() *cobra.Command {
	c := &workshopCmd{}
	cmd := &cobra.Command{
		Use:   "workshop SCENARIO --users FILE",
		Short: "Run a role-based training workshop: twin, connectors and SSH dashboards in one process",
		Long:  workshopHelp,
		Example: `  otwin workshop bottling --users class.yaml --listen 0.0.0.0:2222 --paused
  otwin workshop scenarios/pasteurizer.yaml --users class.yaml --exercise divert-or-not
  otwin workshop cnc --rehearse`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	cmd.Flags().StringVar(&c.reportDir, "report-dir", "", "directory for the debrief and the session recordings (default: ./otwin-debrief-<time>)")
	cmd.Flags().StringVar(&c.autostart, "exercise", "", "start this exercise at once (with --paused: when the clock starts)")
	cmd.Flags().BoolVar(&c.paused, "paused", false, "start with the scenario clock paused until the trainer's go")
	cmd.Flags().BoolVar(&c.rehearse, "rehearse", false, "play every exercise at high speed with no participants and report expectations that can never be met")
	cmd.Flags().Float64Var(&c.speed, "rehearse-speed", 16, "the scenario clock's speed while rehearsing, between faults")
	c.serveFlags.register(cmd) // --users is required unless rehearsing (checked in run)
	return cmd
}

// run runs the workshop until ctx ends, then writes the debrief.
func (c *workshopCmd) run(cmd *cobra.Command, args []string) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	logger, state, done, err := openRun(&c.logFlags, &c.alerts, c.dataDir, cmd.ErrOrStderr(), false)
	if err != nil {
		return err
	}
	defer done()
	sc, err := loadScenarioArg(args)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if c.rehearse {
		// The data directory stays locked (the twin writes its token
		// there), but the rehearsal's alerts stay in memory.
		return rehearseCmd(ctx, sc, c.dataDir, c.speed, out, logger)
	}
	if c.o.usersFile == "" {
		return errors.New(`required flag "users" not set (only --rehearse runs without participants)`)
	}
	var ca controlAuditor
	line, err := startLocalLine(ctx, sc, c.dataDir, state, ca.record, logger)
	if err != nil {
		return err
	}
	defer line.Close()
	rt, col, ctl := line.Twin, line.Collector, line.Control
	if _, err := c.met.serve(ctx, col, logger); err != nil {
		return err
	}
	if c.paused {
		rt.Engine.Pause()
	}
	if c.reportDir == "" {
		c.reportDir = "otwin-debrief-" + time.Now().Format("20060102-150405")
	}
	c.o.recordDir = filepath.Join(c.reportDir, "casts")
	ws := workshop.New(sc, rt.Engine, nil)
	debrief := &debriefWriter{ws: ws, dir: c.reportDir}
	stopMQTT, err := c.mqtt.startMQTT(ctx, col, c.dataDir, cmd.OutOrStdout(), logger)
	if err != nil {
		return err
	}
	defer stopMQTT()
	runErr := make(chan error, 1)
	go func() { runErr <- col.Run(ctx) }()
	go followWorkshop(ctx, ws, col, logger)
	svc, err := startSSH(ctx, c.o, c.dataDir, col, ctl, "workshop · "+sc.Name, workshopHooks(ws, rt.Engine, debrief), logger.With("part", "ssh"))
	if err != nil {
		return err
	}
	defer svc.close()
	ca.log.Store(svc.audit)
	ws.SetRoster(rosterOf(svc.srv.Users()))
	svc.reloadOnHUP(ctx, out, cmd.ErrOrStderr())
	if c.autostart != "" {
		if err := ws.StartExercise(c.autostart); err != nil {
			return err
		}
	}
	if err := writeServeReady(c.o.readyFile, sc.Name, rt, svc.addr); err != nil {
		return err
	}
	defer removeReady(c.o.readyFile)
	fmt.Fprintf(out, "otwin: workshop %q on %s (ssh -p %s <host>); exercises: %v\n", sc.Name, svc.addr, portOf(svc.addr), ws.Exercises())
	fmt.Fprintf(out, "otwin: twin control API on %s (token in %s); recordings in %s\n", rt.ControlURL, cmp.Or(c.o.readyFile, rt.TokenFile), c.o.recordDir)
	if c.paused {
		fmt.Fprintln(out, "otwin: the scenario clock is paused: the trainer's space key on the console (or 'otwin clock resume') starts it")
	}
	select {
	case <-ctx.Done():
	case err := <-runErr:
		if err != nil {
			return err
		}
	}
	// Sessions end first (terminals restored, recordings closed),
	// then open windows become missed and the debrief is written.
	if err := svc.close(); err != nil {
		logger.Warn("ssh server close", "err", err)
	}
	ws.End()
	path, err := debrief.write()
	if err != nil {
		return fmt.Errorf("debrief: %w", err)
	}
	fmt.Fprintf(out, "otwin: debrief written to %s (and .html)\n", path)
	return nil
}

// workshopHooks join the SSH sessions to the workshop: who is online and
// their recordings, every action, the trainer's console and the roster.
func workshopHooks(ws *workshop.Workshop, clock workshopClock, debrief *debriefWriter) sshHooks {
	return sshHooks{
		join: func(s sessionInfo) {
			ws.Join(s.User, s.Role)
			if s.Cast != "" {
				ws.AddRecording(s.User, s.Cast, s.Started)
			}
		},
		leave: func(s sessionInfo) {
			ws.Leave(s.User)
			if s.Cast != "" {
				ws.EndRecording(s.User, s.Cast)
			}
		},
		onAction: func(r actionResult) {
			ws.Record(workshop.Action{User: r.User, Role: r.Role, Kind: r.Kind, Target: r.Target, Comment: r.Comment, Refused: r.Refused, Failed: r.Failed})
		},
		console: consoleHook(ws, clock, debrief),
		reload:  func(u *sshserve.Users) { ws.SetRoster(rosterOf(u)) },
	}
}

// rosterOf lists the users of a users file for the workshop.
func rosterOf(u *sshserve.Users) []workshop.Member {
	var ms []workshop.Member
	for _, x := range u.Users {
		ms = append(ms, workshop.Member{User: x.Name, Role: x.Role})
	}
	return ms
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
// file. Links to recordings are relative to dir.
func writeDebrief(ws *workshop.Workshop, dir string) (string, error) {
	rep := ws.Debrief()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	rep.RelativeTo(dir)
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
