package sources

import (
	"fmt"
	"slices"
	"strings"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// Template is a named list of points that sources apply to many assets
// (Source.Apply): a line of a thousand identical machines is one template
// of a hundred points and a thousand asset paths, not 100,000 point
// blocks. A point's address and asset may hold placeholders, replaced by
// those of the asset the template is applied to:
//
//	{asset}      the asset path, e.g. acme/plant1/line1/filler1
//	{name}       its last segment, filler1
//	{1} … {9}    its segments, {1} acme … {4} filler1
//
// A point without an asset takes the asset the template is applied to.
type Template struct {
	// Name identifies the template in a source's apply; [a-zA-Z0-9._-]+,
	// unique in the file.
	Name string `yaml:"name" json:"name"`
	// Points are the template's points, written as a source's are (their
	// address under the key of the kind of the sources applying it: node,
	// register); asset is optional.
	Points []Point `yaml:"points" json:"points"`
	// PointKey is the key the points' addresses are written under; Parse
	// sets it from the file, Compact from the source.
	PointKey string `yaml:"-" json:"-"`
	// Line and Col locate the template in the file it was parsed from.
	Line int `yaml:"-" json:"-"`
	Col  int `yaml:"-" json:"-"`
}

// Apply applies a template to assets: each asset gets every point of the
// template, its placeholders replaced.
type Apply struct {
	// Template is the name of a template of the file.
	Template string `yaml:"template" json:"template"`
	// Assets are the asset paths the template is applied to.
	Assets []string `yaml:"assets" json:"assets"`
}

// MarshalYAML writes t as a sources file does: name, then the points with
// their address under PointKey and without an empty asset.
func (t Template) MarshalYAML() (any, error) {
	key := t.PointKey
	if key == "" {
		return nil, fmt.Errorf("template %s: no point key", t.Name)
	}
	points := make([]yamlMap, len(t.Points))
	for i := range t.Points {
		points[i] = t.Points[i].fields(key)
	}
	return yamlMap{{Key: "name", Value: t.Name}, {Key: "points", Value: points}}, nil
}

// placeholders are the names {…} may hold besides the segments {1}…{9}.
var placeholders = []string{"asset", "name"}

// expandTemplate replaces the placeholders of s by those of asset (segs
// its segments); it returns an error naming an unknown or unclosed
// placeholder, or a segment the asset does not have.
func expandTemplate(s, asset string, segs []string) (string, error) {
	if !strings.Contains(s, "{") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s) + len(asset))
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%q: unclosed {", s)
		}
		b.WriteString(s[:i])
		name := s[i+1 : i+j]
		switch {
		case name == "asset":
			b.WriteString(asset)
		case name == "name":
			b.WriteString(segs[len(segs)-1])
		case len(name) == 1 && name[0] >= '1' && name[0] <= '9':
			k := int(name[0] - '0')
			if k > len(segs) {
				return "", fmt.Errorf("{%s}: asset %s has %d segments", name, asset, len(segs))
			}
			b.WriteString(segs[k-1])
		default:
			return "", fmt.Errorf("unknown placeholder {%s}: use {%s} or {1}…{9}", name, strings.Join(placeholders, "}, {"))
		}
		s = s[i+j+1:]
	}
}

// checkTemplatePoint checks what of template point p does not depend on
// the asset: placeholders of its address and asset, and its asset with
// sample segments.
func (pf *parsed) checkTemplatePoint(p *Point, path string) {
	sample := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}
	if p.Address != "" {
		if _, err := expandTemplate(p.Address, "a/b/c/d/e/f/g/h/i", sample); err != nil {
			pf.add(path, "%v", err)
		}
	}
	if p.Asset != "" {
		a, err := expandTemplate(p.Asset, "a/b/c/d/e/f/g/h/i", sample)
		switch {
		case err != nil:
			pf.add(path+".asset", "%v", err)
		case !normalize.ValidPath(a):
			pf.add(path+".asset", "asset %q: every segment must match [a-zA-Z0-9._-]+", p.Asset)
		}
	}
}

