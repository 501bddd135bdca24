package normalize

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

// alertState returns the state of alert kind:target, or -1 if it does not
// exist.
func alertState(n *Normalizer, kind AlertKind, target string) (AlertState, Alert) {
	a, ok := n.Alerts().Get(AlertID(kind, target))
	if !ok {
		return -1, a
	}
	return a.State, a
}

func TestRules(t *testing.T) {
	const tag = "site/l/m/v"
	base := func(r *Rules, interval time.Duration) Config {
		return Config{Points: []Point{{Source: "s", Address: "v", Asset: "site/l/m", Tag: "v", Range: &Range{0, 100}, Rules: r, Interval: interval}}}
	}
	type step struct {
		d      time.Duration
		raw    any
		status error
		src    time.Duration // source time offset from d (skew); 0 = same
		tick   bool          // Tick at d instead of a reading
		health *connectors.Health
		want   AlertState
	}
	tests := []struct {
		name   string
		cfg    Config
		kind   AlertKind
		target string
		steps  []step
		msg    string
	}{
		{
			name: "stale from interval", cfg: base(nil, time.Second), kind: AlertStale, target: tag,
			steps: []step{
				{d: 0, tick: true, want: -1},
				{d: time.Second, raw: 1.0, want: -1},
				{d: 5 * time.Second, tick: true, want: -1},
				{d: 7 * time.Second, tick: true, want: ActiveUnacked},
				{d: 8 * time.Second, raw: 2.0, want: RTNUnacked},
			},
			msg: "no update for 6s (limit 5s)",
		},
		{
			name: "stale explicit, never read", cfg: base(&Rules{Stale: 2 * time.Second}, 0), kind: AlertStale, target: tag,
			steps: []step{
				{d: 0, tick: true, want: -1},
				{d: 3 * time.Second, tick: true, want: ActiveUnacked},
			},
			msg: "no reading since start",
		},
		{
			name: "stale off for event-driven points", cfg: base(nil, 0), kind: AlertStale, target: tag,
			steps: []step{{d: 0, tick: true, want: -1}, {d: time.Hour, tick: true, want: -1}},
		},
		{
			name: "frozen", cfg: base(&Rules{Frozen: 10 * time.Second}, 0), kind: AlertFrozen, target: tag,
			steps: []step{
				{d: 0, raw: 5.0, want: -1},
				{d: 5 * time.Second, raw: 5.0, want: -1},
				{d: 10 * time.Second, raw: 5.0, want: ActiveUnacked},
				{d: 11 * time.Second, raw: 6.0, want: RTNUnacked},
				{d: 30 * time.Second, tick: true, want: ActiveUnacked},
			},
			msg: "unchanged for",
		},
		{
			name: "out of range", cfg: base(nil, 0), kind: AlertOutOfRange, target: tag,
			steps: []step{
				{d: 0, raw: 50.0, want: -1},
				{d: time.Second, raw: 120.0, want: ActiveUnacked},
				{d: 2 * time.Second, raw: 90.0, want: RTNUnacked},
			},
			msg: "value 120 above high limit 100",
		},
		{
			name: "spike", cfg: base(&Rules{Spike: 0.2}, 0), kind: AlertSpike, target: tag,
			steps: []step{
				{d: 0, raw: 10.0, want: -1},
				{d: time.Second, raw: 25.0, want: -1},
				{d: 2 * time.Second, raw: 60.0, want: ActiveUnacked},
				{d: 3 * time.Second, raw: 61.0, want: RTNUnacked},
			},
			msg: "jump of 35 from 25 to 60 (limit 20)",
		},
		{
			name: "spike absolute on a point without range", kind: AlertSpike, target: tag,
			cfg: Config{Points: []Point{{Source: "s", Address: "v", Asset: "site/l/m", Tag: "v", Rules: &Rules{Spike: 10}}}},
			steps: []step{
				{d: 0, raw: 100.0, want: -1},
				{d: time.Second, raw: 105.0, want: -1},
				{d: 2 * time.Second, raw: 120.0, want: ActiveUnacked},
			},
			msg: "jump of 15 from 105 to 120 (limit 10)",
		},
		{
			name: "default spike skips points without range", kind: AlertSpike, target: tag,
			cfg: Config{Defaults: Rules{Spike: 0.1}, Points: []Point{{Source: "s", Address: "v", Asset: "site/l/m", Tag: "v"}}},
			steps: []step{
				{d: 0, raw: 0.0, want: -1},
				{d: time.Second, raw: 1000.0, want: -1},
			},
		},
		{
			name: "spike disabled", cfg: base(&Rules{Spike: -1}, 0), kind: AlertSpike, target: tag,
			steps: []step{{d: 0, raw: 0.0, want: -1}, {d: time.Second, raw: 99.0, want: -1}},
		},
		{
			name: "bad quality", cfg: base(nil, 0), kind: AlertBadQuality, target: tag,
			steps: []step{
				{d: 0, raw: 1.0, want: -1},
				{d: time.Second, status: connectors.BadSensorFailure, want: ActiveUnacked},
				{d: 2 * time.Second, raw: 1.0, want: RTNUnacked},
			},
			msg: "Bad_SensorFailure",
		},
		{
			name: "failed request is per-tag bad quality", cfg: base(nil, 0), kind: AlertBadQuality, target: tag,
			steps: []step{
				{d: 0, status: errors.New("read holding 3 on s: i/o timeout"), want: ActiveUnacked},
				{d: 10 * time.Second, tick: true, want: ActiveUnacked},
			},
			msg: "i/o timeout",
		},
		{
			name: "failed request is no comm loss", cfg: base(nil, 0), kind: AlertCommLoss, target: "s",
			steps: []step{
				{d: 0, tick: true, want: -1},
				{d: time.Second, status: connectors.BadTimeout, want: -1},
				{d: 20 * time.Second, tick: true, want: -1},
			},
		},
		{
			name: "no communication behind a connected endpoint is per tag", cfg: base(nil, 0), kind: AlertBadQuality, target: tag,
			steps: []step{
				{d: 0, health: &connectors.Health{Source: "s", State: connectors.Connected}, want: -1},
				{d: time.Second, raw: 1.0, want: -1},
				{d: 2 * time.Second, status: connectors.BadNoCommunication, want: ActiveUnacked},
				{d: 3 * time.Second, raw: 1.0, want: RTNUnacked},
			},
			msg: "no communication behind s: Uncertain_NoCommunicationLastUsableValue",
		},
		{
			name: "no communication behind a connected endpoint is no comm loss", cfg: base(nil, 0), kind: AlertCommLoss, target: "s",
			steps: []step{
				{d: 0, health: &connectors.Health{Source: "s", State: connectors.Connected}, want: -1},
				{d: time.Second, status: connectors.BadNoCommunication, want: -1},
				{d: 20 * time.Second, health: &connectors.Health{Source: "s", State: connectors.Connected}, want: -1},
				{d: 21 * time.Second, tick: true, want: -1},
			},
		},
		{
			name: "uncertain quality", cfg: base(nil, 0), kind: AlertUncertain, target: tag,
			steps: []step{
				{d: 0, raw: 1.0, status: connectors.UncertainSensorNotAccurate, want: ActiveUnacked},
				{d: time.Second, raw: 1.0, want: RTNUnacked},
			},
		},
		{
			name: "decode error", cfg: base(nil, 0), kind: AlertDecode, target: tag,
			steps: []step{
				{d: 0, status: connectors.BadDecodingError, want: ActiveUnacked},
				{d: time.Second, raw: 1.0, want: RTNUnacked},
				{d: 2 * time.Second, status: connectors.BadConfigurationError, want: ActiveUnacked},
			},
		},
		{
			name: "clock skew per source", cfg: base(nil, 0), kind: AlertClockSkew, target: "s",
			steps: []step{
				{d: time.Minute, raw: 1.0, src: -2 * time.Second, want: -1},
				{d: 2 * time.Minute, raw: 1.0, src: -7 * time.Second, want: ActiveUnacked},
				{d: 3 * time.Minute, raw: 1.0, want: RTNUnacked},
			},
			msg: "clock skew: source clock 7s behind on site/l/m/v (limit 5s)",
		},
		{
			name: "comm loss from readings", cfg: base(nil, 0), kind: AlertCommLoss, target: "s",
			steps: []step{
				{d: 0, raw: 1.0, want: -1},
				{d: time.Second, status: connectors.BadNoCommunication, want: -1},
				{d: 3 * time.Second, tick: true, want: -1},
				{d: 6 * time.Second, tick: true, want: ActiveUnacked},
				{d: 7 * time.Second, raw: 1.0, want: RTNUnacked},
			},
			msg: "no answer for 5s (limit 5s)",
		},
		{
			name: "comm loss from health", cfg: base(&Rules{CommLoss: 2 * time.Second}, 0), kind: AlertCommLoss, target: "s",
			steps: []step{
				{d: 0, health: &connectors.Health{Source: "s", State: connectors.Connected, Since: at(0)}, want: -1},
				{d: time.Second, health: &connectors.Health{Source: "s", State: connectors.Down, Since: at(time.Second)}, want: -1},
				{d: 3 * time.Second, tick: true, want: ActiveUnacked},
				{d: 4 * time.Second, health: &connectors.Health{Source: "s", State: connectors.Connected, Since: at(4 * time.Second)}, want: RTNUnacked},
			},
		},
		{
			name: "sequence gaps", cfg: base(nil, 0), kind: AlertSequenceGap, target: "s",
			steps: []step{
				{d: 0, health: &connectors.Health{Source: "s", State: connectors.Connected}, want: -1},
				{d: time.Second, health: &connectors.Health{Source: "s", State: connectors.Connected, SequenceGaps: 3}, want: ActiveUnacked},
				{d: 2 * time.Second, health: &connectors.Health{Source: "s", State: connectors.Connected, SequenceGaps: 3}, want: RTNUnacked},
			},
			msg: "3 notifications missed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newN(t, tt.cfg)
			var last Alert
			for i, st := range tt.steps {
				switch {
				case st.tick:
					n.Tick(at(st.d), nil)
				case st.health != nil:
					n.Tick(at(st.d), nil)
					n.ObserveHealth(*st.health)
				default:
					r := rd("s", "v", st.raw, st.status, st.d)
					r.SourceTime = r.SourceTime.Add(st.src)
					n.Apply(r)
				}
				got, a := alertState(n, tt.kind, tt.target)
				if got != st.want {
					t.Fatalf("step %d: state %v, want %v (alert %+v)", i, got, st.want, a)
				}
				if got == ActiveUnacked && last.Message == "" {
					last = a
				}
			}
			if tt.msg != "" && !strings.Contains(last.Message, tt.msg) {
				t.Errorf("message %q lacks %q", last.Message, tt.msg)
			}
		})
	}
}

