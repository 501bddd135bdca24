package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/alarms"
	"github.com/otwin/otwin/twin/clientlog"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newAlarmCmd) }

// controlEngine is the engine with its alarms and client activity log, as
// the control API serves them (control.AlarmEngine, control.ClientEngine).
type controlEngine struct {
	*twin.Engine
	set     *alarms.Set
	clients *clientlog.Log
}

// Alarms returns the twin's alarms.
func (e controlEngine) Alarms() *alarms.Set { return e.set }

// ClientLog returns the twin's client activity log.
func (e controlEngine) ClientLog() control.ClientActivity {
	if e.clients == nil {
		return nil
	}
	return e.clients
}

// newAlarmCmd builds `otwin alarm list|ack|confirm|reset`.
func newAlarmCmd() *cobra.Command {
	var cf controlFlags
	cmd := &cobra.Command{
		Use:   "alarm",
		Short: "List, acknowledge, confirm and reset the alarms of a running twin",
		Long: `alarm talks to a running twin's control API (--control URL, --ready-file PATH or
$OTWIN_CONTROL) as a second operator beside the OPC UA clients: it lists the
scenario's alarms with their state, and acknowledges, confirms or resets one.
OPC UA clients subscribed to the alarm's events see what it does.`,
		Example: `  otwin alarm list --ready-file twin.json
  otwin alarm ack filler1-co2-pressure -m "venting" --user "shift lead"
  otwin alarm ack --all -m "seen"
  otwin alarm confirm filler1-co2-pressure -m "valve replaced"
  otwin alarm reset filler1-product-temp-sensor`,
	}
	cf.register(cmd)
	cmd.AddCommand(newAlarmListCmd(&cf))
	for _, a := range []struct{ use, verb, short, done string }{
		{"ack", "ack", "Acknowledge an alarm (or every unacknowledged one with --all)", "acknowledged"},
		{"confirm", "confirm", "Confirm an acknowledged alarm (alarms with confirm: true)", "confirmed"},
		{"reset", "reset", "Reset a latched alarm whose condition has cleared (alarms with latch: true)", "reset"},
	} {
		cmd.AddCommand(newAlarmActCmd(&cf, a.use, a.verb, a.short, a.done))
	}
	return cmd
}

func newAlarmListCmd(cf *controlFlags) *cobra.Command {
	var retained bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the scenario's alarms with their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cf.run(cmd.Context(), func(ctx context.Context, c *control.Client) error {
				list, err := c.Alarms(ctx)
				if err != nil {
					return noAlarms(err)
				}
				if retained {
					list = slices.DeleteFunc(list, func(s alarms.Status) bool { return !s.State.Retain })
				}
				printAlarms(cmd.OutOrStdout(), list)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&retained, "retained", false, "only the alarms an alarm list shows (active, latched, unacknowledged or unconfirmed)")
	return cmd
}

// noAlarms explains a 404 on /v1/alarms: a scenario without alarms.
func noAlarms(err error) error {
	var ae *control.APIError
	if errors.As(err, &ae) && ae.StatusCode == 404 && strings.Contains(ae.Message, "no endpoint") {
		return errors.New("the twin serves no alarms (its scenario has no alarms section)")
	}
	return err
}

// printAlarms writes the alarms as a table.
func printAlarms(w io.Writer, list []alarms.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTAG\tKIND\tSEVERITY\tSTATE\tACKED\tCONFIRMED\tRETAIN\tMESSAGE")
	for _, a := range list {
		confirmed := "-"
		if a.Confirm {
			confirmed = yesNo(a.State.Confirmed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.TagName, a.Kind, a.Severity,
			alarmState(a.State), yesNo(a.State.Acked), confirmed, yesNo(a.State.Retain), a.State.Message)
	}
	tw.Flush()
}

// alarmState is "active [limit]", "latched" or "normal".
func alarmState(s alarms.State) string {
	switch {
	case s.Active && s.Limit != "":
		return "active " + s.Limit
	case s.Active:
		return "active"
	case s.Latched:
		return "latched"
	}
	return "normal"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newAlarmActCmd(cf *controlFlags, use, verb, short, done string) *cobra.Command {
	var (
		act control.AlarmAction
		id  string
		all bool
	)
	cmd := &cobra.Command{
		Use:   use + " NAME",
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if all {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if id != "" {
				if err := act.EventID.UnmarshalText([]byte(id)); err != nil {
					return fmt.Errorf("--event-id: %w", err)
				}
			}
			return cf.run(cmd.Context(), func(ctx context.Context, c *control.Client) error {
				names := args
				if all {
					list, err := c.Alarms(ctx)
					if err != nil {
						return noAlarms(err)
					}
					for _, a := range list {
						if !a.State.Acked {
							names = append(names, a.Name)
						}
					}
					if len(names) == 0 {
						fmt.Fprintln(cmd.OutOrStdout(), "no alarm needs acknowledgement")
						return nil
					}
				}
				for _, n := range names {
					ev, err := c.AlarmAct(ctx, n, verb, act)
					if err != nil {
						return noAlarms(err)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s\n", done, n, afterAction(ev.State))
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&act.Comment, "comment", "m", "", "the operator's comment")
	fl.StringVar(&act.User, "user", "", `who acts (default "control")`)
	fl.StringVar(&id, "event-id", "", "hex id of the event the operator saw (default: the alarm's current state)")
	if verb == "ack" {
		fl.BoolVar(&all, "all", false, "acknowledge every unacknowledged alarm")
	}
	return cmd
}

// afterAction says where an alarm stands after an operator's action.
func afterAction(s alarms.State) string {
	state := alarmState(s)
	switch {
	case !s.Retain:
		return state + ", off the alarm list"
	case !s.Acked:
		return state + ", still unacknowledged"
	case !s.Confirmed:
		return state + ", retained until confirmed"
	case s.Latched:
		return state + ", retained until reset"
	}
	return state + ", retained while active"
}
