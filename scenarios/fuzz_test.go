package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and must
// return either a scenario or Problems, never an internal error.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"*.yaml", "testdata/valid/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil {
			if s == nil {
				t.Fatal("Parse returned neither a scenario nor an error")
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("Parse error is not Problems: %v", err)
		}
		if strings.Contains(err.Error(), "internal error") {
			t.Fatalf("Parse recovered from a panic: %v", err)
		}
	})
}

// FuzzExprRefs feeds arbitrary expressions to ExprRefs: it must never
// panic, and what it returns must be sorted "machine/tag" names.
func FuzzExprRefs(f *testing.F) {
	for _, s := range []string{
		`speed * 0.5`, `state == "Running" ? 1 : 0`, `tag("m2/fill-level") + m3.torque`,
		`let x = a; x + b`, `all([a, b], # > 0)`, `max(a, b) / (c ?? 1)`, `m["x"] + t`,
		`{a: b}.a`, `a[1:2]`, `"x" in ["x", y]`, `a +* b`, `(`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		refs, err := ExprRefs("m1", src)
		if err != nil {
			return
		}
		for i, r := range refs {
			if !strings.Contains(r, "/") {
				t.Fatalf("ref %q has no machine", r)
			}
			if i > 0 && refs[i-1] >= r {
				t.Fatalf("refs not sorted and unique: %q", refs)
			}
		}
	})
}
