package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// The decoder turns the YAML tree into the Go types by reflection, records
// the position of every value and key by its path (e.g.
// "machines[2].tags[0].unit"), and reports every unknown field, missing
// field and type mismatch instead of stopping at the first.

// decodeBudget bounds the values decoded, aliases and merges included, so
// that a small file of nested aliases cannot expand without limit: a
// fixed allowance plus two per byte of input (every value takes at least
// one byte when written out).
func decodeBudget(size int) int { return 100_000 + 2*size }

// maxDepth bounds nesting, aliases included.
const maxDepth = 64

type decoder struct {
	probs  *problemSet
	vals   map[string]pos // path → position of the value
	keys   map[string]pos // path → position of the key naming it
	bad    map[string]bool
	quoted map[string]bool // paths of quoted string values
	// lits holds the text of numbers whose decoded value is not exactly
	// the number written (a fraction that float64 rounds to an integer,
	// an integer beyond 2^53 in a float64 field, one beyond 64 bits), by
	// path: the checks of integer values read the text instead.
	lits    map[string]string
	anchors map[string]ast.Node
	active  map[string]bool // anchors being decoded (to refuse recursion)
	budget  int
	limit   int
}

func newDecoder(probs *problemSet, size int) *decoder {
	return &decoder{
		probs:   probs,
		vals:    map[string]pos{},
		keys:    map[string]pos{},
		bad:     map[string]bool{},
		quoted:  map[string]bool{},
		lits:    map[string]string{},
		anchors: map[string]ast.Node{},
		active:  map[string]bool{},
		budget:  decodeBudget(size),
		limit:   decodeBudget(size),
	}
}

// tokPos returns the position of a token (zero for nil).
func tokPos(t *token.Token) pos {
	if t == nil || t.Position == nil {
		return pos{}
	}
	return pos{t.Position.Line, t.Position.Column}
}

// nodePos returns the position of a node.
func nodePos(n ast.Node) pos {
	if n == nil {
		return pos{}
	}
	defer func() { _ = recover() }() // some nodes lack a token
	switch n := n.(type) {
	case *ast.MappingNode:
		if len(n.Values) > 0 && !n.IsFlowStyle {
			return nodePos(n.Values[0].Key)
		}
		return tokPos(n.Start)
	case *ast.SequenceNode:
		return tokPos(n.Start)
	case *ast.MappingValueNode:
		return nodePos(n.Key)
	}
	return tokPos(n.GetToken())
}

// fail records a problem at the value of path and marks path bad.
func (d *decoder) fail(path string, p pos, format string, args ...any) {
	d.bad[path] = true
	d.probs.add(p, "", format, args...)
}

// fieldInfo describes one field of a struct as the YAML names it.
type fieldInfo struct {
	name     string
	index    int
	required bool
}

var fieldCache sync.Map // reflect.Type → []fieldInfo

// fieldsOf returns the YAML fields of struct type t.
func fieldsOf(t reflect.Type) []fieldInfo {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]fieldInfo)
	}
	var fs []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs = append(fs, fieldInfo{name: name, index: i, required: !strings.Contains(opts, "omitempty")})
	}
	fieldCache.Store(t, fs)
	return fs
}

// fieldNames lists the YAML names of fs.
func fieldNames(fs []fieldInfo) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}

var durationType = reflect.TypeFor[Duration]()

// resolve strips tags and anchors and follows aliases. It returns nil for
// an alias that cannot be followed (after reporting it).
func (d *decoder) resolve(n ast.Node, path string) (ast.Node, string) {
	anchor := ""
	for range maxDepth {
		switch t := n.(type) {
		case *ast.TagNode:
			n = t.Value
		case *ast.AnchorNode:
			if t.Name != nil {
				d.anchors[t.Name.String()] = t.Value
				anchor = t.Name.String()
			}
			n = t.Value
		case *ast.AliasNode:
			name := ""
			if t.Value != nil {
				name = t.Value.String()
			}
			target, ok := d.anchors[name]
			if !ok {
				d.fail(path, nodePos(t), "unknown alias %q", "*"+name)
				return nil, ""
			}
			if d.active[name] {
				d.fail(path, nodePos(t), "alias %q refers to itself", "*"+name)
				return nil, ""
			}
			n = target
			anchor = name
		default:
			return n, anchor
		}
		if n == nil {
			return nil, anchor
		}
	}
	d.fail(path, nodePos(n), "too many nested tags, anchors or aliases")
	return nil, ""
}

