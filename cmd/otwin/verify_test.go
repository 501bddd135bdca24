package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/verify"
)

// verifyScenario serves one of each thing a sources file can get wrong:
// two Modbus machines under unit ids 1 and 2 on one port (registers of
// every width, orders, a scaled register, a register with an offset, °F
// and bar tags, a coil) and an OPC UA machine. The values move, so that
// a wrong reading cannot match by chance over several ticks.
const verifyScenario = `
name: verifyline
seed: 3
tick: 100ms
location: {enterprise: acme, site: test, area: verify, line: line1}
opcua: {security: [none]}
machines:
  - name: plc1
    modbus: {port: 15020, unit_id: 1}
    tags:
      - {name: force, unit: kN, model: {sine: {offset: 120, amplitude: 30, period: 17s}}, modbus: {table: holding, address: 4, type: float32, order: CDAB}}
      - {name: flow, unit: l/min, model: {sine: {offset: 80, amplitude: 20, period: 13s}}, modbus: {table: holding, address: 10, type: float32, order: ABCD}}
      - {name: weight, unit: kg, model: {sine: {offset: 900, amplitude: 50, period: 11s}}, modbus: {table: holding, address: 12, type: float32, order: ABCD}}
      - {name: count, type: int32, model: {counter: {rate: 37}}, modbus: {table: holding, address: 30}}
      - {name: level, unit: "%", model: {sine: {offset: 60, amplitude: 25, period: 19s}}, modbus: {table: holding, address: 20, type: uint16, scale: 0.01}}
      - {name: head, unit: m, model: {sine: {offset: 104, amplitude: 3, period: 23s}}, modbus: {table: holding, address: 21, type: int16, scale: 0.1, offset: 100}}
      - {name: oil_temp, unit: degF, model: {sine: {offset: 150, amplitude: 20, period: 29s}}, modbus: {table: input, address: 0, type: int16, scale: 0.1}}
      - {name: pressure, unit: bar, model: {sine: {offset: 6, amplitude: 2, period: 31s}}, modbus: {table: input, address: 2, type: float32}}
      - {name: setpoint, type: uint16, model: {sine: {offset: 500, amplitude: 200, period: 7s}}, modbus: {table: holding, address: 100}}
      - {name: running, type: bool, model: {square: {low: 0, high: 1, period: 2s}}, modbus: {table: coil, address: 0}}
  - name: plc2
    modbus: {port: 15020, unit_id: 2}
    tags:
      - {name: speed, unit: rpm, model: {sine: {offset: 1400, amplitude: 300, period: 9s}}, modbus: {table: holding, address: 4, type: float32, order: CDAB}}
  - name: ua1
    opcua: {port: 14840}
    tags:
      - {name: temp, unit: degC, model: {sine: {offset: 70, amplitude: 10, period: 15s}}}
      - {name: rpm, unit: rpm, model: {sine: {offset: 900, amplitude: 100, period: 21s}}}
      - {name: volts, unit: V, model: {sine: {offset: 230, amplitude: 5, period: 27s}}}
      - {name: extra, unit: degC, model: {sine: {offset: 20, amplitude: 5, period: 25s}}}
`

const verifyAsset = "acme/test/verify/line1/"

