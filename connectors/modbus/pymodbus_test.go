package modbus

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
)

// pythonWithPymodbus finds a python3 that imports pymodbus, or skips.
func pythonWithPymodbus(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import pymodbus.server").Run() == nil {
			return path
		}
	}
	t.Skip("no python3 with pymodbus (Debian: python3-pymodbus)")
	return ""
}

// startPymodbus serves spec (table → address → value, see
// testdata/pymodbus_server.py) from a pymodbus server until the test ends
// and returns its address.
func startPymodbus(t *testing.T, spec map[string]map[string]any) string {
	t.Helper()
	py := pythonWithPymodbus(t)
	file := filepath.Join(t.TempDir(), "spec.json")
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 3; attempt++ {
		addr := testkit.FreeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		var logs bytes.Buffer
		cmd := exec.Command(py, "testdata/pymodbus_server.py", port, file)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				t.Logf("pymodbus server exited: %s", logs.String())
				deadline = time.Time{}
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				return addr
			}
			time.Sleep(20 * time.Millisecond) // polling for the server to listen
		}
	}
	t.Fatal("pymodbus server did not start")
	return ""
}

// TestPymodbus reads every pattern of decodeCases, and bits, from a
// pymodbus server, and finds the refused point of a sparse map by
// bisection: a third implementation of the protocol, not ours.
func TestPymodbus(t *testing.T) {
	hr, ir := map[string]any{}, map[string]any{}
	want := map[string]any{}
	var points []string
	addr := 0
	for _, tc := range decodeCases {
		r, _ := ParseRegister(tc.point)
		if r.Table.IsBit() {
			continue
		}
		wire, _ := hex.DecodeString(tc.wire)
		for i := 0; i < len(wire); i += 2 {
			v := binary.BigEndian.Uint16(wire[i:])
			hr[strconv.Itoa(addr+i/2)] = v
			ir[strconv.Itoa(1000+addr+i/2)] = v
		}
		_, rest, _ := strings.Cut(tc.point, ":0:")
		ph, pi := fmt.Sprintf("holding:%d:%s", addr, rest), fmt.Sprintf("input:%d:%s", 1000+addr, rest)
		points = append(points, ph, pi)
		want[ph], want[pi] = tc.want, tc.want
		addr += len(wire) / 2
	}
	co, di := map[string]any{}, map[string]any{}
	for i := range 20 {
		on := i%3 == 1
		co[strconv.Itoa(i)], di[strconv.Itoa(i)] = on, !on
		pc, pd := fmt.Sprintf("coil:%d:bool", i), fmt.Sprintf("discrete:%d:bool", i)
		points = append(points, pc, pd)
		want[pc], want[pd] = on, !on
	}
	// A sparse block: 300-301, 305, 310; 303 is configured but absent.
	for _, a := range []int{300, 301, 305, 310} {
		hr[strconv.Itoa(a)] = uint16(a)
	}
	for _, a := range []int{300, 301, 305, 310} {
		p := fmt.Sprintf("holding:%d:uint16", a)
		points = append(points, p)
		want[p] = uint64(a)
	}
	points = append(points, "holding:303:int16")

	srv := startPymodbus(t, map[string]map[string]any{"hr": hr, "ir": ir, "co": co, "di": di})
	r := start(t, Config{Name: "pymodbus", Address: srv, UnitID: 1, PollInterval: 20 * time.Millisecond, Points: points})
	for range 3 {
		p := r.poll()
		for a, w := range want {
			if rd := p[a]; rd.Status != nil || rd.Raw != w {
				t.Errorf("%s = %#v (%v), want %#v", a, rd.Raw, rd.Status, w)
			}
		}
		if rd := p["holding:303:int16"]; codeOf(rd.Status) != connectors.BadConfigurationError ||
			!strings.HasSuffix(rd.Status.Error(), "exception 2 (illegal data address)") {
			t.Errorf("absent register: %+v, want Bad_ConfigurationError saying exception 2", rd)
		}
	}
	if h := r.c.Health(); h.State != connectors.Connected || h.Reconnects != 0 {
		t.Errorf("health %+v", h)
	}
}
