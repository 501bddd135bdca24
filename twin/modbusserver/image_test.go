package modbusserver

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/twin"
)

// TestReadSeesCompletedWrites: whatever changed a value — the engine
// directly (as an OPC UA write does), or a Modbus write on another
// connection — a read that starts after the change has returned sees it,
// while the engine ticks and other clients read concurrently.
func TestReadSeesCompletedWrites(t *testing.T) {
	e, err := twin.New(gridScenario(), twin.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go e.Run(ctx)
	s := startServer(t, e, Config{})
	i := tagIndex(t, e, "grid", "w_uint16")
	addr, order := uint16(e.Tags()[i].Modbus.Address), e.Tags()[i].Modbus.Order
	reader := dial(t, s.Addr(), 1, 2*time.Second)
	writer := dial(t, s.Addr(), 1, 2*time.Second)

	// Background readers keep the image's lock busy.
	var wg sync.WaitGroup
	for range 3 {
		c := dial(t, s.Addr(), 1, 2*time.Second)
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := c.ReadHoldingRegisters(0, 80); err != nil {
					t.Errorf("background read: %v", err)
					return
				}
			}
		})
	}
	for k := 1; k <= 300; k++ {
		want := uint16(k)
		if k%2 == 0 {
			if err := e.Write(i, want); err != nil {
				t.Fatal(err)
			}
		} else if _, err := writer.WriteSingleRegister(addr, binary.BigEndian.Uint16(encodeTest(beBytes(uint64(want), 2), order))); err != nil {
			t.Fatal(err)
		}
		b, err := reader.ReadHoldingRegisters(addr, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.BigEndian.Uint16(valueBytes(b, order)); got != want {
			t.Fatalf("write %d: a read after it returned %d", k, got)
		}
	}
	cancel()
	wg.Wait()
}

// TestServersShareOneWatcher: every server of one engine follows it
// through one hub, released when the last server closes.
func TestServersShareOneWatcher(t *testing.T) {
	e := newEngine(t, gridScenario())
	a, err := New(e, Config{Machines: []string{"grid"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(e, Config{Machines: []string{"second"}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if a.hub != b.hub || a.hub.refs != 2 {
		t.Fatalf("two servers of one engine: hubs %p %p (refs %d), want one shared", a.hub, b.hub, a.hub.refs)
	}
	a.Close()
	b.Close()
	hubs.Lock()
	_, left := hubs.m[Source(e)]
	hubs.Unlock()
	if left {
		t.Fatal("hub still registered after both servers closed")
	}
}
