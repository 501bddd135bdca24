package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/datatype"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/recording"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/units"
)

// recordingScenarioOptions say how a recording is turned into a scenario.
type recordingScenarioOptions struct {
	// name is the scenario's name (default: from the file's name).
	name string
	// file is the recording's path as the scenario writes it.
	file string
	// loop and timeScale are the replay models' settings.
	loop      bool
	timeScale float64
	// tick is the scenario's tick.
	tick time.Duration
	// warn, when set, is told of a recording cut mid-write.
	warn io.Writer
}

// scenarioOfRecording builds the scenario that serves the recording rec again:
// per source of its sources file a machine (one per namespace of an OPC UA
// source) on the source's port, each recorded point a tag whose replay
// model plays it, at the node id or register it was read from; and each
// time a source's link was down a comm_loss fault of its machines on the
// timeline. It returns the scenario and a note per point or source left
// out, saying why.
func scenarioOfRecording(rec *recording.Recording, o recordingScenarioOptions) (*scenarios.Scenario, []string, error) {
	hdr := rec.Segments[0]
	f, err := sources.Parse(orText(hdr.SourcesFile, "recorded sources"), []byte(hdr.Sources))
	if err != nil {
		return nil, nil, fmt.Errorf("the recording's sources file: %w", err)
	}
	if o.tick <= 0 {
		o.tick = 100 * time.Millisecond
	}
	sc := &scenarios.Scenario{
		Name:        o.name,
		Description: fmt.Sprintf("Replay of the recording %s (from %s), made by 'otwin scenario from-recording'.", filepath.Base(o.file), rec.Start().UTC().Format(time.RFC3339)),
		Tick:        scenarios.Duration(o.tick),
	}
	if o.timeScale != 1 && o.timeScale > 0 {
		sc.TimeScale = o.timeScale
	}
	b := &recordingScenario{rec: rec, o: o, sc: sc, ports: map[int]string{}, units: map[string]string{}, names: map[string]bool{}, machinesOf: map[string][]string{}}
	for i := range f.Sources {
		b.source(&f.Sources[i])
	}
	b.linkFaults()
	if len(sc.Machines) == 0 {
		return nil, b.notes, fmt.Errorf("no point of the recording can be replayed")
	}
	return sc, b.notes, nil
}

// recordingScenario holds the state of scenarioOfRecording.
type recordingScenario struct {
	rec   *recording.Recording
	o     recordingScenarioOptions
	sc    *scenarios.Scenario
	notes []string
	// ports maps a port to the protocol using it; units a Modbus
	// "port/unit id" to the source serving it; names the machine names
	// taken.
	ports map[int]string
	units map[string]string
	names map[string]bool
	// machinesOf lists the machines of each source.
	machinesOf map[string][]string
}

func (b *recordingScenario) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

// source adds the machines of source s.
func (b *recordingScenario) source(s *sources.Source) {
	switch cfg := s.Config.(type) {
	case *opcua.Config:
		b.opcua(s, cfg)
	case *modbus.Config:
		b.modbus(s, cfg)
	default:
		k, _ := s.Kind()
		b.note("source %s: a %s source cannot be replayed (only OPC UA and Modbus TCP)", s.Name, k.Name)
	}
}

// port returns the port of a source's endpoint for protocol p, or 0 (a
// free port) with a note when another protocol took it.
func (b *recordingScenario) port(source, p string, port int) int {
	if other, ok := b.ports[port]; ok && other != p {
		b.note("source %s: port %d is %s's in this recording; served on a free port", source, port, other)
		return 0
	}
	b.ports[port] = p
	return port
}

// machineName returns a machine name for base, unique in the scenario.
func (b *recordingScenario) machineName(base string) string {
	name := sanitize(base)
	for k := 2; b.names[name]; k++ {
		name = fmt.Sprintf("%s-%d", sanitize(base), k)
	}
	b.names[name] = true
	return name
}

// replayModel is the model of a tag that plays the point at address of
// source.
func (b *recordingScenario) replayModel(source, address string) *scenarios.Model {
	return &scenarios.Model{Replay: &scenarios.Replay{File: b.o.file, Source: source, Address: address, Loop: b.o.loop}}
}

// track returns the recorded readings of a point, noting the points never
// read.
func (b *recordingScenario) track(source, address string) *recording.Track {
	tr := b.rec.Track(source, address)
	if tr == nil || len(tr.Readings) == 0 {
		b.note("source %s point %s: never read in the recording; left out", source, address)
		return nil
	}
	return tr
}

