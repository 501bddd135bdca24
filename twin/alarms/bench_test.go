package alarms

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// benchScenario has n noisy tags on 10 machines and, with alarms, one
// limit alarm per tag (with deadband and delays, the dearest kind).
func benchScenario(b *testing.B, n int, withAlarms bool) *scenarios.Scenario {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("name: bench\ntick: 100ms\nmachines:\n")
	for m := range 10 {
		fmt.Fprintf(&sb, "  - name: m%d\n    tags:\n", m)
		for k := range n / 10 {
			fmt.Fprintf(&sb, "      - {name: t%d, model: {sine: {offset: 50, amplitude: 30, period: %ds}, noise: {stddev: 2}}}\n", k, 10+k%50)
		}
	}
	if withAlarms {
		sb.WriteString("alarms:\n")
		for m := range 10 {
			for k := range n / 10 {
				fmt.Fprintf(&sb, "  - {name: a%d-%d, tag: m%d/t%d, limits: {high_high: 85, high: 75, low: 25, low_low: 15}, deadband: 1, on_delay: 300ms, off_delay: 1s}\n", m, k, m, k)
			}
		}
	}
	sc, err := scenarios.Parse("bench.yaml", []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	return sc
}

// BenchmarkTickWithAlarms runs engine ticks of 1000 tags without alarms
// (the anchor) and with a limit alarm on every tag; the ratio of the two
// is the alarms' cost per tick.
func BenchmarkTickWithAlarms(b *testing.B) {
	for _, with := range []bool{false, true} {
		b.Run(fmt.Sprintf("alarms=%v", with), func(b *testing.B) {
			sc := benchScenario(b, 1000, with)
			quiet := slog.New(slog.DiscardHandler)
			e, err := twin.New(sc, twin.Options{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			var set *Set
			if with {
				if set, err = New(e, sc, Options{Logger: quiet}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				e.Step(1)
			}
			if set != nil {
				evs, _ := set.Events(0)
				b.ReportMetric(float64(len(evs))/float64(b.N), "events/tick")
			}
		})
	}
}
