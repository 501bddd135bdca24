package sources

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
)

func TestSampleParses(t *testing.T) {
	f, err := Parse("sample.yaml", Sample())
	if err != nil {
		t.Fatal(err)
	}
	mb, ok := f.Sources[1].Config.(*modbus.Config)
	if len(f.Sources) != 2 || !ok || mb.PollInterval != time.Second || f.Defaults.Spike != 0.5 {
		t.Fatalf("%+v", f)
	}
	if _, ok := f.Sources[0].Config.(*opcua.Config); !ok || !f.Sources[0].Isolated() || f.Sources[1].Isolated() {
		t.Fatalf("kinds and isolation of the sample: %T %v, %T %v", f.Sources[0].Config, f.Sources[0].Isolated(), mb, f.Sources[1].Isolated())
	}
	cfg := f.NormalizeConfig()
	if len(cfg.Points) != 7 {
		t.Fatalf("points %d", len(cfg.Points))
	}
	if p := cfg.Points[2]; p.Context != "work_order" || f.ScoreConfig().Window != 15*time.Minute {
		t.Fatalf("context point %+v, scorecard %+v", p, f.Scorecard)
	}
	if p := cfg.Points[5]; p.ConvertFrom != "psi" || p.Unit != "bar" {
		t.Fatalf("converted point %+v", p)
	}
	if p := cfg.Points[3]; p.Address != "holding:100:float32:CDAB" || p.Interval != time.Second || p.Unit != "kN" {
		t.Fatalf("modbus point %+v", p)
	}
	if p := cfg.Points[1]; p.Interval != 0 || p.Rules == nil || p.Rules.Frozen != 10*time.Minute {
		t.Fatalf("opcua point %+v", p)
	}
	if cfg.Defaults.Frozen != -time.Second {
		t.Fatalf("defaults %+v", cfg.Defaults)
	}
	if _, err := normalize.New(cfg); err != nil {
		t.Fatalf("normalizer refuses the sample: %v", err)
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, Sample(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown_fields.yaml", []string{
			`unknown_fields.yaml:2:3: unknown field "stael" (did you mean "stale"?)`,
			`unknown_fields.yaml:7:7: unknown field "publishing_intervall" (did you mean "publishing_interval"?)`,
			`unknown_fields.yaml:12:9: unknown field "unti" (did you mean "unit"?)`,
		}},
		{"invalid_values.yaml", []string{
			`invalid_values.yaml:4:12: source "plc": url "http://localhost:4840": scheme must be opc.tcp`,
			`invalid_values.yaml:6:15: node id "ns=2;s=a": use nsu=<namespace uri>`,
			`invalid_values.yaml:9:15: unknown unit "degCC" (did you mean "degC"?)`,
			`invalid_values.yaml:11:16: asset "site/bad path"`,
			`invalid_values.yaml:13:16: range: low 10 must be below high 1`,
			`invalid_values.yaml:18:23: cannot convert bar to °C`,
			`invalid_values.yaml:19:11: source name "plc" already used by source 1`,
			`invalid_values.yaml:21:16: source "plc": address "localhost": want host:port`,
			`invalid_values.yaml:22:16: source "plc": unit_id 300 is not 0-255`,
			`invalid_values.yaml:24:19: point "holding:70000:float32": address "70000"`,
			`invalid_values.yaml:26:14: tag id site/line/a already used by point 1 of source "plc"`,
			`invalid_values.yaml:27:19: point "coil:1:float32": coil holds bits`,
			`invalid_values.yaml:30:16: clamp needs a range`,
			`source "both": set exactly one of opcua and modbus, not both`,
		}},
		{"bad_types.yaml", []string{`bad_types.yaml:5:22: invalid duration "often"`}},
		{"context.yaml", []string{
			`context.yaml:2:11: scorecard window 5s is shorter than 10s`,
			`context.yaml:3:16: line_levels must be 1 or more`,
			`context.yaml:12:18: unknown context role "work_ordr" (did you mean "work_order"?)`,
			`context.yaml:20:18: the work_order of acme/site/line1 is already given by point 2 of source "mes"`,
			`context.yaml:24:21: applies_to is for context points`,
			`context.yaml:29:33: applies_to "acme/bad path"`,
		}},
		{"syntax.yaml", []string{`syntax.yaml:2:`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "invalid", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(tt.file, data)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if len(pe.Problems) < len(tt.want) {
				t.Errorf("%d problems, want at least %d:\n%v", len(pe.Problems), len(tt.want), err)
			}
		})
	}
}

func TestStructureErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sources: []\nsources: []\n", `s.yaml:2:1: mapping key "sources" already defined`},
		{"sources: []\n---\nsources: []\n", "s.yaml:2:1: a sources file holds one YAML document"},
		{"- a\n- b\n", "s.yaml:1:1: want a mapping (key: value), got a list"},
		{"", "s.yaml: empty file"},
		{"sources: !!seq []\n", `s.yaml:1:10: YAML tag "!!seq" is not supported`},
	}
	for _, tt := range tests {
		_, err := Parse("s.yaml", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestBrowseAutoMap(t *testing.T) {
	f, err := Parse("b.yaml", []byte(`
sources:
  - name: ua
    opcua:
      url: opc.tcp://h:4840
      browse_root: nsu=urn:twin;s=plant
      asset_prefix: acme/plant1
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.NormalizeConfig()
	if len(cfg.AutoMap) != 1 || cfg.AutoMap[0] != (normalize.AutoMap{Source: "ua", AssetPrefix: "acme/plant1"}) {
		t.Fatalf("%+v", cfg.AutoMap)
	}
}

// TestUnitID: a sources file that sets no unit_id reads unit 1; one that
// sets 0 sends 0 (unit 0 is a unit id, e.g. behind some gateways).
func TestUnitID(t *testing.T) {
	for _, tt := range []struct {
		line string
		want int
	}{{"", 1}, {"      unit_id: 0\n", 0}, {"      unit_id: 7\n", 7}} {
		f, err := Parse("u.yaml", []byte("sources:\n  - name: d\n    modbus:\n      address: h:502\n"+tt.line+
			"    points:\n      - {register: 'holding:0:int16', asset: a, tag: b}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Sources[0].Config.(*modbus.Config).UnitID; got != tt.want {
			t.Errorf("%q: unit id %d, want %d", tt.line, got, tt.want)
		}
	}
}

// TestMarshalRoundTrip: a file written back (as `otwin sim
// --export-sources` writes one) reads as the same file: each kind's
// section under its key, each address under its kind's point key.
func TestMarshalRoundTrip(t *testing.T) {
	f, err := Parse("sample.yaml", Sample())
	if err != nil {
		t.Fatal(err)
	}
	off := false
	f.Sources[1].Isolate = &off
	f.Sources[1].Config.(*modbus.Config).UnitID = 0
	b, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n  opcua:\n    url:", "\n  modbus:\n    address:", "unit_id: 0", "isolate: false",
		"- node: nsu=urn:otwin:twin;s=bottling/line1/filler1/speed\n", "- register: holding:100:float32:CDAB\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("written file lacks %q:\n%s", want, b)
		}
	}
	g, err := Parse("written.yaml", b)
	if err != nil {
		t.Fatalf("the written file does not read back: %v\n%s", err, b)
	}
	// Positions are of the file read; the rest must be the same.
	for _, x := range []*File{f, g} {
		for i := range x.Sources {
			for j := range x.Sources[i].Points {
				p := &x.Sources[i].Points[j]
				if p.Line == 0 || p.Col == 0 {
					t.Errorf("point %s/%s has no position", p.Asset, p.Tag)
				}
				p.Line, p.Col = 0, 0
			}
		}
	}
	if !reflect.DeepEqual(f, g) {
		t.Errorf("read back differs:\n got %+v\nwant %+v", g, f)
	}
	if _, err := yaml.Marshal(File{Sources: []Source{{Name: "x"}}}); err == nil {
		t.Error("a source without a kind was written")
	}
}

// TestEveryProblemAtOnce: values the decoder cannot hold (a duration
// written as a bare number, a list for a text, a word for a bool) are
// each reported at their own line:col, naming what to write, and do not
// hide the problems after them (unknown fields, units, addresses).
func TestEveryProblemAtOnce(t *testing.T) {
	src := `defaults:
  stale: 10
sources:
  - name: p
    isolate: sometimes
    modbus:
      address: 127.0.0.1:502
      poll_interval: 1.5
      timout: 1s
    points:
      - register: holding:1:float33
        asset: a/b
        tag: [t]
      - register: holding:2:int16
        asset: a/b
        tag: u
        unit: degX
        scale: ten
`
	_, err := Parse("all.yaml", []byte(src))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want *Error", err)
	}
	want := []string{
		`all.yaml:2:10: duration 10 has no unit: write it with one, e.g. 10s`,
		`all.yaml:5:14: want true or false, got "sometimes"`,
		`all.yaml:8:22: duration 1.5 has no unit`,
		`all.yaml:9:7: unknown field "timout" (did you mean "timeout"?)`,
		`all.yaml:11:19: point "holding:1:float33": unknown type "float33"`,
		`all.yaml:13:14: want a text, got a list`,
		`all.yaml:17:15: unknown unit "degX"`,
		`all.yaml:18:16: want a number, got "ten"`,
	}
	var got []string
	for _, p := range pe.Problems {
		got = append(got, p.String())
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], w) {
			t.Errorf("problem %d: %q, want prefix %q", i+1, at(got, i), w)
		}
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func TestContextPointsAndScorecard(t *testing.T) {
	f, err := Parse("c.yaml", []byte(`
scorecard: {window: 5m, line_levels: 3}
sources:
  - name: mes
    opcua: {url: "opc.tcp://localhost:4840", publishing_interval: 400ms}
    points:
      - {node: "nsu=urn:x;s=wo", asset: acme/site/line1/mes, tag: work_order, context: work_order}
      - {node: "nsu=urn:x;s=shift", asset: acme/site/clock, tag: shift, context: shift, applies_to: [acme/site]}
  - name: plc
    modbus: {address: "localhost:502", poll_interval: 250ms}
    points:
      - {register: "holding:0:uint16", asset: acme/site/line1/m, tag: speed}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.NormalizeConfig()
	if p := cfg.Points[0]; p.Context != "work_order" || p.AppliesTo != nil {
		t.Errorf("work order point %+v", p)
	}
	if p := cfg.Points[1]; p.Context != "shift" || !reflect.DeepEqual(p.AppliesTo, []string{"acme/site"}) {
		t.Errorf("shift point %+v", p)
	}
	if _, err := normalize.New(cfg); err != nil {
		t.Fatal(err)
	}
	sc := f.ScoreConfig()
	want := []score.Source{
		{Name: "mes", Sampling: 200 * time.Millisecond, Publishing: 400 * time.Millisecond},
		{Name: "plc", Poll: 250 * time.Millisecond},
	}
	if !reflect.DeepEqual(sc.Sources, want) || sc.Window != 5*time.Minute || sc.LineLevels != 3 || len(sc.Points) != 3 ||
		sc.Points[2] != (score.Point{ID: "acme/site/line1/m/speed", Asset: "acme/site/line1/m", Source: "plc"}) {
		t.Errorf("ScoreConfig = %+v", sc)
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "context: shift") || !strings.Contains(string(out), "- acme/site") {
		t.Errorf("written file lacks the context:\n%s", out)
	}
}