func (b *recordingScenario) opcua(s *sources.Source, cfg *opcua.Config) {
	u, err := url.Parse(cfg.URL)
	port, perr := strconv.Atoi(u.Port())
	if err != nil || perr != nil {
		b.note("source %s: endpoint URL %q has no port; left out", s.Name, cfg.URL)
		return
	}
	port = b.port(s.Name, scenarios.ProtocolOPCUA, port)
	addrs := b.addresses(s)
	byNS := map[string]*scenarios.Machine{}
	var order []string
	for _, addr := range addrs {
		ns, id, err := opcua.SplitNode(addr)
		if err != nil || !strings.HasPrefix(id, "s=") || ns == "" {
			b.note("source %s point %s: the twin serves only string node ids in a namespace of their own (nsu=<uri>;s=<id>); left out", s.Name, addr)
			continue
		}
		tr := b.track(s.Name, addr)
		if tr == nil {
			continue
		}
		m := byNS[ns]
		if m == nil {
			m = &scenarios.Machine{Name: b.machineName(s.Name), OPCUA: &scenarios.MachineOPCUA{Port: port, Namespace: ns}}
			byNS[ns] = m
			order = append(order, ns)
		}
		tag := scenarios.Tag{Name: tagName(m, pointTag(s, addr, strings.TrimPrefix(id, "s="))), NodeID: strings.TrimPrefix(id, "s="), Model: b.replayModel(s.Name, addr)}
		var info connectors.PointInfo
		if tr.Info != nil && json.Unmarshal(tr.Info, &info) == nil {
			tag.Type = opcuaType(info.DataType)
			tag.Description, tag.Writable = info.Description, info.Writable
			if _, ok := units.Lookup(info.UnitSymbol); info.HasUnit && ok {
				tag.Unit = info.UnitSymbol
			}
			if info.HasRange && tag.Type != "" && tag.Type.Numeric() {
				tag.Range = &scenarios.Range{Low: info.Low, High: info.High}
			}
		}
		if tag.Type == "" {
			tag.Type = rawType(tr)
		}
		m.Tags = append(m.Tags, tag)
	}
	for _, ns := range order {
		b.add(s.Name, *byNS[ns])
	}
}

func (b *recordingScenario) modbus(s *sources.Source, cfg *modbus.Config) {
	_, ps, err := net.SplitHostPort(cfg.Address)
	port, perr := strconv.Atoi(ps)
	if err != nil || perr != nil {
		b.note("source %s: address %q has no port; left out", s.Name, cfg.Address)
		return
	}
	port = b.port(s.Name, scenarios.ProtocolModbus, port)
	key := fmt.Sprintf("%d/%d", port, cfg.UnitID)
	if other, ok := b.units[key]; ok && port != 0 {
		b.note("source %s: unit %d at port %d is source %s's too; left out", s.Name, cfg.UnitID, port, other)
		return
	}
	b.units[key] = s.Name
	m := scenarios.Machine{Name: b.machineName(s.Name), Modbus: &scenarios.MachineModbus{Port: port, UnitID: cfg.UnitID}}
	type span struct {
		table      string
		start, end int
		addr       string
	}
	var taken []span
	for _, addr := range b.addresses(s) {
		r, err := modbus.ParseRegister(addr)
		if err != nil {
			b.note("source %s point %s: %v; left out", s.Name, addr, err)
			continue
		}
		tr := b.track(s.Name, addr)
		if tr == nil {
			continue
		}
		if refusedOnly(tr) {
			b.note("source %s point %s: the device refused every read (%s); left unmapped, so the replay refuses it too", s.Name, addr, statusText(tr))
			continue
		}
		sp := span{r.Table.String(), int(r.Address), int(r.Address) + r.Count(), addr}
		clash := ""
		for _, x := range taken {
			if x.table == sp.table && x.start < sp.end && sp.start < x.end {
				clash = x.addr
			}
		}
		if clash != "" {
			b.note("source %s point %s: overlaps point %s, which the replay serves; left out", s.Name, addr, clash)
			continue
		}
		taken = append(taken, sp)
		typ := r.Type.DataType()
		reg := &scenarios.Register{Table: r.Table.String(), Address: int(r.Address), Type: typ, Order: r.Order}
		if !r.Table.IsBit() && typ == datatype.Bool {
			typ = datatype.Uint16 // a register read as a bool: 0 or 1
			reg.Type = typ
		}
		m.Tags = append(m.Tags, scenarios.Tag{Name: tagName(&m, pointTag(s, addr, addr)), Type: typ, Writable: r.Table == modbus.Holding || r.Table == modbus.Coil, Modbus: reg, Model: b.replayModel(s.Name, addr)})
	}
	if len(m.Tags) > 0 {
		b.add(s.Name, m)
	}
}

