package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newFaultCmd) }

// controlFlags locate a running twin's control API.
type controlFlags struct {
	url     string
	ready   string
	token   string
	timeout time.Duration
}

func (c *controlFlags) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.url, "control", "", "control API URL of the twin (default $OTWIN_CONTROL)")
	f.StringVar(&c.ready, "ready-file", "", `read the control URL and token from the twin's ready file`)
	f.StringVar(&c.token, "token", "", "the control API's token (default $"+control.TokenEnv+", or the ready file's)")
	f.DurationVar(&c.timeout, "timeout", 10*time.Second, "give up on the twin after this long")
}

// client returns a control client: the URL from --control, --ready-file
// or $OTWIN_CONTROL, the token from --token, $OTWIN_TOKEN or the ready
// file, each in that order.
func (c *controlFlags) client() (*control.Client, error) {
	url, token := c.url, c.token
	if token == "" {
		token = os.Getenv(control.TokenEnv)
	}
	if c.ready != "" && (url == "" || token == "") {
		r, err := control.ReadReady(c.ready)
		if err != nil {
			return nil, err
		}
		url, token = cmp.Or(url, r.Control), cmp.Or(token, r.Token)
	}
	if url == "" {
		url = os.Getenv("OTWIN_CONTROL")
	}
	if url == "" {
		return nil, errors.New("no twin to talk to: give --control URL or --ready-file PATH, or set $OTWIN_CONTROL")
	}
	cl, err := control.NewClient(url, nil)
	if err != nil {
		return nil, err
	}
	return cl.WithToken(token), nil
}

// run calls fn with a client and a context bounded by --timeout, and
// turns an unreachable twin into a clear message.
func (c *controlFlags) run(ctx context.Context, fn func(context.Context, *control.Client) error) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err = fn(ctx, cl)
	var apiErr *control.APIError
	switch {
	case errors.Is(err, control.ErrUnreachable):
		return fmt.Errorf("%w (is the twin running, with its control API at that address?)", err)
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w (the twin's token is in its ready file and in %s in its data directory)", err, tokenFileName)
	}
	return err
}

// newFaultCmd builds `otwin fault list|inject|clear`.
func newFaultCmd() *cobra.Command {
	var cf controlFlags
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "List, inject and clear faults of a running twin",
		Long: `fault talks to a running twin's control API (--control URL, --ready-file PATH or
$OTWIN_CONTROL) to list the scenario's faults, inject a named or an ad-hoc
fault, and clear an active one. Every call carries the twin's token: from
--token, $OTWIN_TOKEN or the ready file.`,
		Example: `  otwin fault list --ready-file /tmp/twin.json
  OTWIN_CONTROL=http://127.0.0.1:8089 OTWIN_TOKEN=$(cat ~/.local/share/otwin/control.token) otwin fault list
  otwin fault inject filler_temp_stuck
  otwin fault inject --kind drift --target filler1/temperature --rate 0.5 --duration 2m
  otwin fault inject plc_down --kind comm_loss --target filler1 --protocol modbus
  otwin fault clear plc_down`,
	}
	cf.register(cmd)
	cmd.AddCommand(newFaultListCmd(&cf), newFaultInjectCmd(&cf), newFaultClearCmd(&cf))
	return cmd
}

func newFaultListCmd(cf *controlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the scenario's faults and the active ad-hoc faults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cf.run(cmd.Context(), func(ctx context.Context, c *control.Client) error {
				fs, err := c.Faults(ctx)
				if err != nil {
					return err
				}
				printFaults(cmd.OutOrStdout(), fs)
				return nil
			})
		},
	}
}

// printFaults writes fs as a table.
func printFaults(w io.Writer, fs []twin.FaultStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tTARGET\tPROTOCOL\tACTIVE\tSINCE\tUNTIL\tSOURCE")
	for _, f := range fs {
		active, since, until := "no", "-", "-"
		if f.Active {
			active, since, until = "yes", f.Since.String(), "cleared"
			if f.Until > 0 {
				until = f.Until.String()
			}
		}
		source := "scenario"
		if !f.Defined {
			source = "ad hoc"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.Kind, f.Target, faultProtocols(f), active, since, until, source)
	}
	tw.Flush()
}

