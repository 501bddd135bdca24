package sources

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/units"
)

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (f *File) validate(pf *parsed) {
	if len(f.Sources) == 0 && !pf.isBad("sources") {
		pf.add("sources", "no sources: list at least one endpoint under sources")
	}
	validateRules(&f.Defaults, pf, "defaults")
	f.validateScorecard(pf)
	defer f.validateContext(pf)
	templates := f.validateTemplates(pf)
	names := map[string]int{}
	seen := &seenPoints{f: f, ids: map[string]pointAt{}}
	for i := range f.Sources {
		s := &f.Sources[i]
		sp := fmt.Sprintf("sources[%d]", i)
		if pf.validName(sp, "source", i, s.Name) {
			if j, dup := names[s.Name]; dup {
				pf.add(sp+".name", "source name %q already used by source %d", s.Name, j+1)
			} else {
				names[s.Name] = i
			}
		}
		k, ok := s.validateKind(pf, sp, pf.kinds[i])
		seen.src, seen.addrs = i, map[string]int{}
		for j := range s.Points {
			p := &s.Points[j]
			pp := fmt.Sprintf("%s.points[%d]", sp, j)
			p.validate(pf, pp)
			if !ok {
				seen.check(pf, nil, j, pp)
				continue
			}
			if p.Clamp && p.Range == nil && !k.Describes {
				pf.add(pp+".clamp", "clamp needs a range")
			}
			if p.Address == "" && !pf.isBad(pp+"."+k.PointKey) {
				pf.add(pp, "point needs a %s (%s)", k.PointKey, k.PointSyntax)
			}
			seen.check(pf, &k, j, pp)
		}
		if ok {
			s.expandApply(pf, sp, &k, templates, seen)
		}
		s.Apply = nil
	}
	f.Templates = nil
}

// seenPoints finds points that read the same address as another of their
// source, or use a tag id already used in the file.
type seenPoints struct {
	f *File
	// src is the source being checked, addrs its canonical addresses
	// (the index of the point reading each).
	src   int
	addrs map[string]int
	ids   map[string]pointAt
}

// pointAt is a point of the file: source and point index.
type pointAt struct{ src, point int }

// describe names a point of the file for messages.
func (sp *seenPoints) describe(at pointAt) string {
	s := &sp.f.Sources[at.src]
	p := &s.Points[at.point]
	if p.Template != "" {
		return fmt.Sprintf("template %q for asset %s in source %q", p.Template, p.Asset, s.Name)
	}
	return fmt.Sprintf("point %d of source %q", at.point+1, s.Name)
}

// check checks point j of the source being checked: its address (which
// kind k parses; nil when the source has no valid kind) and its tag id.
// path is the point's path in the file; "" for a point of a template,
// whose problems are reported at the template's point, naming the asset.
func (sp *seenPoints) check(pf *parsed, k *connectors.Kind, j int, path string) {
	s := &sp.f.Sources[sp.src]
	p := &s.Points[j]
	report := func(key, format string, args ...any) {
		if path != "" {
			at := path
			if key != "" {
				at += "." + key
			}
			pf.add(at, format, args...)
			return
		}
		pf.addAt(p.Line, p.Col, fmt.Sprintf("template %q, asset %s: ", p.Template, p.Asset)+format, args...)
	}
	if k != nil && p.Address != "" {
		if addr, err := k.ParseAddress(p.Address); err != nil {
			report(k.PointKey, "%v", err)
		} else if k2, dup := sp.addrs[addr]; dup {
			report("", "%s: address already read by %s", addr, sp.describe(pointAt{sp.src, k2}))
		} else {
			sp.addrs[addr] = j
		}
	}
	if p.Asset == "" || p.Tag == "" {
		return
	}
	id := p.Asset + "/" + p.Tag
	if prev, dup := sp.ids[id]; dup {
		report("tag", "tag id %s already used by %s", id, sp.describe(prev))
	} else {
		sp.ids[id] = pointAt{sp.src, j}
	}
}

// validateKind checks that s names exactly one connector kind (sk, as the
// file writes it) and lets the kind check its section; it returns the kind
// when there is exactly one.
func (s *Source) validateKind(pf *parsed, sp string, sk *sourceKind) (connectors.Kind, bool) {
	if sk == nil {
		pf.add(sp, "source %q: set one of %s", s.Name, strings.Join(connectors.KindNames(), " or "))
		return connectors.Kind{}, false
	}
	if len(sk.keys) > 1 {
		pf.add(sp, "source %q: set exactly one of %s, not both", s.Name, strings.Join(sk.keys, " and "))
		return connectors.Kind{}, false
	}
	k := sk.kind
	kp := sp + "." + k.Name
	if s.Config == nil {
		return k, false // the decoder reported why
	}
	for _, fe := range connectors.FieldErrors(s.Config.Check()) {
		at := kp
		if fe.Key != "" {
			at += "." + fe.Key
		}
		pf.add(at, "source %q: %v", s.Name, fe.Err)
	}
	d := s.Config.Discovery()
	if d != nil && d.AssetPrefix != "" && !normalize.ValidPath(d.AssetPrefix) {
		pf.add(kp+"."+d.PrefixKey, "source %q: %s %q: segments must match [a-zA-Z0-9._-]+", s.Name, d.PrefixKey, d.AssetPrefix)
	}
	if len(s.Points) == 0 && len(s.Apply) == 0 && d == nil {
		pf.add(sp, "source %q: no points", s.Name)
	}
	return k, true
}

