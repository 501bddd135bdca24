package opcuaserver

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// pressTwin is testdata/press.yaml served on one endpoint, its engine
// driven by Step with a clock that moves exactly one tick per step.
type pressTwin struct {
	s     *Server
	e     *twin.Engine
	start time.Time
	logs  *syncBuffer

	mu  sync.Mutex
	now time.Time
}

func (p *pressTwin) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

// step runs n ticks, the clock moving 100 ms before each.
func (p *pressTwin) step(n int) {
	for range n {
		p.mu.Lock()
		p.now = p.now.Add(100 * time.Millisecond)
		p.mu.Unlock()
		p.e.Step(1)
	}
}

// at is the time of tick k.
func (p *pressTwin) at(k int) time.Time {
	return p.start.Add(time.Duration(k) * 100 * time.Millisecond)
}

// node is the node id of "machine/tag" (or of a machine's method,
// "machine/method()").
func (p *pressTwin) node(t *testing.T, ref string) *gua.NodeID {
	t.Helper()
	if m, ok := stringsCutSuffix(ref, "()"); ok {
		return gua.NewStringNodeID(p.s.NamespaceIndex(), "plant/l1/"+m)
	}
	i, ok := p.e.Lookup(ref)
	if !ok {
		t.Fatalf("no tag %s", ref)
	}
	return gua.NewStringNodeID(p.s.NamespaceIndex(), p.e.Tags()[i].NodeID)
}

