package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// runValidate runs `otwin validate args...` and returns its output and
// error.
func runValidate(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runOtwin(t, append([]string{"validate"}, args...)...)
}

func TestValidateShipped(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("shipped scenarios: %v %v", files, err)
	}
	out, errOut, err := runValidate(t, files...)
	if err != nil {
		t.Fatalf("validate shipped: %v\n%s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(files) {
		t.Fatalf("want %d lines, got:\n%s", len(files), out)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, files[i]+": ok (") || !strings.Contains(l, " machines, ") || !strings.HasSuffix(l, " tags)") {
			t.Errorf("line %q", l)
		}
	}
	out, _, err = runValidate(t, "--quiet", files[0])
	if err != nil || out != "" {
		t.Errorf("--quiet: %q, %v", out, err)
	}
}

func TestValidateBroken(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nmachines:\n  - name: m1\n    tags:\n      - name: a\n        unti: bar\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runValidate(t, "../../scenarios/cnc.yaml", bad, filepath.Join(dir, "missing.yaml"))
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err = %v, want exitError{1}", err)
	}
	if !strings.Contains(out, "cnc.yaml: ok") {
		t.Errorf("stdout %q", out)
	}
	want := bad + `:6:9: unknown field "unti" (did you mean "unit"?)`
	if !strings.Contains(errOut, want) {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("stderr %q lacks the missing file", errOut)
	}
}

var updateGolden = flag.Bool("update", false, "rewrite the golden files of cmd/otwin tests (testdata/validate/want.*)")

// validateFixtures are the files TestValidateFormats checks, in order: a
// valid scenario and sources file, a broken one of each (every problem
// reported at once), a file that is neither, and one that does not exist.
var validateFixtures = []string{
	"testdata/validate/scenario_ok.yaml",
	"testdata/validate/sources_ok.yaml",
	"testdata/validate/scenario_bad.yaml",
	"testdata/validate/sources_bad.yaml",
	"testdata/validate/neither.yaml",
	"testdata/validate/missing.yaml",
}

// TestValidateFormats: each output format of the fixtures is its golden
// file (-update rewrites them), exit status 1; the JUnit report has the
// JUnit XML structure, the JSON one the problems of each file with their
// positions, the github one a workflow command per problem.
func TestValidateFormats(t *testing.T) {
	for _, format := range validateFormats {
		t.Run(format, func(t *testing.T) {
			out, errOut, err := runValidate(t, append([]string{"--format", format}, validateFixtures...)...)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 1 {
				t.Fatalf("err = %v, want exitError{1}", err)
			}
			got := out
			if format == "text" {
				got = "--- stdout\n" + out + "--- stderr\n" + errOut
			} else if errOut != "" {
				t.Errorf("stderr %q, want nothing", errOut)
			}
			golden := filepath.Join("testdata", "validate", "want."+format)
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
			switch format {
			case "junit":
				suites := checkJUnit(t, []byte(out))
				if suites.tests != 12 || suites.failures != 10 || len(suites.suites) != len(validateFixtures) {
					t.Errorf("junit: %d tests, %d failures, %d suites; want 12, 10, %d", suites.tests, suites.failures, len(suites.suites), len(validateFixtures))
				}
			case "json":
				var rep struct {
					OK    bool        `json:"ok"`
					Files []fileCheck `json:"files"`
				}
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatal(err)
				}
				kinds := []string{kindScenario, kindSources, kindScenario, kindSources, kindUnknown, kindUnknown}
				problems := []int{0, 0, 2, 6, 1, 1}
				for i, f := range rep.Files {
					if f.Kind != kinds[i] || len(f.Problems) != problems[i] || f.OK != (problems[i] == 0) {
						t.Errorf("%s: kind %s, %d problems, ok %v; want %s, %d", f.File, f.Kind, len(f.Problems), f.OK, kinds[i], problems[i])
					}
					for _, p := range f.Problems {
						if p.Line == 0 && !strings.Contains(f.File, "missing") {
							t.Errorf("%s: problem without a line: %+v", f.File, p)
						}
					}
				}
			case "github":
				re := regexp.MustCompile(`^::error file=testdata/validate/[a-z_]+\.yaml(,line=\d+,col=\d+)?,title=otwin validate::\S.*$`)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != 10 {
					t.Errorf("%d annotations, want 10", len(lines))
				}
				for _, l := range lines {
					if !re.MatchString(l) {
						t.Errorf("not a workflow command: %q", l)
					}
				}
			}
		})
	}
}

