package sources

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
)

//go:embed sample.yaml
var sampleFS embed.FS

// Sample returns the embedded, documented sample sources file.
func Sample() []byte {
	b, err := sampleFS.ReadFile("sample.yaml")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// Problem is one problem of a sources file, at a position.
type Problem struct {
	// File is the file's name as given to Parse.
	File string
	// Line and Col are 1-based; 0 when unknown.
	Line, Col int
	// Msg says what is wrong.
	Msg string
}

// String formats p as "file:line:col: msg".
func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// Error is every problem of a sources file, in file order.
type Error struct {
	// Problems are sorted by line and column.
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and parses the sources file at path (see Parse).
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load sources: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a sources file named name. Every problem —
// syntax, unknown fields (with did-you-mean hints), wrong types, invalid
// values — is reported at once in an *Error, each with file:line:col.
// Parse is a pure function, safe for concurrent use.
func Parse(name string, data []byte) (*File, error) {
	pf := &parsed{name: name, bad: map[string]bool{}, pos: map[string]token.Position{}, kinds: map[int]*sourceKind{},
		addrs: map[[2]int]string{}, names: map[int]string{}, tkeys: map[int]string{}, taddrs: map[[2]int]string{}}
	astFile, err := parser.ParseBytes(data, 0)
	if err != nil {
		pf.yamlErr(err)
		return nil, pf.err()
	}
	var body ast.Node
	if len(astFile.Docs) > 0 {
		body = astFile.Docs[0].Body
	}
	if body == nil {
		pf.add("", "empty file: want a mapping with sources")
		return nil, pf.err()
	}
	for _, d := range astFile.Docs[1:] {
		if d.Body != nil {
			p := Problem{File: name, Msg: "a sources file holds one YAML document; remove the '---' and merge"}
			tk := d.Start // the '---'
			if tk == nil {
				tk = d.Body.GetToken()
			}
			if tk != nil && tk.Position != nil {
				p.Line, p.Col = tk.Position.Line, tk.Position.Column
			}
			pf.probs = append(pf.probs, p)
			break
		}
	}
	if pf.walk(body, reflect.TypeOf(File{}), "") {
		return nil, pf.err()
	}
	// Values walk reported are blanked: the decoder sees the rest, and
	// validation reports every other problem too.
	var f File
	if err := decode(body, &f); err != nil {
		if len(pf.probs) == 0 {
			pf.yamlErr(err)
		}
		return nil, pf.err()
	}
	pf.fill(&f)
	f.validate(pf)
	if len(pf.probs) > 0 {
		return nil, pf.err()
	}
	return &f, nil
}

// fill completes f, as decoded, with what a kind owns: each source's
// section decoded into its kind's configuration (holding the kind's
// defaults), and each point's address (templates' points too).
func (pf *parsed) fill(f *File) {
	for i := range f.Templates {
		t := &f.Templates[i]
		t.PointKey = pf.tkeys[i]
		t.Line, t.Col = pf.at(fmt.Sprintf("templates[%d]", i))
		for j := range t.Points {
			pt := &t.Points[j]
			pt.Address = pf.taddrs[[2]int{i, j}]
			pt.Line, pt.Col = pf.at(fmt.Sprintf("templates[%d].points[%d]", i, j))
		}
	}
	for i := range f.Sources {
		src := &f.Sources[i]
		sk := pf.kinds[i]
		if sk != nil && len(sk.keys) == 1 {
			cfg := sk.kind.NewConfig()
			if err := decode(sk.mv.Value, cfg); err != nil {
				pf.yamlErr(err)
			} else {
				src.Config = cfg
			}
		}
		for j := range src.Points {
			pt := &src.Points[j]
			pt.Address = pf.addrs[[2]int{i, j}]
			pt.Line, pt.Col = pf.at(fmt.Sprintf("sources[%d].points[%d]", i, j))
		}
	}
}

// decode decodes body into v, turning a panic of the YAML decoder (it has
// some on malformed input) into an error.
func decode(body ast.Node, v any) (err error) {
	defer func() {
		if v := recover(); v != nil {
			l := 0
			if tk := body.GetToken(); tk != nil && tk.Position != nil {
				l = tk.Position.Line
			}
			err = fmt.Errorf("cannot decode the document (starting at line %d): %v", l, v)
		}
	}()
	return yaml.NodeToValue(body, v)
}

type parsed struct {
	// bad are the paths of values walk reported and blanked: problems
	// at or below them are their consequences and not reported again.
	bad   map[string]bool
	name  string
	pos   map[string]token.Position // value position by path
	probs []Problem
	kinds map[int]*sourceKind // by source index
	addrs map[[2]int]string   // point addresses by source and point index
	names map[int]string      // source names by index
	// tkeys are the point keys of templates by index, taddrs their
	// points' addresses by template and point index.
	tkeys  map[int]string
	taddrs map[[2]int]string
}

// sourceKind is the connector kind a source's keys name.
type sourceKind struct {
	kind connectors.Kind
	mv   *ast.MappingValueNode // the kind's section (its value, after blanking)
	keys []string              // every kind key the source has, in file order
}

func (pf *parsed) err() error {
	sort.SliceStable(pf.probs, func(i, j int) bool {
		a, b := pf.probs[i], pf.probs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return &Error{Problems: pf.probs}
}

// at returns the position of path, or of its nearest parent that has one.
func (pf *parsed) at(path string) (int, int) {
	for {
		if p, ok := pf.pos[path]; ok {
			return p.Line, p.Column
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			if p, ok := pf.pos[""]; ok && path != "" {
				return p.Line, p.Column
			}
			return 0, 0
		}
		path = path[:i]
	}
}

func (pf *parsed) add(path, format string, args ...any) {
	if pf.isBad(path) {
		return
	}
	l, c := pf.at(path)
	pf.addAt(l, c, format, args...)
}

// addAt records a problem at line:col.
func (pf *parsed) addAt(line, col int, format string, args ...any) {
	pf.probs = append(pf.probs, Problem{File: pf.name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// isBad says path is a value walk reported, or lies below one.
func (pf *parsed) isBad(path string) bool {
	for p := path; ; {
		if pf.bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// report records a problem of the value at path and marks the path bad
// (see blank).
func (pf *parsed) report(path, format string, args ...any) {
	pf.add(path, format, args...)
	pf.bad[path] = true
}

// blank replaces the value of mv, reported bad, with null: the decoder
// then leaves the field at its zero value.
func blank(mv *ast.MappingValueNode) {
	_ = mv.Replace(nullAt(mv.Value))
}

// nullAt is a null node at n's position.
func nullAt(n ast.Node) ast.Node {
	var pos *token.Position
	if n != nil {
		if tk := n.GetToken(); tk != nil {
			pos = tk.Position
		}
	}
	return ast.Null(token.New("null", "null", pos))
}

func (pf *parsed) yamlErr(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		p := Problem{File: pf.name, Msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
		pf.probs = append(pf.probs, p)
		return
	}
	pf.probs = append(pf.probs, Problem{File: pf.name, Msg: err.Error()})
}

var durationType = reflect.TypeOf(time.Duration(0))

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// tagged reports a YAML tag on n at path, and whether there was one.
func (pf *parsed) tagged(n ast.Node, path string) bool {
	tn, ok := n.(*ast.TagNode)
	if !ok {
		return false
	}
	tag := ""
	if tn.Start != nil {
		tag = tn.Start.Value
	}
	if tk := tn.GetToken(); tk != nil && tk.Position != nil {
		pf.pos[path] = *tk.Position
	}
	pf.report(path, "YAML tag %q is not supported in a sources file", tag)
	return true
}

// walk records the position of every value and reports unknown fields
// and values the field cannot hold. It returns true when the value at
// path itself is such a value (reported): the caller blanks it.
func (pf *parsed) walk(n ast.Node, t reflect.Type, path string) bool {
	if n == nil {
		return false
	}
	if pf.tagged(n, path) {
		return true
	}
	n = unwrap(n)
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		if _, seen := pf.pos[path]; !seen {
			pf.pos[path] = *tk.Position
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, null := n.(*ast.NullNode); null {
		return false
	}
	if msg := mismatch(n, t); msg != "" {
		pf.report(path, "%s", msg)
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := yamlFields(t)
		pf.mapping(n, path, func(key, child string, mv *ast.MappingValueNode) {
			f, ok := fields[key]
			if !ok {
				pf.unknown(key, child, keys(fields))
				return
			}
			if pf.walk(mv.Value, f.Type, child) {
				blank(mv)
			}
		})
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			return false
		}
		for i, v := range seq.Values {
			child := fmt.Sprintf("%s[%d]", path, i)
			if t.Elem() == sourceType {
				if pf.source(v, child, i) {
					seq.Values[i] = nullAt(v)
				}
				continue
			}
			if t.Elem() == templateType {
				if pf.template(v, child, i) {
					seq.Values[i] = nullAt(v)
				}
				continue
			}
			if pf.walk(v, t.Elem(), child) {
				seq.Values[i] = nullAt(v)
			}
		}
	}
	return false
}

// mismatch says why node n cannot be a value of type t ("" when it can),
// as the YAML decoder would refuse it: a list or mapping for a scalar, a
// scalar for a list or mapping, a number without a unit for a duration,
// anything but true or false for a bool, a non-number for a number.
func mismatch(n ast.Node, t reflect.Type) string {
	if t == durationType {
		switch v := n.(type) {
		case *ast.StringNode:
			if _, err := time.ParseDuration(v.Value); err != nil {
				return fmt.Sprintf("invalid duration %q: use a number with a unit, e.g. 500ms, 2s, 1m30s", v.Value)
			}
			return ""
		case *ast.IntegerNode, *ast.FloatNode:
			tk := v.GetToken().Value
			return fmt.Sprintf("duration %s has no unit: write it with one, e.g. %ss or %sms", tk, tk, tk)
		}
		return "want a duration (e.g. 500ms, 2s, 1m30s), got " + describe(n)
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		switch n.(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			return ""
		}
		return "want a mapping (key: value), got " + describe(n)
	case reflect.Slice:
		if _, ok := n.(*ast.SequenceNode); ok {
			return ""
		}
		return "want a list, got " + describe(n)
	case reflect.String:
		switch n.(type) {
		case *ast.StringNode, *ast.LiteralNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
			return ""
		}
		return "want a text, got " + describe(n)
	case reflect.Bool:
		if _, ok := n.(*ast.BoolNode); ok {
			return ""
		}
		return "want true or false, got " + describe(n)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v, ok := n.(*ast.IntegerNode); ok {
			if i, ok := v.Value.(int64); ok && !reflect.New(t).Elem().OverflowInt(i) {
				return ""
			}
			if u, ok := v.Value.(uint64); ok && u <= 1<<(t.Bits()-1)-1 {
				return ""
			}
			return fmt.Sprintf("integer %s out of range", v.GetToken().Value)
		}
		return "want an integer, got " + describe(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v, ok := n.(*ast.IntegerNode); ok {
			if u, ok := v.Value.(uint64); ok && !reflect.New(t).Elem().OverflowUint(u) {
				return ""
			}
			if i, ok := v.Value.(int64); ok && i >= 0 && !reflect.New(t).Elem().OverflowUint(uint64(i)) {
				return ""
			}
			return fmt.Sprintf("integer %s out of range (0 or more)", v.GetToken().Value)
		}
		return "want a whole number, got " + describe(n)
	case reflect.Float32, reflect.Float64:
		switch v := n.(type) {
		case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
			return ""
		case *ast.StringNode:
			if _, err := strconv.ParseFloat(v.Value, 64); err == nil {
				return ""
			}
		}
		return "want a number, got " + describe(n)
	}
	return ""
}

// describe names a node's kind for messages, with a short excerpt.
func describe(n ast.Node) string {
	switch n := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		v := n.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:37]) + "..."
		}
		return fmt.Sprintf("%q", v)
	case *ast.LiteralNode:
		return "a text block"
	case *ast.BoolNode:
		return fmt.Sprint(n.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + n.GetToken().Value
	case *ast.AliasNode:
		return "an alias"
	}
	return strings.ToLower(n.Type().String())
}

var (
	sourceType   = reflect.TypeOf(Source{})
	pointType    = reflect.TypeOf(Point{})
	templateType = reflect.TypeOf(Template{})
)

// mapping calls f for every key of the mapping n at path (nothing when n
// is no mapping: the decoder reports the type error), with the key's
// path, after recording the key's position.
func (pf *parsed) mapping(n ast.Node, path string, f func(key, child string, mv *ast.MappingValueNode)) {
	var values []*ast.MappingValueNode
	switch m := unwrap(n).(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return
	}
	for _, mv := range values {
		key := mv.Key.String()
		if k, ok := unwrap(mv.Key).(*ast.StringNode); ok {
			key = k.Value
		}
		child := key
		if path != "" {
			child = path + "." + key
		}
		if tk := mv.Key.GetToken(); tk != nil && tk.Position != nil {
			pf.pos[child+"#key"] = *tk.Position
		}
		f(key, child, mv)
	}
}

// unknown reports an unknown key at path, with the closest known one.
func (pf *parsed) unknown(key, path string, known []string) {
	if p, ok := pf.pos[path+"#key"]; ok {
		pf.pos[path] = p
	}
	msg := fmt.Sprintf("unknown field %q", key)
	if hint := suggest(key, known); hint != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", hint)
	}
	pf.add(path, "%s", msg)
}

// source walks source i at path: its own keys, the section of the kind
// it names (checked against the kind's configuration type) and its
// points. It returns true when the source is no mapping (reported).
func (pf *parsed) source(n ast.Node, path string, i int) bool {
	if walk, reported := pf.enter(n, path, sourceType, "a source"); !walk {
		return reported
	}
	fields := yamlFields(sourceType)
	known := append(keys(fields), connectors.KindNames()...)
	sort.Strings(known)
	var sk *sourceKind
	pf.mapping(n, path, func(key, _ string, mv *ast.MappingValueNode) {
		if k, ok := connectors.Lookup(key); ok {
			if sk == nil {
				sk = &sourceKind{kind: k, mv: mv}
			}
			sk.keys = append(sk.keys, key)
		}
	})
	if sk != nil {
		pf.kinds[i] = sk
	}
	pf.mapping(n, path, func(key, child string, mv *ast.MappingValueNode) {
		if k, ok := connectors.Lookup(key); ok {
			if pf.walk(mv.Value, reflect.TypeOf(k.NewConfig()), child) {
				blank(mv)
			}
			return
		}
		switch f, ok := fields[key]; {
		case !ok:
			pf.unknown(key, child, known)
		case key == "points":
			if pf.points(mv.Value, child, i, sk) {
				blank(mv)
			}
		default:
			if sn, ok := unwrap(mv.Value).(*ast.StringNode); ok && key == "name" {
				pf.names[i] = sn.Value
			}
			if pf.walk(mv.Value, f.Type, child) {
				blank(mv)
			}
		}
	})
	return false
}

// enter begins the walk of a mapping of type t at path (a source, a
// template; what names it in messages) and keeps its position. walk is
// false when there is nothing to walk: n is nil, or tagged or no mapping
// (then reported, and said).
func (pf *parsed) enter(n ast.Node, path string, t reflect.Type, what string) (walk, reported bool) {
	if n == nil {
		return false, false
	}
	if pf.tagged(n, path) {
		return false, true
	}
	if tk := unwrap(n).GetToken(); tk != nil && tk.Position != nil {
		pf.pos[path] = *tk.Position
	}
	if msg := mismatch(unwrap(n), t); msg != "" {
		if _, null := unwrap(n).(*ast.NullNode); !null {
			pf.report(path, "%s: %s", what, msg)
			return false, true
		}
	}
	return true, false
}

// points walks the points of source i at path; sk is the source's kind,
// nil when it names none. It returns true when the points are no list
// (reported).
func (pf *parsed) points(n ast.Node, path string, i int, sk *sourceKind) bool {
	var known []string
	if sk != nil {
		known = []string{sk.kind.PointKey}
	}
	return pf.pointList(n, path, known, func(key, child string, j int, mv *ast.MappingValueNode) {
		k, _ := pointKind(key)
		if sk == nil || k.Name == sk.kind.Name {
			if a, ok := pf.address(mv.Value, child); ok {
				pf.addrs[[2]int{i, j}] = a
			}
			return
		}
		pf.pos[child] = pf.pos[child+"#key"]
		pf.add(child, "%s is for %s sources; %q is %s (use %s)", key, k.Title, pf.sourceName(i), sk.kind.Title, sk.kind.PointKey)
	})
}

// templatePoints walks the points of template i at path: their address
// may be under any kind's point key, the same for every point.
func (pf *parsed) templatePoints(n ast.Node, path string, i int) bool {
	return pf.pointList(n, path, pointKeys(), func(key, child string, j int, mv *ast.MappingValueNode) {
		if first, ok := pf.tkeys[i]; ok && first != key {
			pf.pos[child] = pf.pos[child+"#key"]
			pf.report(child, "a template's points use one address key: %s here, %s before", key, first)
			return
		}
		pf.tkeys[i] = key
		if a, ok := pf.address(mv.Value, child); ok {
			pf.taddrs[[2]int{i, j}] = a
		}
	})
}

// pointList walks a list of points at path; addrKeys are the point keys
// suggested for unknown fields, and addr is called for a field that is a
// kind's point key (the point's index j). It returns true when n is no
// list (reported).
func (pf *parsed) pointList(n ast.Node, path string, addrKeys []string, addr func(key, child string, j int, mv *ast.MappingValueNode)) bool {
	if n == nil {
		return false
	}
	if pf.tagged(n, path) {
		return true
	}
	if tk := unwrap(n).GetToken(); tk != nil && tk.Position != nil {
		pf.pos[path] = *tk.Position
	}
	seq, ok := unwrap(n).(*ast.SequenceNode)
	if !ok {
		if _, null := unwrap(n).(*ast.NullNode); null {
			return false
		}
		pf.report(path, "points: want a list, got %s", describe(unwrap(n)))
		return true
	}
	fields := yamlFields(pointType)
	known := append(keys(fields), addrKeys...)
	sort.Strings(known)
	for j, v := range seq.Values {
		pp := fmt.Sprintf("%s[%d]", path, j)
		if pf.tagged(v, pp) {
			seq.Values[j] = nullAt(v)
			continue
		}
		if tk := unwrap(v).GetToken(); tk != nil && tk.Position != nil {
			pf.pos[pp] = *tk.Position
		}
		if msg := mismatch(unwrap(v), pointType); msg != "" {
			pf.report(pp, "a point: %s", msg)
			seq.Values[j] = nullAt(v)
			continue
		}
		pf.mapping(v, pp, func(key, child string, mv *ast.MappingValueNode) {
			if f, ok := fields[key]; ok {
				if pf.walk(mv.Value, f.Type, child) {
					blank(mv)
				}
				return
			}
			if _, isPointKey := pointKind(key); isPointKey {
				addr(key, child, j, mv)
				return
			}
			pf.unknown(key, child, known)
		})
	}
	return false
}

// template walks template i at path: its name and points. It returns
// true when the template is no mapping (reported).
func (pf *parsed) template(n ast.Node, path string, i int) bool {
	if walk, reported := pf.enter(n, path, templateType, "a template"); !walk {
		return reported
	}
	fields := yamlFields(templateType)
	pf.mapping(n, path, func(key, child string, mv *ast.MappingValueNode) {
		switch f, ok := fields[key]; {
		case !ok:
			pf.unknown(key, child, keys(fields))
		case key == "points":
			if pf.templatePoints(mv.Value, child, i) {
				blank(mv)
			}
		default:
			if pf.walk(mv.Value, f.Type, child) {
				blank(mv)
			}
		}
	})
	return false
}

// pointKind returns the kind whose point key is key.
func pointKind(key string) (connectors.Kind, bool) {
	for _, k := range connectors.Kinds() {
		if k.PointKey == key {
			return k, true
		}
	}
	return connectors.Kind{}, false
}

// address returns the address at path, a string; false (reported) when
// it is none.
func (pf *parsed) address(n ast.Node, path string) (string, bool) {
	n = unwrap(n)
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		pf.pos[path] = *tk.Position
	}
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	default:
		pf.report(path, "the address must be a string")
		return "", false
	}
}

// sourceName is the name of source i as the file writes it, for messages
// written before the file is decoded.
func (pf *parsed) sourceName(i int) string {
	if n, ok := pf.names[i]; ok {
		return n
	}
	return fmt.Sprintf("source %d", i+1)
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func keys(m map[string]reflect.StructField) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns the candidate closest to s, if close enough: the
// smallest case-insensitive edit distance, ties broken by the
// case-sensitive distance, then by name.
func suggest(s string, candidates []string) string {
	best, bestD, bestCS := "", 1<<30, 1<<30
	for _, c := range candidates {
		d := EditDistance(strings.ToLower(s), strings.ToLower(c))
		cs := EditDistance(s, c)
		if d < bestD || d == bestD && (cs < bestCS || cs == bestCS && c < best) {
			best, bestD, bestCS = c, d, cs
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

// EditDistance is the Levenshtein distance of a and b, in runes: what
// "did you mean" hints rank candidates by. It is a pure function.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// NormalizeConfig returns the normalizer's configuration: one Point per
// configured point (Address as written, which is what the connectors put
// in Reading.Address; Interval the kind's update interval), the default
// rules, and an AutoMap for every source whose connector finds points by
// itself (OPC UA browsing). f must have been validated (Load, Parse).
// Points that share their range or rules (a template's) share the copies
// made of them.
func (f *File) NormalizeConfig() normalize.Config {
	cfg := normalize.Config{Defaults: f.Defaults}
	n := 0
	for _, s := range f.Sources {
		n += len(s.Points)
	}
	cfg.Points = make([]normalize.Point, 0, n)
	ranges := map[*Range]*normalize.Range{}
	rules := map[*Rules]*Rules{}
	for _, s := range f.Sources {
		var interval time.Duration
		if s.Config != nil {
			interval = s.Config.UpdateInterval()
			if d := s.Config.Discovery(); d != nil {
				cfg.AutoMap = append(cfg.AutoMap, normalize.AutoMap{Source: s.Name, AssetPrefix: d.AssetPrefix})
			}
		}
		for _, p := range s.Points {
			np := normalize.Point{
				Source: s.Name, Address: p.Address, Asset: p.Asset, Tag: p.Tag, Unit: p.Unit, ConvertFrom: p.ConvertFrom,
				Scale: p.Scale, Offset: p.Offset, Clamp: p.Clamp, Interval: interval,
			}
			if p.Range != nil {
				r, ok := ranges[p.Range]
				if !ok {
					r = &normalize.Range{Low: p.Range.Low, High: p.Range.High}
					ranges[p.Range] = r
				}
				np.Range = r
			}
			if p.Rules != nil {
				r, ok := rules[p.Rules]
				if !ok {
					c := *p.Rules
					r = &c
					rules[p.Rules] = r
				}
				np.Rules = r
			}
			np.Context, np.AppliesTo = p.Context, slices.Clone(p.AppliesTo)
			cfg.Points = append(cfg.Points, np)
		}
	}
	return cfg
}

// subscription is implemented by the configuration of a connector kind
// that subscribes (OPC UA): the server's sampling interval and the
// subscription's publishing interval, defaults applied; ok is false when
// the source polls instead.
type subscription interface {
	Subscription() (sampling, publishing time.Duration, ok bool)
}

// ScoreConfig returns the scorecards' configuration: the file's scorecard
// settings, every source with its poll interval or, for a subscription,
// its sampling and publishing intervals, and every point. f must have
// been validated (Load, Parse).
func (f *File) ScoreConfig() score.Config {
	var cfg score.Config
	if f.Scorecard != nil {
		cfg.Settings = *f.Scorecard
	}
	for _, s := range f.Sources {
		src := score.Source{Name: s.Name}
		if s.Config != nil {
			src.Poll = s.Config.UpdateInterval()
			if sub, ok := s.Config.(subscription); ok && src.Poll == 0 {
				src.Sampling, src.Publishing, _ = sub.Subscription()
			}
		}
		cfg.Sources = append(cfg.Sources, src)
		for _, p := range s.Points {
			cfg.Points = append(cfg.Points, score.Point{ID: p.Asset + "/" + p.Tag, Asset: p.Asset, Source: s.Name})
		}
	}
	return cfg
}
