package scenarios

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/invopop/jsonschema"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/role"
)

var update = flag.Bool("update", false, "rewrite schema.json from the Go types")

// generateSchema reflects the JSON Schema of the scenario format from the
// Go types and their doc comments.
func generateSchema(t *testing.T) []byte {
	t.Helper()
	r := &jsonschema.Reflector{
		FieldNameTag: "yaml",
		Mapper: func(rt reflect.Type) *jsonschema.Schema {
			switch rt {
			case reflect.TypeFor[Duration]():
				return &jsonschema.Schema{
					Description: "A duration: a string such as 250ms, 1.5s, 2m or 1h30m, or a number of seconds.",
					OneOf: []*jsonschema.Schema{
						{Type: "string", Pattern: `^[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$|^0$`},
						{Type: "number"},
					},
				}
			case reflect.TypeFor[DataType]():
				s := &jsonschema.Schema{Type: "string", Description: "A data type."}
				for _, d := range DataTypes {
					s.Enum = append(s.Enum, string(d))
				}
				return s
			case reflect.TypeFor[ctxrole.Role]():
				s := &jsonschema.Schema{Type: "string", Description: "A production-context role."}
				for _, n := range ctxrole.Names() {
					s.Enum = append(s.Enum, n)
				}
				return s
			case reflect.TypeFor[FaultKind]():
				s := &jsonschema.Schema{Type: "string", Description: "A fault kind."}
				for _, k := range FaultKinds {
					s.Enum = append(s.Enum, string(k))
				}
				return s
			}
			return nil
		},
	}
	if err := r.AddGoComments("github.com/otwin/otwin/scenarios", "."); err != nil {
		t.Fatal(err)
	}
	s := r.Reflect(&Scenario{})
	// Lists of names have one home each in Go; the schema takes them from
	// there.
	for _, e := range []struct {
		def, prop string
		names     []string
	}{
		{"Role", "name", role.Names()},
		{"Expectation", "role", role.Names()},
		{"Expectation", "action", Actions},
		{"Fault", "protocol", Protocols},
		{"Ramp", "shape", RampShapes},
		{"Context", "level", levelNames},
	} {
		p, ok := s.Definitions[e.def].Properties.Get(e.prop)
		if !ok {
			t.Fatalf("schema has no %s.%s", e.def, e.prop)
		}
		p.Enum = nil
		for _, n := range e.names {
			p.Enum = append(p.Enum, n)
		}
	}
	if p, ok := s.Definitions["Fault"].Properties.Get("exception"); ok {
		for _, c := range ModbusExceptions {
			p.Enum = append(p.Enum, c)
		}
	}
	s.ID = "https://github.com/otwin/otwin/scenarios/schema.json"
	s.Title = "otwin scenario"
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestSchemaUpToDate(t *testing.T) {
	got := generateSchema(t)
	if *update {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("schema.json is stale: run go test ./scenarios -run TestSchemaUpToDate -update")
	}
	if !bytes.Equal(Schema(), want) {
		t.Fatal("Schema() differs from schema.json")
	}
}

// compileSchema compiles schema.json for validation.
func compileSchema(t *testing.T) *jsv.Schema {
	t.Helper()
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsv.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// yamlToJSONValue decodes YAML into the JSON data model the validator
// takes; ok is false when the YAML itself does not decode.
func yamlToJSONValue(t *testing.T, data []byte) (any, bool) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, false
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return doc, true
}

func TestSchemaAcceptsShipped(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("*.yaml")
	valid, _ := filepath.Glob("testdata/valid/*.yaml")
	files = append(files, valid...)
	if len(files) < 3 {
		t.Fatalf("found %d scenarios", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, ok := yamlToJSONValue(t, data)
		if !ok {
			t.Fatalf("%s does not decode", f)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s: schema rejects a valid scenario: %v", f, err)
		}
	}
}

func TestSchemaRejectsMarkedFixtures(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, reject := fixtureWants(t, data); !reject {
			continue
		}
		n++
		doc, ok := yamlToJSONValue(t, data)
		if !ok {
			continue // not even YAML: rejected
		}
		if err := sch.Validate(doc); err == nil {
			t.Errorf("%s: schema accepts a file marked # schema: reject", f)
		} else if !strings.Contains(err.Error(), "jsonschema validation failed") {
			t.Errorf("%s: unexpected error %v", f, err)
		}
	}
	if n < 5 {
		t.Fatalf("only %d fixtures are marked # schema: reject", n)
	}
}
