package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newClockCmd) }

// newClockCmd builds `otwin clock pause|resume|speed F|step N|status`.
func newClockCmd() *cobra.Command {
	var cf controlFlags
	cmd := &cobra.Command{
		Use:   "clock",
		Short: "Pause, resume, speed up or step a running twin's clock",
		Long: `clock talks to a running twin's control API (--control URL, --ready-file PATH or
$OTWIN_CONTROL; the token from --token, $OTWIN_TOKEN or the ready file). Simulated time advances by exactly one tick per step, so
pausing, speeding up or stepping never changes the series, only how fast it
plays.`,
		Example: `  otwin clock status
  otwin clock pause
  otwin clock step 50
  otwin clock speed 10
  otwin clock resume`,
	}
	cf.register(cmd)
	status := func(fn func(context.Context, *control.Client) (twin.Status, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			return cf.run(cmd.Context(), func(ctx context.Context, c *control.Client) error {
				st, err := fn(ctx, c)
				if err != nil {
					return err
				}
				printStatus(cmd.OutOrStdout(), st)
				return nil
			})
		}
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "status",
			Short: "Show the clock: simulated time, ticks, speed, paused",
			Args:  cobra.NoArgs,
			RunE:  status(func(ctx context.Context, c *control.Client) (twin.Status, error) { return c.Status(ctx) }),
		},
		&cobra.Command{
			Use:   "pause",
			Short: "Stop simulated time (stepping still works)",
			Args:  cobra.NoArgs,
			RunE:  status(func(ctx context.Context, c *control.Client) (twin.Status, error) { return c.Pause(ctx) }),
		},
		&cobra.Command{
			Use:   "resume",
			Short: "Let simulated time run again",
			Args:  cobra.NoArgs,
			RunE:  status(func(ctx context.Context, c *control.Client) (twin.Status, error) { return c.Resume(ctx) }),
		},
		&cobra.Command{
			Use:   "speed FACTOR",
			Short: "Run FACTOR times faster than the scenario's time scale (0 < FACTOR <= 10000)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				f, err := strconv.ParseFloat(args[0], 64)
				if err != nil || !(f > 0) {
					return fmt.Errorf("speed %q: want a number > 0, e.g. 2 or 0.5", args[0])
				}
				return status(func(ctx context.Context, c *control.Client) (twin.Status, error) { return c.SetSpeed(ctx, f) })(cmd, nil)
			},
		},
		&cobra.Command{
			Use:   "step N",
			Short: "Run N ticks at once, paused or not",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 1 || n > control.MaxStep {
					return fmt.Errorf("step %q: want a number of ticks from 1 to %d", args[0], control.MaxStep)
				}
				return status(func(ctx context.Context, c *control.Client) (twin.Status, error) { return c.Step(ctx, n) })(cmd, nil)
			},
		},
	)
	return cmd
}

// printStatus writes the clock status as a two-column table.
func printStatus(w io.Writer, st twin.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	state := "running"
	if st.Paused {
		state = "paused"
	}
	rows := [][2]string{
		{"scenario", st.Scenario},
		{"state", state},
		{"elapsed", st.Elapsed.D().String()},
		{"sim time", st.SimTime.UTC().Format(time.RFC3339Nano)},
		{"ticks", strconv.FormatUint(st.Ticks, 10)},
		{"tick", st.Tick.String()},
		{"time scale", strconv.FormatFloat(st.TimeScale, 'g', -1, 64)},
		{"speed", strconv.FormatFloat(st.Speed, 'g', -1, 64)},
		{"tags", strconv.Itoa(st.Tags)},
		{"active faults", strconv.Itoa(st.ActiveFaults)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	tw.Flush()
}
