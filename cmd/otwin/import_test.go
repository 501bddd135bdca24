package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/scenarios/uaimport"
	"github.com/otwin/otwin/scenarios/uaimport/browse"
)

// lineNodeSet is the NodeSet2 file written for the import tests.
const lineNodeSet = "../../scenarios/uaimport/nodeset/testdata/line.xml"

// runImportCmd runs `otwin scenario import args...`.
func runImportCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newScenarioCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"import"}, args...))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestImportCommandNodeSet(t *testing.T) {
	dir := t.TempDir()
	out, rep := filepath.Join(dir, "line.yaml"), filepath.Join(dir, "report.txt")
	_, stderr, err := runImportCmd(t, lineNodeSet, "-o", out, "--report", rep, "--levels", "site,area,line", "--location", "enterprise=acme")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "imported 2 machines, 10 tags and 1 template from "+lineNodeSet+" to "+out+"; 0 nodes not imported, ") {
		t.Errorf("summary: %q", stderr)
	}
	sc, err := scenarios.Load(out)
	if err != nil {
		t.Fatalf("the written scenario does not validate: %v", err)
	}
	if got := sc.Machines[0].AssetPath(); got != "acme/Springfield/Packaging/Line1/Filler1" {
		t.Errorf("asset path %s", got)
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "line.xml:204: UAVariable nsu=urn:acme:line1;s=Springfield/Packaging/Line1/Filler1/State (State) changed: enumeration MachineState") {
		t.Errorf("report:\n%s", b)
	}

	// To standard output, the report on standard error.
	stdout, stderr, err := runImportCmd(t, lineNodeSet)
	if err != nil || !strings.HasPrefix(stdout, "# yaml-language-server") || !strings.Contains(stderr, "line.xml:332: UAVariable") {
		t.Errorf("to stdout: %v\n%s\n%s", err, stdout, stderr)
	}
}

