package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/internal/testkit"
)

// TestE2EBrowseFromObjects: the OPC UA connector browsing from the Objects
// folder (i=85) finds the twin's tags and the Server object's variables
// (leaving out its structures), and keeps receiving the twin's changes interval after interval on one
// connection. The Server object's ServerDiagnosticsSummary used to be a
// value the twin's OPC UA stack could not encode: the notification
// message carrying it was lost with the connector's only Publish request,
// and the connector reconnected at every timeout with no data between.
func TestE2EBrowseFromObjects(t *testing.T) {
	t.Parallel()
	sc := parseScenario(t, "e2ebrowse", twoProtocolScenario)
	tw := startE2ETwin(t, sc)
	f := exportFast(t, sc, tw.Endpoints)
	var url, counter string
	for _, s := range f.Sources {
		cfg, ok := s.Config.(*opcua.Config)
		if !ok {
			continue
		}
		url = cfg.URL
		for _, p := range s.Points {
			if p.Tag == "n" {
				counter = p.Address
			}
		}
	}
	if url == "" || counter == "" {
		t.Fatalf("no OPC UA endpoint with the counter tag in %+v", f.Sources)
	}
	const interval = 100 * time.Millisecond
	c, err := opcua.New(opcua.Config{Name: "browse", URL: url, BrowseRoot: "i=85",
		PublishingInterval: interval, Timeout: time.Second, Logger: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan connectors.Reading, 256)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var mu sync.Mutex
	values := map[any]bool{} // the counter's distinct values
	var linkDown, structures int
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-out:
				mu.Lock()
				switch {
				case r.LinkDown:
					linkDown++
				case r.Address == counter && r.Status == nil:
					values[r.Raw] = true
				case r.Address == "i=2256" || r.Address == "i=2275": // ServerStatus, ServerDiagnosticsSummary
					structures++
				}
				mu.Unlock()
			}
		}
	}()
	// The counter changes at every 100 ms tick: 30 distinct values take
	// about 30 publishing intervals, three times the timeout after which a
	// silent connection is dropped.
	testkit.Eventually(t, 20*time.Second, "30 values of the counter", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(values) >= 30
	})
	mu.Lock()
	defer mu.Unlock()
	if h := c.Health(); h.Reconnects != 0 || h.State != connectors.Connected || linkDown != 0 {
		t.Errorf("health %+v after %d link-down readings: want one connection throughout", h, linkDown)
	}
	if structures != 0 {
		t.Errorf("%d readings of the Server object's structures: browsed structures are left out", structures)
	}
}