func stringsCutSuffix(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// testLogs is the log of the last press server started.
var testLogs *syncBuffer

func pressServer(t *testing.T) *pressTwin {
	t.Helper()
	sc, err := scenarios.Load("testdata/press.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := &pressTwin{start: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), logs: &syncBuffer{}}
	testLogs = p.logs
	p.now = p.start
	p.e, err = twin.New(sc, twin.Options{Now: p.clock, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig("press1", "press2")
	cfg.DataDir = testDir
	cfg.ApplySettings(sc.OPCUA)
	cfg.Users = []User{{Name: "op", Password: "op-secret", Write: true}, {Name: "viewer", Password: "look"}}
	cfg.Logger = slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if p.s, err = New(FromEngine(p.e), cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); p.s.Close() })
	if err := p.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// historyRaw sends one ReadRaw request.
func historyRaw(t *testing.T, c *opcua.Client, d *gua.ReadRawModifiedDetails, release bool, nodes ...*gua.HistoryReadValueID) (*gua.HistoryReadResponse, error) {
	t.Helper()
	return historyRequest(t, c, id.ReadRawModifiedDetails_Encoding_DefaultBinary, d, release, nodes...)
}

func historyRequest(t *testing.T, c *opcua.Client, enc uint32, d any, release bool, nodes ...*gua.HistoryReadValueID) (*gua.HistoryReadResponse, error) {
	t.Helper()
	for _, n := range nodes {
		if n.DataEncoding == nil {
			n.DataEncoding = &gua.QualifiedName{} // gopcua writes nothing for nil
		}
	}
	req := &gua.HistoryReadRequest{
		TimestampsToReturn:        gua.TimestampsToReturnBoth,
		ReleaseContinuationPoints: release,
		NodesToRead:               nodes,
		HistoryReadDetails: &gua.ExtensionObject{
			TypeID:       gua.NewFourByteExpandedNodeID(0, uint16(enc)),
			EncodingMask: gua.ExtensionObjectBinary,
			Value:        d,
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res *gua.HistoryReadResponse
	err := c.Send(ctx, req, func(v gua.Response) error {
		r, ok := v.(*gua.HistoryReadResponse)
		if !ok {
			return gua.StatusBadUnexpectedError
		}
		res = r
		return nil
	})
	return res, err
}

// values are the DataValues of a HistoryData result.
func values(t *testing.T, r *gua.HistoryReadResult) []*gua.DataValue {
	t.Helper()
	if r.HistoryData == nil || r.HistoryData.Value == nil {
		return nil
	}
	hd, ok := r.HistoryData.Value.(*gua.HistoryData)
	if !ok {
		t.Fatalf("history data is %T", r.HistoryData.Value)
	}
	return hd.DataValues
}

// readRawAll reads node's raw history with the details given, following
// continuation points, and returns every value and the number of
// requests.
func readRawAll(t *testing.T, c *opcua.Client, n *gua.NodeID, d *gua.ReadRawModifiedDetails) ([]*gua.DataValue, int) {
	t.Helper()
	var out []*gua.DataValue
	var cp []byte
	for k := 1; ; k++ {
		res, err := historyRaw(t, c, d, false, &gua.HistoryReadValueID{NodeID: n, ContinuationPoint: cp})
		if err != nil {
			t.Fatalf("history read %d: %v\n%s", k, err, testLogs)
		}
		r := res.Results[0]
		if r.StatusCode != gua.StatusOK && r.StatusCode != gua.StatusGoodNoData {
			t.Fatalf("history read %d: %v", k, r.StatusCode)
		}
		out = append(out, values(t, r)...)
		if len(r.ContinuationPoint) == 0 {
			return out, k
		}
		cp = r.ContinuationPoint
		if k > 1000 {
			t.Fatal("no end to the continuation points")
		}
	}
}

func num(v *gua.DataValue) float64 {
	switch x := v.Value.Value().(type) {
	case float64:
		return x
	case int32:
		return float64(x)
	}
	return math.NaN()
}

// TestHistoryReadRaw reads a ramp's history over gopcua: every tick's
// value with its timestamps, in pages of NumValuesPerNode, with bounds,
// backwards, and with the faults a client saw.
func TestHistoryReadRaw(t *testing.T) {
	p := pressServer(t)
	p.step(100)
	c := connect(t, p.s.URL())
	ramp := p.node(t, "press1/ramp")

	// Ticks 10..19: values 10..19, stamped with their ticks' times.
	vals, _ := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{StartTime: p.at(10), EndTime: p.at(20)})
	if len(vals) != 10 {
		t.Fatalf("%d values for ticks 10..19", len(vals))
	}
	for k, v := range vals {
		if num(v) != float64(10+k) || !v.SourceTimestamp.Equal(p.at(10+k)) || !v.ServerTimestamp.Equal(p.at(10+k)) || v.Status != gua.StatusOK {
			t.Errorf("value %d = %v %v %v %v, want %d at %v", k, v.Value.Value(), v.SourceTimestamp, v.ServerTimestamp, v.Status, 10+k, p.at(10+k))
		}
	}

	// Pages of 7 with a continuation point each: the same values.
	all, _ := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{StartTime: p.at(0), EndTime: p.at(101)})
	paged, requests := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{StartTime: p.at(0), EndTime: p.at(101), NumValuesPerNode: 7})
	if len(all) != 101 || len(paged) != 101 || requests != 15 {
		t.Fatalf("%d values, %d in pages of 7 over %d requests; want 101, 101, 15", len(all), len(paged), requests)
	}
	for k := range all {
		if num(all[k]) != num(paged[k]) || !all[k].ServerTimestamp.Equal(paged[k].ServerTimestamp) {
			t.Fatalf("paged value %d = %v, want %v", k, paged[k].Value.Value(), all[k].Value.Value())
		}
	}

	// Bounds: the value before 10.05 s (tick 100 is 10 s) and none after
	// the end.
	b, _ := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{StartTime: p.at(95).Add(50 * time.Millisecond), EndTime: p.at(200), ReturnBounds: true})
	if len(b) != 7 || num(b[0]) != 95 || num(b[5]) != 100 || b[6].Status != gua.StatusBadBoundNotFound || !b[6].SourceTimestamp.Equal(p.at(200)) {
		t.Errorf("with bounds: %v", rawSummary(b))
	}

	// Backwards: start after end, latest first; and end with a count.
	back, _ := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{StartTime: p.at(20), EndTime: p.at(10)})
	if len(back) != 10 || num(back[0]) != 20 || num(back[9]) != 11 {
		t.Errorf("backwards (10, 20]: %v", rawSummary(back))
	}
	last3, _ := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{EndTime: p.at(1000), NumValuesPerNode: 3})
	if len(last3) < 3 || num(last3[0]) != 100 || num(last3[1]) != 99 {
		t.Errorf("the last values, backwards: %v", rawSummary(last3))
	}

	// Faults: stuck holds the value, bad_quality carries its status, a
	// comm_loss is one point without a value, the first value after it
	// ends it.
	if err := p.e.InjectNamed("ramp-stuck"); err != nil {
		t.Fatal(err)
	}
	p.step(5)
	_ = p.e.Clear("ramp-stuck")
	_ = p.e.InjectNamed("ramp-bad")
	p.step(3)
	_ = p.e.Clear("ramp-bad")
	_ = p.e.InjectNamed("press1-down")
	p.step(4)
	_ = p.e.Clear("press1-down")
	p.step(2)
	f, _ := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{StartTime: p.at(100), EndTime: p.at(200)})
	var got []string
	for _, v := range f {
		got = append(got, valueStatus(v))
	}
	// Tick 100 is 100; stuck at 100 for ticks 101..105 (nothing new);
	// the clear shows 105, bad_quality at once its status, the clear
	// Good again; the link down is one point, the clear ends the gap.
	want := []string{"100 Good", "105 Good", "105 Bad_SensorFailure", "106 Bad_SensorFailure", "107 Bad_SensorFailure",
		"108 Bad_SensorFailure", "108 Good", "<nil> Bad_NoCommunication", "112 Good", "113 Good", "114 Good"}
	if !slices.Equal(got, want) {
		t.Errorf("history through the faults =\n%v\nwant\n%v", got, want)
	}
}

