package uns

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/units"
)

func TestParseTopic(t *testing.T) {
	for _, tc := range []struct {
		topic, prefix string
		want          Topic
		bad           string // in the error
	}{
		{topic: "acme/plant1/filler1/speed", want: Topic{Kind: TopicSample, Path: "acme/plant1/filler1/speed"}},
		{topic: "acme/plant1/filler1/speed", prefix: "acme/", want: Topic{Kind: TopicSample, Path: "plant1/filler1/speed"}},
		{topic: "acme/plant1/filler1/speed/_alert/stale", want: Topic{Kind: TopicTagAlert, Path: "acme/plant1/filler1/speed", AlertKind: "stale"}},
		{topic: "acme/_otwin/edge1/status", want: Topic{Kind: TopicStatus, Prefix: "acme/", Node: "edge1"}},
		{topic: "_otwin/edge1/status", want: Topic{Kind: TopicStatus, Node: "edge1"}},
		{topic: "acme/site1/_otwin/edge1/health/plc-1", prefix: "acme/", want: Topic{Kind: TopicHealth, Prefix: "acme/site1/", Node: "edge1", Target: "plc-1"}},
		{topic: "_otwin/edge1/alert/comm_loss/plc-1", want: Topic{Kind: TopicOtherAlert, Node: "edge1", AlertKind: "comm_loss", Target: "plc-1"}},
		{topic: "_otwin/edge1/cmd", want: Topic{Kind: TopicCommand, Node: "edge1"}},
		{topic: "_otwin/edge1/scorecard", want: Topic{Kind: TopicScorecard, Node: "edge1"}},
		{topic: "x/_otwin/central/reply/r-1", want: Topic{Kind: TopicReply, Prefix: "x/", Node: "central", Target: "r-1"}},
		{topic: "spBv1.0/otwin/DDATA/edge1/filler1", want: Topic{Kind: TopicSparkplug}},
		{topic: "speed", bad: "two levels"},
		{topic: "a//b", bad: "empty level"},
		{topic: "a/b/", bad: "empty level"},
		{topic: "a/b", prefix: "c/", bad: "not under"},
		{topic: "a/_alert/b/c", bad: "_alert must be"},
		{topic: "a/b/_alert", bad: "_alert must be"},
		{topic: "x/_alert/stale", bad: "two levels"},
		{topic: "_otwin/edge1", bad: "want _otwin/<node>/status"},
		{topic: "_otwin/edge1/status/x", bad: "want _otwin"},
		{topic: "_otwin/edge1/health", bad: "want _otwin"},
		{topic: "_otwin/edge1/alert/stale", bad: "want _otwin"},
		{topic: "a/+/b", bad: "wildcard"},
	} {
		got, err := ParseTopic(tc.topic, tc.prefix)
		if tc.bad != "" {
			if err == nil || !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%q: err %v, want one about %q", tc.topic, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q under %q: %+v, %v; want %+v", tc.topic, tc.prefix, got, err, tc.want)
		}
	}
	// Every topic Topics builds parses back to what it was built from.
	tp, _ := NewTopics("acme/uns", "edge1")
	for topic, want := range map[string]Topic{
		tp.Sample("s/m/t"):                   {Kind: TopicSample, Path: "s/m/t"},
		tp.TagAlert("s/m/t", "stale"):        {Kind: TopicTagAlert, Path: "s/m/t", AlertKind: "stale"},
		tp.OtherAlert("plc", "comm_loss"):    {Kind: TopicOtherAlert, Prefix: "acme/uns/", Node: "edge1", AlertKind: "comm_loss", Target: "plc"},
		tp.Health("plc"):                     {Kind: TopicHealth, Prefix: "acme/uns/", Node: "edge1", Target: "plc"},
		tp.Status():                          {Kind: TopicStatus, Prefix: "acme/uns/", Node: "edge1"},
		tp.Command():                         {Kind: TopicCommand, Prefix: "acme/uns/", Node: "edge1"},
		tp.Scorecard():                       {Kind: TopicScorecard, Prefix: "acme/uns/", Node: "edge1"},
		tp.Reply("r/1"):                      {Kind: TopicReply, Prefix: "acme/uns/", Node: "edge1", Target: "r_1"},
		SparkplugTopic("g", "NCMD", "n", ""): {Kind: TopicSparkplug},
	} {
		prefix := "acme/uns/"
		if strings.HasPrefix(topic, SparkplugNamespace) {
			prefix = ""
		}
		got, err := ParseTopic(topic, prefix)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", topic, got, err, want)
		}
	}
}