// faultProtocols names the protocols on which clients see fault f:
// "opcua", "modbus", "opcua+modbus", or "none" (a fault no client can
// see, e.g. bad quality on a tag served over Modbus alone).
func faultProtocols(f twin.FaultStatus) string {
	if len(f.Protocols) == 0 {
		return "none"
	}
	return strings.Join(f.Protocols, "+")
}

func newFaultInjectCmd(cf *controlFlags) *cobra.Command {
	var (
		f                          scenarios.Fault
		kind                       string
		duration, every, lat, skew time.Duration
		value                      float64
	)
	cmd := &cobra.Command{
		Use:   "inject [NAME] [--kind KIND --target TARGET [settings]]",
		Short: "Start a fault of the scenario by name, or an ad-hoc fault",
		Long: `inject starts the scenario's fault NAME, or with --kind an ad-hoc fault on
--target ("machine/tag" for tag faults, "machine" for machine faults), named
NAME or after its kind. The settings are those of the scenario format.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				f.Name = args[0]
			}
			adhoc := kind != ""
			if !adhoc {
				if f.Name == "" {
					return errors.New("give the NAME of a scenario fault, or --kind and --target for an ad-hoc one")
				}
				var set []string
				cmd.LocalNonPersistentFlags().Visit(func(fl *pflag.Flag) { set = append(set, "--"+fl.Name) })
				if len(set) > 0 {
					return fmt.Errorf("%s: only with --kind (an ad-hoc fault)", strings.Join(set, ", "))
				}
			}
			f.Kind = scenarios.FaultKind(kind)
			f.Duration = scenarios.Duration(duration)
			f.Every = scenarios.Duration(every)
			f.Latency = scenarios.Duration(lat)
			f.Skew = scenarios.Duration(skew)
			if cmd.Flags().Changed("value") {
				f.Value = &value
			}
			return cf.run(cmd.Context(), func(ctx context.Context, c *control.Client) error {
				var (
					st  twin.FaultStatus
					err error
				)
				if adhoc {
					st, err = c.Inject(ctx, f)
				} else {
					st, err = c.InjectNamed(ctx, f.Name)
				}
				if err != nil {
					return err
				}
				until := "until cleared"
				switch {
				case !st.Active:
					until = "once"
				case st.Until > 0:
					until = "until " + st.Until.String()
				}
				fmt.Fprintf(cmd.OutOrStdout(), "injected %s (%s on %s) at %s, %s\n", st.Name, st.Kind, st.Target, st.Since, until)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "fault kind: stuck, drift, noise, spike, bad_quality, uncertain_quality, out_of_range, comm_loss, latency, disconnect, modbus_exception, clock_skew")
	fl.StringVar(&f.Target, "target", "", `"machine/tag" or "machine"`)
	fl.DurationVar(&duration, "duration", 0, "how long the fault lasts in simulated time (0: until cleared)")
	fl.StringVar(&f.Protocol, "protocol", "", "limit a machine fault to opcua or modbus")
	fl.Float64Var(&f.Rate, "rate", 0, "drift per simulated second (drift)")
	fl.Float64Var(&f.Magnitude, "magnitude", 0, "spike height or noise standard deviation (spike, noise)")
	fl.DurationVar(&every, "every", 0, "repeat a spike at this interval (spike)")
	fl.Float64Var(&value, "value", 0, "value forced while the fault lasts (out_of_range)")
	fl.StringVar(&f.Status, "status", "", "OPC UA status name or number (bad_quality, uncertain_quality)")
	fl.DurationVar(&lat, "latency", 0, "added response delay (latency)")
	fl.IntVar(&f.Exception, "exception", 0, "Modbus exception code (modbus_exception)")
	fl.DurationVar(&skew, "skew", 0, "source timestamp shift, negative is behind (clock_skew)")
	return cmd
}

func newFaultClearCmd(cf *controlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "clear NAME",
		Short: "End an active fault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cf.run(cmd.Context(), func(ctx context.Context, c *control.Client) error {
				if err := c.Clear(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "cleared %s\n", args[0])
				return nil
			})
		},
	}
}