func TestImportCommandRefuses(t *testing.T) {
	dir := t.TempDir()
	lol := filepath.Join(dir, "lol.xml")
	if err := os.WriteFile(lol, []byte("<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"aaaa\">]>\n<UANodeSet/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.xml")
	if err := os.WriteFile(empty, []byte("<UANodeSet/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{lol}, lol + ":2: declarations (<!DOCTYPE, <!ENTITY …) are not allowed"},
		{[]string{empty}, "nothing to import"},
		{[]string{filepath.Join(dir, "missing.xml")}, "no such file"},
		{[]string{lineNodeSet, "--levels", "line,site"}, "--levels: level \"site\" after \"line\""},
		{[]string{lineNodeSet, "--location", "room=1"}, "--location: unknown level \"room\""},
		{[]string{lineNodeSet, "--location", "site=North Plant"}, "--location: \"North Plant\": a name is letters"},
		{[]string{lineNodeSet, "--name", "my line"}, "scenario name \"my line\": use letters"},
		{[]string{lineNodeSet, "--user", "x"}, "apply to a server"},
		{[]string{lineNodeSet, "--root", "nsu=urn:acme:line1;s=Nope"}, "--root: no node nsu=urn:acme:line1;s=Nope"},
		{[]string{"opc.tcp://127.0.0.1:1", "--security-mode", "Sign", "--security-policy", "None"}, "needs a policy other than None"},
	} {
		_, _, err := runImportCmd(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("import %v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// nodePeer returns the node binary and the NODE_PATH where node-opcua is
// installed (the OPC UA server's test folder; .ci/run installs it).
func nodePeer(t *testing.T) (node, path string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the node-opcua tests need it (.ci/run installs it)")
	}
	path, err = filepath.Abs("../../twin/opcuaserver/testdata/node/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, "node-opcua-client")); err != nil {
		t.Skip("node-opcua-client is not installed: run npm ci --prefix twin/opcuaserver/testdata/node (.ci/run does)")
	}
	return node, path
}

// nodeBrowse is a node the node-opcua browse found.
type nodeBrowse struct {
	ID, Parent, NodeClass, BrowseName, TypeDefinition, DataType, Unit string
	ValueRank, AccessLevel                                            int
	UnitID                                                            *int32
	Low, High                                                         *float64
}

// String is the node as the tests compare it.
func (n nodeBrowse) String() string {
	s := fmt.Sprintf("%s %s %s td=%s", n.NodeClass, n.ID, n.BrowseName, n.TypeDefinition)
	if n.NodeClass == "Variable" {
		s += fmt.Sprintf(" dt=%s rank=%d access=%d", n.DataType, n.ValueRank, n.AccessLevel)
	}
	if n.UnitID != nil {
		s += fmt.Sprintf(" unit=%d %s", *n.UnitID, n.Unit)
	}
	if n.Low != nil {
		s += fmt.Sprintf(" range=[%v, %v]", *n.Low, *n.High)
	}
	return s
}

// browseWithNodeOPCUA browses url with node-opcua.
func browseWithNodeOPCUA(t *testing.T, url string) []string {
	t.Helper()
	node, path := nodePeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/node/browse.js", url)
	cmd.Env = append(os.Environ(), "NODE_PATH="+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node-opcua browse: %v\n%s", err, stderr.String())
	}
	var r struct{ Nodes []nodeBrowse }
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("node-opcua browse: %v\n%s", err, stdout.String())
	}
	var out []string
	for _, n := range r.Nodes {
		out = append(out, n.String())
	}
	slices.Sort(out)
	return out
}

// TestImportNodeSetServedSame: the NodeSet2 file written for the test
// imports into a scenario that validates; the twin serving it shows
// node-opcua, a client that is not ours, the file's address space: the
// same folders, objects and variables with the same node ids in the same
// namespaces, data types, access, units, ranges and type definitions, and
// the ObjectType with its InstanceDeclarations. What the twin serves
// differently, the report says: the ObjectType's namespace (the twin's
// types namespace), the enumeration served as Int32 and the
// MultiStateDiscreteType served as BaseDataVariableType.
func TestImportNodeSetServedSame(t *testing.T) {
	nodePeer(t)
	dir := t.TempDir()
	out, rep := filepath.Join(dir, "line.yaml"), filepath.Join(dir, "report.txt")
	if _, stderr, err := runImportCmd(t, lineNodeSet, "-o", out, "--report", rep); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	sc, err := scenarios.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	tw := startE2ETwin(t, sc)
	got := browseWithNodeOPCUA(t, tw.Endpoints[0].URL)

	const (
		line  = "nsu=urn:acme:line1;s=Springfield/Packaging/Line1"
		types = "nsu=urn:otwin:line:types;s=FillerType"
	)
	var want []string
	add := func(format string, args ...any) { want = append(want, fmt.Sprintf(format, args...)) }
	add("Object nsu=urn:acme:line1;s=Springfield Springfield td=i=61")
	add("Object nsu=urn:acme:line1;s=Springfield/Packaging Packaging td=i=61")
	add("Object %s Line1 td=i=61", line)
	add("Object %s/Filler1 Filler1 td=%s", line, types)
	add("Object %s/Capper1 Capper1 td=i=58", line)
	add("ObjectType %s FillerType td=", types)
	// The declarations, in the types namespace.
	props := func(id string, unit int32, symbol string, lo, hi float64) {
		add("Variable %s#EngineeringUnits EngineeringUnits td=i=68 dt=i=887 rank=-1 access=1 unit=%d %s", id, unit, symbol)
		if hi > lo {
			add("Variable %s#EURange EURange td=i=68 dt=i=884 rank=-1 access=1 range=[%v, %v]", id, lo, hi)
		}
	}
	for _, base := range []string{strings.TrimSuffix(types, "FillerType") + "FillerType", line + "/Filler1"} {
		access := 1 // declarations are read-only
		if base != types {
			access = 3
		}
		add("Variable %s/Speed Speed td=i=2368 dt=i=11 rank=-1 access=1", base)
		props(base+"/Speed", 5394509, "r/min", 0, 1200)
		add("Variable %s/State State td=i=63 dt=i=6 rank=-1 access=1", base)
		add("Variable %s/Bottles Bottles td=i=63 dt=i=7 rank=-1 access=1", base)
		add("Variable %s/SpeedSetpoint SpeedSetpoint td=i=63 dt=i=11 rank=-1 access=%d", base, access)
	}
	add("Variable %s/Filler1/ProductTemp ProductTemp td=i=2368 dt=i=10 rank=-1 access=1", line)
	props(line+"/Filler1/ProductTemp", 4408652, "°C", -5, 25)
	add("Variable %s/Capper1/Torque Torque td=i=2368 dt=i=11 rank=-1 access=1", line)
	props(line+"/Capper1/Torque", 20053, "N·m", 0, 5.5)
	add("Variable %s/Capper1/Running Running td=i=63 dt=i=1 rank=-1 access=1", line)
	add("Variable %s/Capper1/Recipe Recipe td=i=63 dt=i=12 rank=-1 access=3", line)
	add("Variable %s/Capper1/Mode Mode td=i=63 dt=i=7 rank=-1 access=1", line)
	add("Variable %s/Capper1/Rate Rate td=i=63 dt=i=11 rank=-1 access=1", line)
	props(line+"/Capper1/Rate", -1, "bottles/min", 0, 0)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("node-opcua browsed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The differences are in the report.
	b, _ := os.ReadFile(rep)
	for _, w := range []string{
		"UAObjectType nsu=urn:acme:types;s=FillerType (FillerType) changed: served as " + types,
		"(State) changed: enumeration MachineState is served as Int32",
		"(Mode) changed: type definition MultiStateDiscreteType is served as BaseDataVariableType",
	} {
		if !strings.Contains(string(b), w) {
			t.Errorf("report lacks %q:\n%s", w, b)
		}
	}
}

// roundTrip is the twin the round-trip test imports: templates, two
// namespaces on one port, folders, units with and without a UNECE code,
// ranges, a node_id, writable tags, and a model of every kind the import
// proposes.
const roundTrip = `
name: roundtrip
tick: 50ms
opcua:
  security: [none, sign_encrypt]
  users: [{name: eng, password: secret}]
templates:
  Pump:
    description: A centrifugal pump.
    tags:
      - {name: flow, unit: m3/h, range: {low: 0, high: 120}, model: {noise: {mean: 60, stddev: 2}}}
      - {name: running, type: bool, model: {square: {low: 0, high: 1, period: 1s, duty: 0.5}}}
      - name: state
        type: int32
        model:
          state_machine:
            initial: Idle
            states:
              - {name: Idle, code: 0, dwell: {min: 500ms, max: 800ms}, next: {Run: 1}}
              - {name: Run, code: 1, dwell: {min: 500ms, max: 800ms}, next: {Idle: 1, Trip: 1}}
              - {name: Trip, code: 3, dwell: {min: 500ms, max: 800ms}, next: {Idle: 1}}
      - {name: speed_sp, unit: rpm, writable: true, model: {constant: {value: 1450}}}
machines:
  - name: pump1
    template: Pump
    location: {site: plant, area: water, line: intake}
    opcua: {port: 4850, namespace: "urn:rt:water"}
    tags:
      - {name: strokes, type: uint32, model: {counter: {rate: 5}}}
      - name: mode
        type: string
        model:
          state_machine:
            states:
              - {name: Auto, dwell: {min: 600ms, max: 900ms}, next: {Manual: 1}}
              - {name: Manual, dwell: {min: 600ms, max: 900ms}, next: {Auto: 1}}
  - name: pump2
    template: Pump
    description: The standby pump.
    location: {site: plant, area: water, line: intake}
    opcua: {port: 4850, namespace: "urn:rt:water"}
    tags:
      - {name: flow, node_id: P2.Flow, model: {constant: {value: 0}}}
  - name: tank1
    location: {site: plant, area: water, line: storage}
    opcua: {port: 4850, namespace: "urn:rt:tanks"}
    tags:
      - {name: level, unit: "%", range: {low: 0, high: 100}, model: {ramp: {min: 10, max: 90, period: 1s}}}
      - {name: temp, unit: degC, model: {ramp: {min: 5, max: 25, period: 2s, shape: triangle}}}
      - {name: rate, unit: bottles/min, model: {constant: {value: 12}}}
      - {name: label, type: string, description: Tank label., model: {constant: {value: T-1}}}
`

// spaceFacts lists what a browsed address space serves, node by node,
// sampled values aside: ids, classes, browse names, references, data
// types, access, descriptions, units and ranges.
func spaceFacts(s *uaimport.Space) []string {
	var out []string
	for _, id := range s.Order {
		n := s.Nodes[id]
		var refs []string
		for _, r := range n.Refs {
			refs = append(refs, fmt.Sprintf("%s>%s:%v", r.Type, r.Target, r.Forward))
		}
		slices.Sort(refs)
		v := n.Value
		if _, isEU := v.(uaimport.EUInformation); !isEU {
			if _, isRange := v.(uaimport.Range); !isRange {
				v = nil // a sampled value
			}
		}
		out = append(out, fmt.Sprintf("%s %s %q dt=%s rank=%d access=%d abstract=%v desc=%q value=%v refs=%v",
			n.Class, n.ID, n.BrowseName, n.DataType, n.ValueRank, n.AccessLevel, n.Abstract, n.Description, v, refs))
	}
	slices.Sort(out)
	return out
}

// withoutModels is sc as its file says it, models and description aside.
func withoutModels(sc *scenarios.Scenario) *scenarios.Scenario {
	c := *sc
	c.Description, c.File = "", ""
	c.Machines = slices.Clone(sc.Machines)
	for i := range c.Machines {
		c.Machines[i].Tags = slices.Clone(c.Machines[i].Tags)
		for k := range c.Machines[i].Tags {
			c.Machines[i].Tags[k].Model = nil
		}
	}
	c.Templates = map[string]scenarios.Template{}
	for n, tm := range sc.Templates {
		tm.Tags = slices.Clone(tm.Tags)
		for k := range tm.Tags {
			tm.Tags[k].Model = nil
		}
		c.Templates[n] = tm
	}
	return &c
}

// TestImportRoundTrip: importing a twin (live, over SignAndEncrypt with a
// user name), serving the scenario and importing that twin yields the
// same address space (node ids, namespaces, types, units, ranges, type
// definitions, references) and the same scenario; and the models proposed
// from the sampled values are of the kinds the first twin runs.
func TestImportRoundTrip(t *testing.T) {
	twinA := startE2ETwin(t, parseScenario(t, "roundtrip", roundTrip))
	urlA := twinA.Endpoints[0].URL
	dir := t.TempDir()
	s1, rep := filepath.Join(dir, "s1.yaml"), filepath.Join(dir, "r1.txt")
	_, stderr, err := runImportCmd(t, urlA, "-o", s1, "--report", rep, "--sample", "3s", "--sample-every", "100ms",
		"--security-mode", "SignAndEncrypt", "--user", "eng", "--password", "secret")
	if err != nil {
		t.Fatalf("import from the twin: %v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(rep); len(b) > 0 {
		t.Errorf("importing a twin reports:\n%s", b)
	}
	sc1, err := scenarios.Load(s1)
	if err != nil {
		t.Fatal(err)
	}
	twinB := startE2ETwin(t, sc1)
	urlB := twinB.Endpoints[0].URL

	ctx := context.Background()
	spaceA, err := browse.Browse(ctx, browse.Config{URL: urlA})
	if err != nil {
		t.Fatal(err)
	}
	spaceB, err := browse.Browse(ctx, browse.Config{URL: urlB})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := spaceFacts(spaceA), spaceFacts(spaceB); !reflect.DeepEqual(a, b) {
		t.Errorf("the address spaces differ:\n%s", diffLines(a, b))
	}
	if a, b := slices.Sorted(slices.Values(spaceA.Namespaces)), slices.Sorted(slices.Values(spaceB.Namespaces)); !reflect.DeepEqual(a, b) {
		t.Errorf("namespaces %v and %v", a, b)
	}

	// The scenario of the second import is the first one's.
	res2, err := uaimport.Map(spaceB, uaimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	y2, err := res2.YAML()
	if err != nil {
		t.Fatal(err)
	}
	sc2, err := scenarios.Parse(s1, y2)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutModels(sc1), withoutModels(sc2); !reflect.DeepEqual(a, b) {
		t.Errorf("the scenarios differ:\n%+v\n%+v", a, b)
	}
	res1, err := uaimport.Map(spaceA, uaimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutModels(res1.Scenario), withoutModels(res2.Scenario); !reflect.DeepEqual(a, b) {
		t.Errorf("the scenario files differ:\n%+v\n%+v", a, b)
	}

	// The models proposed are of the kinds twin A runs.
	kinds := map[string]string{}
	for _, m := range sc1.Machines {
		for _, tg := range m.Tags {
			if tg.Model != nil {
				k, _, _ := tg.Model.Kind()
				kinds[m.Name+"/"+tg.Name] = k
			}
		}
	}
	for tag, want := range map[string]string{
		"pump1/flow": "noise", "pump1/running": "square", "pump1/state": "state_machine", "pump1/speed_sp": "constant",
		"pump1/strokes": "counter", "pump1/mode": "state_machine", "pump2/flow": "constant",
		"tank1/level": "ramp", "tank1/temp": "ramp", "tank1/rate": "constant", "tank1/label": "constant",
	} {
		if kinds[tag] != want {
			t.Errorf("%s: proposed %q, want %s", tag, kinds[tag], want)
		}
	}
}

// diffLines lists the lines only in a (-) or only in b (+).
func diffLines(a, b []string) string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
