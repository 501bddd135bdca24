package normalize

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/units"
)

// Range is an engineering range, Low < High.
type Range struct {
	Low  float64 // lowest value
	High float64 // highest value
}

// Rules are data-quality rule settings, with the semantics of the sources
// file: a zero field keeps the default (the built-in one, or Config's
// Defaults for a point's override); a negative duration or threshold
// disables the rule.
type Rules struct {
	// Stale: no update for this long raises a stale alert and marks the
	// value Uncertain_LastUsableValue. Built-in default: 3× the point's
	// Interval, at least 5s; off for event-driven points (Interval 0,
	// e.g. OPC UA subscriptions, which send nothing while a value does
	// not change) unless set.
	Stale time.Duration `yaml:"stale,omitempty" json:"stale,omitempty"`
	// Frozen: a good numeric value identical for this long. Default off.
	Frozen time.Duration `yaml:"frozen,omitempty" json:"frozen,omitempty"`
	// Spike: a jump between two good samples larger than this fraction of
	// the range. Default 0.5. A point without a range (configured or from
	// the server) is checked only when its own Rules set Spike, which is
	// then an absolute change: counters and free-running values would
	// otherwise trip a fraction meant for ranges.
	Spike float64 `yaml:"spike,omitempty" json:"spike,omitempty"`
	// ClockSkew: |received - source time| above this. Default 5s.
	ClockSkew time.Duration `yaml:"clock_skew,omitempty" json:"clock_skew,omitempty"`
	// CommLoss: the endpoint unanswered this long. Default 5s. The
	// endpoint's limit is the smallest of its points' limits.
	CommLoss time.Duration `yaml:"comm_loss,omitempty" json:"comm_loss,omitempty"`
	// Deadband drops good numeric changes smaller than this (absolute).
	// Default 0 (off).
	Deadband float64 `yaml:"deadband,omitempty" json:"deadband,omitempty"`
}

// BuiltinRules are the defaults under Config.Defaults.
var BuiltinRules = Rules{
	Frozen:    -1,
	Spike:     0.5,
	ClockSkew: 5 * time.Second,
	CommLoss:  5 * time.Second,
	Deadband:  -1,
}

// Override returns r with every non-zero field of o replacing r's.
func (r Rules) Override(o Rules) Rules {
	if o.Stale != 0 {
		r.Stale = o.Stale
	}
	if o.Frozen != 0 {
		r.Frozen = o.Frozen
	}
	if o.Spike != 0 {
		r.Spike = o.Spike
	}
	if o.ClockSkew != 0 {
		r.ClockSkew = o.ClockSkew
	}
	if o.CommLoss != 0 {
		r.CommLoss = o.CommLoss
	}
	if o.Deadband != 0 {
		r.Deadband = o.Deadband
	}
	return r
}

// Point maps one address of one source into the unified model.
type Point struct {
	// Source is the connector's name (Reading.Source).
	Source string
	// Address is the reading's address (Reading.Address), compared as
	// written: the sources file gives the connector and the normalizer
	// the same string (each connector kind owns its address syntax).
	Address string
	// Asset is the ISA-95 asset path, "site/area/line/machine".
	Asset string
	// Tag is the tag name; the tag id is Asset + "/" + Tag.
	Tag string
	// Unit is a symbol or UNECE code (see units.Lookup); empty takes the
	// server's EngineeringUnits (PointInfo), if any.
	Unit string
	// Range is the engineering range; nil takes the server's EURange.
	Range *Range
	// Scale and Offset: value = raw*Scale + Offset; Scale 0 means 1.
	Scale  float64
	Offset float64 // see Scale
	// ConvertFrom, when set, is the unit the device delivers (after
	// Scale and Offset); values are converted from it to Unit, which must
	// then be set, and the pair convertible (see Convert): e.g. a device
	// in degF shown in degC. Range is in Unit.
	ConvertFrom string
	// Clamp limits values to Range and marks them Good_Clamped.
	Clamp bool
	// Rules override Config.Defaults for this point.
	Rules *Rules
	// Interval is how often the source reads the point (Modbus poll
	// interval); 0 for event-driven points. It sets the automatic stale
	// limit.
	Interval time.Duration
	// Context, when set, makes the point a context point: its value is
	// the Context role it names (work order, product, batch, …) of the
	// assets it applies to, and is attached to their samples and alerts.
	Context ctxrole.Role
	// AppliesTo are the asset paths a context point applies to, each with
	// every asset below it; empty: ContextScope(Asset), the parent of the
	// point's asset.
	AppliesTo []string
}

// ID is the point's tag id.
func (p *Point) ID() string { return p.Asset + "/" + p.Tag }

// AutoMap maps readings of a browsing source that no Point names: a
// reading whose Info carries a BrowsePath "a/b/tag" becomes tag id
// AssetPrefix + "/a/b/tag" (asset AssetPrefix/a/b, tag "tag"); characters
// outside [a-zA-Z0-9._-] in a browse name become '_'.
type AutoMap struct {
	// Source is the connector's name.
	Source string
	// AssetPrefix is the asset path the browse tree hangs under; may be
	// empty, then the browse path alone is the id.
	AssetPrefix string
}

