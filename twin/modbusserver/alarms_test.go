package modbusserver

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/goburrow/modbus"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/alarms"
)

const alarmBitsScenario = `
name: mbalarms
tick: 100ms
machines:
  - name: m
    modbus: {port: 0, unit_id: 3}
    tags:
      - {name: x, writable: true, model: {constant: {value: 50}}, modbus: {table: holding, address: 0, type: int16}}
      - {name: d, type: bool, model: {constant: {value: true}}, modbus: {table: discrete, address: 0}}
faults:
  - {name: x-bad, kind: bad_quality, target: m/x}
alarms:
  - {name: x-high, tag: m/x, limits: {high: 80}, modbus: {discrete: 1}}
  - {name: x-sensor, tag: m/x, quality: bad, latch: true, modbus: {discrete: 3}}
`

// alarmBits serves alarmBitsScenario's machine with its alarms.
func alarmBits(t *testing.T) (*twin.Engine, *alarms.Set, *Server) {
	t.Helper()
	sc, err := scenarios.Parse("mbalarms.yaml", []byte(alarmBitsScenario))
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	set, err := alarms.New(e, sc, alarms.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return e, set, startServer(t, e, Config{Alarms: set})
}

// TestAlarmDiscreteInputs: an alarm's discrete input reads 1 from the
// tick it goes active, and a latched alarm's until it is reset; tags and
// alarms read in one block; a gap is refused as for tags.
func TestAlarmDiscreteInputs(t *testing.T) {
	e, set, s := alarmBits(t)
	c := dial(t, s.Addr(), 3, 2*time.Second)
	bits := func(addr, qty uint16) byte {
		t.Helper()
		b, err := c.ReadDiscreteInputs(addr, qty)
		if err != nil {
			t.Fatalf("read discrete %d+%d: %v", addr, qty, err)
		}
		return b[0]
	}
	if got := bits(0, 2); got != 0b01 {
		t.Fatalf("discrete 0-1 = %02b, want 01 (d true, x-high clear)", got)
	}
	x, _ := e.Lookup("m/x")
	if err := e.Write(x, 90.0); err != nil {
		t.Fatal(err)
	}
	e.Step(1)
	if got := bits(0, 2); got != 0b11 {
		t.Fatalf("after x=90: discrete 0-1 = %02b, want 11", got)
	}
	// Address 2 is not mapped: a read over it is refused whole.
	var mbErr *modbus.ModbusError
	if _, err := c.ReadDiscreteInputs(0, 4); !errors.As(err, &mbErr) || mbErr.ExceptionCode != modbus.ExceptionCodeIllegalDataAddress {
		t.Fatalf("read over the gap: %v, want exception 2", err)
	}
	if err := e.InjectNamed("x-bad"); err != nil {
		t.Fatal(err)
	}
	e.Step(1)
	if got := bits(3, 1); got != 1 {
		t.Fatalf("x-sensor bit = %d under a bad_quality fault, want 1", got)
	}
	if err := e.Clear("x-bad"); err != nil {
		t.Fatal(err)
	}
	if err := e.Write(x, 50.0); err != nil {
		t.Fatal(err)
	}
	e.Step(1)
	if got := bits(1, 1); got != 0 {
		t.Fatalf("x-high bit = %d after x=50, want 0", got)
	}
	if got := bits(3, 1); got != 1 {
		t.Fatalf("latched x-sensor bit = %d, want 1 until reset", got)
	}
	i, _ := set.Lookup("x-sensor")
	if _, err := set.Reset(i, alarms.Action{User: "test"}); err != nil {
		t.Fatal(err)
	}
	if got := bits(3, 1); got != 0 {
		t.Fatalf("x-sensor bit = %d after reset, want 0", got)
	}
}

// TestAlarmDiscreteInputsMbpoll reads an alarm's bit with mbpoll, a
// Modbus client that is not ours (Debian's mbpoll; skipped without it).
func TestAlarmDiscreteInputsMbpoll(t *testing.T) {
	mbpoll, err := exec.LookPath("mbpoll")
	if err != nil {
		t.Skip("mbpoll is not installed (apt-get install mbpoll; .ci/run does)")
	}
	e, _, s := alarmBits(t)
	x, _ := e.Lookup("m/x")
	if err := e.Write(x, 95.0); err != nil {
		t.Fatal(err)
	}
	e.Step(1)
	host, port, _ := net.SplitHostPort(s.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// -t 1: discrete inputs; -r 1: the first reference (address 0), 1-based.
	out, err := exec.CommandContext(ctx, mbpoll, "-m", "tcp", "-a", "3", "-t", "1", "-r", "1", "-c", "2", "-p", port, "-1", host).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`\[(\d+)\]:\s+(\d)`).FindAllStringSubmatch(string(out), -1) {
		got[m[1]] = m[2]
	}
	if got["1"] != "1" || got["2"] != "1" {
		t.Fatalf("mbpoll read %v, want [1]=1 (d) and [2]=1 (x-high)\n%s", got, out)
	}
}