func TestStaleSample(t *testing.T) {
	n := newN(t, Config{Points: []Point{{Source: "s", Address: "v", Asset: "a", Tag: "v", Interval: time.Second}}})
	n.Tick(at(0), nil)
	n.Apply(rd("s", "v", 4.0, nil, time.Second))
	out := n.Tick(at(10*time.Second), nil)
	if len(out) != 1 {
		t.Fatalf("got %d samples", len(out))
	}
	s := out[0]
	if s.Status != connectors.UncertainLastUsableValue || s.Value != 4 || s.Seq != 2 || !s.SourceTime.Equal(at(time.Second)) {
		t.Fatalf("%+v", s)
	}
	if out = n.Tick(at(20*time.Second), nil); len(out) != 0 {
		t.Fatalf("stale sample repeated: %+v", out)
	}
}

// An unchanged value carries the time it last changed: the first
// notification of a subscription for a tag that has been steady for a
// minute is not clock skew, nor is a constant whose server timestamp is
// newer than its source time. A server timestamp, when present, is the
// reference for a fresh value; the endpoint's alert stays while any of its
// tags is skewed.
func TestClockSkewJudgesFreshValues(t *testing.T) {
	cfg := Config{Points: []Point{
		{Source: "s", Address: "a", Asset: "site/m", Tag: "a"},
		{Source: "s", Address: "b", Asset: "site/m", Tag: "b"},
	}}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	read := func(addr string, at, src, server time.Time) {
		n.Apply(connectors.Reading{Source: "s", Address: addr, Raw: 1.0, SourceTime: src, ServerTime: server, Received: at})
	}
	state := func() AlertState { st, _ := alertState(n, AlertClockSkew, "s"); return st }

	read("a", t0, t0.Add(-time.Minute), time.Time{}) // steady for a minute, first sample
	read("b", t0, t0.Add(-time.Minute), t0)          // a constant the server took a minute later
	if st := state(); st != -1 {
		t.Fatalf("first samples of steady tags raised skew: state %v", st)
	}
	read("a", t0.Add(time.Second), t0.Add(-time.Minute), time.Time{}) // same value re-read
	if st := state(); st != -1 {
		t.Fatalf("re-read of an unchanged value raised skew: state %v", st)
	}
	read("a", t0.Add(2*time.Second), t0.Add(-8*time.Second), time.Time{}) // a new value, 10s late
	if st := state(); st != ActiveUnacked {
		t.Fatalf("fresh value 10s behind: state %v, want active", st)
	}
	// b's next change is 30s behind its server's timestamp.
	read("b", t0.Add(3*time.Second), t0.Add(-27*time.Second), t0.Add(3*time.Second))
	// a is back in step; the endpoint stays skewed because of b.
	read("a", t0.Add(5*time.Second), t0.Add(5*time.Second), time.Time{})
	if st := state(); st != ActiveUnacked {
		t.Fatalf("skew cleared while b is 30s off its server: state %v", st)
	}
	read("b", t0.Add(6*time.Second), t0.Add(6*time.Second), t0.Add(6*time.Second))
	if st := state(); st != RTNUnacked {
		t.Fatalf("every tag back in step: state %v, want returned to normal", st)
	}
}

