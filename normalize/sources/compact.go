package sources

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Compact returns f with the points that repeat from asset to asset said
// once: in each source, assets whose points are the same but for the
// asset path (in their addresses, and as their asset) share a template,
// which the source applies to them (Source.Apply). Points of an asset no
// other asset shares, and points whose address does not hold the asset
// path or holds a brace, stay the source's own. Sources whose points
// repeat the same way share one template. name names a template after the
// first asset it is applied to (nil: "points"); names are made unique with
// a suffix "-2", "-3", … f is not changed; the result shares its
// configurations and rules. Compact then Parse gives f's points again
// (in another order: each source's own points first).
func (f *File) Compact(name func(asset string) string) (*File, error) {
	out := &File{Defaults: f.Defaults, Scorecard: f.Scorecard}
	byKey := map[string]string{} // template key -> name
	used := map[string]bool{}
	for i := range f.Sources {
		s := f.Sources[i]
		k, ok := s.Kind()
		if !ok {
			return nil, fmt.Errorf("source %s: configuration %T is no registered connector kind", s.Name, s.Config)
		}
		type group struct {
			assets []string
			rel    []Point
		}
		var (
			order  []string             // assets in order of first point
			points = map[string][]int{} // asset -> indexes of its points
		)
		for j := range s.Points {
			a := s.Points[j].Asset
			if _, seen := points[a]; !seen {
				order = append(order, a)
			}
			points[a] = append(points[a], j)
		}
		groups := map[string]*group{}
		var keys []string // groups in order of first asset
		var own []Point
		for _, a := range order {
			rel, ok := relative(s.Points, points[a], a)
			if !ok {
				for _, j := range points[a] {
					own = append(own, s.Points[j])
				}
				continue
			}
			b, err := json.Marshal(rel)
			if err != nil {
				return nil, fmt.Errorf("source %s: %w", s.Name, err)
			}
			key := k.PointKey + "\n" + string(b)
			g := groups[key]
			if g == nil {
				g = &group{rel: rel}
				groups[key] = g
				keys = append(keys, key)
			}
			g.assets = append(g.assets, a)
		}
		s.Points, s.Apply = nil, nil
		for _, key := range keys {
			g := groups[key]
			if len(g.assets) < 2 {
				for _, j := range points[g.assets[0]] {
					own = append(own, f.Sources[i].Points[j])
				}
				continue
			}
			tn, ok := byKey[key]
			if !ok {
				tn = uniqueName(templateName(name, g.assets[0]), used)
				byKey[key] = tn
				out.Templates = append(out.Templates, Template{Name: tn, Points: g.rel, PointKey: k.PointKey})
			}
			s.Apply = append(s.Apply, Apply{Template: tn, Assets: g.assets})
		}
		s.Points = own
		out.Sources = append(out.Sources, s)
	}
	return out, nil
}

// relative returns the points idx of ps, all of asset a, as a template's
// points: without asset, with {asset} for a in their address. false when
// one cannot be: its address does not hold a, or holds a brace.
func relative(ps []Point, idx []int, a string) ([]Point, bool) {
	out := make([]Point, len(idx))
	for n, j := range idx {
		p := ps[j]
		if !strings.Contains(p.Address, a) || strings.ContainsAny(p.Address, "{}") {
			return nil, false
		}
		p.Address = strings.ReplaceAll(p.Address, a, "{asset}")
		p.Asset, p.Template, p.Line, p.Col = "", "", 0, 0
		out[n] = p
	}
	return out, true
}

// templateName is name(asset), made a valid name, or "points".
func templateName(name func(string) string, asset string) string {
	n := "points"
	if name != nil {
		n = name(asset)
	}
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, n)
	if n == "" {
		n = "points"
	}
	return n
}

// uniqueName returns n, or n-2, n-3, … the first not used, and marks it
// used.
func uniqueName(n string, used map[string]bool) string {
	out := n
	for k := 2; used[out]; k++ {
		out = fmt.Sprintf("%s-%d", n, k)
	}
	used[out] = true
	return out
}