// add adds machine m of source.
func (b *recordingScenario) add(source string, m scenarios.Machine) {
	b.sc.Machines = append(b.sc.Machines, m)
	b.machinesOf[source] = append(b.machinesOf[source], m.Name)
}

// addresses lists the points of s in the recording: those of its sources
// file, then those it found by browsing.
func (b *recordingScenario) addresses(s *sources.Source) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range s.Points {
		if p.Address != "" && !seen[p.Address] {
			out = append(out, p.Address)
			seen[p.Address] = true
		}
	}
	for _, t := range b.rec.Tracks {
		if t.Source == s.Name && !seen[t.Address] {
			out = append(out, t.Address)
			seen[t.Address] = true
		}
	}
	return out
}

// linkFaults adds a comm_loss fault per time a source's link was down,
// on the source's machines, from the link-down event to the next
// connected one.
func (b *recordingScenario) linkFaults() {
	start := b.rec.Start()
	down := map[string]time.Time{}
	n := 0
	add := func(source string, from, to time.Time) {
		for _, m := range b.machinesOf[source] {
			n++
			at := scenarios.Duration(from.Sub(start).Round(time.Millisecond))
			f := scenarios.Fault{Name: fmt.Sprintf("link-down-%d", n), Kind: scenarios.CommLoss, Target: m, Start: &at}
			if !to.IsZero() {
				f.Duration = scenarios.Duration(max(to.Sub(from).Round(time.Millisecond), time.Millisecond))
			}
			b.sc.Faults = append(b.sc.Faults, f)
		}
	}
	links := append([]recording.Link(nil), b.rec.Links...)
	sort.SliceStable(links, func(i, j int) bool { return links[i].Time.Before(links[j].Time) })
	for _, l := range links {
		from, isDown := down[l.Source]
		switch {
		case l.State == "down" && !isDown:
			down[l.Source] = l.Time
		case l.State == "connected" && isDown:
			add(l.Source, from, l.Time)
			delete(down, l.Source)
		}
	}
	for src, from := range down {
		add(src, from, time.Time{})
	}
}

// pointTag is the tag name of a point: its tag in the sources file, else
// fallback.
func pointTag(s *sources.Source, addr, fallback string) string {
	for _, p := range s.Points {
		if p.Address == addr && p.Tag != "" {
			return p.Tag
		}
	}
	if i := strings.LastIndex(fallback, "/"); i >= 0 && i < len(fallback)-1 {
		return fallback[i+1:]
	}
	return fallback
}

var notName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// sanitize makes s a scenario name.
func sanitize(s string) string {
	s = strings.Trim(notName.ReplaceAllString(s, "_"), "_")
	if s == "" {
		return "x"
	}
	return s
}

// tagName is a name for a tag of m, unique in it.
func tagName(m *scenarios.Machine, base string) string {
	name := sanitize(base)
	taken := func(n string) bool {
		for _, t := range m.Tags {
			if t.Name == n {
				return true
			}
		}
		return false
	}
	for k := 2; taken(name); k++ {
		name = fmt.Sprintf("%s_%d", sanitize(base), k)
	}
	return name
}

// opcuaType is the tag type of an OPC UA built-in data type; "" when the
// twin has none for it.
func opcuaType(name string) scenarios.DataType {
	switch name {
	case "Boolean":
		return datatype.Bool
	case "SByte", "Int16":
		return datatype.Int16
	case "Byte", "UInt16":
		return datatype.Uint16
	case "Int32":
		return datatype.Int32
	case "UInt32":
		return datatype.Uint32
	case "Int64":
		return datatype.Int64
	case "UInt64":
		return datatype.Uint64
	case "Float":
		return datatype.Float32
	case "Double":
		return datatype.Float64
	case "String", "LocalizedText", "QualifiedName", "DateTime", "NodeId", "Guid", "ByteString":
		return datatype.String
	}
	return ""
}

// rawType is the tag type of a point's recorded values: the type of the
// first value.
func rawType(tr *recording.Track) scenarios.DataType {
	for _, r := range tr.Readings {
		switch r.Value.(type) {
		case bool:
			return datatype.Bool
		case int64:
			return datatype.Int64
		case uint64:
			return datatype.Uint64
		case float32:
			return datatype.Float32
		case string:
			return datatype.String
		case float64:
			return datatype.Float64
		}
	}
	return datatype.Float64
}

// refusedOnly reports whether every reading of a point is a refusal of
// the read itself (Bad_ConfigurationError: exception 01, 02 or 03).
func refusedOnly(tr *recording.Track) bool {
	for _, r := range tr.Readings {
		if r.LinkDown {
			continue
		}
		if connectors.StatusCode(r.Status)&connectors.CodeMask != connectors.BadConfigurationError {
			return false
		}
	}
	return true
}