// decode sets v from node n, found at path.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string, depth int) {
	if n == nil {
		return
	}
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.fail(path, nodePos(n), "document too large (aliases expand to more than %d values)", d.limit)
		}
		return
	}
	if depth > maxDepth {
		d.fail(path, nodePos(n), "nesting deeper than %d levels", maxDepth)
		return
	}
	p := nodePos(n)
	n, anchor := d.resolve(n, path)
	if n == nil {
		return
	}
	if anchor != "" {
		d.active[anchor] = true
		defer delete(d.active, anchor)
	}
	d.vals[path] = p
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path, p)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.decode(n, e.Elem(), path, depth+1)
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.fail(path, p, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, e := range seq.Values {
			d.decode(e, s.Index(i), path+"["+strconv.Itoa(i)+"]", depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			d.fail(path, p, "want a mapping, got %s", describe(n))
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), len(m.Values))
		seen := map[string]bool{}
		for _, mv := range m.Values {
			key, ok := d.key(mv, path)
			if !ok {
				continue
			}
			if seen[key] {
				d.fail(path+"."+key, nodePos(mv.Key), "duplicate key %q", key)
				continue
			}
			seen[key] = true
			kp := path + "." + key
			d.keys[kp] = nodePos(mv.Key)
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(mv.Value, e, kp, depth+1)
			out.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), e)
		}
		v.Set(out)
	case reflect.Interface:
		val, ok := scalar(n)
		if !ok {
			d.fail(path, p, "want a single value, got %s", describe(n))
			return
		}
		if f, isF := val.(float64); isF && (math.IsNaN(f) || math.IsInf(f, 0)) {
			d.fail(path, p, "want a finite number, got %v", f)
			return
		}
		if text, inexact := inexactLiteral(n, val); inexact {
			d.lits[path] = text
		}
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
	case reflect.String:
		switch n := n.(type) {
		case *ast.StringNode:
			v.SetString(n.Value)
			if n.Token != nil && (n.Token.Type == token.DoubleQuoteType || n.Token.Type == token.SingleQuoteType) {
				d.quoted[path] = true
			}
		case *ast.LiteralNode:
			if n.Value != nil {
				v.SetString(n.Value.Value)
			}
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
			v.SetString(n.GetToken().Value)
		default:
			d.fail(path, p, "want a string, got %s", describe(n))
		}
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.fail(path, p, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, ok := intValue(n)
		if !ok {
			d.fail(path, p, "want an integer, got %s", describe(n))
			return
		}
		if v.OverflowInt(i) {
			d.fail(path, p, "integer %d out of range", i)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, ok := floatValue(n)
		if !ok {
			d.fail(path, p, "want a number, got %s", describe(n))
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(path, p, "want a finite number, got %v", f)
			return
		}
		if text, inexact := inexactLiteral(n, f); inexact {
			d.lits[path] = text
		}
		v.SetFloat(f)
	default:
		d.fail(path, p, "cannot decode into %s", v.Type())
	}
}

// key returns the string key of a mapping entry.
func (d *decoder) key(mv *ast.MappingValueNode, path string) (string, bool) {
	k, _ := d.resolve(mv.Key, path)
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		k, _ = d.resolve(mk.Value, path)
	}
	switch k := k.(type) {
	case *ast.StringNode:
		return k.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return k.GetToken().Value, true
	case nil:
		return "", false
	}
	d.fail(path, nodePos(mv.Key), "want a name as key, got %s", describe(k))
	return "", false
}

