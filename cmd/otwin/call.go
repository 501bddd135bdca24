package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/twin/control"
)

func init() { register(newCallCmd) }

// newCallCmd builds `otwin call`: a machine's method, as an OPC UA client
// calls it, through the control API.
func newCallCmd() *cobra.Command {
	var (
		cf   controlFlags
		list bool
	)
	cmd := &cobra.Command{
		Use:   "call MACHINE METHOD [ARGUMENT=VALUE...]",
		Short: "Call a method of a running twin's machine (start, stop, reset, ...)",
		Long: `call runs a method of a machine of a running twin (the scenario's methods: section)
through its control API (--control URL, --ready-file PATH or $OTWIN_CONTROL), as an
OPC UA client calling the machine's Method node would, and prints the outputs.

A VALUE is read as JSON when it is a number, true, false or a quoted string, else
as a string. The call is refused, naming why, when the machine's state does not
allow it or an argument is missing, unknown, of the wrong type or out of range.`,
		Example: `  otwin call filler1 stop --ready-file twin.json
  otwin call filler1 set_recipe recipe=lemonade-0.33l fill_volume=330 --ready-file twin.json
  otwin call --list --ready-file twin.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.MinimumNArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			return cf.run(cmd.Context(), func(ctx context.Context, c *control.Client) error {
				if list {
					ms, err := c.Methods(ctx)
					if err != nil {
						return err
					}
					printMethods(out, ms)
					return nil
				}
				vals := map[string]any{}
				for _, a := range args[2:] {
					name, text, ok := strings.Cut(a, "=")
					if !ok || name == "" {
						return fmt.Errorf("argument %q: want NAME=VALUE", a)
					}
					vals[name] = argValue(text)
				}
				outputs, err := c.Call(ctx, args[0], args[1], vals)
				if err != nil {
					return err
				}
				names := make([]string, 0, len(outputs))
				for n := range outputs {
					names = append(names, n)
				}
				sort.Strings(names)
				fmt.Fprintf(out, "%s.%s: done\n", args[0], args[1])
				for _, n := range names {
					fmt.Fprintf(out, "  %s = %v\n", n, outputs[n])
				}
				return nil
			})
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&list, "list", false, "list every machine's methods and their arguments")
	return cmd
}

// argValue reads an argument's text: JSON when it is a number, a bool or
// a quoted string (numbers exact), else the text itself.
func argValue(text string) any {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		switch v.(type) {
		case json.Number, bool, string:
			return v
		}
	}
	return text
}

// printMethods lists methods as a table.
func printMethods(w io.Writer, ms []control.Method) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MACHINE\tMETHOD\tARGUMENTS\tALLOWED IN\tDESCRIPTION")
	for _, m := range ms {
		var args []string
		for _, a := range m.Inputs {
			args = append(args, a.Name+" "+string(a.Type))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Machine, m.Name, strings.Join(args, ", "), strings.Join(m.AllowedIn, ", "), m.Description)
	}
	tw.Flush()
}