// A device clock that steps back: its values are still new by the server's
// clock, so they are kept (not dropped as out of order) and the skew shows.
func TestClockStepBackKeepsDataAndShowsSkew(t *testing.T) {
	n, err := New(Config{Points: []Point{{Source: "s", Address: "a", Asset: "site/m", Tag: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	apply := func(v float64, src, srv time.Time) bool {
		_, ok := n.Apply(connectors.Reading{Source: "s", Address: "a", Raw: v, SourceTime: src, ServerTime: srv, Received: srv})
		return ok
	}
	if !apply(1, t0, t0) || !apply(2, t0.Add(time.Second), t0.Add(time.Second)) {
		t.Fatal("in-step values dropped")
	}
	if !apply(3, t0.Add(-28*time.Second), t0.Add(2*time.Second)) {
		t.Fatalf("a value stamped 30s behind by a stepped-back clock was dropped (out of order: %d)", n.Stats().OutOfOrder)
	}
	if st, _ := alertState(n, AlertClockSkew, "s"); st != ActiveUnacked {
		t.Fatalf("clock skew state %v, want active", st)
	}
	if apply(4, t0.Add(-27*time.Second), t0.Add(time.Second+500*time.Millisecond)) {
		t.Fatal("a value older by the server's clock was kept")
	}
}