// writeSources writes f as a sources file and returns its path.
func writeSources(t *testing.T, f *sources.File) string {
	t.Helper()
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeReady writes the ready file of a running twin, as otwin sim does.
func writeReady(t *testing.T, tw *e2eTwin) string {
	t.Helper()
	b, _ := json.Marshal(readyFile{Scenario: tw.Scenario.Name, Endpoints: tw.Endpoints, Control: tw.ControlURL, Token: tw.ControlToken})
	path := filepath.Join(t.TempDir(), "twin.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// point returns the point of f whose tag id is id, and its source.
func point(t *testing.T, f *sources.File, id string) (*sources.Point, *sources.Source) {
	t.Helper()
	for i := range f.Sources {
		for j := range f.Sources[i].Points {
			p := &f.Sources[i].Points[j]
			if p.Asset+"/"+p.Tag == id {
				return p, &f.Sources[i]
			}
		}
	}
	t.Fatalf("no point %s", id)
	return nil, nil
}

// runVerify runs otwin verify args and decodes its JSON report.
func runVerify(t *testing.T, args ...string) (*verify.Report, error) {
	t.Helper()
	out, errOut, err := runOtwin(t, append([]string{"verify", "--format", "json"}, args...)...)
	var rep verify.Report
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		t.Fatalf("verify %v: output is no JSON report (%v): %s\n%s (err %v)", args, jerr, out, errOut, err)
	}
	return &rep, err
}

// TestVerifyMistakes: a sources file exported by the twin, then given
// one mistake per point, read through the real connectors against the
// running twin: verify names each mistake, says the untouched points are
// right, lists the tag no point reads, and exits 1.
func TestVerifyMistakes(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "verifyline", verifyScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	set := func(id string, fn func(p *sources.Point, s *sources.Source)) {
		p, s := point(t, f, id)
		fn(p, s)
	}
	plc1, plc2, ua1 := verifyAsset+"plc1/", verifyAsset+"plc2/", verifyAsset+"ua1/"
	// One mistake per point.
	set(plc1+"force", func(p *sources.Point, _ *sources.Source) { p.Address = "holding:5:float32:CDAB" })
	set(plc1+"flow", func(p *sources.Point, _ *sources.Source) { p.Address = "holding:10:float32:CDAB" })
	set(plc1+"weight", func(p *sources.Point, _ *sources.Source) { p.Address = "holding:12:float32:BADC" })
	set(plc1+"count", func(p *sources.Point, _ *sources.Source) { p.Address = "holding:30:float32" })
	set(plc1+"level", func(p *sources.Point, _ *sources.Source) { p.Scale = 0.1 })
	set(plc1+"head", func(p *sources.Point, _ *sources.Source) { p.Offset = 10 })
	set(plc1+"oil_temp", func(p *sources.Point, _ *sources.Source) { p.Unit = "degC" })
	set(plc1+"pressure", func(p *sources.Point, _ *sources.Source) { p.Unit = "psi" })
	set(plc1+"setpoint", func(p *sources.Point, _ *sources.Source) { p.Address = "holding:40101:uint16" })
	set(plc1+"running", func(p *sources.Point, _ *sources.Source) { p.Address = "discrete:0:bool" })
	set(plc2+"speed", func(_ *sources.Point, s *sources.Source) { s.Config.(*modbus.Config).UnitID = 1 })
	set(ua1+"temp", func(p *sources.Point, _ *sources.Source) { p.Address = strings.Replace(p.Address, "/temp", "/tmep", 1) })
	set(ua1+"rpm", func(p *sources.Point, _ *sources.Source) {
		p.Address = "nsu=urn:otwin:elsewhere;" + p.Address[strings.Index(p.Address, ";")+1:]
	})
	// ua1/extra is left out of the file; ua1/volts stays right.
	for i := range f.Sources {
		s := &f.Sources[i]
		for j := range s.Points {
			if s.Points[j].Asset+"/"+s.Points[j].Tag == ua1+"extra" {
				s.Points = append(s.Points[:j], s.Points[j+1:]...)
				break
			}
		}
	}
	path := writeSources(t, f)
	ready := writeReady(t, tw)

	rep, err := runVerify(t, path, "--ready-file", ready, "--rounds", "3", "--step", "7")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("exit %v, want exit status 1", err)
	}
	byPoint := map[string]verify.Result{}
	for _, r := range rep.Results {
		k := r.Point
		if r.Kind == verify.KindMissing {
			k = "missing " + r.Tag
		}
		byPoint[k] = r
	}
	want := []struct {
		id   string
		kind verify.Kind
		fix  string // substring of Fix
	}{
		{plc1 + "force", verify.KindOffByOne, "register: holding:4:float32:CDAB"},
		{plc1 + "flow", verify.KindWordOrder, "register: holding:10:float32:ABCD"},
		{plc1 + "weight", verify.KindByteOrder, "register: holding:12:float32:ABCD"},
		{plc1 + "count", verify.KindType, "register: holding:30:int32:ABCD"},
		{plc1 + "level", verify.KindScale, "scale: 0.01"},
		{plc1 + "head", verify.KindScale, "offset: 100"},
		{plc1 + "oil_temp", verify.KindUnit, "degF"},
		{plc1 + "pressure", verify.KindUnit, "bar"},
		{plc1 + "setpoint", verify.KindModicon, "register: holding:100:uint16"},
		{plc1 + "running", verify.KindTable, "register: coil:0:bool"},
		{plc2 + "speed", verify.KindUnitID, "unit_id: 2"},
		{ua1 + "temp", verify.KindNodeID, "s=" + ua1 + "temp"},
		{ua1 + "rpm", verify.KindNamespace, "nsu=urn:otwin:verifyline;s=" + ua1 + "rpm"},
		{ua1 + "volts", verify.KindOK, ""},
		{"missing " + ua1 + "extra", verify.KindMissing, "node: nsu=urn:otwin:verifyline;s=" + ua1 + "extra"},
	}
	for _, w := range want {
		r, ok := byPoint[w.id]
		if !ok {
			t.Errorf("%s: no result", w.id)
			continue
		}
		if r.Kind != w.kind || !strings.Contains(r.Fix, w.fix) {
			t.Errorf("%s: %s (%s; fix %q), want %s with fix %q", w.id, r.Kind, r.Message, r.Fix, w.kind, w.fix)
		}
		if r.Kind != verify.KindMissing && (r.Line == 0 || r.Col == 0) {
			t.Errorf("%s: no line:col", w.id)
		}
	}
	// Every other point is right.
	for _, r := range rep.Results {
		if _, named := byPoint[r.Point]; named && r.Kind != verify.KindOK {
			found := false
			for _, w := range want {
				found = found || w.id == r.Point || "missing "+r.Tag == w.id
			}
			if !found {
				t.Errorf("%s (%s): %s: %s, want ok", r.Point, r.Address, r.Kind, r.Message)
			}
		}
	}
	// The same report as JUnit (the JUnit structure, a failure per wrong
	// point) and as GitHub annotations (one per wrong point, at its line).
	bad := 0
	for _, r := range rep.Results {
		if !r.OK() {
			bad++
		}
	}
	var junit bytes.Buffer
	if err := verifyJUnit(rep, false).write(&junit); err != nil {
		t.Fatal(err)
	}
	if j := checkJUnit(t, junit.Bytes()); j.tests != len(rep.Results) || j.failures != bad {
		t.Errorf("junit: %d tests, %d failures; want %d, %d", j.tests, j.failures, len(rep.Results), bad)
	}
	var gh bytes.Buffer
	if err := writeVerifyReport(&gh, rep, "github", false, false); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(gh.String()), "\n"); len(lines) != bad ||
		!strings.HasPrefix(lines[0], "::error file="+path+",line=") {
		t.Errorf("github: %d lines, want %d:\n%s", len(lines), bad, gh.String())
	}
	if t.Failed() {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Logf("report:\n%s", b.String())
	}
	// The clock runs again after the check.
	st, err := tw.Control.Status(t.Context())
	if err != nil || st.Paused {
		t.Errorf("after verify: paused %v, %v; want the clock running", st.Paused, err)
	}
}