// decodeStruct decodes a mapping into a struct, field by field.
func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string, depth int) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.fail(path, nodePos(n), "want a mapping, got %s", describe(n))
		return
	}
	fs := fieldsOf(v.Type())
	seen := map[string]bool{}
	d.decodeFields(m, v, path, depth, fs, seen)
	for _, f := range fs {
		if f.required && !seen[f.name] {
			d.probs.add(nodePos(m), "", "missing field %q", f.name)
			d.bad[path] = true
		}
	}
}

func (d *decoder) decodeFields(m *ast.MappingNode, v reflect.Value, path string, depth int, fs []fieldInfo, seen map[string]bool) {
	prefix := path + "."
	if path == "" {
		prefix = ""
	}
	for _, mv := range m.Values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			d.merge(mv.Value, v, path, depth, fs, seen)
			continue
		}
		key, ok := d.key(mv, path)
		if !ok {
			continue
		}
		var fi *fieldInfo
		for i := range fs {
			if fs[i].name == key {
				fi = &fs[i]
				break
			}
		}
		kp := nodePos(mv.Key)
		if fi == nil {
			d.probs.add(kp, didYouMean(key, fieldNames(fs)), "unknown field %q", key)
			d.bad[path] = true
			continue
		}
		if seen[key] && d.keys[prefix+key] != (pos{}) {
			d.probs.add(kp, "", "duplicate field %q", key)
			d.bad[prefix+key] = true
			continue
		}
		seen[key] = true
		d.keys[prefix+key] = kp
		f := v.Field(fi.index)
		f.Set(reflect.Zero(f.Type()))
		d.decode(mv.Value, f, prefix+key, depth+1)
	}
}

// merge applies a YAML merge key (<<: *anchor or a list of them) to a
// struct: merged fields come first and the mapping's own fields override.
func (d *decoder) merge(n ast.Node, v reflect.Value, path string, depth int, fs []fieldInfo, seen map[string]bool) {
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.fail(path, nodePos(n), "document too large (aliases expand to more than %d values)", d.limit)
		}
		return
	}
	if depth > maxDepth {
		d.fail(path, nodePos(n), "nesting deeper than %d levels", maxDepth)
		return
	}
	r, anchor := d.resolve(n, path)
	if anchor != "" {
		d.active[anchor] = true
		defer delete(d.active, anchor)
	}
	switch r := r.(type) {
	case *ast.MappingNode:
		// Merged keys are not the file's own: forget their key positions
		// so that an own key of the same name may override them.
		sub := map[string]bool{}
		d.decodeFields(r, v, path, depth+1, fs, sub)
		prefix := path + "."
		if path == "" {
			prefix = ""
		}
		for k := range sub {
			seen[k] = true
			delete(d.keys, prefix+k)
		}
	case *ast.SequenceNode:
		for _, e := range r.Values {
			d.merge(e, v, path, depth+1, fs, seen)
		}
	case nil:
	default:
		d.fail(path, nodePos(n), "merge key wants a mapping or an alias to one, got %s", describe(r))
	}
}