func valueStatus(v *gua.DataValue) string {
	val := "<nil>"
	if v.Value != nil && v.Value.Value() != nil {
		val = fmtNum(num(v))
	}
	return val + " " + statusName(v.Status)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func statusName(s gua.StatusCode) string { return twin.StatusName(uint32(s)) }

func rawSummary(vs []*gua.DataValue) []string {
	var out []string
	for _, v := range vs {
		out = append(out, valueStatus(v)+" @"+v.SourceTimestamp.Format("05.000"))
	}
	return out
}

// TestHistoryReadBadInput: requests with absurd ranges, counts,
// continuation points and nodes get the status codes of Part 11 and
// Part 4, and bounded work.
func TestHistoryReadBadInput(t *testing.T) {
	p := pressServer(t)
	p.step(12000) // 20 minutes
	c := connect(t, p.s.URL())
	ramp := p.node(t, "press1/ramp")
	one := func(d *gua.ReadRawModifiedDetails, n *gua.HistoryReadValueID) *gua.HistoryReadResult {
		t.Helper()
		res, err := historyRaw(t, c, d, false, n)
		if err != nil {
			t.Fatalf("history read: %v", err)
		}
		if len(res.Results) != 1 {
			t.Fatalf("%d results, service result %v", len(res.Results), res.ResponseHeader.ServiceResult)
		}
		return res.Results[0]
	}
	serviceResult := func(d *gua.ReadRawModifiedDetails, release bool, nodes ...*gua.HistoryReadValueID) gua.StatusCode {
		t.Helper()
		res, err := historyRaw(t, c, d, release, nodes...)
		if code, ok := err.(gua.StatusCode); ok {
			return code
		}
		if err != nil {
			t.Fatalf("history read: %v", err)
		}
		return res.ResponseHeader.ServiceResult
	}

	// Fewer than two of start, end and NumValuesPerNode (gopcua sends the
	// zero time as DateTime 0, 1601-01-01, which means "no time"; it
	// cannot encode times before 1678 or after 2262, so the far past and
	// future are 1700 and 2200 here; the node-opcua test sends 1601 and
	// 9999).
	for _, d := range []*gua.ReadRawModifiedDetails{
		{},
		{StartTime: p.at(0)},
		{EndTime: p.at(10)},
	} {
		if got := serviceResult(d, false, &gua.HistoryReadValueID{NodeID: ramp}); got != gua.StatusBadHistoryOperationInvalid {
			t.Errorf("%+v: service result %v, want Bad_HistoryOperationInvalid", d, got)
		}
	}
	// From 1700: everything up to the end.
	y1700 := time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	if vals, _ := readRawAll(t, c, ramp, &gua.ReadRawModifiedDetails{StartTime: y1700, EndTime: p.at(50)}); len(vals) != 50 || num(vals[0]) != 0 {
		t.Errorf("from 1700 to tick 50: %d values", len(vals))
	}
	// A range in 2200: nothing, at once.
	y2200 := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	if r := one(&gua.ReadRawModifiedDetails{StartTime: y2200, EndTime: y2200.Add(300 * 24 * time.Hour)}, &gua.HistoryReadValueID{NodeID: ramp}); r.StatusCode != gua.StatusGoodNoData || len(values(t, r)) != 0 || len(r.ContinuationPoint) != 0 {
		t.Errorf("in 2200: %v, %d values", r.StatusCode, len(values(t, r)))
	}
	// 10^9 values asked: 10000 in a response, and a continuation point.
	all := &gua.ReadRawModifiedDetails{StartTime: p.at(0), EndTime: y2200, NumValuesPerNode: 1_000_000_000}
	r := one(all, &gua.HistoryReadValueID{NodeID: ramp})
	if len(values(t, r)) != historyMaxValues || len(r.ContinuationPoint) == 0 {
		t.Fatalf("10^9 values asked: %d in the response, continuation point %x", len(values(t, r)), r.ContinuationPoint)
	}
	cp := r.ContinuationPoint
	// Another node's continuation point, an unknown one: invalid.
	if r := one(all, &gua.HistoryReadValueID{NodeID: p.node(t, "press1/count"), ContinuationPoint: cp}); r.StatusCode != gua.StatusBadContinuationPointInvalid {
		t.Errorf("another node's continuation point: %v", r.StatusCode)
	}
	if r := one(all, &gua.HistoryReadValueID{NodeID: ramp, ContinuationPoint: []byte("no such point 16")}); r.StatusCode != gua.StatusBadContinuationPointInvalid {
		t.Errorf("an unknown continuation point: %v", r.StatusCode)
	}
	// Released, then used: invalid.
	res, err := historyRaw(t, c, all, true, &gua.HistoryReadValueID{NodeID: ramp, ContinuationPoint: cp})
	if err != nil || res.Results[0].StatusCode != gua.StatusOK || len(values(t, res.Results[0])) != 0 {
		t.Fatalf("release: %v %v", err, res)
	}
	if r := one(all, &gua.HistoryReadValueID{NodeID: ramp, ContinuationPoint: cp}); r.StatusCode != gua.StatusBadContinuationPointInvalid {
		t.Errorf("a released continuation point: %v", r.StatusCode)
	}
	// A zero-length continuation point is none: the read starts over.
	if r := one(&gua.ReadRawModifiedDetails{StartTime: p.at(0), EndTime: p.at(5)}, &gua.HistoryReadValueID{NodeID: ramp, ContinuationPoint: []byte{}}); r.StatusCode != gua.StatusOK || len(values(t, r)) != 5 {
		t.Errorf("a zero-length continuation point: %v, %d values", r.StatusCode, len(values(t, r)))
	}
	// Nodes without history, unknown nodes, read modified.
	for ref, want := range map[string]gua.StatusCode{
		"press1/quiet": gua.StatusBadHistoryOperationUnsupported,
		"press2/state": gua.StatusBadHistoryOperationUnsupported,
	} {
		if r := one(all, &gua.HistoryReadValueID{NodeID: p.node(t, ref)}); r.StatusCode != want {
			t.Errorf("%s: %v, want %v", ref, r.StatusCode, want)
		}
	}
	if r := one(all, &gua.HistoryReadValueID{NodeID: gua.NewStringNodeID(p.s.NamespaceIndex(), "no/such/tag")}); r.StatusCode != gua.StatusBadNodeIDUnknown {
		t.Errorf("an unknown node: %v", r.StatusCode)
	}
	if r := one(&gua.ReadRawModifiedDetails{IsReadModified: true, StartTime: p.at(0), EndTime: p.at(5)}, &gua.HistoryReadValueID{NodeID: ramp}); r.StatusCode != gua.StatusBadHistoryOperationUnsupported {
		t.Errorf("read modified: %v", r.StatusCode)
	}
	// Too many nodes.
	many := make([]*gua.HistoryReadValueID, 1001)
	for i := range many {
		many[i] = &gua.HistoryReadValueID{NodeID: ramp}
	}
	if got := serviceResult(&gua.ReadRawModifiedDetails{StartTime: p.at(0), EndTime: p.at(1)}, false, many...); got != gua.StatusBadTooManyOperations {
		t.Errorf("1001 nodes: %v, want Bad_TooManyOperations", got)
	}

	// Bounded work: with a budget of 1000 tag-ticks a request replays at
	// most that much and answers what it has with a continuation point.
	old := historyBudget
	historyBudget = 1000
	t.Cleanup(func() { historyBudget = old })
	vals, requests := readRawAll(t, c, p.node(t, "press1/count"), &gua.ReadRawModifiedDetails{StartTime: p.at(0), EndTime: p.at(12001)})
	if len(vals) != 12001 || requests < 12 {
		t.Errorf("a budget of 1000 ticks: %d values over %d requests, want 12001 over at least 12", len(vals), requests)
	}
}

// processed reads node's aggregate agg over [start, end) (backward when
// end is before start) with processing interval pi, following
// continuation points.
func processed(t *testing.T, c *opcua.Client, n *gua.NodeID, agg uint32, start, end time.Time, pi time.Duration) []*gua.DataValue {
	t.Helper()
	var out []*gua.DataValue
	var cp []byte
	for k := 0; ; k++ {
		d := &gua.ReadProcessedDetails{StartTime: start, EndTime: end, ProcessingInterval: float64(pi) / float64(time.Millisecond),
			AggregateType: []*gua.NodeID{gua.NewNumericNodeID(0, agg)}, AggregateConfiguration: &gua.AggregateConfiguration{UseServerCapabilitiesDefaults: true}}
		res, err := historyRequest(t, c, id.ReadProcessedDetails_Encoding_DefaultBinary, d, false, &gua.HistoryReadValueID{NodeID: n, ContinuationPoint: cp})
		if err != nil {
			t.Fatalf("read processed: %v", err)
		}
		if res.ResponseHeader.ServiceResult != gua.StatusOK {
			t.Fatalf("read processed: service result %v", res.ResponseHeader.ServiceResult)
		}
		r := res.Results[0]
		if r.StatusCode.Error() != "" && r.StatusCode != gua.StatusOK && r.StatusCode != gua.StatusGoodNoData {
			t.Fatalf("read processed: %v", r.StatusCode)
		}
		out = append(out, values(t, r)...)
		if cp = r.ContinuationPoint; len(cp) == 0 || k > 100 {
			return out
		}
	}
}

// agg describes a processed value: value, status name and historian bits.
func agg(v *gua.DataValue) string {
	bits := ""
	if v.Status&0x400 != 0 {
		for _, b := range []struct {
			mask gua.StatusCode
			name string
		}{{1, "Calculated"}, {2, "Interpolated"}, {4, "Partial"}, {0x10, "MultiValue"}} {
			if v.Status&b.mask != 0 {
				bits += " " + b.name
			}
		}
		if v.Status&3 == 0 {
			bits += " Raw"
		}
	}
	val := "-"
	if v.Value != nil && v.Value.Value() != nil {
		switch x := v.Value.Value().(type) {
		case string:
			val = x
		default:
			val = fmtNum(num(v))
		}
	}
	return val + " " + statusName(v.Status&^0x7ff) + bits
}

// TestHistoryReadProcessed reads the aggregates of Part 13 over gopcua:
// their values, status codes and historian bits for full, partial and
// empty intervals, backward, and what the server refuses.
func TestHistoryReadProcessed(t *testing.T) {
	p := pressServer(t)
	p.step(100)
	c := connect(t, p.s.URL())
	ramp := p.node(t, "press1/ramp")
	sec := time.Second
	type want []string
	for _, tt := range []struct {
		name       string
		agg        uint32
		start, end time.Time
		pi         time.Duration
		want       want
	}{
		// Ramp value k at tick k: [1 s, 2 s) holds 10..19.
		{"average", id.AggregateFunction_Average, p.at(10), p.at(30), sec, want{"14.5 Good Calculated", "24.5 Good Calculated"}},
		{"minimum at start", id.AggregateFunction_Minimum, p.at(10), p.at(20), sec, want{"10 Good Raw"}},
		{"maximum", id.AggregateFunction_Maximum, p.at(10), p.at(20), sec, want{"19 Good Calculated"}},
		{"count", id.AggregateFunction_Count, p.at(10), p.at(20), sec, want{"10 Good Calculated"}},
		{"start", id.AggregateFunction_Start, p.at(10), p.at(20), sec, want{"10 Good"}},
		{"end", id.AggregateFunction_End, p.at(10), p.at(20), sec, want{"19 Good"}},
		{"interpolative on a value", id.AggregateFunction_Interpolative, p.at(10), p.at(20), sec, want{"10 Good Raw"}},
		{"interpolative between", id.AggregateFunction_Interpolative, p.at(10).Add(50 * time.Millisecond), p.at(20), sec, want{"10 Good Interpolated"}},
		// ProcessingInterval 0: one interval.
		{"one interval", id.AggregateFunction_Average, p.at(0), p.at(100), 0, want{"49.5 Good Calculated"}},
		// The last interval is shorter: Partial.
		{"partial", id.AggregateFunction_Count, p.at(0), p.at(25), sec, want{"10 Good Calculated", "10 Good Calculated", "5 Good Calculated Partial"}},
		// Before the history: no data; overlapping its start: partial.
		{"before the start", id.AggregateFunction_Average, p.at(-20), p.at(5), sec, want{"- Bad_NoData", "- Bad_NoData", "2 Good Calculated Partial"}},
		// After the last tick (10 s): no data, Interpolative extrapolates.
		{"after the end", id.AggregateFunction_Average, p.at(100), p.at(120), sec, want{"100 Good Calculated Partial", "- Bad_NoData"}},
		{"extrapolated", id.AggregateFunction_Interpolative, p.at(110), p.at(120), sec, want{"100 Uncertain_DataSubNormal Interpolated"}},
		// Backward: latest interval first, each (lo, hi] stamped at hi.
		{"backward", id.AggregateFunction_Average, p.at(30), p.at(10), sec, want{"25.5 Good Calculated", "15.5 Good Calculated"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range processed(t, c, ramp, tt.agg, tt.start, tt.end, tt.pi) {
				got = append(got, agg(v))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}

	// Bad values in an interval: the average of the Good ones,
	// Uncertain_DataSubNormal; only Bad ones: no data.
	_ = p.e.InjectNamed("ramp-bad")
	p.step(5)
	_ = p.e.Clear("ramp-bad")
	p.step(5)
	var got []string
	for _, v := range processed(t, c, ramp, id.AggregateFunction_Average, p.at(100), p.at(110), 5*100*time.Millisecond) {
		got = append(got, agg(v))
	}
	// [10 s, 10.5 s): 100 Good, then 100..104 Bad; [10.5 s, 11 s): 105
	// Bad at its tick, 105 Good at the clear, then 106..109.
	if want := []string{"100 Uncertain_DataSubNormal Calculated", "107 Uncertain_DataSubNormal Calculated"}; !slices.Equal(got, want) {
		t.Errorf("with bad values: %q, want %q", got, want)
	}

	// Refusals.
	req := func(d *gua.ReadProcessedDetails, nodes ...*gua.HistoryReadValueID) *gua.HistoryReadResponse {
		t.Helper()
		res, err := historyRequest(t, c, id.ReadProcessedDetails_Encoding_DefaultBinary, d, false, nodes...)
		if err != nil {
			if code, ok := err.(gua.StatusCode); ok {
				return &gua.HistoryReadResponse{ResponseHeader: &gua.ResponseHeader{ServiceResult: code}}
			}
			t.Fatal(err)
		}
		return res
	}
	avg := []*gua.NodeID{gua.NewNumericNodeID(0, id.AggregateFunction_Average)}
	defaults := &gua.AggregateConfiguration{UseServerCapabilitiesDefaults: true} // gopcua writes nothing for nil
	if r := req(&gua.ReadProcessedDetails{StartTime: p.at(0), EndTime: p.at(10), AggregateType: append(avg, avg...), AggregateConfiguration: defaults}, &gua.HistoryReadValueID{NodeID: ramp}); r.ResponseHeader.ServiceResult != gua.StatusBadAggregateListMismatch {
		t.Errorf("two aggregates for one node: %v", r.ResponseHeader.ServiceResult)
	}
	for name, tt := range map[string]struct {
		d    *gua.ReadProcessedDetails
		node *gua.NodeID
		want gua.StatusCode
	}{
		"start = end":       {&gua.ReadProcessedDetails{StartTime: p.at(5), EndTime: p.at(5), AggregateType: avg}, ramp, gua.StatusBadInvalidArgument},
		"no end":            {&gua.ReadProcessedDetails{StartTime: p.at(5), AggregateType: avg}, ramp, gua.StatusBadInvalidArgument},
		"TimeAverage":       {&gua.ReadProcessedDetails{StartTime: p.at(0), EndTime: p.at(5), AggregateType: []*gua.NodeID{gua.NewNumericNodeID(0, id.AggregateFunction_TimeAverage)}}, ramp, gua.StatusBadAggregateNotSupported},
		"average of text":   {&gua.ReadProcessedDetails{StartTime: p.at(0), EndTime: p.at(5), AggregateType: avg}, p.node(t, "press1/state"), gua.StatusBadAggregateInvalidInputs},
		"percent over 100":  {&gua.ReadProcessedDetails{StartTime: p.at(0), EndTime: p.at(5), AggregateType: avg, AggregateConfiguration: &gua.AggregateConfiguration{PercentDataGood: 101}}, ramp, gua.StatusBadAggregateInvalidInputs},
		"not historizing":   {&gua.ReadProcessedDetails{StartTime: p.at(0), EndTime: p.at(5), AggregateType: avg}, p.node(t, "press1/quiet"), gua.StatusBadHistoryOperationUnsupported},
		"negative interval": {&gua.ReadProcessedDetails{StartTime: p.at(0), EndTime: p.at(5), ProcessingInterval: -1, AggregateType: avg}, ramp, gua.StatusBadInvalidArgument},
	} {
		if tt.d.AggregateConfiguration == nil {
			tt.d.AggregateConfiguration = defaults
		}
		r := req(tt.d, &gua.HistoryReadValueID{NodeID: tt.node})
		if len(r.Results) != 1 || r.Results[0].StatusCode != tt.want {
			t.Errorf("%s: %v %v, want %v", name, r.ResponseHeader.ServiceResult, r.Results, tt.want)
		}
	}
	// Ten years of 1 ms intervals: 10000 a response, with a continuation
	// point, each response bounded.
	d := &gua.ReadProcessedDetails{StartTime: p.at(0), EndTime: p.at(0).Add(10 * 365 * 24 * time.Hour), ProcessingInterval: 1, AggregateType: avg,
		AggregateConfiguration: &gua.AggregateConfiguration{UseServerCapabilitiesDefaults: true}}
	r := req(d, &gua.HistoryReadValueID{NodeID: ramp})
	if len(r.Results) != 1 || len(values(t, r.Results[0])) != historyMaxValues || len(r.Results[0].ContinuationPoint) == 0 {
		t.Errorf("ten years of 1 ms intervals: %v", r.Results)
	}
}
