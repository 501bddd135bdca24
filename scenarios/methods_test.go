package scenarios

import (
	"slices"
	"testing"
)

// TestMethodsAndHistorizingResolve: a machine gets its template's
// methods, its own of the same name replacing them, then its new ones;
// historizing comes from the tag, else the machine, else true.
func TestMethodsAndHistorizingResolve(t *testing.T) {
	sc, err := Parse("m.yaml", []byte(`
name: t
templates:
  T:
    tags:
      - {name: a}
      - {name: b, historizing: true}
    methods:
      - {name: go, actions: [{set: {tag: a, value: 1}}]}
      - {name: halt, actions: [{set: {tag: a, value: 0}}]}
machines:
  - name: m1
    template: T
    historizing: false
    tags:
      - {name: c}
    methods:
      - {name: halt, description: own halt, actions: [{set: {tag: c, value: 0}}]}
      - {name: extra, actions: [{clear_faults: true}]}
  - name: m2
    template: T
`))
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []Method) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name+":"+m.Description)
		}
		return out
	}
	if got, want := names(sc.Machines[0].Methods), []string{"go:", "halt:own halt", "extra:"}; !slices.Equal(got, want) {
		t.Errorf("m1 methods = %v, want %v", got, want)
	}
	if got, want := names(sc.Machines[1].Methods), []string{"go:", "halt:"}; !slices.Equal(got, want) {
		t.Errorf("m2 methods = %v, want %v", got, want)
	}
	hist := func(m *Machine) []bool {
		var out []bool
		for _, tag := range m.Tags {
			out = append(out, tag.Historized())
		}
		return out
	}
	if got, want := hist(&sc.Machines[0]), []bool{false, true, false}; !slices.Equal(got, want) {
		t.Errorf("m1 historizing = %v, want %v", got, want)
	}
	if got, want := hist(&sc.Machines[1]), []bool{true, true}; !slices.Equal(got, want) {
		t.Errorf("m2 historizing = %v, want %v", got, want)
	}
	// Every shipped machine has start, stop and reset (not the MES
	// objects of the context section: they have nothing to start).
	for _, name := range Examples() {
		ex, err := Example(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ex.Machines {
			if slices.Contains(ex.ContextMachines(), m.Name) {
				continue
			}
			for _, want := range []string{"start", "stop", "reset"} {
				if !slices.ContainsFunc(m.Methods, func(x Method) bool { return x.Name == want }) {
					t.Errorf("%s: machine %s has no %s method", name, m.Name, want)
				}
			}
		}
	}
}
