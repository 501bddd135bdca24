package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/spf13/cobra"

	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/scenarios"
)

func init() { register(newValidateCmd) }

// validateFormats are the output formats of validate.
var validateFormats = []string{"text", "json", "junit", "github"}

// The kinds of file validate recognises.
const (
	kindScenario = "scenario"
	kindSources  = "sources"
	kindUnknown  = "unknown"
)

// fileCheck is what validate found in one file.
type fileCheck struct {
	// File is the path as given.
	File string `json:"file"`
	// Kind is scenario, sources or unknown (neither, or unreadable).
	Kind string `json:"kind"`
	// OK says the file has no problem.
	OK bool `json:"ok"`
	// Summary counts what a valid file holds, e.g. "4 machines, 33 tags".
	Summary string `json:"summary,omitempty"`
	// Problems are every problem, in file order.
	Problems []fileProblem `json:"problems,omitempty"`
}

// fileProblem is one problem at a position (line and col 0 when it has
// none).
type fileProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// String is "file:line:col: message (hint)".
func (p fileProblem) String() string {
	s := position(p.File, p.Line, p.Col) + ": " + p.Message
	if p.Hint != "" {
		s += " (" + p.Hint + ")"
	}
	return s
}

// newValidateCmd builds `otwin validate FILE...`.
func newValidateCmd() *cobra.Command {
	var (
		quiet  bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario and sources files and report every problem with file:line:col",
		Long: `validate checks each file — a scenario or a sources file, recognised by what it
holds (a scenario has machines:, a sources file sources:) — as the twin or the
collector would load it, and reports every problem it finds at once (unknown
fields with a "did you mean", values of the wrong kind, durations without a
unit, dangling references, bad Modbus maps and addresses, node ids, units,
expression errors and cycles, ...) with file:line:col. It exits 1 when any
file has a problem.

--format text (the default) prints "FILE: ok (...)" on standard output and
each problem as file:line:col: message on standard error; json prints one
report of every file; junit a JUnit XML report (a suite per file, a failed
case per problem) for CI test viewers; github GitHub Actions workflow
commands (::error file=F,line=L,col=C::message) that annotate the file in a
pull request.`,
		Example: `  otwin validate scenarios/bottling.yaml my-line.yaml sources.yaml
  otwin validate --format junit *.yaml > validate.xml
  otwin validate --format github sources.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !contains(validateFormats, format) {
				return fmt.Errorf("--format %q: want %s", format, strings.Join(validateFormats, ", "))
			}
			checks := make([]fileCheck, len(args))
			failed := false
			for i, path := range args {
				checks[i] = checkFile(path)
				failed = failed || !checks[i].OK
			}
			if err := writeValidate(cmd.OutOrStdout(), cmd.ErrOrStderr(), checks, format, quiet); err != nil {
				return err
			}
			if failed {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "text format: print only problems")
	cmd.Flags().StringVar(&format, "format", "text", "output: text, json, junit (JUnit XML) or github (workflow commands)")
	return cmd
}

// checkFile reads path, recognises what it is and validates it.
func checkFile(path string) fileCheck {
	fc := fileCheck{File: path, Kind: kindUnknown}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("cannot read: %w", pe.Err)
		}
		fc.Problems = []fileProblem{{File: path, Message: err.Error()}}
		return fc
	}
	kind, why, err := fileKind(data)
	switch {
	case err != nil:
		// Not YAML: the scenario loader says where, as well as any.
		_, perr := scenarios.Parse(path, data)
		fc.Problems = scenarioProblems(path, perr)
		if len(fc.Problems) == 0 {
			fc.Problems = []fileProblem{{File: path, Message: err.Error()}}
		}
	case kind == kindScenario:
		fc.Kind = kind
		s, perr := scenarios.Parse(path, data)
		if perr != nil {
			fc.Problems = scenarioProblems(path, perr)
			break
		}
		tags := 0
		for _, m := range s.Machines {
			tags += len(m.Tags)
		}
		fc.Summary = plural(len(s.Machines), "machine") + ", " + plural(tags, "tag")
	case kind == kindSources:
		fc.Kind = kind
		f, perr := sources.Parse(path, data)
		if perr != nil {
			var se *sources.Error
			if errors.As(perr, &se) {
				for _, p := range se.Problems {
					fc.Problems = append(fc.Problems, fileProblem{File: p.File, Line: p.Line, Col: p.Col, Message: p.Msg})
				}
			} else {
				fc.Problems = []fileProblem{{File: path, Message: perr.Error()}}
			}
			break
		}
		points := 0
		for _, s := range f.Sources {
			points += len(s.Points)
		}
		fc.Summary = "sources file: " + plural(len(f.Sources), "source") + ", " + plural(points, "point")
	default:
		fc.Problems = []fileProblem{{File: path, Line: 1, Col: 1, Message: why}}
	}
	fc.OK = len(fc.Problems) == 0
	return fc
}

// scenarioProblems converts the scenario loader's error.
func scenarioProblems(path string, err error) []fileProblem {
	if err == nil {
		return nil
	}
	var ps scenarios.Problems
	if !errors.As(err, &ps) {
		return []fileProblem{{File: path, Message: err.Error()}}
	}
	out := make([]fileProblem, len(ps))
	for i, p := range ps {
		out[i] = fileProblem{File: p.File, Line: p.Line, Col: p.Col, Message: p.Msg, Hint: p.Hint}
	}
	return out
}

// fileKind recognises a file by its top-level keys: "sources" makes a
// sources file, a key only scenarios have (machines, templates, …) a
// scenario, "defaults" alone a sources file. why says what it is not when
// it is neither; err is a YAML syntax error.
func fileKind(data []byte) (kind, why string, err error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return "", "", err
	}
	keys := map[string]bool{}
	var order []string
	if len(f.Docs) > 0 && f.Docs[0].Body != nil {
		var values []*ast.MappingValueNode
		switch m := f.Docs[0].Body.(type) {
		case *ast.MappingNode:
			values = m.Values
		case *ast.MappingValueNode:
			values = []*ast.MappingValueNode{m}
		}
		for _, mv := range values {
			k := mv.Key.String()
			if !keys[k] {
				order = append(order, k)
			}
			keys[k] = true
		}
	}
	srcKeys, scKeys := yamlKeys(sources.File{}), yamlKeys(scenarios.Scenario{})
	if keys["sources"] {
		return kindSources, "", nil
	}
	for k := range keys {
		if scKeys[k] && !srcKeys[k] && k != "name" && k != "description" {
			return kindScenario, "", nil
		}
	}
	if keys["defaults"] {
		return kindSources, "", nil
	}
	if len(order) == 0 {
		return kindUnknown, `neither a scenario nor a sources file: the file holds no mapping (a scenario starts with name: and machines:, a sources file with sources:)`, nil
	}
	why = fmt.Sprintf("neither a scenario nor a sources file: a scenario has machines:, a sources file sources: (top-level keys here: %s)", strings.Join(order, ", "))
	for _, k := range order {
		for _, want := range []string{"machines", "sources"} {
			if d := sources.EditDistance(strings.ToLower(k), want); d > 0 && d <= 2 {
				return kindUnknown, why + fmt.Sprintf(`; did you mean %q for %q?`, want, k), nil
			}
		}
	}
	return kindUnknown, why, nil
}

// yamlKeys lists the yaml keys of a struct's fields.
func yamlKeys(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// writeValidate writes the checks in format: text to stdout (ok lines)
// and stderr (problems), every other format to stdout.
func writeValidate(stdout, stderr io.Writer, checks []fileCheck, format string, quiet bool) error {
	switch format {
	case "json":
		ok := true
		for _, c := range checks {
			ok = ok && c.OK
		}
		b, err := json.MarshalIndent(struct {
			OK    bool        `json:"ok"`
			Files []fileCheck `json:"files"`
		}{ok, checks}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	case "junit":
		return validateJUnit(checks).write(stdout)
	case "github":
		for _, c := range checks {
			for _, p := range c.Problems {
				msg := p.Message
				if p.Hint != "" {
					msg += " (" + p.Hint + ")"
				}
				fmt.Fprintln(stdout, githubAnnotation("error", p.File, p.Line, p.Col, "otwin validate", msg))
			}
		}
		return nil
	}
	for _, c := range checks {
		if c.OK {
			if !quiet {
				fmt.Fprintf(stdout, "%s: ok (%s)\n", c.File, c.Summary)
			}
			continue
		}
		for _, p := range c.Problems {
			fmt.Fprintln(stderr, p.String())
		}
	}
	return nil
}

// validateJUnit is the checks as JUnit: a suite per file, a failed case
// per problem, one passing case for a valid file.
func validateJUnit(checks []fileCheck) *junitSuites {
	j := &junitSuites{Name: "otwin validate"}
	for _, c := range checks {
		suite := junitSuite{Name: c.File}
		class := "validate." + c.Kind
		if c.OK {
			suite.Cases = append(suite.Cases, junitCase{Name: c.File, Classname: class, Time: "0", SystemOut: "ok (" + c.Summary + ")"})
		}
		seen := map[string]int{}
		for _, p := range c.Problems {
			name := position(p.File, p.Line, p.Col)
			// Case names stay unique in a suite.
			if seen[name]++; seen[name] > 1 {
				name += fmt.Sprintf(" #%d", seen[name])
			}
			msg := p.Message
			if p.Hint != "" {
				msg += " (" + p.Hint + ")"
			}
			suite.Cases = append(suite.Cases, junitCase{Name: name, Classname: class, Time: "0",
				Failure: &junitFailure{Message: msg, Type: c.Kind + " problem", Text: p.String()}})
		}
		j.add(suite)
	}
	return j
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
