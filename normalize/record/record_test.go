package record

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/recording"
)

// script is a connector that delivers given readings and changes its
// link state as told (a fake for the recorder's own logic; the end-to-end
// test in cmd/otwin records real connectors).
type script struct {
	readings []connectors.Reading
	mu       sync.Mutex
	state    connectors.LinkState
	goDown   chan struct{} // closed: the link goes down
	sent     chan struct{} // closed once it is down
}

func (s *script) Name() string { return "plc" }

func (s *script) Health() connectors.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return connectors.Health{Source: "plc", State: s.state, Since: time.Unix(50, 0), LastError: errors.New("dial: refused")}
}

func (s *script) Run(ctx context.Context, out chan<- connectors.Reading) error {
	for _, r := range s.readings {
		out <- r
	}
	<-s.goDown
	s.mu.Lock()
	s.state = connectors.Down
	s.mu.Unlock()
	close(s.sent)
	<-ctx.Done()
	return nil
}

// TestRecorderWritesWhatPasses: readings pass through unchanged and are
// recorded with their status codes, error texts (not for a bare status),
// three timestamps and point info; link state changes are recorded; a
// progress mark passes and is not recorded.
func TestRecorderWritesWhatPasses(t *testing.T) {
	at := time.Unix(100, 0)
	wrapped := &connectors.StatusError{Code: connectors.BadDeviceFailure, Err: errors.New("exception 4 (server device failure)")}
	in := []connectors.Reading{
		{Source: "plc", Address: "a", Raw: 1.5, Received: at, SourceTime: at.Add(-time.Second), ServerTime: at.Add(-time.Millisecond), Info: &connectors.PointInfo{DataType: "Double", Writable: true}},
		{Source: "plc", Address: "a", Raw: 2.5, Status: connectors.BadSensorFailure, Received: at.Add(time.Second)},
		{Source: "plc", Mark: true, Received: at.Add(1500 * time.Millisecond)},
		{Source: "plc", Address: "b", Status: wrapped, Received: at.Add(2 * time.Second)},
		{Source: "plc", Address: "b", Status: errors.New("decode: short"), Received: at.Add(3 * time.Second)},
		{Source: "plc", Address: "b", Status: connectors.NoCommunication(errors.New("dial: refused")), LinkDown: true, Received: at.Add(4 * time.Second)},
	}
	path := filepath.Join(t.TempDir(), "r.otwrec")
	rec, err := New(Options{Path: path, SourcesFile: "s.yaml", Sources: []byte("sources: []\n")})
	if err != nil {
		t.Fatal(err)
	}
	sc := &script{readings: in, state: connectors.Connected, goDown: make(chan struct{}), sent: make(chan struct{})}
	c := rec.Wrap(sc)
	out := make(chan connectors.Reading, len(in))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out) }()
	for i := range in {
		if got := <-out; got.Address != in[i].Address || got.Raw != in[i].Raw || got.Status != in[i].Status || got.Mark != in[i].Mark {
			t.Errorf("reading %d passed as %+v", i, got)
		}
	}
	close(sc.goDown)
	<-sc.sent
	// The wrapper looks at health every 250 ms; what it wrote is flushed
	// at each look. The assertions below say what is missing.
	testkit.Poll(5*time.Second, func() bool {
		r, _ := recording.ReadFile(path)
		if r != nil && len(r.Links) == 2 {
			return true
		}
		rec.w.Flush()
		return false
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := recording.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := r.Track("plc", "a"), r.Track("plc", "b")
	if a == nil || b == nil || len(a.Readings) != 2 || len(b.Readings) != 3 || rec.Readings() != 5 || len(r.Tracks) != 2 {
		t.Fatalf("tracks %+v %+v (%d tracks)", a, b, len(r.Tracks))
	}
	if x := a.Readings[0]; x.Value != 1.5 || !x.Source.Equal(at.Add(-time.Second)) || !x.Server.Equal(at.Add(-time.Millisecond)) || x.Status != 0 {
		t.Errorf("first reading %+v", x)
	}
	if string(a.Info) != `{"BrowsePath":"","DisplayName":"","Description":"","DataType":"Double","HasUnit":false,"UnitID":0,"UnitSymbol":"","HasRange":false,"Low":0,"High":0,"Writable":true}` {
		t.Errorf("info %s", a.Info)
	}
	if x := a.Readings[1]; x.Status != uint32(connectors.BadSensorFailure) || x.Err != "" || x.Value != 2.5 {
		t.Errorf("bad-status reading %+v: want the code, no error text", x)
	}
	if x := b.Readings[0]; x.Status != uint32(connectors.BadDeviceFailure) || x.Err != "exception 4 (server device failure)" {
		t.Errorf("status error reading %+v", x)
	}
	if x := b.Readings[1]; x.Status != uint32(connectors.BadUnexpectedError) || x.Err != "decode: short" {
		t.Errorf("plain error reading %+v", x)
	}
	if x := b.Readings[2]; !x.LinkDown || x.Status != uint32(connectors.BadNoCommunication) {
		t.Errorf("link-down reading %+v", x)
	}
	if len(r.Links) != 2 || r.Links[0].State != "connected" || r.Links[1].State != "down" || r.Links[1].Error != "dial: refused" {
		t.Errorf("links %+v", r.Links)
	}
	if len(r.Ends) != 1 || r.Ends[0].Reason != "closed" || r.Segments[0].Sources != "sources: []\n" {
		t.Errorf("ends %+v header %+v", r.Ends, r.Segments[0])
	}
}
