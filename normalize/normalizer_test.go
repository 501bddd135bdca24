package normalize

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/units"

	"github.com/otwin/otwin/connectors"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func testConfig() Config {
	return Config{
		Points: []Point{
			{Source: "plc", Address: "temp", Asset: "site/line1/oven", Tag: "temp", Unit: "degC", Range: &Range{0, 200}},
			{Source: "plc", Address: "scaled", Asset: "site/line1/oven", Tag: "scaled", Scale: 0.1, Offset: -5},
			{Source: "plc", Address: "clamped", Asset: "site/line1/oven", Tag: "clamped", Range: &Range{0, 10}, Clamp: true},
			{Source: "plc", Address: "db", Asset: "site/line1/oven", Tag: "db", Rules: &Rules{Deadband: 0.5}},
			{Source: "plc", Address: "srv", Asset: "site/line1/oven", Tag: "srv"},
			{Source: "mb", Address: "holding:10:float32:CDAB@unit=1", Asset: "site/line1/press", Tag: "force", Unit: "kN", Interval: time.Second},
		},
	}
}

func newN(t *testing.T, cfg Config) *Normalizer {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// apply applies r and returns its sample, if any.
func apply(n *Normalizer, r connectors.Reading) (Sample, bool) {
	var out Output
	if !n.Apply(r, &out) {
		return Sample{}, false
	}
	return out.Samples[0], true
}

func rd(src, addr string, raw any, status error, d time.Duration) connectors.Reading {
	return connectors.Reading{Source: src, Address: addr, Raw: raw, Status: status, SourceTime: at(d), Received: at(d)}
}

func TestApplyMapping(t *testing.T) {
	tests := []struct {
		name    string
		r       connectors.Reading
		ok      bool
		kind    Kind
		value   float64
		text    string
		status  connectors.StatusCode
		err     string
		id      string
		unitSym string
	}{
		{name: "float64", r: rd("plc", "temp", 21.5, nil, 0), ok: true, value: 21.5, status: connectors.Good, id: "site/line1/oven/temp", unitSym: "°C"},
		{name: "float32", r: rd("plc", "temp", float32(2.5), nil, 0), ok: true, value: 2.5, status: connectors.Good},
		{name: "int64", r: rd("plc", "temp", int64(42), nil, 0), ok: true, value: 42, status: connectors.Good},
		{name: "uint64", r: rd("plc", "temp", uint64(7), nil, 0), ok: true, value: 7, status: connectors.Good},
		{name: "int16", r: rd("plc", "temp", int16(-3), nil, 0), ok: true, value: -3, status: connectors.Good | connectors.UncertainEngineeringUnitsExceeded | connectors.LimitLow},
		{name: "bool", r: rd("plc", "srv", true, nil, 0), ok: true, kind: Bool, value: 1, status: connectors.Good},
		{name: "string", r: rd("plc", "srv", "RUN", nil, 0), ok: true, kind: Text, text: "RUN", status: connectors.Good},
		{name: "bytes", r: rd("plc", "srv", []byte("ab"), nil, 0), ok: true, kind: Text, text: "ab", status: connectors.Good},
		{name: "scale and offset", r: rd("plc", "scaled", int64(1000), nil, 0), ok: true, value: 95, status: connectors.Good},
		{name: "clamp high", r: rd("plc", "clamped", 12.0, nil, 0), ok: true, value: 10, status: connectors.GoodClamped | connectors.LimitHigh},
		{name: "clamp low", r: rd("plc", "clamped", -1.0, nil, 0), ok: true, value: 0, status: connectors.GoodClamped | connectors.LimitLow},
		{name: "above range", r: rd("plc", "temp", 250.0, nil, 0), ok: true, value: 250, status: connectors.UncertainEngineeringUnitsExceeded | connectors.LimitHigh},
		{name: "status code", r: rd("plc", "temp", nil, connectors.BadSensorFailure, 0), ok: true, status: connectors.BadSensorFailure},
		{name: "wrapped status code", r: rd("plc", "temp", nil, fmt.Errorf("read x: %w", connectors.BadDeviceFailure), 0), ok: true, status: connectors.BadDeviceFailure, err: "read x: "},
		{name: "plain error", r: rd("plc", "temp", nil, errors.New("connection reset"), 0), ok: true, status: connectors.BadCommunicationError, err: "connection reset"},
		{name: "uncertain from server keeps value", r: rd("plc", "temp", 5.0, connectors.UncertainSensorNotAccurate, 0), ok: true, value: 5, status: connectors.UncertainSensorNotAccurate},
		{name: "nil raw", r: rd("plc", "temp", nil, nil, 0), ok: true, status: connectors.BadDecodingError, err: "no value"},
		{name: "unsupported type", r: rd("plc", "temp", struct{}{}, nil, 0), ok: true, status: connectors.BadTypeMismatch, err: "unsupported value type struct {}"},
		{name: "unknown address", r: rd("plc", "nope", 1.0, nil, 0), ok: false},
		{name: "an address in another spelling is not the point's", r: rd("mb", "Holding:10:FLOAT32:cdab", 3.0, nil, 0), ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newN(t, testConfig())
			s, ok := apply(n, tt.r)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				if n.Stats().Unknown != 1 {
					t.Errorf("unknown not counted: %+v", n.Stats())
				}
				apply(n, tt.r)
				if u := n.TakeUnknown(); len(u) != 1 || u[0] != tt.r.Source+" "+tt.r.Address {
					t.Errorf("TakeUnknown = %q", u)
				}
				if u := n.TakeUnknown(); len(u) != 0 {
					t.Errorf("TakeUnknown again = %q", u)
				}
				return
			}
			if s.Kind != tt.kind || s.Value != tt.value || s.Text != tt.text || s.Status != tt.status {
				t.Errorf("got kind %v value %g text %q status %v; want %v %g %q %v", s.Kind, s.Value, s.Text, s.Status, tt.kind, tt.value, tt.text, tt.status)
			}
			if tt.err != "" && !strings.Contains(s.Err, tt.err) {
				t.Errorf("Err = %q, want it to contain %q", s.Err, tt.err)
			}
			if tt.id != "" && s.ID != tt.id {
				t.Errorf("ID = %q, want %q", s.ID, tt.id)
			}
			if tt.unitSym != "" && s.Unit.Symbol != tt.unitSym {
				t.Errorf("unit = %+v, want %s", s.Unit, tt.unitSym)
			}
			if s.Seq != 1 {
				t.Errorf("Seq = %d, want 1", s.Seq)
			}
		})
	}
}