func TestDecodeSampleRoundTrip(t *testing.T) {
	rpm, _ := units.Lookup("rpm")
	cases := []normalize.Sample{
		{Kind: normalize.Number, Value: 1180.5, Unit: rpm, Status: connectors.Good, SourceTime: t0,
			ServerTime: t0.Add(time.Millisecond), Received: t0.Add(8 * time.Millisecond), Source: "plc", Seq: 42},
		{Kind: normalize.Bool, Value: 1, Status: connectors.UncertainLastUsableValue, Err: "no update", Received: t0, Source: "plc", Seq: 1},
		{Kind: normalize.Text, Text: "batch \"7\"", Status: connectors.Good, Received: t0, Source: "plc", Seq: 2},
		{Kind: normalize.Number, Status: connectors.BadNoCommunication, Err: "lost", HasLastGood: true, LastGood: 3.5,
			LastGoodTime: t0, Received: t0.Add(time.Second), Source: "plc", Seq: 9},
		{Kind: normalize.Text, Status: connectors.BadNoCommunication, HasLastGood: true, LastGoodText: "idle",
			LastGoodTime: t0, Received: t0, Source: "plc", Seq: 3},
	}
	for i := range cases {
		want := cases[i]
		in, err := DecodeSample(AppendSample(nil, "edge1", &want), t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if in.Node != "edge1" || in.Extra || string(in.Context) != "{}" {
			t.Errorf("case %d: node %q extra %v context %s", i, in.Node, in.Extra, in.Context)
		}
		if !reflect.DeepEqual(in.Sample, want) {
			t.Errorf("case %d:\n got %+v\nwant %+v", i, in.Sample, want)
		}
	}
	// A number that is not finite is published null with its status.
	nan := normalize.Sample{Kind: normalize.Number, Value: math.NaN(), Status: connectors.Good, Received: t0}
	if in, err := DecodeSample(AppendSample(nil, "e", &nan), t0); err != nil || !math.IsNaN(in.Sample.Value) || in.Sample.Status != connectors.Good {
		t.Errorf("NaN: %+v, %v", in.Sample, err)
	}
}

// TestDecodeSampleOthers: what other publishers write is read as far as
// it goes, or refused with the field and the reason.
func TestDecodeSampleOthers(t *testing.T) {
	rcv := t0.Add(time.Minute)
	for _, tc := range []struct {
		payload string
		check   func(SampleIn) bool
		bad     string
	}{
		{payload: `{"value":21.5,"timestamp_ms":1796551200123}`, check: func(in SampleIn) bool {
			return in.Sample.Value == 21.5 && in.Sample.Status == connectors.Good && in.Sample.SourceTime.UnixMilli() == 1796551200123 && in.Sample.Received == rcv
		}},
		{payload: `{"value":null}`, check: func(in SampleIn) bool { return in.Sample.Status.IsBad() }},
		{payload: `{"value":1,"quality":"Uncertain","unit":"°C"}`, check: func(in SampleIn) bool {
			return in.Sample.Status == connectors.Uncertain && in.Sample.Unit.Code == "CEL"
		}},
		{payload: `{"value":1,"status":"Bad_NoCommunication"}`, check: func(in SampleIn) bool { return in.Sample.Status == connectors.BadNoCommunication }},
		{payload: `{"value":1,"unit":"widgets","unit_code":"ZZ9"}`, check: func(in SampleIn) bool {
			return in.Sample.Unit.Symbol == "widgets" && in.Sample.Unit.Code == "ZZ9"
		}},
		{payload: ` {"value":true,"colour":"red"} `, check: func(in SampleIn) bool { return in.Extra && in.Sample.Kind == normalize.Bool }},
		{payload: `{"value":1,"context":{"batch":"B7"}}`, check: func(in SampleIn) bool { return string(in.Context) == `{"batch":"B7"}` }},
		{payload: `not json`, bad: "not a JSON object"},
		{payload: `42`, bad: "not a JSON object"},
		{payload: ``, bad: "not a JSON object"},
		{payload: `{"value":1`, bad: "truncated JSON"},
		{payload: `{"value":1,}`, bad: "invalid JSON at byte"},
		{payload: `{"value":1}{}`, bad: "after the JSON object"},
		{payload: `{"timestamp_ms":1}`, bad: `no "value"`},
		{payload: `{"value":[1]}`, bad: "value: "},
		{payload: `{"value":{"v":1}}`, bad: "value: "},
		{payload: `{"value":1e999}`, bad: "out of range"},
		{payload: `{"value":1,"seq":"7"}`, bad: "seq: a JSON string, want a number"},
		{payload: `{"value":1,"seq":-1}`, bad: "seq"},
		{payload: `{"value":1,"status_code":true}`, bad: "status_code"},
		{payload: `{"value":1,"source_time":"yesterday"}`, bad: `source_time "yesterday"`},
		{payload: `{"value":1,"quality":"Fine"}`, bad: `quality "Fine"`},
		{payload: `{"value":1,"status":"Splendid"}`, bad: `status "Splendid"`},
		{payload: `{"value":1,"last_good":{}}`, bad: "last_good: "},
		{payload: `{"value":1,"colour":"red","seq":"x"}`, bad: "seq"},
	} {
		in, err := DecodeSample([]byte(tc.payload), rcv)
		if tc.bad != "" {
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%s: err %v, want ErrMalformed about %q", tc.payload, err, tc.bad)
			}
			continue
		}
		if err != nil || !tc.check(in) {
			t.Errorf("%s: %+v, %v", tc.payload, in, err)
		}
	}
}

