package opcua

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

func TestPollMode(t *testing.T) {
	ts := sharedServer(t)
	a := func(n string) string { return nodeAddr("P." + n) }
	h := runConnector(t, Config{URL: ts.url(), Nodes: plantNodes("P."), Poll: true, PollInterval: 50 * time.Millisecond, Timeout: 2 * time.Second})

	h.waitFor(5*time.Second, "polled values", func(rs []connectors.Reading) bool {
		return hasValue(a("Temp"), float64(21.5))(rs) && hasValue(a("Recipe"), "A-42")(rs) && hasValue(a("Big"), uint64(65000))(rs)
	})
	// Polling repeats: several readings of an unchanged point.
	h.waitFor(5*time.Second, "three polls of Running", func(rs []connectors.Reading) bool {
		n := 0
		for _, r := range rs {
			if r.Address == a("Running") && r.Raw == true {
				n++
			}
		}
		return n >= 3
	})
	ts.set("P.Temp", goodValue(float64(30), time.Now()))
	ts.set("P.Count", statusValue(nil, ua.StatusBadOutOfService, time.Now()))
	rs := h.waitFor(5*time.Second, "new Temp and bad Count", func(rs []connectors.Reading) bool {
		_, bad := latest(rs, a("Count"), func(r connectors.Reading) bool { return r.Status != nil })
		return bad && hasValue(a("Temp"), float64(30))(rs)
	})
	bad, _ := latest(rs, a("Count"), func(r connectors.Reading) bool { return r.Status != nil })
	var sc connectors.StatusCode
	if !errors.As(bad.Status, &sc) || sc != connectors.BadOutOfService {
		t.Errorf("Count status %v, want Bad_OutOfService", bad.Status)
	}
	// Info rides on the first reading only.
	n := 0
	for _, r := range rs {
		if r.Address == a("Temp") && r.Info != nil {
			n++
			if !r.Info.HasUnit || r.Info.UnitSymbol != "°C" || !r.Info.HasRange {
				t.Errorf("Temp info %+v lacks unit or range", *r.Info)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d Temp readings carry Info, want 1", n)
	}
	if hl := h.c.Health(); hl.Latency <= 0 || hl.State != connectors.Connected {
		t.Errorf("health %+v: want connected with latency", hl)
	}
}

func TestBrowseRootDiscovery(t *testing.T) {
	ts := sharedServer(t)
	// One node is also configured explicitly: it keeps its configured
	// address and is not read twice.
	explicit := "nsu=" + testNS + ";s=Plant.Line1.Speed"
	h := runConnector(t, Config{URL: ts.url(), BrowseRoot: "nsu=" + testNS + ";s=Plant", Nodes: []string{explicit},
		PublishingInterval: 50 * time.Millisecond, Timeout: 2 * time.Second})

	wantPaths := map[string]string{
		nodeAddr("Plant.Line1.Temp"):  "Line1/Temp",
		explicit:                      "Line1/Speed",
		nodeAddr("Plant.Line2.Count"): "Line2/Count",
		nodeAddr("Plant.State"):       "State",
	}
	rs := h.waitFor(5*time.Second, "a value of every variable below the root", func(rs []connectors.Reading) bool {
		for a := range wantPaths {
			if _, ok := latest(rs, a, func(r connectors.Reading) bool { return r.Status == nil }); !ok {
				return false
			}
		}
		return true
	})
	seen := map[string]int{}
	for _, r := range rs {
		seen[r.Address]++
		if r.Info == nil {
			continue
		}
		if want, ok := wantPaths[r.Address]; !ok {
			t.Errorf("unexpected address %q", r.Address)
		} else if r.Info.BrowsePath != want {
			t.Errorf("%s: BrowsePath %q, want %q", r.Address, r.Info.BrowsePath, want)
		}
	}
	if len(seen) != len(wantPaths) {
		t.Errorf("addresses read: %v, want exactly %v", seen, wantPaths)
	}
	if r, _ := latest(rs, nodeAddr("Plant.Line2.Count"), nil); r.Raw != uint64(5) {
		t.Errorf("Count = %#v, want uint64 5", r.Raw)
	}
	if st := h.c.Stats(); st.Points != len(wantPaths) {
		t.Errorf("Stats.Points = %d, want %d", st.Points, len(wantPaths))
	}
}

func TestUnknownNamespaceAndNode(t *testing.T) {
	ts := sharedServer(t)
	missingNS := "nsu=urn:nowhere;s=X"
	missingNode := nodeAddr("NoSuchVar")
	h := runConnector(t, Config{URL: ts.url(), Nodes: []string{nodeAddr("U.Temp"), missingNS, missingNode},
		BrowseRoot: "nsu=urn:nowhere;s=Root", PublishingInterval: 50 * time.Millisecond, Timeout: 2 * time.Second})
	rs := h.waitFor(5*time.Second, "Temp and bad readings for the missing nodes", func(rs []connectors.Reading) bool {
		_, a := latest(rs, missingNS, func(r connectors.Reading) bool { return r.Status != nil })
		_, b := latest(rs, missingNode, func(r connectors.Reading) bool { return r.Status != nil })
		return a && b && hasValue(nodeAddr("U.Temp"), 21.5)(rs)
	})
	for _, a := range []string{missingNS, missingNode} {
		r, _ := latest(rs, a, nil)
		var sc connectors.StatusCode
		if !errors.As(r.Status, &sc) || !sc.IsBad() || r.Raw != nil {
			t.Errorf("%s: status %v raw %v, want a Bad status", a, r.Status, r.Raw)
		}
	}
	// The missing browse root is an error, not a reason to reconnect.
	if hl := h.c.Health(); hl.State != connectors.Connected || hl.Reconnects != 0 || hl.Errors == 0 {
		t.Errorf("health %+v: want connected, no reconnects, the browse root error counted", hl)
	}
}

// logLines records what a logger writes, line by line.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// count is the number of lines containing every one of parts.
func (l *logLines) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// Browsed variables whose values cannot be readings (a structure, an
// array) are left out with one log line each per connect; a configured
// point with such a value is read and says Bad_TypeMismatch.
func TestBrowseLeavesOutUnmappable(t *testing.T) {
	ts := sharedServer(t)
	logs := &logLines{}
	explicit := nodeAddr("Mixed.Pair")
	h := runConnector(t, Config{URL: ts.url(), BrowseRoot: "nsu=" + testNS + ";s=Mixed", Nodes: []string{explicit},
		PublishingInterval: 50 * time.Millisecond, Timeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	level := nodeAddr("Mixed.Level")
	rs := h.waitFor(5*time.Second, "the level and the configured structure", func(rs []connectors.Reading) bool {
		_, lv := latest(rs, level, func(r connectors.Reading) bool { return r.Raw == 7.5 })
		_, pr := latest(rs, explicit, nil)
		return lv && pr
	})
	if r, _ := latest(rs, explicit, nil); r.Status != connectors.BadTypeMismatch || r.Info == nil || r.Info.BrowsePath != "Pair" {
		t.Errorf("configured structure: status %v, info %+v; want Bad_TypeMismatch with its browse path", r.Status, r.Info)
	}
	for _, r := range rs {
		if r.Address != level && r.Address != explicit {
			t.Errorf("reading of %s (%v): it should have been left out", r.Address, r.Status)
		}
	}
	for _, n := range []string{"Mixed.Range", "Mixed.Samples"} {
		if c := logs.count("browsed variable left out", n); c != 1 {
			t.Errorf("%d log lines leaving out %s, want 1:\n%s", c, n, logs)
		}
	}
	if c := logs.count("left out", "Mixed.Pair"); c != 0 {
		t.Errorf("the configured structure was left out")
	}
	if c := logs.count("level=WARN"); c != 0 {
		t.Errorf("%d warnings:\n%s", c, logs)
	}
}
