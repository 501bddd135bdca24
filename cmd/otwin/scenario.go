package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/scenarios/uaimport"
	"github.com/otwin/otwin/scenarios/uaimport/browse"
	"github.com/otwin/otwin/scenarios/uaimport/nodeset"
)

func init() { register(newScenarioCmd) }

// newScenarioCmd builds `otwin scenario`, the commands that make scenario
// files.
func newScenarioCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Make scenario files",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newImportCmd())
	cmd.AddCommand(newFromRecordingCmd())
	return cmd
}

// importFlags are the settings of `otwin scenario import`.
type importFlags struct {
	output, report string
	name, levels   string
	location       string
	port           int
	root           string
	maxNodes       int
	live           browse.Config
}

// newImportCmd builds `otwin scenario import SOURCE`.
func newImportCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import SOURCE",
		Short: "Make a scenario from a NodeSet2 XML file or a live OPC UA server",
		Long: `import reads an OPC UA address space, from a NodeSet2 XML file or from a live
server (SOURCE opc.tcp://host:port), and writes a commented scenario that the
twin can serve: objects become machines, variables tags (data type, unit,
range, writable, and the original node id as node_id in the machine's
namespace), ObjectTypes templates, enumerations state machines.

Location: the folders between the root and a machine are its ISA-95
location; by their number k the one nearest the machine is the line (k=1
line; 2 area, line; 3 site, area, line; 4 enterprise, site, area, line; 5 adds
the cell; more are joined with "." into the enterprise). --levels names the
level of each folder top down instead ("-" leaves a folder out).

Models: from a file, constants of the values it gives. From a server, the
values are sampled for --sample and a model proposed per tag: constant,
counter, ramp, noise, square wave (bools) or a state machine (enumerations,
strings and integer codes); the scenario's comments say what was seen.

What could not be mapped, or is served differently by the twin, goes to the
report (stderr, or --report FILE), one line per node: file:line or server,
the element and node id, and why. The scenario is checked as 'otwin
validate' checks it before it is written.`,
		Example: `  otwin scenario import line.NodeSet2.xml -o line.yaml
  otwin scenario import opc.tcp://plc1:4840 --sample 30s -o line.yaml --report import.txt
  otwin scenario import opc.tcp://plc1:4840 --security-mode SignAndEncrypt --user eng --root "nsu=urn:acme:line1;s=Line1"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "write the scenario to `FILE` (default: standard output)")
	fl.StringVar(&f.report, "report", "", "write the report of what could not be mapped to `FILE` (default: standard error)")
	fl.StringVar(&f.name, "name", "", "scenario `NAME` (default: from an otwin types namespace, else the file name, else \"imported\")")
	fl.IntVar(&f.port, "port", uaimport.DefaultPort, "the OPC UA `PORT` every machine is served on")
	fl.StringVar(&f.levels, "levels", "", "the ISA-95 level of each folder above a machine, top down: a `LIST` such as site,area,line (- leaves a folder out; default: by the number of folders)")
	fl.StringVar(&f.location, "location", "", "default location for the levels the folders leave empty: `PAIRS` such as enterprise=acme,site=north")
	fl.StringVar(&f.root, "root", "", "import the objects below this `NODEID` only, such as \"nsu=urn:acme:line1;s=Line1\" (default: the Objects folder)")
	fl.IntVar(&f.maxNodes, "max-nodes", 0, "refuse sources with more than `N` nodes (default 250000 in a file, 100000 on a server)")
	fl.StringVar(&f.live.SecurityMode, "security-mode", "None", "server: `MODE` None, Sign or SignAndEncrypt")
	fl.StringVar(&f.live.SecurityPolicy, "security-policy", "", "server: `POLICY` None, Basic256Sha256 (the default with Sign and SignAndEncrypt), Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss")
	fl.StringVar(&f.live.Username, "user", "", "server: user `NAME` (default: anonymous)")
	fl.StringVar(&f.live.Password, "password", "", "server: `PASSWORD` (default: $OTWIN_OPCUA_PASSWORD; a flag shows in the process list)")
	fl.StringVar(&f.live.Certificate, "cert", "", "server: client certificate PEM `FILE` for Sign and SignAndEncrypt (default: one made for this run)")
	fl.StringVar(&f.live.Key, "key", "", "server: client RSA key PEM `FILE`")
	fl.DurationVar(&f.live.SampleFor, "sample", 10*time.Second, "server: how long to sample values to propose models (0: read once)")
	fl.DurationVar(&f.live.SampleEvery, "sample-every", browse.DefaultSampleEvery, "server: interval between samples")
	fl.DurationVar(&f.live.Timeout, "timeout", browse.DefaultTimeout, "server: timeout of each request")
	return cmd
}

// runImport reads source, maps it and writes the scenario and the report.
func runImport(cmd *cobra.Command, source string, f importFlags) error {
	opt := uaimport.Options{Name: f.name, Port: f.port}
	if f.levels != "" {
		lv, err := uaimport.ParseLevels(f.levels)
		if err != nil {
			return fmt.Errorf("--levels: %w", err)
		}
		opt.Levels = lv
	}
	if f.location != "" {
		loc, err := uaimport.ParseLocation(f.location)
		if err != nil {
			return fmt.Errorf("--location: %w", err)
		}
		opt.Location = loc
	}
	if f.port < 0 || f.port > 65535 {
		return fmt.Errorf("--port %d: want 0-65535", f.port)
	}
	space, err := readSpace(cmd, source, f)
	if err != nil {
		return err
	}
	res, mapErr := uaimport.Map(space, opt)
	if res == nil {
		return mapErr
	}
	if err := writeReport(cmd, f.report, res.Report); err != nil {
		return err
	}
	if mapErr != nil {
		return fmt.Errorf("%s: %w (%d nodes not imported, see the report)", source, mapErr, res.Report.Count(uaimport.Dropped))
	}
	b, err := res.YAML()
	if err != nil {
		return err
	}
	if f.output == "" {
		if _, err := cmd.OutOrStdout().Write(b); err != nil {
			return err
		}
	} else if err := os.WriteFile(f.output, b, 0o644); err != nil {
		return fmt.Errorf("write the scenario: %w", err)
	}
	tags := 0
	for _, m := range res.Scenario.Machines {
		tags += len(m.Tags)
	}
	where := ""
	if f.output != "" {
		where = " to " + f.output
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "imported %s, %s and %s from %s%s; %d nodes not imported, %d changed\n",
		plural(len(res.Scenario.Machines), "machine"), plural(tags, "tag"), plural(len(res.Scenario.Templates), "template"),
		source, where, res.Report.Count(uaimport.Dropped), res.Report.Count(uaimport.Changed))
	return nil
}

// readSpace reads the address space of source: a file, or a server when
// it is an opc.tcp:// URL.
func readSpace(cmd *cobra.Command, source string, f importFlags) (*uaimport.Space, error) {
	if strings.HasPrefix(source, "opc.tcp://") {
		cfg := f.live
		cfg.URL, cfg.Root, cfg.MaxNodes = source, f.root, f.maxNodes
		if cfg.Password == "" {
			cfg.Password = os.Getenv("OTWIN_OPCUA_PASSWORD")
		}
		if cfg.SampleFor > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "browsing %s, then sampling values for %s …\n", source, cfg.SampleFor)
		}
		return browse.Browse(cmd.Context(), cfg)
	}
	if cmd.Flags().Changed("user") || cmd.Flags().Changed("sample") || cmd.Flags().Changed("security-mode") {
		return nil, fmt.Errorf("%s is a file: --user, --sample and --security-mode apply to a server (opc.tcp://…)", source)
	}
	file, err := os.Open(source)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	space, err := nodeset.Read(file, source, nodeset.Limits{MaxNodes: f.maxNodes})
	if err != nil {
		return nil, err
	}
	if f.root != "" {
		root, err := uaimport.ParseNodeID(f.root, space.Namespaces)
		if err != nil {
			return nil, fmt.Errorf("--root: %w", err)
		}
		if space.Nodes[root] == nil {
			return nil, fmt.Errorf("--root: no node %s in %s", root, source)
		}
		space.Root = root
	}
	return space, nil
}

// writeReport writes the report to path, or to standard error.
func writeReport(cmd *cobra.Command, path string, r uaimport.Report) error {
	var w io.Writer = cmd.ErrOrStderr()
	if path != "" {
		file, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		defer file.Close()
		w = file
	}
	_, err := io.WriteString(w, r.String())
	return err
}