// decodeDuration accepts a duration string or a number of seconds.
func (d *decoder) decodeDuration(n ast.Node, v reflect.Value, path string, p pos) {
	switch n := n.(type) {
	case *ast.StringNode:
		var dur Duration
		if err := dur.UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(path, p, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	case *ast.IntegerNode, *ast.FloatNode:
		f, _ := floatValue(n)
		if math.IsNaN(f) || math.Abs(f) > float64(math.MaxInt64)/float64(time.Second) {
			d.fail(path, p, "duration %v out of range", f)
			return
		}
		v.SetInt(int64(f * float64(time.Second)))
		return
	}
	d.fail(path, p, "want a duration (e.g. 500ms, 2s, 1m30s), got %s", describe(n))
}

// scalar returns the Go value of a scalar node: bool, int64, uint64,
// float64 or string (nil for null). A number that is an integer within 64
// bits is an int64 (a uint64 above int64's maximum) however it is written
// (20.0, 1e3); an unquoted number that YAML reads as text (an integer
// beyond 64 bits, 1e19) is a number too.
func scalar(n ast.Node) (any, bool) {
	switch n := n.(type) {
	case *ast.NullNode:
		return nil, true
	case *ast.BoolNode:
		return n.Value, true
	case *ast.IntegerNode:
		switch i := n.Value.(type) {
		case int64:
			return i, true
		case uint64:
			return i, true
		}
		return nil, false
	case *ast.FloatNode:
		if num, ok := parseNumber(n.GetToken().Value); ok && num.inGo() {
			return num.goValue(), true
		}
		return n.Value, true
	case *ast.InfinityNode:
		return n.Value, true
	case *ast.NanNode:
		return math.NaN(), true
	case *ast.StringNode:
		if num, ok := plainNumber(n); ok {
			if num.inGo() {
				return num.goValue(), true
			}
			return num.float(), true
		}
		return n.Value, true
	case *ast.LiteralNode:
		if n.Value == nil {
			return "", true
		}
		return n.Value.Value, true
	}
	return nil, false
}

// plainNumber reads an unquoted string node that is a decimal number
// literal (YAML reads integers beyond 64 bits and some exponents as text).
func plainNumber(n *ast.StringNode) (number, bool) {
	if n.Token == nil || n.Token.Type == token.DoubleQuoteType || n.Token.Type == token.SingleQuoteType {
		return number{}, false
	}
	return parseNumber(n.Value)
}

// inexactLiteral returns the text of the number node n when v, the value
// decoded from it, is not exactly the number written: an integer that v
// (a float64) cannot hold, or a fraction that v rounded to an integer.
func inexactLiteral(n ast.Node, v any) (string, bool) {
	var text string
	switch n := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		text = n.GetToken().Value
	case *ast.StringNode:
		if _, ok := plainNumber(n); !ok {
			return "", false
		}
		text = n.Value
	default:
		return "", false
	}
	f, isFloat := v.(float64)
	if !isFloat {
		return "", false // an exact integer
	}
	num, ok := parseNumber(strings.ReplaceAll(text, "_", ""))
	if !ok {
		// A hexadecimal or octal integer: exact when float64 holds it.
		if i, isInt := n.(*ast.IntegerNode); isInt {
			switch x := i.Value.(type) {
			case int64:
				return text, float64(x) != f || f >= 1<<63 || int64(f) != x
			case uint64:
				return text, f >= two64 || uint64(f) != x
			}
		}
		return "", false
	}
	if num.isInt {
		exact := floatNumber(f)
		return text, !exact.isInt || exact.neg != num.neg || exact.mag != num.mag
	}
	return text, f == math.Trunc(f) // a fraction rounded away, or beyond 64 bits
}

func intValue(n ast.Node) (int64, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		switch i := n.Value.(type) {
		case int64:
			return i, true
		case uint64:
			if i <= math.MaxInt64 {
				return int64(i), true
			}
		}
	case *ast.FloatNode:
		if n.Value == math.Trunc(n.Value) && math.Abs(n.Value) < 1<<53 {
			return int64(n.Value), true
		}
	}
	return 0, false
}

func floatValue(n ast.Node) (float64, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		if num, ok := plainNumber(n); ok {
			return num.float(), true
		}
	case *ast.IntegerNode:
		switch i := n.Value.(type) {
		case int64:
			return float64(i), true
		case uint64:
			return float64(i), true
		}
	case *ast.FloatNode:
		return n.Value, true
	case *ast.InfinityNode:
		return n.Value, true
	case *ast.NanNode:
		return math.NaN(), true
	}
	return 0, false
}

// describe names a node's kind for messages, with a short excerpt.
func describe(n ast.Node) string {
	switch n := n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return fmt.Sprintf("string %q", excerpt(n.Value))
	case *ast.LiteralNode:
		return "a text block"
	case *ast.BoolNode:
		return fmt.Sprintf("%v", n.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number " + excerpt(n.GetToken().Value)
	case *ast.NullNode:
		return "null"
	case nil:
		return "nothing"
	}
	return strings.ToLower(n.Type().String())
}

// excerpt shortens s for a message.
func excerpt(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:37]) + "..."
	}
	return s
}