// TestVerifyClean: the twin's own export reads right on every point,
// with --scenario starting the twin in this process on the scenario's
// ports; exit status 0, and the table says so.
func TestVerifyClean(t *testing.T) {
	t.Parallel()
	mb, ua := floodPort(t), floodPort(t)
	src := strings.ReplaceAll(strings.ReplaceAll(verifyScenario, "15020", strconv.Itoa(mb)), "14840", strconv.Itoa(ua))
	sc := parseScenario(t, "verifyline", src)
	// What the twin will serve: the scenario's ports on 127.0.0.1.
	eps := []endpoint{
		{Machine: "plc1", Protocol: "modbus", Address: "127.0.0.1:" + strconv.Itoa(mb), UnitID: 1},
		{Machine: "plc2", Protocol: "modbus", Address: "127.0.0.1:" + strconv.Itoa(mb), UnitID: 2},
		{Machine: "ua1", Protocol: "opcua", URL: "opc.tcp://127.0.0.1:" + strconv.Itoa(ua), Namespace: "urn:otwin:verifyline"},
	}
	path := writeSources(t, exportFast(t, sc, eps))
	scPath := filepath.Join(t.TempDir(), "verifyline.yaml")
	if err := os.WriteFile(scPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runOtwin(t, "verify", path, "--scenario", scPath, "--rounds", "2", "--data-dir", t.TempDir())
	if err != nil {
		t.Fatalf("verify: %v\n%s\n%s", err, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "RESULT") {
		t.Errorf("first line %q, want the table header", lines[0])
	}
	n := 0
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "OK ") {
			n++
		}
	}
	if n != 15 { // plc1's 10 tags, plc2's one, ua1's four
		t.Errorf("%d OK lines, want 15:\n%s", n, out)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, ": 15 ok (scenario verifyline") {
		t.Errorf("summary %q", last)
	}
}

// runOtwin runs the command line args with separate standard output and
// error.
func runOtwin(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// TestVerifyUnreachable: a twin that is not there fails at once, naming
// the URL, with exit status 2.
func TestVerifyUnreachable(t *testing.T) {
	srv := httptest.NewServer(nil)
	dead := srv.URL
	srv.Close()
	ready := filepath.Join(t.TempDir(), "twin.json")
	if err := os.WriteFile(ready, []byte(`{"control":"`+dead+`","endpoints":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(src, sources.Sample(), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := otwin(t, "verify", src, "--ready-file", ready)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("err %v, want exit status 2", err)
	}
	if !strings.Contains(out, dead) || !strings.Contains(out, "not reachable") {
		t.Errorf("output %q lacks the URL and the reason", out)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s, want a fast failure", took)
	}
	// Neither --scenario nor --ready-file, and a missing ready file.
	if _, err := otwin(t, "verify", src); err == nil {
		t.Error("no twin given: no error")
	}
	out, err = otwin(t, "verify", src, "--ready-file", filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(out, "nope.json") {
		t.Errorf("missing ready file: %v %q", err, out)
	}
}
