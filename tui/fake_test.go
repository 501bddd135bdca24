package tui

import (
	"fmt"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// The fakes of the package's own tests (tests of pure UI logic; the
// external tests drive whole sessions on tuifake's plant).

var epoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return epoch }

// stub is a fixed in-memory Backend.
type stub struct {
	tags   []normalize.Sample
	alerts []normalize.Alert
	health []connectors.Health
	feed   *stubFeed
}

type stubFeed struct{ ch chan Update }

func (f *stubFeed) C() <-chan Update { return f.ch }
func (f *stubFeed) Close()           {}

func (b *stub) Subscribe() Feed {
	if b.feed == nil {
		b.feed = &stubFeed{ch: make(chan Update, 1)}
	}
	return b.feed
}
func (b *stub) Snapshot() []normalize.Sample                     { return b.tags }
func (b *stub) Alerts() []normalize.Alert                        { return b.alerts }
func (b *stub) AlertHistory(string) []normalize.AlertEvent       { return nil }
func (b *stub) Health() []connectors.Health                      { return b.health }
func (b *stub) Ack(string, string) error                         { return nil }
func (b *stub) Shelve(string, string, time.Duration, bool) error { return nil }
func (b *stub) Comment(string, string) error                     { return nil }
func (b *stub) Allowed(Permission) error                         { return nil }
func (b *stub) History(id string, dst []float64) []float64 {
	for i := 0; i < 60; i++ {
		dst = append(dst, float64((i*7+len(id))%13))
	}
	return dst
}

// generated returns n tags, 100 per machine, 20 machines per line.
func generated(n int) *stub {
	b := &stub{}
	for i := 0; i < n; i++ {
		m := i / 100
		asset := fmt.Sprintf("acme/site%d/area%d/line%02d/machine%03d", m/2000, m/400%5, m/20%20, m%20)
		tag := fmt.Sprintf("tag%04d", i%100)
		st := connectors.Good
		if i%97 == 0 {
			st = connectors.UncertainLastUsableValue
		}
		b.tags = append(b.tags, normalize.Sample{ID: asset + "/" + tag, Asset: asset, Tag: tag, Value: float64((i * 7919) % 1000),
			Status: st, Received: epoch.Add(-time.Duration(i%5000) * time.Millisecond), Address: fmt.Sprintf("holding:%d:float32:ABCD", i%10000)})
	}
	return b
}

type countingFeed struct{ stubFeed }

func (countingFeed) Dropped() uint64 { return 5 }

type countingStub struct{ *stub }

func (b countingStub) Subscribe() Feed { return &countingFeed{stubFeed{ch: make(chan Update)}} }

type stubFaults struct{}

func (stubFaults) Faults() ([]Fault, error) { return []Fault{{Name: "f1"}}, nil }
func (stubFaults) Inject(string) error      { return nil }
func (stubFaults) Clear(string) error       { return nil }

// stubTrainer is a fixed console; its actions do nothing.
type stubTrainer struct{}

func (stubTrainer) Exercises() []Exercise {
	return []Exercise{{Name: "a-rather-long-exercise-name-that-needs-cutting", Description: "d", Steps: 3, Fired: 1, Running: true}, {Name: "b", Steps: 1, Fired: 1}}
}
func (stubTrainer) StartExercise(string) error { return nil }
func (stubTrainer) Clock() (Clock, error) {
	return Clock{Elapsed: 100*time.Hour + time.Second, Speed: 0.25, Paused: true}, nil
}
func (stubTrainer) Pause() error                  { return nil }
func (stubTrainer) Resume() error                 { return nil }
func (stubTrainer) SetSpeed(float64) error        { return nil }
func (stubTrainer) WriteDebrief() (string, error) { return "x", nil }
func (stubTrainer) Scoreboard() []Score {
	return []Score{{User: "someone-with-a-long-name", Role: "maintenance", Online: true, AlertsSeen: 12345, Acks: 3, MeanAck: 2 * time.Hour, Refused: 2}}
}

// load is the message a console load of this trainer delivers.
func (t stubTrainer) load() consoleMsg {
	c, err := t.Clock()
	return consoleMsg{clock: c, clockErr: err, ex: t.Exercises(), scores: t.Scoreboard()}
}
