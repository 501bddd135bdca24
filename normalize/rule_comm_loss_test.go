package normalize

import (
	"errors"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

func TestCommLossRule(t *testing.T) {
	health := func(st connectors.LinkState, d time.Duration) *connectors.Health {
		return &connectors.Health{Source: "s", State: st, Since: at(d)}
	}
	refused := connectors.NoCommunication(errors.New("dial 10.0.0.7:502 on s: connection refused"))
	runRuleTests(t, AlertCommLoss, []ruleTest{
		{
			name: "link-down readings, with their cause", target: "s",
			steps: []ruleStep{
				{d: 0, raw: 1.0, want: never},
				{d: time.Second, status: refused, lost: true, want: never},
				{d: 3 * time.Second, tick: true, want: never},
				{d: 6 * time.Second, tick: true, want: raised},
				{d: 7 * time.Second, raw: 1.0, want: cleared},
			},
			msg: "no answer for 5s (limit 5s): dial 10.0.0.7:502 on s: connection refused",
		},
		{
			name: "held time left out", target: "s",
			steps: []ruleStep{
				{d: 0, raw: 1.0, want: never},
				{d: time.Second, status: refused, lost: true, want: never},
				{d: 2 * time.Second, hold: true, want: never},
				{d: 30 * time.Second, tick: true, want: never},
				{d: 40 * time.Second, resume: true, want: never},
				{d: 43 * time.Second, tick: true, want: never},
				{d: 44 * time.Second, tick: true, want: raised},
			},
			msg: "no answer for 5s (limit 5s)",
		},
		{
			name: "no-communication readings while the link is not known up", target: "s",
			steps: []ruleStep{
				{d: time.Second, status: connectors.BadNoCommunication, want: never},
				{d: 3 * time.Second, tick: true, want: never},
				{d: 6 * time.Second, tick: true, want: raised},
				{d: 7 * time.Second, raw: 1.0, want: cleared},
			},
			msg: "no answer for 5s (limit 5s): Bad_NoCommunication",
		},
		{
			name: "from health", cfg: pointCfg(&Rules{CommLoss: 2 * time.Second}, 0), target: "s",
			steps: []ruleStep{
				{d: 0, health: health(connectors.Connected, 0), want: never},
				{d: time.Second, health: health(connectors.Down, time.Second), want: never},
				{d: 3 * time.Second, tick: true, want: raised},
				{d: 4 * time.Second, health: health(connectors.Connected, 4*time.Second), want: cleared},
			},
			msg: "no answer for 2s (limit 2s)",
		},
		{
			// A link-down reading still queued when the endpoint came back
			// is older than its return: it does not lose it again.
			name: "a queued link-down reading does not undo the return", target: "s",
			steps: []ruleStep{
				{d: time.Second, status: refused, lost: true, want: never},
				{d: 7 * time.Second, tick: true, want: raised},
				{d: 8 * time.Second, health: health(connectors.Connected, 8*time.Second), want: cleared},
				{d: 7500 * time.Millisecond, status: refused, lost: true, want: cleared},
				{d: 20 * time.Second, tick: true, want: cleared},
			},
		},
		{
			name: "a failed request is none", target: "s",
			steps: []ruleStep{
				{d: 0, tick: true, want: never},
				{d: time.Second, status: connectors.BadTimeout, want: never},
				{d: 20 * time.Second, tick: true, want: never},
			},
		},
		{
			name: "no communication behind a connected endpoint is none", target: "s",
			steps: []ruleStep{
				{d: 0, health: health(connectors.Connected, 0), want: never},
				{d: time.Second, status: connectors.BadNoCommunication, want: never},
				{d: 20 * time.Second, health: health(connectors.Connected, 0), want: never},
				{d: 21 * time.Second, tick: true, want: never},
			},
		},
		{
			name: "off", cfg: Config{Defaults: Rules{CommLoss: -1}, Points: pointCfg(nil, 0).Points}, target: "s",
			steps: []ruleStep{{d: 0, status: refused, lost: true, want: never}, {d: time.Hour, tick: true, want: never}},
		},
	})
}

// TestLostEndpointRaisesOnlyCommLoss: the alarm flood that must not be.
// When an endpoint is lost its tags show no communication at once (the
// last good value kept, Uncertain_NoCommunicationLastUsableValue; or
// Bad_NoCommunication when there is none) and the endpoint's comm_loss is
// the only condition raised, whatever rules its tags have; its return
// clears it and raises nothing.
func TestLostEndpointRaisesOnlyCommLoss(t *testing.T) {
	strict := &Rules{Stale: 2 * time.Second, Frozen: 3 * time.Second}
	n := newN(t, Config{Points: []Point{
		{Source: "s", Address: "a", Asset: "site/m", Tag: "a", Range: &Range{0, 100}, Rules: strict},
		{Source: "s", Address: "b", Asset: "site/m", Tag: "b", Interval: time.Second},
		{Source: "s", Address: "never", Asset: "site/m", Tag: "never", Interval: time.Second},
		{Source: "other", Address: "c", Asset: "site/o", Tag: "c", Interval: time.Second},
	}})
	log := newCondLog(t)
	var out Output
	n.Tick(at(0), &out)
	for _, addr := range []string{"a", "b"} {
		n.Apply(rd("s", addr, 42.0, nil, 500*time.Millisecond), &out)
	}
	n.ObserveHealth(connectors.Health{Source: "s", State: connectors.Connected, Since: at(0)}, &out)
	log.take(&out)
	out.Reset()

	// The connector loses the link: one link-down reading per address,
	// before its Health says so.
	cause := connectors.NoCommunication(errors.New("read input 0-9 on s (10.0.0.7:502 unit 1): EOF"))
	for _, addr := range []string{"a", "b", "never"} {
		n.Apply(connectors.Reading{Source: "s", Address: addr, Status: cause, Received: at(time.Second), LinkDown: true}, &out)
	}
	want := map[string]connectors.StatusCode{
		"site/m/a": connectors.UncertainNoCommunicationLastUsableValue, "site/m/b": connectors.UncertainNoCommunicationLastUsableValue,
		"site/m/never": connectors.BadNoCommunication,
	}
	if len(out.Samples) != 3 {
		t.Fatalf("%d samples, want 3", len(out.Samples))
	}
	for _, s := range out.Samples {
		if s.Status != want[s.ID] || s.Err != cause.Error() {
			t.Errorf("%s: %s %q, want %s saying why", s.ID, s.Status.Name(), s.Err, want[s.ID].Name())
		}
		if s.ID != "site/m/never" && (!s.HasLastGood || s.Value != 42 || s.LastGood != 42) {
			t.Errorf("%s: value %g, last good %v %g; want the last good 42", s.ID, s.Value, s.HasLastGood, s.LastGood)
		}
	}
	log.take(&out)
	out.Reset()
	// A minute of outage: Health down, ticks, a Modbus connector's
	// link-down readings at every poll.
	for d := 2 * time.Second; d <= time.Minute; d += time.Second {
		n.Tick(at(d), &out)
		n.ObserveHealth(connectors.Health{Source: "s", State: connectors.Down, Since: at(time.Second), LastError: errors.New("dial: refused")}, &out)
		n.Apply(connectors.Reading{Source: "s", Address: "b", Status: cause, Received: at(d), LinkDown: true}, &out)
		n.Apply(rd("other", "c", float64(d), nil, d), &out)
		log.take(&out)
		out.Reset()
	}
	if len(log.all) != 1 || log.all[0].ID() != "comm_loss:s" || !log.all[0].Active || !log.all[0].At.Equal(at(6*time.Second)) {
		t.Fatalf("conditions during the outage: %+v; want comm_loss:s alone, raised after 5s", log.all)
	}
	// Back: comm_loss clears at the first answer, and nothing else rises.
	n.Apply(rd("s", "a", 43.0, nil, 61*time.Second), &out)
	n.Apply(rd("s", "b", 43.0, nil, 61*time.Second), &out)
	n.ObserveHealth(connectors.Health{Source: "s", State: connectors.Connected, Since: at(61 * time.Second)}, &out)
	n.Tick(at(62*time.Second), &out)
	log.take(&out)
	if len(log.all) != 2 || log.all[1].ID() != "comm_loss:s" || log.all[1].Active || !log.all[1].At.Equal(at(61*time.Second)) {
		t.Fatalf("conditions: %+v; want comm_loss:s cleared at the first answer", log.all)
	}
}