func (p *Point) validate(pf *parsed, path string) {
	if p.Asset == "" {
		if !pf.isBad(path + ".asset") {
			pf.add(path, "point needs an asset (site/area/line/machine)")
		}
	} else if !normalize.ValidPath(p.Asset) {
		pf.add(path+".asset", "asset %q: every segment must match [a-zA-Z0-9._-]+", p.Asset)
	}
	p.validateTag(pf, path)
	p.validateMapping(pf, path)
}

// validateTag checks the point's tag.
func (p *Point) validateTag(pf *parsed, path string) {
	if p.Tag == "" {
		if !pf.isBad(path + ".tag") {
			pf.add(path, "point needs a tag")
		}
	} else if !normalize.ValidSegment(p.Tag) {
		pf.add(path+".tag", "tag %q must match [a-zA-Z0-9._-]+", p.Tag)
	}
}

// validateMapping checks how the point's values map: unit, conversion,
// range, scale, offset and rules.
func (p *Point) validateMapping(pf *parsed, path string) {
	if p.Unit != "" {
		if _, ok := units.Lookup(p.Unit); !ok {
			msg := fmt.Sprintf("unknown unit %q", p.Unit)
			if hint := suggest(p.Unit, units.Names()); hint != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", hint)
			}
			pf.add(path+".unit", "%s", msg)
		}
	}
	if p.ConvertFrom != "" {
		from, ok := units.Lookup(p.ConvertFrom)
		to, okTo := units.Lookup(p.Unit)
		switch {
		case !ok:
			pf.add(path+".convert_from", "unknown unit %q to convert from", p.ConvertFrom)
		case p.Unit == "":
			pf.add(path+".convert_from", "convert_from needs a unit to convert to")
		case okTo && !units.Convertible(from, to):
			pf.add(path+".convert_from", "cannot convert %s to %s", from.Symbol, to.Symbol)
		}
	}
	if p.Range != nil {
		if !finite(p.Range.Low) || !finite(p.Range.High) || !(p.Range.Low < p.Range.High) {
			pf.add(path+".range", "range: low %g must be below high %g", p.Range.Low, p.Range.High)
		}
	}
	if !finite(p.Scale) || !finite(p.Offset) {
		pf.add(path, "scale and offset must be finite numbers")
	}
	if p.Rules != nil {
		validateRules(p.Rules, pf, path+".rules")
	}
}

func validateRules(r *Rules, pf *parsed, path string) {
	if !finite(r.Spike) {
		pf.add(path+".spike", "spike must be a number")
	}
	if !finite(r.Deadband) {
		pf.add(path+".deadband", "deadband must be a number")
	}
}

// validateScorecard checks the scorecard settings.
func (f *File) validateScorecard(pf *parsed) {
	sc := f.Scorecard
	if sc == nil {
		return
	}
	if sc.Window != 0 && sc.Window < 10*time.Second {
		pf.add("scorecard.window", "scorecard window %s is shorter than 10s", sc.Window)
	}
	if sc.SiteLevels < 0 {
		pf.add("scorecard.site_levels", "site_levels must be 1 or more (0: the default, 2)")
	}
	if sc.LineLevels < 0 {
		pf.add("scorecard.line_levels", "line_levels must be 1 or more (0: the default, 4)")
	}
}

// validateContext checks context points: a known role, applies_to only
// with one and of valid asset paths, and no two points giving the same
// role to the same asset.
func (f *File) validateContext(pf *parsed) {
	given := map[[2]string]string{} // role, scope -> which point
	for i := range f.Sources {
		s := &f.Sources[i]
		for j := range s.Points {
			p := &s.Points[j]
			pp := fmt.Sprintf("sources[%d].points[%d]", i, j)
			if p.Context == "" {
				if len(p.AppliesTo) > 0 {
					pf.add(pp+".applies_to", "applies_to is for context points: set context (%s)", strings.Join(ctxrole.Names(), ", "))
				}
				continue
			}
			if !p.Context.Known() {
				msg := fmt.Sprintf("unknown context role %q", p.Context)
				if hint := suggest(string(p.Context), ctxrole.Names()); hint != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", hint)
				} else {
					msg += " (want one of " + strings.Join(ctxrole.Names(), ", ") + ")"
				}
				pf.add(pp+".context", "%s", msg)
				continue
			}
			scopes, at := p.AppliesTo, pp+".applies_to[%d]"
			if len(scopes) == 0 {
				if !normalize.ValidPath(p.Asset) {
					continue // reported as the asset's problem
				}
				scopes, at = []string{normalize.ContextScope(p.Asset)}, pp+".context"
			}
			for k, sc := range scopes {
				where := at
				if strings.Contains(at, "%d") {
					where = fmt.Sprintf(at, k)
				}
				if !normalize.ValidPath(sc) {
					pf.add(where, "applies_to %q: every segment must match [a-zA-Z0-9._-]+", sc)
					continue
				}
				key := [2]string{string(p.Context), sc}
				if prev, dup := given[key]; dup {
					pf.add(where, "the %s of %s is already given by %s", p.Context, sc, prev)
					continue
				}
				given[key] = fmt.Sprintf("point %d of source %q", j+1, s.Name)
			}
		}
	}
}

// validName checks the name of the i-th what (a source, a template) at
// path: given, and one asset path segment. It says whether the name is
// good; a problem is added to pf.
func (pf *parsed) validName(path, what string, i int, name string) bool {
	switch {
	case name == "":
		if !pf.isBad(path + ".name") {
			pf.add(path, "%s %d has no name", what, i+1)
		}
	case !normalize.ValidSegment(name):
		pf.add(path+".name", "%s name %q: use letters, digits, '.', '_' and '-'", what, name)
	default:
		return true
	}
	return false
}
