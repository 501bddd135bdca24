package uaimport

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/otwin/otwin/scenarios"
)

// YAML renders the result as a commented scenario file (Render) and
// checks it the way `otwin validate` does; an error means the importer
// produced an invalid scenario (every such case is a bug), and lists the
// problems.
func (r *Result) YAML() ([]byte, error) {
	out := r.Render()
	if _, err := scenarios.Parse(r.Scenario.Name+".yaml", out); err != nil {
		return out, fmt.Errorf("the imported scenario does not validate (an importer bug; please report it with the source): %w", err)
	}
	return out, nil
}

// Render renders the result as a commented scenario file, unchecked.
func (r *Result) Render() []byte {
	var b bytes.Buffer
	w := &yw{b: &b}
	r.header(w)
	sc := r.Scenario
	w.kv(0, "name", str(sc.Name))
	w.kv(0, "description", str(sc.Description))
	if loc := location(sc.Location); loc != "" {
		w.kv(0, "location", loc)
	}
	if len(sc.Templates) > 0 {
		w.line(0, "")
		w.line(0, "templates:")
		for _, n := range r.templateOrder() {
			t := sc.Templates[n]
			w.comment(2, r.templateNotes[n])
			w.line(2, key(n)+":")
			if t.Description != "" {
				w.kv(4, "description", str(t.Description))
			}
			if len(t.Tags) == 0 {
				w.kv(4, "tags", "[]")
				continue
			}
			w.line(4, "tags:")
			for i := range t.Tags {
				w.comment(6, at(r.declNotes[n], i))
				writeTag(w, 6, &t.Tags[i])
			}
		}
	}
	w.line(0, "")
	w.line(0, "machines:")
	for i := range sc.Machines {
		m := &sc.Machines[i]
		w.comment(2, at(r.machineNotes, i))
		w.line(2, "- name: "+str(m.Name))
		if m.Template != "" {
			w.kv(4, "template", str(m.Template))
		}
		if m.Description != "" {
			w.kv(4, "description", str(m.Description))
		}
		if loc := location(m.Location); loc != "" {
			w.kv(4, "location", loc)
		}
		w.kv(4, "opcua", fmt.Sprintf("{port: %d, namespace: %s}", m.OPCUA.Port, str(m.OPCUA.Namespace)))
		if len(m.Tags) == 0 {
			continue
		}
		w.line(4, "tags:")
		for k := range m.Tags {
			if i < len(r.tagNotes) {
				w.comment(6, at(r.tagNotes[i], k))
			}
			writeTag(w, 6, &m.Tags[k])
		}
	}
	return b.Bytes()
}

// header writes the file's opening comment.
func (r *Result) header(w *yw) {
	sc := r.Scenario
	tags := 0
	for _, m := range sc.Machines {
		tags += len(m.Tags)
	}
	w.line(0, "# yaml-language-server: $schema=https://raw.githubusercontent.com/otwin/otwin/main/scenarios/schema.json")
	w.line(0, "#")
	w.comment(0, "Imported from "+r.Source+" by `otwin scenario import`.")
	w.comment(0, fmt.Sprintf("%s, %s, %s; %d nodes not imported and %d changed (see the import report).",
		count(len(sc.Machines), "machine"), count(tags, "tag"), count(len(sc.Templates), "template"),
		r.Report.Count(Dropped), r.Report.Count(Changed)))
	w.comment(0, "Each tag keeps its original node id (node_id) in its machine's namespace")
	w.comment(0, "(opcua.namespace); the comment above it names the original node, its data type,")
	w.comment(0, "type definition and unit. Locations follow the folders above each machine.")
	if r.Sampled {
		w.comment(0, "Models were proposed from the values sampled on the server (the comment above")
		w.comment(0, "each tag says what was seen): review them before you rely on them.")
	} else {
		w.comment(0, "Models are constants of the values the source gives; enumerations are state")
		w.comment(0, "machines that stay in their state. Edit them to make the line move.")
	}
}

// templateOrder lists the template names in the order they were mapped.
func (r *Result) templateOrder() []string {
	out := make([]string, 0, len(r.Scenario.Templates))
	for n := range r.Scenario.Templates {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b string) int { return r.templateRank[a] - r.templateRank[b] })
	return out
}