func TestDecodeAlertHealthStatus(t *testing.T) {
	a := normalize.Alert{
		ID: "stale:a/b", Kind: normalize.AlertStale, Target: "a/b", Severity: normalize.SeverityMedium,
		State: normalize.ActiveAcked, Message: "no update for 12s", FirstActive: t0, LastActive: t0.Add(time.Second), Count: 2,
		AckedBy: "olga@central", AckedAt: t0.Add(2 * time.Second), Comment: "checked",
		Shelved: true, ShelvedUntil: t0.Add(time.Hour), ShelvedBy: "max", ShelveReason: "calibration",
	}
	ev := normalize.AlertEvent{What: normalize.EventShelved, At: t0.Add(3 * time.Second), User: "max", Comment: "calibration"}
	in, err := DecodeAlert(AlertPayload("edge1", &a, &ev))
	if err != nil {
		t.Fatal(err)
	}
	ev.AlertID, ev.State = a.ID, a.State
	if !reflect.DeepEqual(in.Alert, a) || in.Event != ev || in.Node != "edge1" || in.Extra {
		t.Errorf("alert\n got %+v %+v\nwant %+v %+v", in.Alert, in.Event, a, ev)
	}
	for payload, bad := range map[string]string{
		`{"id":"x:y","kind":"x","state":"on","severity":"low"}`:                                   `state "on"`,
		`{"id":"x:y","kind":"x","state":"normal","severity":"awful"}`:                             `severity "awful"`,
		`{"kind":"x","state":"normal","severity":"low"}`:                                          `"id"`,
		`{"id":"x:y","kind":"x","state":"normal","severity":"low","count":"1"}`:                   "count",
		`{"id":"x:y","kind":"x","state":"normal","severity":"low","event":{"at":"soon"}}`:         `event.at "soon"`,
		`{"id":"x:y","kind":"x","state":"normal","severity":"low","shelved":"yes"}`:               "shelved",
		`{"id":"x:y","kind":"x","state":"normal","severity":"low","first_active":"2026-13-01"}`:   "first_active",
		`{"id":"x:y","kind":"x","state":"normal","severity":"low","event":{"at":"","user":"u"},}`: "invalid character",
	} {
		if _, err := DecodeAlert([]byte(payload)); err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: err %v, want one about %s", payload, err, bad)
		}
	}

	h := connectors.Health{Source: "plc", Protocol: "modbus", Endpoint: "10.0.0.7:502", State: connectors.Down,
		Since: t0, LastError: errors.New("connection refused"), Latency: 1500 * time.Microsecond, Readings: 3, Errors: 2, Reconnects: 1, SequenceGaps: 4}
	got, extra, err := DecodeHealth(HealthPayload(&h))
	if err != nil || extra || got.LastError.Error() != "connection refused" {
		t.Fatalf("health: %+v %v %v", got, extra, err)
	}
	got.LastError, h.LastError = nil, nil
	if got != h {
		t.Errorf("health\n got %+v\nwant %+v", got, h)
	}
	for payload, bad := range map[string]string{
		`{"source":"p","state":"dizzy"}`:                 `state "dizzy"`,
		`{"state":"down"}`:                               `"source"`,
		`{"source":"p","state":"down","latency_ms":-1}`:  "latency_ms",
		`{"source":"p","state":"down","readings":-1}`:    "readings",
		`{"source":"p","state":"down","since":"monday"}`: "since",
	} {
		if _, _, err := DecodeHealth([]byte(payload)); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: err %v, want one about %s", payload, err, bad)
		}
	}

	st, since, _, err := DecodeStatus(StatusPayload("edge1", true, t0))
	if err != nil || st.State != "online" || st.Node != "edge1" || !since.Equal(t0) {
		t.Errorf("status: %+v %v %v", st, since, err)
	}
	if st, since, _, err := DecodeStatus(StatusPayload("edge1", false, time.Time{})); err != nil || st.State != "offline" || !since.IsZero() {
		t.Errorf("will: %+v %v %v", st, since, err)
	}
	if _, _, _, err := DecodeStatus([]byte(`{"state":"asleep"}`)); err == nil || !strings.Contains(err.Error(), "asleep") {
		t.Errorf("bad status: %v", err)
	}
}

