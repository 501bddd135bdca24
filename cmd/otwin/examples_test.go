package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/otwin/otwin/internal/testkit"
)

// asOtwin makes the test binary run as otwin (TestMain).
const asOtwin = "OTWIN_TEST_AS_OTWIN"

// otwinOnPath puts an "otwin" command that runs this test binary as otwin
// first on a PATH, and returns that PATH.
func otwinOnPath(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	script := "#!/bin/sh\n" + asOtwin + "=1 exec '" + exe + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "otwin"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin + string(os.PathListSeparator) + os.Getenv("PATH")
}

// TestCIExample runs examples/ci.sh as CI would, with this build of
// otwin (on free ports instead of the example's fixed ones): validate
// passes; verify names the sources file's three mistakes in a valid JUnit
// report; test judges the scenario's checks against
// otwin watch — three pass, the unpolled tag and the missing setpoint
// write fail — in a valid JUnit report and JSON; the script exits 1.
func TestCIExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CI example: about 20 s")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(exampleOnFreePorts(t), "ci.sh"))
	cmd.Env = append(os.Environ(), "PATH="+otwinOnPath(t), "OUT="+out, "OTWIN_DATA_DIR="+t.TempDir())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("ci.sh: %v, want exit status 1\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), tail(stderr.String(), 3000))
	}
	text := stdout.String()
	for _, want := range []string{
		"== otwin validate", "== otwin verify", "== otwin test",
		"NODE_ID", "OFF_BY_ONE", "SCALE", "sources.yaml: 7 ok, 1 node_id, 1 off_by_one, 1 scale",
		"PASS    capper-reconnects", "FAIL    filler-polled", "filler1/fill_volume: never read or subscribed",
		"FAIL    slow-down-on-jam", "ci-line: 5 checks over 19s: 3 passed, 2 failed, 0 never fired, 0 undecided",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the script's output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "::error") {
		t.Errorf("validate annotated a problem:\n%s", text)
	}

	verifyXML, err := os.ReadFile(filepath.Join(out, "verify.xml"))
	if err != nil {
		t.Fatal(err)
	}
	rep := checkJUnit(t, verifyXML)
	if rep.tests != 10 || rep.failures != 3 {
		t.Errorf("verify.xml: %d tests, %d failures; want 10 and 3", rep.tests, rep.failures)
	}
	for _, kind := range []string{`type="node_id"`, `type="off_by_one"`, `type="scale"`} {
		if !strings.Contains(string(verifyXML), kind) {
			t.Errorf("verify.xml lacks a failure of %s", kind)
		}
	}

	checksXML, err := os.ReadFile(filepath.Join(out, "checks.xml"))
	if err != nil {
		t.Fatal(err)
	}
	rep = checkJUnit(t, checksXML)
	if rep.tests != 5 || rep.failures != 2 || rep.errors != 0 || rep.skipped != 0 {
		t.Errorf("checks.xml: %+v; want 5 tests, 2 failures", rep)
	}
	var doc struct {
		Passed  bool `json:"passed"`
		Results []struct {
			Name, Status string
		} `json:"results"`
	}
	b, err := os.ReadFile(filepath.Join(out, "checks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range doc.Results {
		got = append(got, r.Name+"="+r.Status)
	}
	want := []string{"capper-reconnects=passed", "filler-polled=failed", "setpoints-in-range=passed", "slow-down-on-jam=failed", "sessions=passed"}
	if doc.Passed || !slices.Equal(got, want) {
		t.Errorf("checks.json: passed %v, %v; want %v", doc.Passed, got, want)
	}
	if log, _ := os.ReadFile(filepath.Join(out, "command.log")); !strings.Contains(string(log), `"type":"sample"`) {
		t.Errorf("command.log holds no sample of otwin watch:\n%s", tail(string(log), 2000))
	}
}

// exampleOnFreePorts copies examples/ to a directory of the test with the
// fixed ports of line.yaml and sources.yaml (those a user's CI would
// keep) replaced by free ones, and returns that directory.
func exampleOnFreePorts(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples")
	dir := t.TempDir()
	fixed := []string{"48410", "48411", "50210"}
	var ports []string
	for _, p := range fixed {
		ports = append(ports, p, strconv.Itoa(testkit.FreePort(t)))
	}
	moved := strings.NewReplacer(ports...)
	for _, name := range []string{"ci.sh", "line.yaml", "sources.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if name != "ci.sh" {
			for _, p := range fixed {
				if !strings.Contains(text, p) {
					t.Fatalf("examples/%s has no port %s any more: change the ports this test moves", name, p)
				}
			}
			text = moved.Replace(text)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