// statusText is the error of a point's last reading.
func statusText(tr *recording.Track) string {
	r := tr.Readings[len(tr.Readings)-1]
	if r.Err != "" {
		return r.Err
	}
	return connectors.StatusCode(r.Status).Name()
}

// loadRecordingScenario reads the recording at path and builds its scenario,
// validated as a scenario file is; file is how the scenario names the
// recording. Notes of what was left out go to notes.
func loadRecordingScenario(path, file string, o recordingScenarioOptions) (*scenarios.Scenario, []byte, []string, error) {
	rec, err := recording.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if rec.Truncated != nil && o.warn != nil {
		fmt.Fprintf(o.warn, "otwin: recording %s: %v\n", path, rec.Truncated)
	}
	var notes []string
	if o.name == "" {
		o.name = "replay-" + sanitize(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	}
	o.file = file
	sc, more, err := scenarioOfRecording(rec, o)
	notes = append(notes, more...)
	if err != nil {
		return nil, nil, notes, fmt.Errorf("%s: %w", path, err)
	}
	data, err := yaml.Marshal(sc)
	if err != nil {
		return nil, nil, notes, err
	}
	parsed, err := scenarios.Parse(o.name+".yaml", data)
	if err != nil {
		return nil, data, notes, fmt.Errorf("the scenario made of %s does not validate: %w", path, err)
	}
	return parsed, data, notes, nil
}

// newFromRecordingCmd builds `otwin scenario from-recording FILE`.
func newFromRecordingCmd() *cobra.Command {
	var (
		out string
		o   recordingScenarioOptions
	)
	cmd := &cobra.Command{
		Use:   "from-recording RECORDING",
		Short: "Make a scenario that serves a recording (otwin watch --record) again",
		Long: `from-recording writes a scenario that serves what a recording holds on the
addresses it was read from: per source of the recording's sources file a
machine on the source's port (OPC UA: one per namespace, each point a tag with
its node id, data type, unit, range and access; Modbus: the unit id, each
point a tag on its table, address, type and byte order, holding the raw
value), each tag playing its recorded values and status codes at the offsets
they were received (the replay model), and a comm_loss fault for each time a
source's link was down. The sources file of the recording reads the replay as
it read the original.

Edit the scenario to layer faults and checks on top: a recorded incident
becomes a regression test for 'otwin test'. What cannot be replayed (numeric
node ids, overlapping registers, points the device always refused, points never
read) is left out and listed on standard error.`,
		Example: `  otwin watch plant.yaml --headless --record incident.otwrec > /dev/null
  otwin scenario from-recording incident.otwrec -o incident.yaml
  otwin sim incident.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			if out != "" {
				if abs, err := filepath.Abs(args[0]); err == nil {
					if outAbs, err := filepath.Abs(out); err == nil {
						if rel, err := filepath.Rel(filepath.Dir(outAbs), abs); err == nil {
							file = rel
						}
					}
				}
			}
			o.warn = cmd.ErrOrStderr()
			_, data, notes, err := loadRecordingScenario(args[0], file, o)
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "left out:", n)
			}
			if err != nil {
				return err
			}
			hdr := fmt.Sprintf("# Replay of %s, made by 'otwin scenario from-recording'.\n# Add faults, a timeline and checks to make the incident a regression test.\n", filepath.Base(args[0]))
			if out == "" {
				_, err := fmt.Fprint(cmd.OutOrStdout(), hdr+string(data))
				return err
			}
			if err := writeFileAtomic(out, []byte(hdr+string(data))); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "otwin: wrote %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "write the scenario to `FILE` (default: standard output); the recording is named relative to it")
	f.StringVar(&o.name, "name", "", "scenario name (default: replay-<recording's name>)")
	f.BoolVar(&o.loop, "loop", false, "play the recording again from its start after its end (default: keep the last values)")
	f.Float64Var(&o.timeScale, "time-scale", 1, "play the recording this many times faster")
	f.DurationVar(&o.tick, "tick", 100*time.Millisecond, "the scenario's tick: how finely the recorded offsets are followed")
	return cmd
}

// simReplayFlags are otwin sim's flags for --replay.
type simReplayFlags struct {
	path      string
	loop      bool
	timeScale float64
}

// scenario builds the scenario of --replay.
func (r *simReplayFlags) scenario(stderr io.Writer) (*scenarios.Scenario, error) {
	abs, err := filepath.Abs(r.path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	sc, _, notes, err := loadRecordingScenario(abs, abs, recordingScenarioOptions{loop: r.loop, timeScale: r.timeScale})
	for _, n := range notes {
		fmt.Fprintln(stderr, "otwin: replay leaves out", n)
	}
	return sc, err
}
