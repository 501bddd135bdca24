package sources

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
)

//go:embed schema.json
var schemaJSON []byte

// SchemaJSON returns the JSON Schema of the sources file (draft 2020-12),
// generated from the Go types with their doc comments; editors use it to
// complete and check sources files.
func SchemaJSON() []byte { return schemaJSON }

// durationPattern is what time.ParseDuration accepts.
const durationPattern = `^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))*$|^0$`

// reflector returns the schema generator; comments is the Go doc of the
// types (nil: none).
func reflector(comments map[string]string) *jsonschema.Reflector {
	return &jsonschema.Reflector{
		CommentMap: comments,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if t == reflect.TypeOf(ctxrole.Role("")) {
				s := &jsonschema.Schema{Type: "string", Description: "A production-context role."}
				for _, n := range ctxrole.Names() {
					s.Enum = append(s.Enum, n)
				}
				return s
			}
			if t == reflect.TypeOf(time.Duration(0)) {
				return &jsonschema.Schema{
					Type:        "string",
					Pattern:     durationPattern,
					Description: `A duration: a number with a unit, e.g. "500ms", "2s", "1m30s".`,
				}
			}
			return nil
		},
	}
}

// generateSchema builds the schema document: the file's own types, with
// every registered connector kind's contribution — its section (reflected
// from its configuration type and that type's doc comments) as a key of
// Source, exactly one of which a source sets, and its point key in Point.
func generateSchema(comments map[string]string) ([]byte, error) {
	r := reflector(comments)
	s := r.Reflect(&File{})
	s.ID = "https://github.com/otwin/otwin/normalize/sources/schema.json"
	s.Title = "otwin sources file"
	src, pt := s.Definitions["Source"], s.Definitions["Point"]
	if src == nil || pt == nil {
		return nil, fmt.Errorf("schema: no Source or Point definition")
	}
	// Source: name, the kinds' sections, then its other keys.
	var rest []string
	for pair := src.Properties.Oldest(); pair != nil; pair = pair.Next() {
		if pair.Key != "name" {
			rest = append(rest, pair.Key)
		}
	}
	moved := moveLast(src, rest)
	// Point: the kinds' address keys first.
	var all []string
	for pair := pt.Properties.Oldest(); pair != nil; pair = pair.Next() {
		all = append(all, pair.Key)
	}
	movedPoint := moveLast(pt, all)
	for _, k := range connectors.Kinds() {
		ks := r.Reflect(k.NewConfig())
		name := strings.TrimPrefix(ks.Ref, "#/$defs/")
		for dn, d := range ks.Definitions {
			if dn == name {
				dn = k.Name
			}
			if _, dup := s.Definitions[dn]; dup {
				return nil, fmt.Errorf("schema: kind %s: definition %s already exists", k.Name, dn)
			}
			s.Definitions[dn] = d
		}
		src.Properties.Set(k.Name, &jsonschema.Schema{
			Ref:         "#/$defs/" + k.Name,
			Description: fmt.Sprintf("A %s endpoint: the %s connector's settings.", k.Title, k.Name),
		})
		src.OneOf = append(src.OneOf, &jsonschema.Schema{Required: []string{k.Name}})
		pt.Properties.Set(k.PointKey, &jsonschema.Schema{Type: "string", Description: k.PointDoc})
	}
	moved()
	movedPoint()
	// A template's points are points whose asset is optional.
	tmpl := s.Definitions["Template"]
	if tmpl == nil {
		return nil, fmt.Errorf("schema: no Template definition")
	}
	tpt := *pt
	tpt.Required = slices.DeleteFunc(slices.Clone(pt.Required), func(k string) bool { return k == "asset" })
	tpt.Description = "A point of a template: a point whose address and asset may hold placeholders ({asset}, {name}, {1}…{9}); without an asset it takes the asset the template is applied to."
	s.Definitions["TemplatePoint"] = &tpt
	if items, ok := tmpl.Properties.Get("points"); ok && items.Items != nil {
		items.Items = &jsonschema.Schema{Ref: "#/$defs/TemplatePoint"}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// moveLast removes the properties keys from def and returns a function
// that adds them back, in order, after whatever was added meanwhile.
func moveLast(def *jsonschema.Schema, keys []string) func() {
	vals := make([]*jsonschema.Schema, len(keys))
	for i, k := range keys {
		vals[i], _ = def.Properties.Get(k)
		def.Properties.Delete(k)
	}
	return func() {
		for i, k := range keys {
			def.Properties.Set(k, vals[i])
		}
	}
}
