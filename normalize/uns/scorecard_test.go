package uns

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
)

// TestScorecardPayload: a report published is read back the same, with
// its node; bad cards are refused naming the field.
func TestScorecardPayload(t *testing.T) {
	r := score.Report{At: t0, Window: 900,
		Sites:    []score.Card{{Level: score.LevelSite, Asset: "acme/plant1", From: t0.Add(-time.Minute), To: t0, Completeness: 0.5, Expected: 10, Received: 5, Validity: 1, Samples: 5, Good: 5, P95Age: 0.2, Availability: -1}},
		Machines: []score.Card{{Level: score.LevelMachine, Asset: "acme/plant1/l1/m1", Alerts: map[string]int{"stale": 2}}},
		Periods:  []score.Card{{Level: "batch", Asset: "acme/plant1/l1", Value: "B-1", From: t0}},
	}
	sc, extra, err := DecodeScorecard(ScorecardPayload("edge1", &r))
	if err != nil || extra || sc.Node != "edge1" || sc.Type != "scorecard" {
		t.Fatalf("read back: %+v extra %v err %v", sc, extra, err)
	}
	if !reflect.DeepEqual(sc.Report, r) {
		t.Errorf("report read back\n %+v\nwant %+v", sc.Report, r)
	}
	for payload, want := range map[string]string{
		`{"sites":[{"asset":"a"}]}`:                                      `"level" and "asset"`,
		`{"lines":[{"level":"line","asset":"a","completeness":1.5}]}`:    "completeness 1.5 out of [0, 1]",
		`{"machines":[{"level":"machine","asset":"a","validity":-0.5}]}`: "validity -0.5",
		`{"sites":"x"}`: "malformed",
		`[]`:            "not a JSON object",
	} {
		if _, _, err := DecodeScorecard([]byte(payload)); err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error about %q", payload, err, want)
		}
	}
}

// TestMergeScorecards: two collectors' reports side by side, sorted by
// asset, at the latest time and the longest window.
func TestMergeScorecards(t *testing.T) {
	a := score.Report{At: t0, Window: 60, Sites: []score.Card{{Asset: "b/site"}}, Lines: []score.Card{{Asset: "b/site/l"}},
		Periods: []score.Card{{Asset: "b/site/l", Level: "work_order"}, {Asset: "b/site/l", Level: "batch"}}}
	b := score.Report{At: t0.Add(time.Second), Window: 900, Sites: []score.Card{{Asset: "a/site"}}, Machines: []score.Card{{Asset: "a/site/l/m"}}}
	m := MergeScorecards(a, b)
	if !m.At.Equal(b.At) || m.Window != 900 {
		t.Errorf("at %v window %v", m.At, m.Window)
	}
	if len(m.Sites) != 2 || m.Sites[0].Asset != "a/site" || m.Sites[1].Asset != "b/site" || len(m.Lines) != 1 || len(m.Machines) != 1 {
		t.Errorf("cards %+v", m)
	}
	if len(m.Periods) != 2 || m.Periods[0].Level != "work_order" || m.Periods[1].Level != "batch" {
		t.Errorf("a line's periods not in their report's order: %+v", m.Periods)
	}
}