// Config configures a Normalizer.
type Config struct {
	// Defaults are the rules of every point without overrides, over
	// BuiltinRules.
	Defaults Rules
	// Points are the mapped addresses.
	Points []Point
	// AutoMap lists the sources whose unknown browsed readings are mapped
	// by browse path instead of dropped.
	AutoMap []AutoMap
}

var segmentRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// ValidSegment says s is a valid asset or tag path segment:
// [a-zA-Z0-9._-]+.
func ValidSegment(s string) bool { return segmentRE.MatchString(s) }

// ValidPath says every "/"-separated segment of p is a ValidSegment.
func ValidPath(p string) bool {
	if p == "" {
		return false
	}
	for _, s := range strings.Split(p, "/") {
		if !ValidSegment(s) {
			return false
		}
	}
	return true
}

// sanitizeSegment replaces characters outside [a-zA-Z0-9._-] by '_'.
func sanitizeSegment(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	seenAddr := map[[2]string]int{}
	seenID := map[string]int{}
	for i := range c.Points {
		p := &c.Points[i]
		where := fmt.Sprintf("point %d (%s %s)", i+1, p.Source, p.Address)
		if p.Source == "" {
			errs = append(errs, fmt.Errorf("%s: no source", where))
		}
		if p.Address == "" {
			errs = append(errs, fmt.Errorf("%s: no address", where))
		}
		if !ValidPath(p.Asset) {
			errs = append(errs, fmt.Errorf("%s: asset %q: segments must match [a-zA-Z0-9._-]+", where, p.Asset))
		}
		if !ValidSegment(p.Tag) {
			errs = append(errs, fmt.Errorf("%s: tag %q must match [a-zA-Z0-9._-]+", where, p.Tag))
		}
		if p.Unit != "" {
			if _, ok := units.Lookup(p.Unit); !ok {
				errs = append(errs, fmt.Errorf("%s: unknown unit %q", where, p.Unit))
			}
		}
		if p.ConvertFrom != "" {
			from, ok1 := units.Lookup(p.ConvertFrom)
			to, ok2 := units.Lookup(p.Unit)
			switch {
			case !ok1:
				errs = append(errs, fmt.Errorf("%s: unknown unit %q to convert from", where, p.ConvertFrom))
			case p.Unit == "":
				errs = append(errs, fmt.Errorf("%s: converting from %s needs a unit to convert to", where, p.ConvertFrom))
			case ok2 && !units.Convertible(from, to):
				errs = append(errs, fmt.Errorf("%s: cannot convert %s to %s", where, from.Symbol, to.Symbol))
			}
		}
		if p.Range != nil && !(p.Range.Low < p.Range.High) {
			errs = append(errs, fmt.Errorf("%s: range low %g must be below high %g", where, p.Range.Low, p.Range.High))
		}
		if math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) || math.IsNaN(p.Offset) || math.IsInf(p.Offset, 0) {
			errs = append(errs, fmt.Errorf("%s: scale and offset must be finite", where))
		}
		k := [2]string{p.Source, p.Address}
		if j, dup := seenAddr[k]; dup {
			errs = append(errs, fmt.Errorf("%s: address already mapped by point %d", where, j))
		} else {
			seenAddr[k] = i + 1
		}
		if j, dup := seenID[p.ID()]; dup {
			errs = append(errs, fmt.Errorf("%s: tag id %s already used by point %d", where, p.ID(), j))
		} else {
			seenID[p.ID()] = i + 1
		}
	}
	errs = append(errs, c.validateContext()...)
	for _, m := range c.AutoMap {
		if m.AssetPrefix != "" && !ValidPath(m.AssetPrefix) {
			errs = append(errs, fmt.Errorf("automap %s: asset prefix %q: segments must match [a-zA-Z0-9._-]+", m.Source, m.AssetPrefix))
		}
	}
	return errors.Join(errs...)
}

// validateContext reports context points with an unknown role or an
// invalid scope, scopes without a role, and two points giving the same
// role to the same scope.
func (c *Config) validateContext() []error {
	var errs []error
	seen := map[[2]string]int{} // role, scope -> point
	for i := range c.Points {
		p := &c.Points[i]
		where := fmt.Sprintf("point %d (%s %s)", i+1, p.Source, p.Address)
		if p.Context == "" {
			if len(p.AppliesTo) > 0 {
				errs = append(errs, fmt.Errorf("%s: applies_to is for context points: give the point a context role (%s)", where, strings.Join(ctxrole.Names(), ", ")))
			}
			continue
		}
		if !p.Context.Known() {
			errs = append(errs, fmt.Errorf("%s: unknown context role %q (want one of %s)", where, p.Context, strings.Join(ctxrole.Names(), ", ")))
			continue
		}
		scopes := p.AppliesTo
		if len(scopes) == 0 && ValidPath(p.Asset) {
			scopes = []string{ContextScope(p.Asset)}
		}
		for _, sc := range scopes {
			if !ValidPath(sc) {
				errs = append(errs, fmt.Errorf("%s: applies_to %q: segments must match [a-zA-Z0-9._-]+", where, sc))
				continue
			}
			k := [2]string{string(p.Context), sc}
			if j, dup := seen[k]; dup {
				errs = append(errs, fmt.Errorf("%s: the %s of %s is already given by point %d", where, p.Context, sc, j))
				continue
			}
			seen[k] = i + 1
		}
	}
	return errs
}
