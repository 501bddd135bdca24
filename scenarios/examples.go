package scenarios

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed *.yaml
var examples embed.FS

// DefaultExample is the name of the scenario Default returns.
const DefaultExample = "bottling"

// Examples returns the names of the shipped example scenarios (file names
// without .yaml), sorted. Safe for concurrent use.
func Examples() []string {
	entries, _ := examples.ReadDir(".")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// ExampleSource returns the YAML text of a shipped example scenario.
func ExampleSource(name string) ([]byte, error) {
	data, err := examples.ReadFile(path.Clean(name) + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("example scenario %q: no such example (have %s)", name, strings.Join(Examples(), ", "))
	}
	return data, nil
}

// Example loads the shipped example scenario name (without .yaml), e.g.
// "pasteurizer", and returns it resolved. Each call returns a new
// Scenario the caller may modify. Safe for concurrent use.
func Example(name string) (*Scenario, error) {
	data, err := ExampleSource(name)
	if err != nil {
		return nil, err
	}
	return Parse(name+".yaml", data)
}

var defaultOnce = sync.OnceValues(func() (*Scenario, error) { return Example(DefaultExample) })

// Default returns the default scenario, the bottling line, resolved. It
// panics only if the embedded file is invalid, which the package's tests
// rule out. The returned Scenario is shared: treat it as read-only (use
// Example for a private copy). Safe for concurrent use.
func Default() *Scenario {
	s, err := defaultOnce()
	if err != nil {
		panic(fmt.Sprintf("scenarios: embedded default scenario is invalid: %v", err))
	}
	return s
}

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema of the scenario format (schema.json),
// for editors and other tools. The caller must not modify the result.
func Schema() []byte { return schemaJSON }