// validateTemplates checks the templates: names, and each point's
// mapping (what does not depend on the asset); it returns them by name.
func (f *File) validateTemplates(pf *parsed) map[string]*Template {
	byName := make(map[string]*Template, len(f.Templates))
	for i := range f.Templates {
		t := &f.Templates[i]
		tp := fmt.Sprintf("templates[%d]", i)
		switch {
		case !pf.validName(tp, "template", i, t.Name):
		case byName[t.Name] != nil:
			pf.add(tp+".name", "template name %q already used", t.Name)
		default:
			byName[t.Name] = t
		}
		if len(t.Points) == 0 && !pf.isBad(tp+".points") {
			pf.add(tp, "template %q has no points", t.Name)
		}
		for j := range t.Points {
			p := &t.Points[j]
			pp := fmt.Sprintf("%s.points[%d]", tp, j)
			p.validateMapping(pf, pp)
			p.validateTag(pf, pp)
			pf.checkTemplatePoint(p, pp)
			if k, ok := pointKind(t.PointKey); ok && p.Clamp && p.Range == nil && !k.Describes {
				pf.add(pp+".clamp", "clamp needs a range")
			}
			if p.Address == "" && !slices.ContainsFunc(pointKeys(), func(k string) bool { return pf.isBad(pp + "." + k) }) {
				pf.add(pp, "point needs an address (%s)", strings.Join(pointKeys(), " or "))
			}
		}
	}
	return byName
}

// pointKeys are the point keys of every kind.
func pointKeys() []string {
	var out []string
	for _, k := range connectors.Kinds() {
		out = append(out, k.PointKey)
	}
	return out
}

// expandApply appends to s.Points, after its own points, the points of
// every template s applies, for each asset, and checks them as seen
// records them: a template that is not there or is for another kind, a
// bad asset path, an address the kind refuses or another point reads, a
// tag id already used. Problems of an expanded point are reported at its
// template's point, naming the asset.
func (s *Source) expandApply(pf *parsed, sp string, k *connectors.Kind, templates map[string]*Template, seen *seenPoints) {
	for a := range s.Apply {
		ap := &s.Apply[a]
		at := fmt.Sprintf("%s.apply[%d]", sp, a)
		t := templates[ap.Template]
		if t == nil {
			if ap.Template == "" {
				if !pf.isBad(at + ".template") {
					pf.add(at, "apply needs a template")
				}
				continue
			}
			msg := fmt.Sprintf("source %q: no template %q", s.Name, ap.Template)
			if hint := suggest(ap.Template, templateNames(templates)); hint != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", hint)
			}
			pf.add(at+".template", "%s", msg)
			continue
		}
		if t.PointKey != "" && t.PointKey != k.PointKey {
			pf.add(at+".template", "source %q: template %q writes %s addresses; %s sources use %s", s.Name, t.Name, t.PointKey, k.Title, k.PointKey)
			continue
		}
		if len(ap.Assets) == 0 && !pf.isBad(at+".assets") {
			pf.add(at, "apply of template %q: no assets", t.Name)
		}
		s.Points = growPoints(s.Points, len(ap.Assets)*len(t.Points))
		for m, asset := range ap.Assets {
			if !normalize.ValidPath(asset) {
				pf.add(fmt.Sprintf("%s.assets[%d]", at, m), "asset %q: every segment must match [a-zA-Z0-9._-]+", asset)
				continue
			}
			segs := strings.Split(asset, "/")
			for q := range t.Points {
				tp := &t.Points[q]
				p := *tp
				p.Template = t.Name
				var err error
				if p.Address, err = expandTemplate(tp.Address, asset, segs); err != nil || tp.Address == "" {
					continue // reported with the template
				}
				if tp.Asset == "" {
					p.Asset = asset
				} else if p.Asset, err = expandTemplate(tp.Asset, asset, segs); err != nil {
					continue
				}
				s.Points = append(s.Points, p)
				seen.check(pf, k, len(s.Points)-1, "")
			}
		}
	}
}

// growPoints makes room for n more points.
func growPoints(p []Point, n int) []Point {
	if n <= cap(p)-len(p) {
		return p
	}
	out := make([]Point, len(p), len(p)+n)
	copy(out, p)
	return out
}

func templateNames(m map[string]*Template) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	return out
}
