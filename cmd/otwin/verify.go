package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/datatype"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/verify"
	"github.com/otwin/otwin/twin/control"
)

func init() { register(newVerifyCmd) }

// verifyFormats are the output formats of verify.
var verifyFormats = []string{"text", "json", "junit", "github"}

// verifyOptions are verify's flags.
type verifyOptions struct {
	scenario, ready, format, dataDir string
	junit                            string
	rounds, step, portOffset         int
	allowMissing, quiet              bool
	timeout                          time.Duration
	logFlags                         logOptions
}

func newVerifyCmd() *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify SOURCES (--scenario S | --ready-file R)",
		Short: "Check a sources file against the twin's ground truth and name each mistake",
		Long: `verify reads every point of a sources file through the production connectors
while the twin runs, compares each value with the twin's ground truth over
several ticks, and names the mistake of every point that reads wrong: off by
one, a Modicon number written as an address, word or byte order swapped, wrong
type or width, scale or offset off by a power of ten, unit mislabelled, wrong
table, wrong unit id, unknown or wrong-namespace node id (with the nearest
match), and every twin tag no point reads.

With --scenario the twin runs in this process on 127.0.0.1, on the scenario's
own ports (plus --port-offset), so a sources file written for it reads it. With
--ready-file it checks a running 'otwin sim --ready-file R'. verify pauses the
twin's clock while it compares and steps it between rounds (it resumes the clock
afterwards when it was running).

It exits 0 when every point is right and every twin tag read, 1 when not, and 2
when it could not check (an unreachable twin, a broken sources file).`,
		Example: `  otwin verify sources.yaml --scenario bottling
  otwin sim bottling --ready-file twin.json --export-sources sources.yaml &
  otwin verify sources.yaml --ready-file twin.json --format junit > verify.xml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := o.run(cmd.Context(), args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
			var ee exitError
			if err != nil && !errors.As(err, &ee) {
				fmt.Fprintln(cmd.ErrOrStderr(), "otwin verify:", err)
				return exitError{2}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scenario, "scenario", "", "run the twin of this scenario (a file or a built-in example) in this process")
	f.StringVar(&o.ready, "ready-file", "", "check the running twin whose ready file this is (otwin sim --ready-file)")
	f.StringVar(&o.format, "format", "text", "output: text (a table), json, junit (JUnit XML) or github (workflow annotations)")
	f.IntVar(&o.rounds, "rounds", 4, "ticks compared (at least 2)")
	f.IntVar(&o.step, "step", 10, "ticks the twin runs between two rounds")
	f.IntVar(&o.portOffset, "port-offset", 0, "with --scenario: add N to every port of the scenario")
	f.BoolVar(&o.allowMissing, "allow-missing", false, "list twin tags no point reads, but do not fail for them")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "text format: list only what is wrong")
	f.StringVar(&o.junit, "junit", "", "also write a JUnit report to this file (whatever --format)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "give up on the twin's control API after this long per call")
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "directory for the OPC UA client certificate")
	o.logFlags.register(f)
	f.Lookup("log-level").DefValue, o.logFlags.level = "warn", "warn"
	return cmd
}

// run checks the sources file at path; the error is exitError{1} when a
// point is wrong, and any other error when it could not check.
func (o *verifyOptions) run(ctx context.Context, path string, stdout, stderr io.Writer) error {
	if !contains(verifyFormats, o.format) {
		return fmt.Errorf("--format %q: want %s", o.format, strings.Join(verifyFormats, ", "))
	}
	if (o.scenario == "") == (o.ready == "") {
		return errors.New("give the twin to check against: --scenario SCENARIO or --ready-file PATH (one of them)")
	}
	logger, closeLog, err := o.logFlags.logger(stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	f, err := sources.Load(path)
	if err != nil {
		return err
	}
	var (
		base, token string
		endpoints   []endpoint
	)
	if o.scenario != "" {
		sc, err := loadScenarioArg([]string{o.scenario})
		if err != nil {
			return err
		}
		rt, err := startTwin(ctx, sc, twinConfig{Host: "127.0.0.1", PortOffset: o.portOffset, DataDir: o.dataDir, Logger: logger.With("part", "twin")})
		if err != nil {
			return err
		}
		defer rt.Close()
		base, token, endpoints = rt.ControlURL, rt.ControlToken, rt.Endpoints
	} else {
		rf, err := readReadyFile(o.ready)
		if err != nil {
			return err
		}
		base, token, endpoints = rf.Control, cmp.Or(rf.Token, os.Getenv(control.TokenEnv)), rf.Endpoints
	}
	cl, err := control.NewClient(base, &http.Client{Timeout: o.timeout})
	if err != nil {
		return err
	}
	cl = cl.WithToken(token)
	tw := &twinControl{c: cl, timeout: o.timeout}
	// Fail fast, naming the URL, when the twin is not there.
	sctx, cancel := context.WithTimeout(ctx, o.timeout)
	_, err = cl.Status(sctx)
	cancel()
	if err != nil {
		if errors.Is(err, control.ErrUnreachable) {
			return fmt.Errorf("%w (is the twin running? start it with 'otwin sim --ready-file %s', or use --scenario)", err, orText(o.ready, "R"))
		}
		return err
	}
	rep, err := verify.Run(ctx, f, tw, verify.Options{
		Endpoints: verifyEndpoints(endpoints),
		Rounds:    o.rounds,
		StepTicks: o.step,
		Env:       connectors.Env{DataDir: o.dataDir, Logger: logger.With("part", "connectors")},
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	rep.File = path
	if err := writeVerifyReport(stdout, rep, o.format, o.allowMissing, o.quiet); err != nil {
		return err
	}
	if o.junit != "" {
		var b strings.Builder
		if err := verifyJUnit(rep, o.allowMissing).write(&b); err != nil {
			return err
		}
		if err := writeFileAtomic(o.junit, []byte(b.String())); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if !verifyPassed(rep, o.allowMissing) {
		return exitError{1}
	}
	return nil
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readReadyFile reads a twin's ready file.
func readReadyFile(path string) (readyFile, error) {
	var rf readyFile
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rf, fmt.Errorf("ready file %s: not there: is the twin running? ('otwin sim --ready-file %s' writes it once every server listens and removes it when it stops)", path, path)
	}
	if err != nil {
		return rf, fmt.Errorf("ready file: %w", err)
	}
	if err := json.Unmarshal(b, &rf); err != nil {
		return rf, fmt.Errorf("ready file %s: %w", path, err)
	}
	if rf.Control == "" {
		return rf, fmt.Errorf("ready file %s: no control URL (was the twin started with --control -?)", path)
	}
	return rf, nil
}

// verifyPassed says every result is right (missing tags aside when
// allowMissing).
func verifyPassed(rep *verify.Report, allowMissing bool) bool {
	for _, r := range rep.Results {
		if !r.OK() && !(allowMissing && r.Kind == verify.KindMissing) {
			return false
		}
	}
	return true
}

// verifyEndpoints converts the twin's endpoints for verify.
func verifyEndpoints(eps []endpoint) []verify.Endpoint {
	out := make([]verify.Endpoint, len(eps))
	for i, ep := range eps {
		out[i] = verify.Endpoint{Machine: ep.Machine, Protocol: ep.Protocol, URL: ep.URL, Address: ep.Address, UnitID: ep.UnitID}
	}
	return out
}

// twinControl is verify's Twin over the twin's control API.
type twinControl struct {
	c       *control.Client
	timeout time.Duration
}

func (t *twinControl) call(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return fn(ctx)
}

// Truth reads GET /v1/truth.
func (t *twinControl) Truth(ctx context.Context) (verify.Truth, error) {
	var tr control.Truth
	err := t.call(ctx, func(ctx context.Context) (err error) {
		tr, err = t.c.Truth(ctx)
		return err
	})
	if err != nil {
		return verify.Truth{}, err
	}
	return verifyTruth(tr), nil
}

// Pause pauses the clock, saying whether it was paused.
func (t *twinControl) Pause(ctx context.Context) (bool, error) {
	var was bool
	err := t.call(ctx, func(ctx context.Context) error {
		st, err := t.c.Status(ctx)
		if err != nil {
			return err
		}
		was = st.Paused
		_, err = t.c.Pause(ctx)
		return err
	})
	return was, err
}

// Resume resumes the clock.
func (t *twinControl) Resume(ctx context.Context) error {
	return t.call(ctx, func(ctx context.Context) error { _, err := t.c.Resume(ctx); return err })
}

// Step runs n ticks.
func (t *twinControl) Step(ctx context.Context, n int) error {
	return t.call(ctx, func(ctx context.Context) error { _, err := t.c.Step(ctx, n); return err })
}

// verifyTruth converts the control API's truth into verify's.
func verifyTruth(tr control.Truth) verify.Truth {
	out := verify.Truth{Scenario: tr.Scenario, Ticks: tr.Ticks, Tags: make([]verify.Tag, len(tr.Tags))}
	for i, t := range tr.Tags {
		unit := t.UnitCode
		if unit == "" {
			unit = t.Unit
		}
		vt := verify.Tag{ID: t.ID, Machine: t.Machine, Type: string(t.Type), Unit: unit, Status: t.Status, Value: truthValue(t.Value, t.Type)}
		if t.OPCUA != nil {
			vt.OPCUA = &verify.Node{Namespace: t.OPCUA.Namespace, ID: t.OPCUA.NodeID}
		}
		if m := t.Modbus; m != nil {
			vt.Modbus = &verify.Register{UnitID: m.UnitID, Table: m.Table, Address: m.Address, Type: string(m.Type), Order: m.Order, Scale: m.Scale, Offset: m.Offset}
		}
		out.Tags[i] = vt
	}
	return out
}

// truthValue converts a JSON value of a tag of type typ: numbers exactly
// by the type (int64, uint64 or float64), bools and texts as they are.
func truthValue(v any, typ datatype.Type) any {
	n, ok := v.(json.Number)
	if !ok {
		if f, isF := v.(float64); isF {
			return f
		}
		return v // bool, string or nil
	}
	switch {
	case typ.Integer() && typ.Signed():
		if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return i
		}
	case typ.Integer():
		if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
			return u
		}
	}
	f, _ := n.Float64()
	return f
}

// writeVerifyReport writes rep in format.
func writeVerifyReport(w io.Writer, rep *verify.Report, format string, allowMissing, quiet bool) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "junit":
		return verifyJUnit(rep, allowMissing).write(w)
	case "github":
		for _, r := range rep.Results {
			if r.OK() {
				continue
			}
			level := "error"
			if allowMissing && r.Kind == verify.KindMissing {
				level = "warning"
			}
			msg := r.Message
			if r.Fix != "" {
				msg += " (fix: " + r.Fix + ")"
			}
			what := r.Point
			if what == "" {
				what = r.Tag
			}
			fmt.Fprintln(w, githubAnnotation(level, rep.File, r.Line, r.Col, "verify "+string(r.Kind)+": "+what, msg))
		}
		return nil
	}
	return rep.WriteText(w, quiet)
}

// verifyJUnit is rep as JUnit: one suite, one case per point and per
// twin tag no point reads.
func verifyJUnit(rep *verify.Report, allowMissing bool) *junitSuites {
	suite := junitSuite{Name: "verify " + rep.File}
	for _, r := range rep.Results {
		c := junitCase{Time: "0"}
		if r.Kind == verify.KindMissing {
			c.Name, c.Classname = r.Tag, "verify.missing"
		} else {
			c.Name, c.Classname = r.Point+" ("+r.Address+")", "verify."+r.Source
		}
		detail := fmt.Sprintf("%s: %s", position(rep.File, r.Line, r.Col), r.Message)
		if r.Fix != "" {
			detail += "\nfix: " + r.Fix
		}
		if r.Read != "" || r.Want != "" {
			detail += fmt.Sprintf("\nread %s, twin %s", orText(r.Read, "-"), orText(r.Want, "-"))
		}
		if r.OK() || (allowMissing && r.Kind == verify.KindMissing) {
			c.SystemOut = detail
		} else {
			c.Failure = &junitFailure{Message: r.Message, Type: string(r.Kind), Text: detail}
		}
		suite.Cases = append(suite.Cases, c)
	}
	j := &junitSuites{Name: "otwin verify"}
	j.add(suite)
	return j
}

// position formats file:line:col, leaving out what is unknown.
func position(file string, line, col int) string {
	switch {
	case line == 0:
		return file
	case col == 0:
		return fmt.Sprintf("%s:%d", file, line)
	}
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}
