package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const slotsScenario = `name: slots
modbus: {max_connections: 3, idle_after: 1h}
machines:
  - name: m1
    modbus: {port: 0}
    tags:
      - {name: a, type: int16, modbus: {table: holding, address: 0}}
`

// liveModbus opens a connection and makes it live with one read; ok false
// when the server closes it instead of answering.
func liveModbus(t *testing.T, addr string) (net.Conn, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * time.Second))
	req := []byte{0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1}
	if _, err := c.Write(req); err != nil {
		return c, false
	}
	resp := make([]byte, 11)
	_, err = io.ReadFull(c, resp)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("no answer and no close within 3s")
	}
	return c, err == nil && binary.BigEndian.Uint16(resp) == 1
}

// TestModbusConnectionCaps: the scenario's modbus.max_connections caps the
// live connections of a port, and --modbus-max-conns overrides it.
func TestModbusConnectionCaps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags modbusFlags
		want  int
	}{
		{"scenario", modbusFlags{}, 3},
		{"flag", modbusFlags{maxConns: 2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parseScenario(t, "slots", slotsScenario)
			rt, err := startTwin(context.Background(), sc, twinConfig{Host: "127.0.0.1", Ephemeral: true,
				DataDir: t.TempDir(), Control: "-", Modbus: tc.flags, Logger: e2eLogger()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rt.Close() })
			addr := rt.Endpoints[0].Address
			for i := range tc.want {
				if _, ok := liveModbus(t, addr); !ok {
					t.Fatalf("connection %d of %d refused", i+1, tc.want)
				}
			}
			// Every slot holds a live connection (idle_after 1h): refused.
			if _, ok := liveModbus(t, addr); ok {
				t.Fatalf("connection %d served, want it refused", tc.want+1)
			}
		})
	}
}

func TestModbusFlagsChecked(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "slots.yaml")
	if err := os.WriteFile(file, []byte(slotsScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--modbus-max-conns", "-1"}, "--modbus-max-conns -1 is outside 1-10000"},
		{[]string{"--modbus-max-conns", "20000"}, "--modbus-max-conns 20000 is outside 1-10000"},
		{[]string{"--modbus-idle-after", "1us"}, "--modbus-idle-after 1µs is shorter than 1ms"},
	} {
		args := append([]string{"sim", file, "--ephemeral", "--control", "-", "--data-dir", dir}, tc.args...)
		out, err := otwin(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q; output %s", tc.args, err, tc.want, out)
		}
	}
}
