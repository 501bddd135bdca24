package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize/sources"
)

// TestWatchHeadlessStopsOnWriteError: `watch --headless` whose output
// cannot be written (here a full device) stops and says why, instead of
// running on with its events lost. Its one Modbus device does not answer, which gives sample
// events at every poll.
func TestWatchHeadlessStopsOnWriteError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	f, err := sources.Parse("sources.yaml", []byte(fmt.Sprintf(`
sources:
  - name: gone
    modbus: {address: "%s", poll_interval: 50ms, timeout: 100ms}
    points:
      - {register: "holding:0:int16", asset: site/m, tag: v}
`, addr)))
	if err != nil {
		t.Fatal(err)
	}
	col, err := newCollector(f, t.TempDir(), nil, e2eLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer col.Store.Close()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0) // every write: no space left on device
	if err != nil {
		t.Skipf("no /dev/full to write to: %v", err)
	}
	defer full.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = runHeadless(ctx, col, full)
	if ctx.Err() != nil {
		t.Fatalf("watch --headless ran on after its output failed (returned %v only when the test's deadline passed)", err)
	}
	if !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "watch --headless: write sample event: ") {
		t.Fatalf("error %v, want one saying the events could not be written and why", err)
	}
}
