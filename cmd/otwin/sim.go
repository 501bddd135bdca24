package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newSimCmd) }

// readyFile is what `otwin sim --ready-file` writes once every server listens.
type readyFile struct {
	Scenario  string     `json:"scenario"`
	Endpoints []endpoint `json:"endpoints"`
	Control   string     `json:"control,omitempty"`
	// Token is the control API's token (the file is written mode 0600).
	Token   string `json:"token,omitempty"`
	Sources string `json:"sources,omitempty"`
	// SSH is the SSH dashboard's address (ssh and workshop).
	SSH string `json:"ssh,omitempty"`
}

// simHelp is the long help of the command.
var simHelp = `Run the twin: every machine of the scenario is served on its OPC UA and Modbus TCP
endpoints, tag values follow their models, and faults fire on the timeline or
when injected through the control endpoint (see 'otwin fault' and 'otwin clock').

The control endpoint requires a token on every call, as it does under 'otwin ssh'
and 'otwin workshop': the ready file carries it, so whoever can read that file
(mode 0600) can drive the twin, and nobody else. The token is --token, else
$OTWIN_TOKEN, else a random one; it is also written to control.token in the
data directory. Scripts pass --ready-file to 'otwin fault' and 'otwin clock',
or export OTWIN_TOKEN for both sides.

SCENARIO is a scenario file, or the name of a built-in example (` + exampleNames() + `);
without it the built-in default scenario runs. With --replay FILE it serves a
recording made by 'otwin watch --record' instead, on the addresses it was read
from ('otwin scenario from-recording' writes that scenario, to edit).

The log says what the clients do: connections, OPC UA sessions and
subscriptions, writes, and each connection's reads summed up every 10 s (at
most 20 lines per 10 s; GET /v1/clients of the control API has the rest).`

func newSimCmd() *cobra.Command {
	var (
		cfg       twinConfig
		readyPath string
		export    string
		exportVia string
		logFlags  logOptions
		replay    simReplayFlags
	)
	cmd := &cobra.Command{
		Use:   "sim [SCENARIO]",
		Short: "Serve a scenario's machines over OPC UA and Modbus TCP",
		Long:  simHelp,
		Example: `  otwin sim scenarios/bottling.yaml
  otwin sim --replay incident.otwrec --loop
  otwin sim cnc --ephemeral --ready-file /tmp/twin.json --export-sources /tmp/sources.yaml
  otwin sim scenarios/pasteurizer.yaml --port-offset 100 --control 127.0.0.1:8700`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			logger, closeLog, err := logFlags.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			if err := checkExportChoice(exportVia); err != nil {
				return err
			}
			var sc *scenarios.Scenario
			switch {
			case replay.path != "" && len(args) > 0:
				return fmt.Errorf("give a SCENARIO or --replay, not both (make a scenario of the recording with 'otwin scenario from-recording' to add to it)")
			case replay.path != "":
				sc, err = replay.scenario(cmd.ErrOrStderr())
			default:
				sc, err = loadScenarioArg(args)
			}
			if err != nil {
				return err
			}
			cfg.Logger = logger
			cfg.Token = cmp.Or(cfg.Token, os.Getenv(control.TokenEnv))
			rt, err := startTwin(ctx, sc, cfg)
			if err != nil {
				return err
			}
			defer rt.Close()
			done, err := announce(cmd.OutOrStdout(), rt, export, exportVia, readyPath)
			if err != nil {
				return err
			}
			defer done()
			select {
			case <-ctx.Done():
				logger.Info("shutting down")
			case err := <-rt.Done():
				if err != nil {
					return fmt.Errorf("engine: %w", err)
				}
			}
			return rt.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Host, "host", "127.0.0.1", "address every server binds")
	f.IntVar(&cfg.PortOffset, "port-offset", 0, "add N to every port of the scenario (run several sims side by side)")
	f.BoolVar(&cfg.Ephemeral, "ephemeral", false, "serve every endpoint on a free port (see the ready file for the addresses)")
	f.StringVar(&cfg.Control, "control", "", `control endpoint listen address (default: host with a free port; "-" for none)`)
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir(), "directory for the OPC UA certificate and key, and the control token")
	f.StringVar(&cfg.Token, "token", "", "control API token (default $"+control.TokenEnv+", else a random one)")
	f.StringVar(&readyPath, "ready-file", "", "write the endpoints as JSON to this file once every server listens (removed on exit)")
	f.StringVar(&export, "export-sources", "", "write a sources file pointing the connectors at this twin")
	f.StringVar(&exportVia, "export-protocol", exportBoth, `which protocol the exported sources read a machine served on both over: both (every endpoint; Modbus points named "<tag>.modbus"), opcua or modbus (each tag once)`)
	f.DurationVar(&cfg.HistoryRetention, "history-retention", twin.DefaultHistoryRetention, "simulated time of history OPC UA HistoryRead serves (8 bytes a tick, at most 4194304 ticks)")
	f.StringVar(&replay.path, "replay", "", "serve a recording (otwin watch --record) on the addresses it was read from, instead of a scenario")
	f.BoolVar(&replay.loop, "loop", false, "with --replay: play the recording again from its start after its end")
	f.Float64Var(&replay.timeScale, "time-scale", 1, "with --replay: play the recording this many times faster")
	cfg.Modbus.register(f)
	cfg.OPCUA.register(f)
	logFlags.register(f)
	return cmd
}

