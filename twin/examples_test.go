package twin

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// recorder is a slog handler that keeps warnings and errors.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	msg := rec.Message
	rec.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// TestShippedExamples runs every example scenario through the loader and
// the engine for ten simulated minutes: every expression must evaluate,
// every timeline event must play, and every named fault must inject.
func TestShippedExamples(t *testing.T) {
	for _, name := range scenarios.Examples() {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.Example(name)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			rec := &recorder{}
			e, err := New(sc, Options{Now: fixedNow, Logger: slog.New(rec)})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ticks := int(10 * 60 * 1e9 / int64(e.tick))
			e.Step(ticks)
			for _, f := range sc.Faults {
				if err := e.InjectNamed(f.Name); err != nil {
					t.Errorf("inject %s: %v", f.Name, err)
				}
			}
			e.Step(10)
			if len(rec.msgs) > 0 {
				t.Fatalf("warnings:\n%v", rec.msgs)
			}
			evs, _ := e.Events(0)
			played := 0
			for _, ev := range evs {
				if ev.Origin == "timeline" {
					played++
				}
			}
			var due int
			for _, ev := range sc.Timeline {
				if ev.At.D() <= e.elapsed {
					due++
				}
			}
			if played < due {
				t.Fatalf("%d timeline events logged, %d due", played, due)
			}
			t.Logf("%d tags, %d events, %d ticks", len(e.Tags()), len(evs), e.Status().Ticks)
		})
	}
}
