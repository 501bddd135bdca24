// Package sources is the sources file: the production endpoints otwin
// reads (OPC UA servers, Modbus TCP devices, any registered connector
// kind) and how each reading maps into the unified model (asset path,
// canonical tag, unit, range, scaling and data-quality rules). The same
// file works against the twin and against a real PLC; only addresses
// change.
//
// The file knows no protocol itself: each connector kind (see
// connectors.Kind; connectors/all registers them) owns the section a
// source writes under the kind's name, its checks, the key and syntax of
// its point addresses, and its part of the JSON schema. A new kind needs
// no change here.
package sources

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"

	// Every connector kind: the keys a source may use.
	_ "github.com/otwin/otwin/connectors/all"
)

// File is a sources file.
type File struct {
	// Defaults are the data-quality rules of every point that does not
	// override them.
	Defaults Rules `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	// Templates are lists of points that sources apply to many assets
	// (see Template). Parse expands them into the points of the sources
	// that apply them and leaves this empty.
	Templates []Template `yaml:"templates,omitempty" json:"templates,omitempty"`
	// Sources are the endpoints.
	Sources []Source `yaml:"sources" json:"sources"`
	// Scorecard sets the data-quality scorecards' window and how asset
	// paths name sites and lines.
	Scorecard *Scorecard `yaml:"scorecard,omitempty" json:"scorecard,omitempty"`
}

// Scorecard is the scorecards' settings (score.Settings, where each is
// documented).
type Scorecard = score.Settings

// Source is one endpoint: its name, exactly one connector kind's section
// (e.g. opcua: or modbus:), and its points.
type Source struct {
	// Name identifies the endpoint in readings, alerts and the TUI.
	Name string `yaml:"name" json:"name"`
	// Isolate runs the endpoint's connector in a child process of its
	// own, so that a broken or hostile endpoint crashing or exhausting its
	// client library takes down only that process (restarted with
	// backoff), not the collector. Unset takes the kind's default: OPC UA
	// isolated, Modbus not; false runs it inside the collector.
	Isolate *bool `yaml:"isolate,omitempty" json:"isolate,omitempty"`
	// Config is the kind's section, decoded into the kind's own
	// configuration type (e.g. *opcua.Config); its type names the kind.
	Config connectors.Config `yaml:"-" json:"-"`
	// Points are the values read from the endpoint.
	Points []Point `yaml:"points,omitempty" json:"points,omitempty"`
	// Apply applies templates of the file to assets: their points are
	// read from the endpoint as well. Parse expands them into Points
	// (after the source's own) and leaves this empty.
	Apply []Apply `yaml:"apply,omitempty" json:"apply,omitempty"`
}

// Kind returns the connector kind of s.Config.
func (s *Source) Kind() (connectors.Kind, bool) {
	if s.Config == nil {
		return connectors.Kind{}, false
	}
	return connectors.KindOf(s.Config)
}

// Isolated reports whether s's connector runs in a child process: Isolate
// when set, else the kind's default.
func (s *Source) Isolated() bool {
	if s.Isolate != nil {
		return *s.Isolate
	}
	k, _ := s.Kind()
	return k.Isolate
}

// Spec is what the kind's constructor needs of s: its name, its
// configuration and its point addresses.
func (s *Source) Spec() connectors.Spec {
	points := make([]string, 0, len(s.Points))
	for _, p := range s.Points {
		if p.Address != "" {
			points = append(points, p.Address)
		}
	}
	return connectors.Spec{Name: s.Name, Config: s.Config, Points: points}
}

// MarshalYAML writes s as a sources file does: name, the kind's section
// under the kind's name, isolate, the points with their address under
// the kind's point key, and the templates applied.
func (s Source) MarshalYAML() (any, error) {
	k, ok := s.Kind()
	if !ok {
		return nil, fmt.Errorf("source %s: configuration %T is no registered connector kind", s.Name, s.Config)
	}
	out := yamlMap{{Key: "name", Value: s.Name}, {Key: k.Name, Value: s.Config}}
	if s.Isolate != nil {
		out = append(out, yaml.MapItem{Key: "isolate", Value: *s.Isolate})
	}
	if len(s.Points) > 0 {
		points := make([]yamlMap, len(s.Points))
		for i := range s.Points {
			points[i] = s.Points[i].fields(k.PointKey)
		}
		out = append(out, yaml.MapItem{Key: "points", Value: points})
	}
	if len(s.Apply) > 0 {
		out = append(out, yaml.MapItem{Key: "apply", Value: s.Apply})
	}
	return out, nil
}

// yamlMap is a YAML mapping in the order written.
type yamlMap = yaml.MapSlice

// fields are the point as a sources file writes it: its address under
// key, then its fields in their order, leaving out empty ones the file
// may omit (and an empty asset: a template's point).
func (p *Point) fields(key string) yamlMap {
	out := yamlMap{{Key: key, Value: p.Address}}
	v := reflect.ValueOf(p).Elem()
	for i, f := range pointFields {
		fv := v.Field(f.index)
		if (f.omitEmpty || i == 0) && fv.IsZero() {
			continue
		}
		out = append(out, yaml.MapItem{Key: f.name, Value: fv.Interface()})
	}
	return out
}

// pointField is a field of Point written in a sources file.
type pointField struct {
	name      string
	index     int
	omitEmpty bool
}

// pointFields are Point's written fields, in order; the first is the
// asset.
var pointFields = func() []pointField {
	var out []pointField
	t := reflect.TypeOf(Point{})
	for i := 0; i < t.NumField(); i++ {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "-" || name == "" {
			continue
		}
		out = append(out, pointField{name: name, index: i, omitEmpty: strings.Contains(opts, "omitempty")})
	}
	if len(out) == 0 || out[0].name != "asset" {
		panic("sources: Point's first written field must be asset")
	}
	return out
}()

// Point is one value of a source and its mapping into the unified model.
type Point struct {
	// Address is the point's address in its kind's syntax, written under
	// the kind's point key: node (OPC UA), register (Modbus). It is
	// Reading.Address, exactly as written.
	Address string `yaml:"-" json:"-"`
	// Asset is the ISA-95 asset path, e.g. "acme/plant1/packaging/line1/filler1".
	Asset string `yaml:"asset" json:"asset"`
	// Tag is the canonical tag name.
	Tag string `yaml:"tag" json:"tag"`
	// Unit is a symbol ("degC", "bar", "rpm") or UNECE code ("CEL"). For
	// OPC UA, unset takes the server's EngineeringUnits.
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// ConvertFrom is the unit the device delivers when it differs from
	// Unit, e.g. "degF" for a point shown in degC; values (after scale and
	// offset) are converted. Known pairs: °F/°C/K, bar/kPa/mbar/Pa/MPa/psi,
	// l/h, l/min and m³/h, W/kW, ms/s, mm/m.
	ConvertFrom string `yaml:"convert_from,omitempty" json:"convert_from,omitempty"`
	// Range is the engineering range (in Unit); for OPC UA, unset takes
	// EURange.
	Range *Range `yaml:"range,omitempty" json:"range,omitempty"`
	// Scale: value = raw*scale + offset. Default 1.
	Scale float64 `yaml:"scale,omitempty" json:"scale,omitempty"`
	// Offset: value = raw*scale + offset. Default 0.
	Offset float64 `yaml:"offset,omitempty" json:"offset,omitempty"`
	// Clamp limits the value to Range and marks it clamped.
	Clamp bool `yaml:"clamp,omitempty" json:"clamp,omitempty"`
	// Rules override the file's default data-quality rules.
	Rules *Rules `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Context makes the point a context point: its value is the named
	// part of the production context (work_order, product, batch,
	// recipe, phase, shift) of the assets it applies to, attached to
	// their every sample and alert.
	Context ctxrole.Role `yaml:"context,omitempty" json:"context,omitempty"`
	// AppliesTo are the asset paths a context point applies to, each with
	// every asset below it. Default: the parent of the point's asset (a
	// context point is usually a tag of the line's MES or PLC object,
	// ".../line1/mes", and applies to the line).
	AppliesTo []string `yaml:"applies_to,omitempty" json:"applies_to,omitempty"`
	// Template is the template the point was expanded from (Apply), ""
	// for a point of the source's own.
	Template string `yaml:"-" json:"-"`
	// Line and Col locate the point in the file it was parsed from (0
	// when it was not); for a point of a template, the template's point.
	Line int `yaml:"-" json:"-"`
	Col  int `yaml:"-" json:"-"`
}

// Range is an engineering range, low < high.
type Range struct {
	// Low is the lowest value of the range.
	Low float64 `yaml:"low" json:"low"`
	// High is the highest value of the range.
	High float64 `yaml:"high" json:"high"`
}

// MarshalYAML writes r on one line, {low: 0, high: 100}.
func (r Range) MarshalYAML() ([]byte, error) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return []byte("{low: " + f(r.Low) + ", high: " + f(r.High) + "}"), nil
}

// Rules are data-quality rule settings (normalize.Rules, where each
// setting is documented). A zero field keeps the default; a negative
// duration or threshold disables the rule.
type Rules = normalize.Rules