// TestValidateBareDuration: in a sources file a duration written as a bare
// number is named at its own line:col, with what to write, and every other
// problem of the file is still reported.
func TestValidateBareDuration(t *testing.T) {
	_, errOut, _ := runValidate(t, "testdata/validate/sources_bad.yaml")
	for _, want := range []string{
		"sources_bad.yaml:2:10: duration 10 has no unit: write it with one, e.g. 10s or 10ms",
		"sources_bad.yaml:7:22: duration 1 has no unit",
		`sources_bad.yaml:8:7: unknown field "timout" (did you mean "timeout"?)`,
		`sources_bad.yaml:13:15: unknown unit "degX"`,
		"sources_bad.yaml:17:16: want a number, got a list",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// junitNode is an element of a JUnit report.
type junitNode struct {
	name     string
	attrs    map[string]string
	children []*junitNode
	text     string
}

// junitReport is what checkJUnit counted.
type junitReport struct {
	tests, failures, errors, skipped int
	suites                           []*junitNode
}

// junitSchema is the JUnit XML structure CI servers read (the Jenkins/Ant
// JUnit schema): per element, the attributes allowed (true: required) and
// the child elements allowed.
var junitSchema = map[string]struct {
	attrs    map[string]bool
	children []string
}{
	"testsuites": {map[string]bool{"name": false, "time": false, "tests": false, "failures": false, "errors": false, "disabled": false}, []string{"testsuite"}},
	"testsuite": {map[string]bool{"name": true, "tests": true, "failures": false, "errors": false, "skipped": false, "disabled": false,
		"time": false, "timestamp": false, "hostname": false, "id": false, "package": false, "file": false, "log": false, "url": false, "version": false, "group": false},
		[]string{"properties", "testcase", "system-out", "system-err"}},
	"properties": {map[string]bool{}, []string{"property"}},
	"property":   {map[string]bool{"name": true, "value": true}, nil},
	"testcase":   {map[string]bool{"name": true, "classname": false, "assertions": false, "time": false, "status": false}, []string{"skipped", "error", "failure", "system-out", "system-err"}},
	"failure":    {map[string]bool{"message": false, "type": false}, nil},
	"error":      {map[string]bool{"message": false, "type": false}, nil},
	"skipped":    {map[string]bool{"message": false}, nil},
	"system-out": {map[string]bool{}, nil},
	"system-err": {map[string]bool{}, nil},
}

// checkJUnit parses a JUnit XML report and checks it against the JUnit
// structure: element nesting, attributes (required ones present, counts
// non-negative integers, times decimals), and counts that add up (a
// suite's tests and failures are its cases and failed cases; the root's
// are the sums).
func checkJUnit(t *testing.T, data []byte) junitReport {
	t.Helper()
	rep, probs := junitProblems(data)
	for _, p := range probs {
		t.Error("junit: " + p)
	}
	return rep
}

// junitProblems is checkJUnit's work: the report's counts and every way
// it departs from the structure.
func junitProblems(data []byte) (junitReport, []string) {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*junitNode
	var root *junitNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			bad("not XML: %v", err)
			return junitReport{}, probs
		}
		switch x := tok.(type) {
		case xml.StartElement:
			n := &junitNode{name: x.Name.Local, attrs: map[string]string{}}
			for _, a := range x.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					bad("more than one root element")
					return junitReport{}, probs
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(x)
			}
		}
	}
	if root == nil || root.name != "testsuites" {
		bad("root element %v, want testsuites", root)
		return junitReport{}, probs
	}
	intAttr := func(n *junitNode, a string) int {
		v, ok := n.attrs[a]
		if !ok {
			return 0
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			bad("%s %s=%q is not a count", n.name, a, v)
		}
		return i
	}
	var walk func(n *junitNode)
	walk = func(n *junitNode) {
		s, ok := junitSchema[n.name]
		if !ok {
			bad("unknown element %s", n.name)
			return
		}
		for a, req := range s.attrs {
			if _, has := n.attrs[a]; req && !has {
				bad("%s lacks the required attribute %s", n.name, a)
			}
		}
		for a, v := range n.attrs {
			if _, known := s.attrs[a]; !known {
				bad("%s has an attribute %s the schema does not allow", n.name, a)
			}
			if a == "time" {
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					bad("%s time=%q is no decimal", n.name, v)
				}
			}
		}
		for _, c := range n.children {
			if !slices.Contains(s.children, c.name) {
				bad("%s inside %s", c.name, n.name)
			}
			walk(c)
		}
	}
	walk(root)
	rep := junitReport{}
	for _, s := range root.children {
		cases, failed, errored, skipped := 0, 0, 0, 0
		for _, c := range s.children {
			if c.name != "testcase" {
				continue
			}
			cases++
			outcomes := 0
			for _, x := range c.children {
				switch x.name {
				case "failure", "error":
					outcomes++
					if x.name == "failure" {
						failed++
					} else {
						errored++
					}
					if x.attrs["message"] == "" || strings.TrimSpace(x.text) == "" {
						bad("case %q: %s without message or text", c.attrs["name"], x.name)
					}
				case "skipped":
					outcomes++
					skipped++
				}
			}
			if outcomes > 1 {
				bad("case %q has %d of failure, error and skipped; at most one", c.attrs["name"], outcomes)
			}
		}
		if intAttr(s, "tests") != cases || intAttr(s, "failures") != failed || intAttr(s, "errors") != errored || intAttr(s, "skipped") != skipped {
			bad("suite %q says %s tests, %s failures, %s errors, %s skipped; has %d, %d, %d, %d", s.attrs["name"], s.attrs["tests"], s.attrs["failures"], s.attrs["errors"], s.attrs["skipped"], cases, failed, errored, skipped)
		}
		rep.tests += cases
		rep.failures += failed
		rep.errors += errored
		rep.skipped += skipped
		rep.suites = append(rep.suites, s)
	}
	if intAttr(root, "tests") != rep.tests || intAttr(root, "failures") != rep.failures || intAttr(root, "errors") != rep.errors {
		bad("testsuites says %s tests, %s failures, %s errors; suites add up to %d, %d, %d", root.attrs["tests"], root.attrs["failures"], root.attrs["errors"], rep.tests, rep.failures, rep.errors)
	}
	return rep, probs
}

