package modbus

import (
	"context"
	"testing"
	"time"

	"github.com/tbrandon/mbserver"
)

// TestProbe reads single entries of every table from a server that is not
// ours (mbserver's memory and handlers): the bytes as on the wire, the
// exception code of a refused read, and a reconnect after the device
// went away and came back.
func TestProbe(t *testing.T) {
	ts := newTestServer(t)
	ts.mb.HoldingRegisters[5] = 0x1234
	ts.mb.InputRegisters[7] = 0xBEEF
	ts.mb.Coils[3] = 1
	ts.mb.DiscreteInputs[2] = 1
	ts.handlers[4] = refuse(mbserver.ReadInputRegisters, &mbserver.IllegalDataAddress, 9)
	ts.start("127.0.0.1:0")
	p := NewProbe(ts.addr(), time.Second)
	defer p.Close()
	ctx := context.Background()
	for _, c := range []struct {
		table Table
		addr  uint16
		want  []byte
	}{
		{Holding, 5, []byte{0x12, 0x34}},
		{Input, 7, []byte{0xBE, 0xEF}},
		{Coil, 3, []byte{1}},
		{Discrete, 2, []byte{1}},
		{Discrete, 1, []byte{0}},
	} {
		got, err := p.Read(ctx, 1, c.table, c.addr, 1)
		if err != nil || string(got) != string(c.want) {
			t.Errorf("%s %d: % x, %v; want % x", c.table, c.addr, got, err, c.want)
		}
	}
	_, err := p.Read(ctx, 1, Input, 9, 1)
	if code, ok := ExceptionCode(err); !ok || code != 2 {
		t.Errorf("refused read: %v (code %d, %v), want exception 2", err, code, ok)
	}
	if _, ok := ExceptionCode(context.Canceled); ok {
		t.Error("a plain error is an exception")
	}
	// The connection survives an exception; after the device restarts on
	// the same address, the next read reconnects.
	if got, err := p.Read(ctx, 1, Holding, 5, 1); err != nil || got[1] != 0x34 {
		t.Fatalf("after an exception: % x %v", got, err)
	}
	addr := ts.addr()
	ts.stop()
	if _, err := p.Read(ctx, 1, Holding, 5, 1); err == nil {
		t.Fatal("read from a stopped device succeeded")
	}
	ts2 := newTestServer(t)
	ts2.mb.HoldingRegisters[5] = 0x5678
	ts2.start(addr)
	if got, err := p.Read(ctx, 1, Holding, 5, 1); err != nil || got[0] != 0x56 {
		t.Errorf("after the restart: % x %v", got, err)
	}
}