func TestLastGoodKeptAndNoComm(t *testing.T) {
	n := newN(t, testConfig())
	apply(n, rd("plc", "temp", 20.0, nil, 0))
	s, _ := apply(n, rd("plc", "temp", nil, connectors.BadSensorFailure, time.Second))
	if s.Status != connectors.BadSensorFailure || s.Value != 0 || !s.HasLastGood || s.LastGood != 20 || !s.LastGoodTime.Equal(at(0)) {
		t.Fatalf("bad sample: %+v", s)
	}
	s, _ = apply(n, rd("plc", "temp", nil, connectors.BadNoCommunication, 2*time.Second))
	if s.Status != connectors.UncertainNoCommunicationLastUsableValue || s.Value != 20 || s.LastGood != 20 {
		t.Fatalf("no-comm with last value: %+v", s)
	}
	// Without a last value, Bad_NoCommunication stays bad.
	s, _ = apply(n, rd("plc", "scaled", nil, connectors.BadNoCommunication, 2*time.Second))
	if s.Status != connectors.BadNoCommunication || s.HasLastGood {
		t.Fatalf("no-comm without last value: %+v", s)
	}
	s, _ = apply(n, rd("plc", "temp", 21.0, nil, 3*time.Second))
	if s.Status != connectors.Good || s.Value != 21 || s.LastGood != 21 || s.Seq != 4 {
		t.Fatalf("recovered: %+v", s)
	}
}

func TestOutOfOrderDropped(t *testing.T) {
	n := newN(t, testConfig())
	if _, ok := apply(n, rd("plc", "temp", 1.0, nil, 10*time.Second)); !ok {
		t.Fatal("first dropped")
	}
	if _, ok := apply(n, rd("plc", "temp", 2.0, nil, 5*time.Second)); ok {
		t.Fatal("older sample emitted")
	}
	if n.Stats().OutOfOrder != 1 {
		t.Fatalf("stats %+v", n.Stats())
	}
	s, ok := apply(n, rd("plc", "temp", 3.0, nil, 10*time.Second))
	if !ok || s.Seq != 2 {
		t.Fatalf("same time: ok %v seq %d", ok, s.Seq)
	}
}

func TestDeadband(t *testing.T) {
	n := newN(t, testConfig())
	steps := []struct {
		v  float64
		ok bool
	}{{10, true}, {10.2, false}, {10.49, false}, {10.6, true}, {10.2, false}, {9.0, true}}
	for i, st := range steps {
		_, ok := apply(n, rd("plc", "db", st.v, nil, time.Duration(i)*time.Second))
		if ok != st.ok {
			t.Errorf("step %d (%g): ok %v, want %v", i, st.v, ok, st.ok)
		}
	}
	if n.Stats().Deadband != 3 {
		t.Errorf("deadband count %d, want 3", n.Stats().Deadband)
	}
}