// TestJUnitChecker: the structure check finds what breaks the JUnit
// structure (so that the format tests above can fail).
func TestJUnitChecker(t *testing.T) {
	good := `<testsuites tests="1" failures="1"><testsuite name="s" tests="1" failures="1"><testcase name="c" classname="k" time="0"><failure message="m" type="t">text</failure></testcase></testsuite></testsuites>`
	if _, probs := junitProblems([]byte(good)); len(probs) > 0 {
		t.Fatalf("a valid report: %v", probs)
	}
	for name, doc := range map[string]string{
		"not xml":        `<testsuites>`,
		"wrong root":     `<report/>`,
		"no suite name":  `<testsuites><testsuite tests="0"/></testsuites>`,
		"counts":         `<testsuites tests="2"><testsuite name="s" tests="2"><testcase name="c"/></testsuite></testsuites>`,
		"unknown attr":   `<testsuites><testsuite name="s" tests="1"><testcase name="c" file="x.go"/></testsuite></testsuites>`,
		"wrong nesting":  `<testsuites><testcase name="c"/></testsuites>`,
		"bad time":       `<testsuites time="soon"/>`,
		"empty failure":  `<testsuites tests="1" failures="1"><testsuite name="s" tests="1" failures="1"><testcase name="c"><failure/></testcase></testsuite></testsuites>`,
		"negative count": `<testsuites tests="-1"/>`,
		"error count":    `<testsuites tests="1" errors="0"><testsuite name="s" tests="1" errors="0"><testcase name="c"><error message="m">t</error></testcase></testsuite></testsuites>`,
		"skipped count":  `<testsuites tests="1"><testsuite name="s" tests="1"><testcase name="c"><skipped message="m"/></testcase></testsuite></testsuites>`,
		"two outcomes":   `<testsuites tests="1" failures="1"><testsuite name="s" tests="1" failures="1" skipped="1"><testcase name="c"><skipped/><failure message="m">t</failure></testcase></testsuite></testsuites>`,
	} {
		if _, probs := junitProblems([]byte(doc)); len(probs) == 0 {
			t.Errorf("%s: no problem found in %s", name, doc)
		}
	}
}