func writeTag(w *yw, ind int, t *scenarios.Tag) {
	w.line(ind, "- name: "+str(t.Name))
	ind += 2
	if t.Type != "" {
		w.kv(ind, "type", string(t.Type))
	}
	if t.Unit != "" {
		w.kv(ind, "unit", str(t.Unit))
	}
	if t.Range != nil {
		w.kv(ind, "range", fmt.Sprintf("{low: %s, high: %s}", num(t.Range.Low), num(t.Range.High)))
	}
	if t.Description != "" {
		w.kv(ind, "description", str(t.Description))
	}
	if t.Writable {
		w.kv(ind, "writable", "true")
	}
	if t.NodeID != "" {
		w.kv(ind, "node_id", str(t.NodeID))
	}
	if t.Historizing != nil && !*t.Historizing {
		w.kv(ind, "historizing", "false")
	}
	if t.Model != nil {
		writeModel(w, ind, t.Model)
	}
}

func writeModel(w *yw, ind int, m *scenarios.Model) {
	switch {
	case m.Constant != nil:
		w.kv(ind, "model", "{constant: {value: "+value(m.Constant.Value)+"}}")
	case m.Noise != nil:
		w.kv(ind, "model", fmt.Sprintf("{noise: {mean: %s, stddev: %s}}", num(m.Noise.Mean), num(m.Noise.StdDev)))
	case m.Counter != nil:
		c := m.Counter
		s := "rate: " + num(c.Rate)
		if c.Start != 0 {
			s += ", start: " + num(c.Start)
		}
		if c.Rollover != 0 {
			s += ", rollover: " + num(c.Rollover)
		}
		w.kv(ind, "model", "{counter: {"+s+"}}")
	case m.Ramp != nil:
		r := m.Ramp
		s := fmt.Sprintf("min: %s, max: %s, period: %s", num(r.Min), num(r.Max), r.Period)
		if r.Shape != "" {
			s += ", shape: " + r.Shape
		}
		w.kv(ind, "model", "{ramp: {"+s+"}}")
	case m.Square != nil:
		q := m.Square
		w.kv(ind, "model", fmt.Sprintf("{square: {low: %s, high: %s, period: %s, duty: %s}}", num(q.Low), num(q.High), q.Period, num(q.Duty)))
	case m.StateMachine != nil:
		sm := m.StateMachine
		w.line(ind, "model:")
		w.line(ind+2, "state_machine:")
		if sm.Initial != "" {
			w.kv(ind+4, "initial", str(sm.Initial))
		}
		w.line(ind+4, "states:")
		for _, s := range sm.States {
			var b strings.Builder
			b.WriteString("- {name: " + str(s.Name))
			if s.Code != nil {
				b.WriteString(", code: " + strconv.FormatInt(*s.Code, 10))
			}
			fmt.Fprintf(&b, ", dwell: {min: %s, max: %s}", s.Dwell.Min, s.Dwell.Max)
			if len(s.Next) > 0 {
				ks := make([]string, 0, len(s.Next))
				for k := range s.Next {
					ks = append(ks, k)
				}
				slices.Sort(ks)
				b.WriteString(", next: {")
				for i, k := range ks {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(key(k) + ": " + num(s.Next[k]))
				}
				b.WriteString("}")
			}
			b.WriteString("}")
			w.line(ind+6, b.String())
		}
	}
}

// location is loc as a flow mapping, "" when empty.
func location(loc scenarios.Location) string {
	var parts []string
	for _, l := range []struct{ k, v string }{{"enterprise", loc.Enterprise}, {"site", loc.Site}, {"area", loc.Area}, {"line", loc.Line}, {"cell", loc.Cell}} {
		if l.v != "" {
			parts = append(parts, l.k+": "+str(l.v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// yw writes indented YAML lines.
type yw struct{ b *bytes.Buffer }

func (w *yw) line(ind int, s string) {
	if s == "" {
		w.b.WriteByte('\n')
		return
	}
	w.b.WriteString(strings.Repeat(" ", ind))
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *yw) kv(ind int, k, v string) { w.line(ind, k+": "+v) }

// comment writes s as a comment line (nothing for "").
func (w *yw) comment(ind int, s string) {
	if s == "" {
		return
	}
	w.line(ind, "# "+oneLine(s))
}

// oneLine makes s printable on one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
}

// plain matches the strings written unquoted.
var plain = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`)

// str is s as a YAML scalar: plain when that is unambiguous, else
// double-quoted (Go's escapes are YAML's); bytes that are not UTF-8
// become U+FFFD.
func str(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null":
		return strconv.Quote(s)
	}
	if plain.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

// key is s as a mapping key.
func key(s string) string { return str(s) }

// num formats a float as YAML reads it back exactly.
func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// value formats a constant's value (a Go value of the tag's type).
func value(v any) string {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case string:
		return str(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return num(x)
	case int16, int32, int64, uint16, uint32, uint64:
		return fmt.Sprint(x)
	}
	return strconv.Quote(fmt.Sprint(v))
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
