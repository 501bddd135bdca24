package sources

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors/opcua"
)

const templateFile = `templates:
  - name: press
    points:
      - node: nsu=urn:x;s={asset}/force
        tag: force
        unit: kN
        range: {low: 0, high: 250}
        rules: {frozen: 10s}
      - node: nsu=urn:x;s=PLC.{2}.{name}.Temp
        asset: "{asset}/hydraulics"
        tag: temp
sources:
  - name: line
    opcua: {url: "opc.tcp://127.0.0.1:4840"}
    points:
      - node: nsu=urn:x;s=line/speed
        asset: site/line
        tag: speed
    apply:
      - template: press
        assets: [site/line/press1, site/line/press2]
`

func TestTemplateExpands(t *testing.T) {
	f, err := Parse("t.yaml", []byte(templateFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Templates) != 0 || len(f.Sources[0].Apply) != 0 {
		t.Errorf("templates left after expansion: %+v %+v", f.Templates, f.Sources[0].Apply)
	}
	var got []string
	for _, p := range f.Sources[0].Points {
		got = append(got, fmt.Sprintf("%s %s/%s %s line %d %q", p.Address, p.Asset, p.Tag, p.Unit, p.Line, p.Template))
	}
	want := []string{
		`nsu=urn:x;s=line/speed site/line/speed  line 16 ""`,
		`nsu=urn:x;s=site/line/press1/force site/line/press1/force kN line 4 "press"`,
		`nsu=urn:x;s=PLC.line.press1.Temp site/line/press1/hydraulics/temp  line 9 "press"`,
		`nsu=urn:x;s=site/line/press2/force site/line/press2/force kN line 4 "press"`,
		`nsu=urn:x;s=PLC.line.press2.Temp site/line/press2/hydraulics/temp  line 9 "press"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("points:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p := f.Sources[0].Points[3]
	if p.Range == nil || p.Range.High != 250 || p.Rules == nil || p.Rules.Frozen.String() != "10s" {
		t.Errorf("press2/force lost its range or rules: %+v", p)
	}
	cfg := f.NormalizeConfig()
	if len(cfg.Points) != 5 || cfg.Points[4].Asset != "site/line/press2/hydraulics" {
		t.Errorf("normalizer points: %+v", cfg.Points)
	}
	if sp := f.Sources[0].Spec(); len(sp.Points) != 5 {
		t.Errorf("connector points: %v", sp.Points)
	}
}

// TestTemplateProblems: a template's mistakes are reported once, at the
// template; those of an expanded point (address, duplicates) at the
// template's point with the asset named; those of an apply at the apply.
func TestTemplateProblems(t *testing.T) {
	src := `templates:
  - name: press
    points:
      - node: nsu=urn:x;s={asset}/force
        tag: force
        unit: kNN
      - node: nsu=urn:x;s={machine}/x
        tag: x
      - node: "nsu=urn:x;s=fixed"
        tag: fixed
  - name: mb
    points:
      - register: holding:1:int16
        tag: r
      - node: nsu=urn:x;s=y
        tag: y
  - name: press
    points: []
sources:
  - name: line
    opcua: {url: "opc.tcp://127.0.0.1:4840"}
    points:
      - node: nsu=urn:x;s=a/b/force
        asset: a/b
        tag: force
    apply:
      - template: pres
        assets: [a/c]
      - template: press
        assets: [a/b, a/c, "bad path"]
      - template: mb
        assets: [a/d]
`
	_, err := Parse("p.yaml", []byte(src))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want *Error", err)
	}
	want := []string{
		`p.yaml:6:15: unknown unit "kNN"`,
		`p.yaml:7:13: unknown placeholder {machine}: use {asset}, {name} or {1}…{9}`,
		`p.yaml:9:13: template "press", asset a/c: nsu=urn:x;s=fixed: address already read by template "press" for asset a/b in source "line"`,
		`p.yaml:15:9: a template's points use one address key: node here, register before`,
		`p.yaml:17:11: template name "press" already used`,
		`p.yaml:17:9: template "press" has no points`,
		`p.yaml:4:13: template "press", asset a/b: nsu=urn:x;s=a/b/force: address already read by point 1 of source "line"`,
		`p.yaml:4:13: template "press", asset a/b: tag id a/b/force already used by point 1 of source "line"`,
		`p.yaml:27:19: source "line": no template "pres" (did you mean "press"?)`,
		`p.yaml:30:28: asset "bad path": every segment must match`,
		`p.yaml:31:19: source "line": template "mb" writes register addresses; OPC UA sources use node`,
	}
	var got []string
	for _, p := range pe.Problems {
		got = append(got, p.String())
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

func TestExpandTemplate(t *testing.T) {
	segs := []string{"acme", "p1", "line1", "filler1"}
	for _, tt := range []struct{ in, want, err string }{
		{"nsu=u;s={asset}/speed", "nsu=u;s=acme/p1/line1/filler1/speed", ""},
		{"{1}.{2}.{4}:{name}", "acme.p1.filler1:filler1", ""},
		{"no placeholder", "no placeholder", ""},
		{"{5}", "", "{5}: asset acme/p1/line1/filler1 has 4 segments"},
		{"{asset", "", "unclosed {"},
		{"{x}", "", "unknown placeholder {x}"},
	} {
		got, err := expandTemplate(tt.in, strings.Join(segs, "/"), segs)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// bigFile is a sources file of machines × tags points on one OPC UA
// source, each machine's points the same but for its asset path.
func bigFile(machines, tags int) *File {
	f := &File{}
	s := Source{Name: "line", Config: mustOPCUA()}
	for m := 0; m < machines; m++ {
		asset := fmt.Sprintf("acme/big/a/l%02d/m%04d", m/20, m)
		for j := 0; j < tags; j++ {
			p := Point{
				Address: fmt.Sprintf("nsu=urn:otwin:big;s=%s/t%03d", asset, j), Asset: asset, Tag: fmt.Sprintf("t%03d", j),
				Unit: "degC", Range: &Range{Low: -100, High: 200},
			}
			if j%2 == 1 {
				p.Rules = &Rules{Frozen: 10e9}
			}
			s.Points = append(s.Points, p)
		}
	}
	// A machine of its own kind stays inline.
	s.Points = append(s.Points, Point{Address: "nsu=urn:otwin:big;s=acme/big/a/odd/x", Asset: "acme/big/a/odd", Tag: "x"})
	f.Sources = append(f.Sources, s)
	return f
}

// TestCompactRoundTrip: a file compacted, written and read back has the
// same points, and 100 points × 1000 assets are one template.
func TestCompactRoundTrip(t *testing.T) {
	f := bigFile(1000, 100)
	c, err := f.Compact(func(string) string { return "machine" })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Templates) != 1 || c.Templates[0].Name != "machine" || len(c.Templates[0].Points) != 100 {
		t.Fatalf("templates: %d, want 1 of 100 points", len(c.Templates))
	}
	if len(c.Sources[0].Points) != 1 || len(c.Sources[0].Apply) != 1 || len(c.Sources[0].Apply[0].Assets) != 1000 {
		t.Fatalf("source: %d own points, %d applies", len(c.Sources[0].Points), len(c.Sources[0].Apply))
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 100<<10 {
		t.Errorf("compact file of 100k points is %d bytes", len(b))
	}
	g, err := Parse("compact.yaml", b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b[:min(len(b), 2000)])
	}
	key := func(p Point) string {
		r := ""
		if p.Rules != nil {
			r = p.Rules.Frozen.String()
		}
		return fmt.Sprintf("%s|%s|%s|%s|%v|%s", p.Address, p.Asset, p.Tag, p.Unit, p.Range, r)
	}
	var want, got []string
	for _, p := range f.Sources[0].Points {
		want = append(want, key(p))
	}
	for _, p := range g.Sources[0].Points {
		got = append(got, key(p))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("read back %d points, want %d (first differences: %v)", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " vs " + b[i]
		}
	}
	return "lengths"
}

// BenchmarkLoad100k parses a compact sources file of 100,000 points
// (1000 assets × 100) into points, as otwin watch loads one: the goal is
// under a second and 100 MB allocated. A 10,000-point file written point
// by point is loaded for comparison (reported per point).
func BenchmarkLoad100k(b *testing.B) {
	f := bigFile(1000, 100)
	c, err := f.Compact(nil)
	if err != nil {
		b.Fatal(err)
	}
	compact, err := yaml.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	small := bigFile(100, 100)
	verbose, err := yaml.Marshal(small)
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		data   []byte
		points int
	}{{"compact-100k", compact, 100001}, {"verbose-10k", verbose, 10001}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tt.data)))
			for b.Loop() {
				g, err := Parse("big.yaml", tt.data)
				if err != nil {
					b.Fatal(err)
				}
				if n := len(g.Sources[0].Points); n != tt.points {
					b.Fatalf("%d points, want %d", n, tt.points)
				}
				_ = g.NormalizeConfig()
			}
		})
	}
}

func mustOPCUA() *opcua.Config {
	return &opcua.Config{URL: "opc.tcp://127.0.0.1:4840"}
}