func TestCommand(t *testing.T) {
	tp, _ := NewTopics("acme", "central")
	c := Command{RequestID: "r1", Action: ActionShelve, AlertID: "stale:a/b", User: "olga@central", Role: "operator",
		Comment: "calibration", ShelveSeconds: 3600, ReplyTo: tp.Reply("r1"),
		Sent: t0.Format(time.RFC3339Nano), Expires: t0.Add(30 * time.Second).Format(time.RFC3339Nano)}
	got, exp, err := DecodeCommand(c.Payload())
	if err != nil || got != c || !exp.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("command: %+v %v %v", got, exp, err)
	}
	bad := func(mod func(*Command), want string) {
		t.Helper()
		x := c
		mod(&x)
		if _, _, err := DecodeCommand(x.Payload()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err %v, want one about %q", x, err, want)
		}
	}
	bad(func(x *Command) { x.Action = "delete" }, `action "delete"`)
	bad(func(x *Command) { x.AlertID, x.User = "", " " }, "without alert_id, user")
	bad(func(x *Command) { x.ReplyTo = "acme/line1/filler1/speed" }, "not a reply topic")
	bad(func(x *Command) { x.ReplyTo = "acme/_otwin/central/reply/#" }, "not a reply topic")
	bad(func(x *Command) { x.Expires = "later" }, `expires "later"`)
	bad(func(x *Command) { x.ShelveSeconds = -5 }, "negative")
	bad(func(x *Command) { x.Comment = strings.Repeat("x", MaxCommand) }, "bytes (at most")

	r := Reply{RequestID: "r1", Node: "edge1", Error: "refused: trainers cannot acknowledge alerts"}
	gr, err := DecodeReply(r.Payload())
	if err != nil || gr != r || gr.Explain() == nil || gr.Explain().Error() != "edge1: refused: trainers cannot acknowledge alerts" {
		t.Errorf("reply: %+v %v", gr, err)
	}
	if _, err := DecodeReply([]byte(`{"request_id":"r1","ok":false}`)); err == nil {
		t.Error("a refusal without a reason accepted")
	}
}

