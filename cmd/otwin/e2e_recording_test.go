package main

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize/record"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/recording"
	"github.com/otwin/otwin/scenarios"
)

// recordRun runs the connectors of f through a recorder at path until tw
// has run until of simulated time, then closes the recording.
func recordRun(t *testing.T, tw *e2eTwin, f *sources.File, path string, until time.Duration) {
	t.Helper()
	text, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.New(record.Options{Path: path, SourcesFile: "sources.yaml", Sources: text, FlushEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	col, err := newCollectorWith(f, connectors.Env{DataDir: t.TempDir(), Logger: e2eLogger()}, isolate.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range col.Connectors {
		col.Connectors[i] = rec.Wrap(c)
	}
	col.Pipeline.Connectors = col.Connectors
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	waitUntil(t, until+30*time.Second, fmt.Sprintf("the twin to run %s", until), func() bool { return tw.Engine.Status().Elapsed.D() >= until })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	col.Store.Close()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
}

// pointingAt returns a copy of f whose sources read the replay served at
// eps: each source's endpoint is its machine's (the replay names machines
// after sources).
func pointingAt(t *testing.T, f *sources.File, eps []endpoint) *sources.File {
	t.Helper()
	text, _ := yaml.Marshal(f)
	g, err := sources.Parse("replay-sources.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g.Sources {
		s := &g.Sources[i]
		var ep *endpoint
		for k := range eps {
			if eps[k].Machine == sanitize(s.Name) {
				ep = &eps[k]
			}
		}
		if ep == nil {
			t.Fatalf("the replay serves no machine for source %s", s.Name)
		}
		switch c := s.Config.(type) {
		case *opcua.Config:
			c.URL = ep.URL
		case *modbus.Config:
			c.Address = ep.Address
		}
	}
	return g
}

// sample is a reading at an offset from its run's start.
type sample struct {
	at     time.Duration
	value  any
	status uint32
}

// samplesOf lists the readings of a track (link-down ones left out) at
// their offsets from start.
func samplesOf(tr *recording.Track, start time.Time) []sample {
	var out []sample
	for _, r := range tr.Readings {
		if !r.LinkDown {
			out = append(out, sample{r.Received.Sub(start), r.Value, r.Status})
		}
	}
	return out
}

// TestReplayOfTheBottlingLine records the bottling line through the
// production connectors (both protocols; a bad-quality fault and a Modbus
// comm loss on the way), makes the replay scenario of the recording
// (otwin scenario from-recording), serves it, and reads it with the same
// sources file pointed at the replay: every value and status code the
// connectors read from the replay is one the recording holds at that
// offset, the bad-quality span and the comm loss come back at their
// offsets, and every point is read.
func TestReplayOfTheBottlingLine(t *testing.T) {
	if testing.Short() {
		t.Skip("records and replays 6 s of the line")
	}
	const (
		run = 6 * time.Second
		tol = 500 * time.Millisecond // polls 100 ms apart, a 100 ms tick, scheduling
	)
	sc := shippedScenario(t, "bottling")
	sc.Timeline = []scenarios.Event{
		{At: scenarios.Duration(1500 * time.Millisecond), Fault: "product-temp-sensor-bad"},
		{At: scenarios.Duration(3 * time.Second), Clear: "product-temp-sensor-bad"},
		{At: scenarios.Duration(3500 * time.Millisecond), Fault: "labeler-offline"},
		{At: scenarios.Duration(5 * time.Second), Clear: "labeler-offline"},
	}
	orig := startE2ETwin(t, sc)
	f := exportFast(t, sc, orig.Endpoints)
	dir := t.TempDir()
	path := filepath.Join(dir, "bottling.otwrec")
	recordRun(t, orig, f, path, run)
	orig.Close()

	rec, err := recording.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	replaySc, _, notes, err := loadRecordingScenario(path, path, recordingScenarioOptions{})
	if err != nil {
		t.Fatalf("%v\nnotes: %v", err, notes)
	}
	if len(notes) > 0 {
		t.Errorf("points left out of the replay: %v", notes)
	}
	faults := 0
	for _, fl := range replaySc.Faults {
		if fl.Kind == scenarios.CommLoss && strings.HasPrefix(fl.Target, "labeler1-modbus") {
			faults++
		}
	}
	if faults != 1 {
		t.Errorf("replay scenario faults %+v: want the labeler's comm loss", replaySc.Faults)
	}
	replay := startE2ETwin(t, replaySc)
	again := filepath.Join(dir, "again.otwrec")
	recordRun(t, replay, pointingAt(t, f, replay.Endpoints), again, run)
	// The wall time of the replay's simulated time 0: its servers start
	// after the engine is built, so Status().Started is earlier.
	st := replay.Engine.Status()
	started := time.Now().Add(-st.Elapsed.D())
	got, err := recording.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}

	checked, statuses := 0, map[uint32]int{}
	for _, tr := range rec.Tracks {
		want := samplesOf(tr, rec.Start())
		g := got.Track(tr.Source, tr.Address)
		if g == nil || len(want) == 0 {
			t.Errorf("%s %s: read %v from the replay, recorded %d readings", tr.Source, tr.Address, g != nil, len(want))
			continue
		}
		bad := 0
		for _, s := range samplesOf(g, started) {
			if s.at < want[0].at+tol || s.at > run-tol {
				continue // before the recorded point's first reading, or past the recording
			}
			if !recordedNear(want, s, tol) {
				if bad++; bad <= 3 {
					t.Errorf("%s %s: the replay read %v (status 0x%08X) at %s; the recording has no such reading within %s of it", tr.Source, tr.Address, s.value, s.status, s.at, tol)
				}
				continue
			}
			checked++
			statuses[s.status]++
		}
	}
	t.Logf("%d readings of the replay compared; statuses %v", checked, statuses)
	if checked < 500 {
		t.Errorf("only %d readings of the replay compared", checked)
	}
	if statuses[0x808C0000] == 0 {
		t.Errorf("no Bad_SensorFailure read from the replay (statuses read: %v)", statuses)
	}
	if d, ok := linkDown(rec, "labeler1-modbus"); !ok {
		t.Errorf("the recording holds no link-down of labeler1-modbus: %+v", rec.Links)
	} else if r, ok := linkDown(got, "labeler1-modbus"); !ok || r.Sub(started) < d.Sub(rec.Start())-tol || r.Sub(started) > d.Sub(rec.Start())+3*time.Second {
		t.Errorf("the replay's link-down of labeler1-modbus at %v, recorded at %v", r.Sub(started), d.Sub(rec.Start()))
	}
}

// recordedNear reports whether a recorded reading with s's value and
// status was the point's current reading at some time within tol of
// s.at.
func recordedNear(want []sample, s sample, tol time.Duration) bool {
	for i, w := range want {
		end := time.Duration(1<<62 - 1)
		if i+1 < len(want) {
			end = want[i+1].at
		}
		if w.at <= s.at+tol && end >= s.at-tol && w.status == s.status && reflect.DeepEqual(w.value, s.value) {
			return true
		}
	}
	return false
}

// linkDown is when source's link first went down in rec.
func linkDown(rec *recording.Recording, source string) (time.Time, bool) {
	for _, l := range rec.Links {
		if l.Source == source && l.State == "down" {
			return l.Time, true
		}
	}
	return time.Time{}, false
}