// announce prints the endpoints and control URL of rt to out, writes the
// sources file that reads it (export, over protocol via; none when "")
// and the ready file (readyPath; none when ""). The returned func removes
// the ready file: call it when the twin stops serving, so that a reader
// polling for it never finds the endpoints of a twin that is not there.
func announce(out io.Writer, rt *runningTwin, export, via, readyPath string) (func(), error) {
	sc := rt.Scenario
	fmt.Fprintf(out, "otwin: serving scenario %q (%d machines)\n", sc.Name, len(sc.Machines))
	printEndpoints(out, rt.Endpoints)
	if rt.ControlURL != "" {
		fmt.Fprintf(out, "control: %s (token in %s)\n", rt.ControlURL, cmp.Or(readyPath, rt.TokenFile, "$"+control.TokenEnv))
	}
	rf := readyFile{Scenario: sc.Name, Endpoints: rt.Endpoints, Control: rt.ControlURL, Token: rt.ControlToken}
	if export != "" {
		if err := writeExportedSources(export, sc, exportSources(sc, rt.Endpoints, via)); err != nil {
			return nil, fmt.Errorf("export sources: %w", err)
		}
		// Building the file of a large line leaves garbage the size of its
		// points: hand it back rather than keep it as resident memory for
		// the whole run.
		debug.FreeOSMemory()
		rf.Sources = export
		fmt.Fprintf(out, "sources: %s\n", export)
	}
	if readyPath == "" {
		return func() {}, nil
	}
	data, _ := json.MarshalIndent(rf, "", "  ")
	if err := writeFileAtomic(readyPath, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("ready file: %w", err)
	}
	return func() { os.Remove(readyPath) }, nil
}

// loadScenarioArg loads the scenario named by args: a file, a built-in
// example's name, or (no args) the default.
func loadScenarioArg(args []string) (*scenarios.Scenario, error) {
	if len(args) == 0 {
		return scenarios.Default(), nil
	}
	name := args[0]
	if _, err := os.Stat(name); err != nil {
		for _, ex := range scenarios.Examples() {
			if ex == name {
				return scenarios.Example(name)
			}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such scenario file, and not a built-in example (%s)", name, exampleNames())
		}
	}
	return scenarios.Load(name)
}

func exampleNames() string {
	var s string
	for i, n := range scenarios.Examples() {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

func printEndpoints(w io.Writer, eps []endpoint) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MACHINE\tPROTOCOL\tADDRESS\tUNIT ID")
	for _, ep := range eps {
		addr, unit := ep.URL, "-"
		if ep.Protocol == "modbus" {
			addr, unit = ep.Address, fmt.Sprint(ep.UnitID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ep.Machine, ep.Protocol, addr, unit)
	}
	tw.Flush()
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so that a reader polling for the file never sees it half written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