func TestConvertFrom(t *testing.T) {
	n := newN(t, Config{Points: []Point{
		{Source: "s", Address: "f", Asset: "a", Tag: "f", Unit: "degC", ConvertFrom: "degF", Range: &Range{Low: 0, High: 90}},
		{Source: "s", Address: "p", Asset: "a", Tag: "p", Unit: "kPa", ConvertFrom: "bar", Scale: 0.01},
	}})
	s, _ := apply(n, rd("s", "f", 212.0, nil, 0))
	if math.Abs(s.Value-100) > 1e-9 || s.Unit.Code != "CEL" || s.Status != connectors.UncertainEngineeringUnitsExceeded|connectors.LimitHigh {
		t.Fatalf("degF→degC: %+v", s)
	}
	s, _ = apply(n, rd("s", "p", int64(250), nil, 0)) // 2.5 bar
	if math.Abs(s.Value-250) > 1e-9 || s.Unit.Code != "KPA" {
		t.Fatalf("bar→kPa: %+v", s)
	}
	for _, p := range []Point{
		{Source: "s", Address: "x", Asset: "a", Tag: "x", Unit: "degC", ConvertFrom: "bar"},
		{Source: "s", Address: "x", Asset: "a", Tag: "x", ConvertFrom: "bar"},
		{Source: "s", Address: "x", Asset: "a", Tag: "x", Unit: "bar", ConvertFrom: "nope"},
	} {
		if _, err := New(Config{Points: []Point{p}}); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestTypeMismatchAfterKindChange(t *testing.T) {
	n := newN(t, testConfig())
	apply(n, rd("plc", "srv", 1.0, nil, 0))
	var out Output
	n.Apply(rd("plc", "srv", "x", nil, time.Second), &out)
	s := out.Samples[0]
	if s.Status != connectors.BadTypeMismatch || s.Kind != Number || !s.HasLastGood {
		t.Fatalf("%+v", s)
	}
	if len(out.Conditions) != 1 || out.Conditions[0].ID() != AlertID(AlertDecode, "site/line1/oven/srv") ||
		out.Conditions[0].Message != "Bad_TypeMismatch: value type changed from number to text (string)" {
		t.Fatalf("conditions %+v, want the decode error", out.Conditions)
	}
}

func TestServerInfoUsedWhenPointHasNone(t *testing.T) {
	n := newN(t, testConfig())
	r := rd("plc", "srv", 150.0, nil, 0)
	r.Info = &connectors.PointInfo{HasUnit: true, UnitID: units.PackUnitID("BAR"), UnitSymbol: "bar", HasRange: true, Low: 0, High: 100}
	s, _ := apply(n, r)
	if s.Unit.Code != "BAR" || s.Status != connectors.UncertainEngineeringUnitsExceeded|connectors.LimitHigh {
		t.Fatalf("%+v", s)
	}
	// Configured unit and range win over the server's.
	r = rd("plc", "temp", 150.0, nil, 0)
	r.Info = &connectors.PointInfo{HasUnit: true, UnitID: units.PackUnitID("BAR"), HasRange: true, Low: 0, High: 100}
	s, _ = apply(n, r)
	if s.Unit.Code != "CEL" || s.Status != connectors.Good {
		t.Fatalf("%+v", s)
	}
}

func TestAutoMap(t *testing.T) {
	cfg := testConfig()
	cfg.AutoMap = []AutoMap{{Source: "ua", AssetPrefix: "acme/plant"}}
	n := newN(t, cfg)
	r := rd("ua", "nsu=urn:x;s=L1.Filler.Speed", 3.0, nil, 0)
	if _, ok := apply(n, r); ok {
		t.Fatal("reading without browse path mapped")
	}
	r.Info = &connectors.PointInfo{BrowsePath: "Line 1/Filler/Speed"}
	s, ok := apply(n, r)
	if !ok || s.ID != "acme/plant/Line_1/Filler/Speed" || s.Asset != "acme/plant/Line_1/Filler" || s.Tag != "Speed" {
		t.Fatalf("ok %v sample %+v", ok, s)
	}
	// Later readings need no Info.
	r.Info = nil
	r.SourceTime, r.Received = at(time.Second), at(time.Second)
	if s, ok = apply(n, r); !ok || s.Seq != 2 {
		t.Fatalf("second: %v %+v", ok, s)
	}
	st := n.Stats()
	if st.AutoMapped != 1 || st.Unknown != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	cfg := Config{Points: []Point{
		{Source: "a", Address: "x", Asset: "bad path!", Tag: "t"},
		{Source: "a", Address: "x", Asset: "ok", Tag: "t", Unit: "parsec-ish"},
		{Source: "a", Address: "y", Asset: "ok", Tag: "t", Range: &Range{5, 1}},
	}}
	_, err := New(cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"bad path!", "unknown unit", "already mapped", "already used", "must be below"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestInitial(t *testing.T) {
	n := newN(t, testConfig())
	in := n.Initial()
	if len(in) != 6 || in[0].ID > in[1].ID || in[0].Status != connectors.BadWaitingForInitialData {
		t.Fatalf("%+v", in)
	}
}
