package scenarios

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Defaults applied by Load.
const (
	DefaultTick      = Duration(100 * time.Millisecond)
	DefaultSeed      = 1
	DefaultTimeScale = 1.0
	DefaultUnitID    = 1
)

// Load reads the scenario file at path, validates it and returns it in
// resolved form (see resolved.go). When the file is invalid the error is
// Problems, listing every problem with file:line:col; when it cannot be
// read, the error wraps the os error. Load never panics and is safe for
// concurrent use.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	s, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	s.File = path
	return s, nil
}

// Parse validates the scenario in data, named name in messages (usually
// its path), and returns it in resolved form. An invalid scenario gives
// Problems, every problem at once, ordered by position. Parse never
// panics and is safe for concurrent use.
func Parse(name string, data []byte) (s *Scenario, err error) {
	probs := newProblemSet(name)
	defer func() {
		if r := recover(); r != nil {
			s = nil
			err = Problems{{File: name, Msg: fmt.Sprintf("internal error validating the scenario: %v", r)}}
		}
	}()
	s, d := decodeFile(data, probs)
	if s != nil {
		v := newValidator(s, d, probs)
		v.run()
	}
	if err := probs.result(); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeFile parses YAML and decodes the one document in it.
func decodeFile(data []byte, probs *problemSet) (*Scenario, *decoder) {
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			probs.add(tokPos(ye.GetToken()), "", "%s", ye.GetMessage())
		} else {
			probs.add(pos{}, "", "%v", err)
		}
		return nil, nil
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if body != nil {
			probs.add(nodePos(doc.Body), "", "a scenario file holds one YAML document; found a second")
			return nil, nil
		}
		body = doc.Body
	}
	if body == nil {
		probs.add(pos{1, 1}, "", "empty scenario: want a mapping with name and machines")
		return nil, nil
	}
	s := &Scenario{}
	d := newDecoder(probs, len(data))
	d.decode(body, reflect.ValueOf(s).Elem(), "", 0)
	if _, ok := d.vals[""]; !ok {
		return nil, nil
	}
	return s, d
}

// origin says where a resolved tag's fields come from: the path of the
// machine's own tag ("" when none) and the template and index of the
// template's tag (tmpl "" when none).
type origin struct {
	own  string
	tmpl string
	ti   int
}

// tmplPath is the path of the template's tag, "" when none.
func (o origin) tmplPath() string {
	if o.tmpl == "" {
		return ""
	}
	return "templates." + o.tmpl + ".tags[" + strconv.Itoa(o.ti) + "]"
}

// paths are the own and template paths ("" when absent).
func (o origin) paths() [2]string { return [2]string{o.own, o.tmplPath()} }

// base is the own path, else the template path.
func (o origin) base() string {
	if o.own != "" {
		return o.own
	}
	return o.tmplPath()
}

// mergeTag returns base overridden field by field by the non-zero fields
// of over.
func mergeTag(base, over Tag) Tag {
	out := base
	if over.Type != "" {
		out.Type = over.Type
	}
	if over.Unit != "" {
		out.Unit = over.Unit
	}
	if over.Range != nil {
		out.Range = over.Range
	}
	if over.Description != "" {
		out.Description = over.Description
	}
	if over.Writable {
		out.Writable = true
	}
	if over.Model != nil {
		out.Model = over.Model
	}
	if over.NodeID != "" {
		out.NodeID = over.NodeID
	}
	if over.Modbus != nil {
		out.Modbus = over.Modbus
	}
	if over.Historizing != nil {
		out.Historizing = over.Historizing
	}
	if over.Context != "" {
		out.Context = over.Context
	}
	return out
}

// validName reports whether s is a non-empty name of [a-zA-Z0-9._-].
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// join builds a child path.
func join(path, field string) string {
	if path == "" {
		return field
	}
	if strings.HasPrefix(field, "[") {
		return path + field
	}
	return path + "." + field
}