// TestDecodeContext: the context object of a payload is the context
// published; an empty one is none; a cache hands out one context per
// asset while its object stays the same.
func TestDecodeContext(t *testing.T) {
	var v [ctxrole.N]string
	v[ctxrole.WorkOrder.Index()], v[ctxrole.Product.Index()], v[ctxrole.Shift.Index()] = "WO-4711", "cola", "A"
	want := normalize.NewContext(v, t0)
	s := normalize.Sample{Kind: normalize.Number, Value: 1, Received: t0, Context: want}
	in, err := DecodeSample(AppendSample(nil, "edge1", &s), t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeContext(in.Context)
	if err != nil || got.String() != want.String() || !got.Since.Equal(t0) || string(got.AppendJSON(nil)) != string(want.AppendJSON(nil)) {
		t.Fatalf("context %q since %v (%v), want %q", got, got.Since, err, want)
	}
	for _, raw := range []string{"", "null", "{}", ` {"since":"2026-12-06T10:00:00Z","other":"x"} `} {
		if c, err := DecodeContext([]byte(raw)); c != nil || err != nil {
			t.Errorf("%q: %v, %v; want no context", raw, c, err)
		}
	}
	for raw, why := range map[string]string{`{"batch":1}`: "context.batch: not a string", `{"since":"x"}`: "context.since", `[1]`: "not a JSON object"} {
		if _, err := DecodeContext([]byte(raw)); err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v, want an error about %q", raw, err, why)
		}
	}
	a := normalize.Alert{ID: "stale:a/b", Kind: "stale", Target: "a/b", Severity: normalize.SeverityLow, State: normalize.ActiveUnacked, Context: want}
	if ai, err := DecodeAlert(AlertPayload("edge1", &a, &normalize.AlertEvent{What: "raised"})); err != nil || ai.Alert.Context.String() != want.String() {
		t.Errorf("alert context %q (%v), want %q", ai.Alert.Context, err, want)
	}
	var cc ContextCache
	c1, _ := cc.Decode("a", in.Context)
	c2, _ := cc.Decode("a", in.Context)
	c3, _ := cc.Decode("b", in.Context)
	if c1 == nil || c1 != c2 || c3 == c1 {
		t.Errorf("cache: %p %p %p; want the first two the same, the third its own", c1, c2, c3)
	}
	if c4, _ := cc.Decode("a", []byte(`{"batch":"B-2"}`)); c4 == c1 || c4.Batch != "B-2" {
		t.Errorf("a changed context not decoded: %v", c4)
	}
}

// TestHelloFilters: a collector answers the hellos of dashboards under
// its prefix and under every shorter one, and each parses as a hello.
func TestHelloFilters(t *testing.T) {
	tp, _ := NewTopics("acme/site1", "edge1")
	want := []string{"_otwin/+/hello", "acme/_otwin/+/hello", "acme/site1/_otwin/+/hello"}
	if got := tp.HelloFilters(); !reflect.DeepEqual(got, want) {
		t.Errorf("filters %v, want %v", got, want)
	}
	none, _ := NewTopics("", "edge1")
	if got := none.HelloFilters(); !reflect.DeepEqual(got, want[:1]) {
		t.Errorf("without a prefix: %v", got)
	}
	dash, _ := NewTopics("acme", "central")
	if got, err := ParseTopic(dash.Hello(), "acme/"); err != nil || got.Kind != TopicHello || got.Node != "central" {
		t.Errorf("hello parsed as %+v, %v", got, err)
	}
}

// TestRelayedAlarmFlags: an alarm a collector relays from its server
// carries the server's retain, confirmable and confirmed flags to the
// reader.
func TestRelayedAlarmFlags(t *testing.T) {
	a := normalize.Alert{ID: "opcua_alarm:a/b/High", Kind: "opcua_alarm", Target: "a/b", Severity: normalize.SeverityHigh, State: normalize.Normal,
		Owner: &normalize.AlertOwner{Name: "plc-opcua", Ref: "nsu=urn:x;s=High", Retain: true, Confirmable: true, Current: true}}
	in, err := DecodeAlert(AlertPayload("edge1", &a, &normalize.AlertEvent{What: normalize.EventAcked}))
	if err != nil || !in.Retain || !in.Confirmable || in.Confirmed || in.Extra {
		t.Errorf("flags read back: %+v, %v", in, err)
	}
	a.Owner = nil
	if in, _ := DecodeAlert(AlertPayload("edge1", &a, &normalize.AlertEvent{What: normalize.EventRaised})); in.Retain || in.Confirmable {
		t.Errorf("the collector's own alert: %+v", in)
	}
}