// FuzzDecode: whatever a publisher puts on whatever topic, the topic
// parser and the decoder of its kind return a value or an error wrapping
// ErrOutside or ErrMalformed, never panic; a sample they accept
// publishes and reads back the same.
func FuzzDecode(f *testing.F) {
	s := normalize.Sample{Kind: normalize.Number, Value: 1.5, Status: connectors.Good, SourceTime: t0, Received: t0, Source: "plc", Seq: 1}
	a := normalize.Alert{ID: "stale:a/b", Kind: "stale", Target: "a/b", Severity: normalize.SeverityLow, State: normalize.ActiveUnacked}
	h := connectors.Health{Source: "plc", State: connectors.Connected}
	c := Command{RequestID: "r", Action: "ack", AlertID: "x", User: "u", ReplyTo: "_otwin/d/reply/r", Expires: t0.Format(time.RFC3339)}
	for _, seed := range []struct{ topic, payload string }{
		{"a/b/c", string(AppendSample(nil, "edge1", &s))},
		{"a/b/c/_alert/stale", string(AlertPayload("edge1", &a, &normalize.AlertEvent{What: "raised"}))},
		{"_otwin/edge1/health/plc", string(HealthPayload(&h))},
		{"_otwin/edge1/status", string(StatusPayload("edge1", true, t0))},
		{"_otwin/edge1/cmd", string(c.Payload())},
		{"_otwin/d/reply/r", `{"request_id":"r","ok":true}`},
		{"_otwin/edge1/scorecard", `{"type":"scorecard","node":"edge1","at":"2026-12-06T10:00:00Z","sites":[{"level":"site","asset":"s","completeness":1}]}`},
		{"a/b", `{"value":1,"context":{"work_order":"WO-1","since":"2026-12-06T10:00:00Z"}}`},
		{"a/b", `{"value":"x","last_good":"y","status":"Bad"}`},
		{"a//b", `{`}, {"a/b", `{"value":1e400}`}, {"a/b", "\xff"}, {"a/b", `{"value":null,"last_good":true}`},
	} {
		f.Add(seed.topic, []byte(seed.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		tp, err := ParseTopic(topic, "")
		if err != nil {
			if !errors.Is(err, ErrOutside) {
				t.Fatalf("topic %q: %v does not wrap ErrOutside", topic, err)
			}
		}
		check := func(err error) {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q %q: %v does not wrap ErrMalformed", topic, payload, err)
			}
		}
		// every decoder, whatever the topic said
		in, err := DecodeSample(payload, t0)
		check(err)
		if err == nil {
			again, err := DecodeSample(AppendSample(nil, in.Node, &in.Sample), t0)
			if err != nil {
				t.Fatalf("%q: accepted, published as %s, refused: %v", payload, AppendSample(nil, in.Node, &in.Sample), err)
			}
			if !sameSample(&again.Sample, &in.Sample) {
				t.Fatalf("%q: read back\n %+v\nfrom %+v", payload, again.Sample, in.Sample)
			}
		}
		_, err = DecodeAlert(payload)
		check(err)
		_, _, err = DecodeHealth(payload)
		check(err)
		_, _, _, err = DecodeStatus(payload)
		check(err)
		_, _, err = DecodeCommand(payload)
		check(err)
		_, err = DecodeReply(payload)
		check(err)
		_, _, err = DecodeScorecard(payload)
		check(err)
		_, err = DecodeContext(payload)
		check(err)
		_ = tp
	})
}

// sameSample compares what a sample payload carries: values (NaN equal
// to NaN), status, times to the nanosecond, unit code and symbol.
func sameSample(a, b *normalize.Sample) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	if a.Status.IsBad() != b.Status.IsBad() || a.Status != b.Status {
		return false
	}
	if !a.Status.IsBad() && (a.Kind != b.Kind || !eq(a.Value, b.Value) || a.Text != b.Text) {
		return false
	}
	return a.Err == b.Err && a.HasLastGood == b.HasLastGood && eq(a.LastGood, b.LastGood) && a.LastGoodText == b.LastGoodText &&
		a.LastGoodTime.Equal(b.LastGoodTime) && a.SourceTime.Equal(b.SourceTime) && a.ServerTime.Equal(b.ServerTime) &&
		a.Received.Equal(b.Received) && a.Source == b.Source && a.Seq == b.Seq && a.Unit.Code == b.Unit.Code && a.Unit.Symbol == b.Unit.Symbol
}
