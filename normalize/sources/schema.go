package sources

import (
	_ "embed"
	"encoding/json"
	"reflect"
	"time"

	"github.com/invopop/jsonschema"
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

// generateSchema builds the schema document.
func generateSchema(comments map[string]string) ([]byte, error) {
	s := reflector(comments).Reflect(&File{})
	s.ID = "https://github.com/otwin/otwin/normalize/sources/schema.json"
	s.Title = "otwin sources file"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
