package sources

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/invopop/jsonschema"
	jsv "github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite schema.json")

// TestSchemaUpToDate keeps schema.json the generated one: the file's own
// types and every connector kind's section, documented by their Go doc
// comments.
func TestSchemaUpToDate(t *testing.T) {
	out, err := filepath.Abs("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	r := &jsonschema.Reflector{}
	if err := r.AddGoComments("github.com/otwin/otwin/normalize/sources", "./"); err != nil {
		t.Fatal(err)
	}
	// The rules' settings are normalize.Rules, documented there.
	t.Chdir("..")
	if err := r.AddGoComments("github.com/otwin/otwin/normalize", "."); err != nil {
		t.Fatal(err)
	}
	// The kinds' configuration types document themselves in their own
	// packages, below connectors/.
	t.Chdir("../connectors")
	if err := r.AddGoComments("github.com/otwin/otwin/connectors", "."); err != nil {
		t.Fatal(err)
	}
	got, err := generateSchema(r.CommentMap)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(out, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, SchemaJSON()) {
		t.Fatal("schema.json is stale: run go test ./normalize/sources -run TestSchemaUpToDate -update")
	}
}

func compileSchema(t *testing.T) *jsv.Schema {
	t.Helper()
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(SchemaJSON()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsv.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func yamlToJSONValue(t *testing.T, y []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaAcceptsSampleRejectsUnknown(t *testing.T) {
	s := compileSchema(t)
	if err := s.Validate(yamlToJSONValue(t, Sample())); err != nil {
		t.Fatalf("sample invalid against the schema: %v", err)
	}
	bad := strings.Replace(string(Sample()), "poll_interval: 1s", "poll_intervall: 1s", 1)
	if err := s.Validate(yamlToJSONValue(t, []byte(bad))); err == nil {
		t.Fatal("schema accepts an unknown field")
	}
	bad = strings.Replace(string(Sample()), "timeout: 10s", "timeout: soon", 1)
	if err := s.Validate(yamlToJSONValue(t, []byte(bad))); err == nil {
		t.Fatal("schema accepts a bad duration")
	}
}
