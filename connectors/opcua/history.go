package opcua

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

// History (OPC UA Part 11, HistoryRead). ReadHistory reads one point's
// past values from the server: the averages of equal intervals
// (ReadProcessed with the Average aggregate; from the raw values, averaged
// here, when the server lacks that aggregate) or the raw values
// (ReadRaw), following continuation points and releasing the last one
// when it stops early. A node whose AccessLevel lacks the HistoryRead bit
// answers connectors.ErrNoHistory without asking the server (read once
// per session).

// Limits of one history read.
const (
	defaultMaxValues = 10000
	// maxHistoryPages bounds the continuation points followed.
	maxHistoryPages = 100
)

// ReadHistory reads the history of one point (connectors.HistoryReader).
func (c *Connector) ReadHistory(ctx context.Context, req connectors.HistoryRequest) (connectors.History, error) {
	fail := func(err error) (connectors.History, error) {
		return connectors.History{}, fmt.Errorf("opcua %s: history of %s: %w", c.cfg.Name, req.Address, err)
	}
	if !req.Start.Before(req.End) {
		return fail(fmt.Errorf("start %s is not before end %s", req.Start.Format(time.RFC3339), req.End.Format(time.RFC3339)))
	}
	s := c.ext.cur.Load()
	if s == nil {
		return fail(fmt.Errorf("not connected to %s", c.cfg.URL))
	}
	node, ok := s.ext.byAddr[req.Address]
	if !ok {
		ref, err := parseNode(req.Address)
		if err != nil {
			return fail(err)
		}
		if node, err = ref.resolve(s.ns); err != nil {
			return fail(err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := s.offersHistory(ctx, req.Address, node); err != nil {
		return fail(err)
	}
	if req.Intervals <= 0 {
		vals, err := s.readRaw(ctx, node, req)
		if err != nil {
			return fail(err)
		}
		return connectors.History{Values: vals, Aggregate: "Raw"}, nil
	}
	vals, err := s.readAverage(ctx, node, req)
	if err == nil {
		return connectors.History{Values: vals, Aggregate: "Average"}, nil
	}
	if code, ok := connectors.StatusOf(err); !ok || code&connectors.CodeMask != connectors.StatusCode(ua.StatusBadAggregateNotSupported) {
		return fail(err)
	}
	raw := req
	raw.MaxValues = defaultMaxValues
	rv, err := s.readRaw(ctx, node, raw)
	if err != nil {
		return fail(err)
	}
	return connectors.History{Values: average(rv, req), Aggregate: "Average of raw values"}, nil
}

// offersHistory returns nil when node's AccessLevel has the HistoryRead
// bit, an error wrapping connectors.ErrNoHistory when not; the answer is
// kept for the session.
func (s *session) offersHistory(ctx context.Context, addr string, node *ua.NodeID) error {
	key := node.String()
	s.ext.histMu.Lock()
	err, known := s.ext.history[key]
	s.ext.histMu.Unlock()
	if known {
		return err
	}
	res, rerr := s.cl.Read(ctx, &ua.ReadRequest{
		NodesToRead:        []*ua.ReadValueID{{NodeID: node, AttributeID: ua.AttributeIDAccessLevel}, {NodeID: node, AttributeID: ua.AttributeIDHistorizing}},
		TimestampsToReturn: ua.TimestampsToReturnNeither,
	})
	if rerr != nil {
		return rerr
	}
	if len(res.Results) != 2 || res.Results[0] == nil {
		return errors.New("read AccessLevel: no result")
	}
	dv := res.Results[0]
	if dv.Status != ua.StatusOK {
		return fmt.Errorf("read AccessLevel: %w", connectors.StatusCode(dv.Status))
	}
	level, _ := dv.Value.Value().(uint8)
	if ua.AccessLevelType(level)&ua.AccessLevelTypeHistoryRead == 0 {
		historizing := false
		if h := res.Results[1]; h != nil && h.Status == ua.StatusOK && h.Value != nil {
			historizing, _ = h.Value.Value().(bool)
		}
		err = fmt.Errorf("%w (%s: AccessLevel without HistoryRead, Historizing %v)", connectors.ErrNoHistory, addr, historizing)
	}
	s.ext.histMu.Lock()
	if s.ext.history == nil {
		s.ext.history = make(map[string]error)
	}
	s.ext.history[key] = err
	s.ext.histMu.Unlock()
	return err
}

// historyRead sends one HistoryRead of node with details (following cp),
// and returns its values and the next continuation point. release asks
// the server to release cp instead.
func (s *session) historyRead(ctx context.Context, node *ua.NodeID, details ua.ExtensionObject, cp []byte, release bool) ([]*ua.DataValue, []byte, error) {
	req := &ua.HistoryReadRequest{
		HistoryReadDetails:        &details,
		TimestampsToReturn:        ua.TimestampsToReturnBoth,
		ReleaseContinuationPoints: release,
		NodesToRead:               []*ua.HistoryReadValueID{{NodeID: node, DataEncoding: &ua.QualifiedName{}, ContinuationPoint: cp}},
	}
	var res *ua.HistoryReadResponse
	if err := s.cl.Send(ctx, req, func(r ua.Response) error { return assign(r, &res) }); err != nil {
		return nil, nil, err
	}
	if len(res.Results) != 1 || res.Results[0] == nil {
		return nil, nil, fmt.Errorf("history read: %d results for 1 node", len(res.Results))
	}
	r := res.Results[0]
	if code := connectors.StatusCode(r.StatusCode); code.IsBad() {
		return nil, nil, code
	}
	if release || r.HistoryData == nil {
		return nil, nil, nil
	}
	hd, ok := r.HistoryData.Value.(*ua.HistoryData)
	if !ok {
		if r.HistoryData.Value == nil {
			return nil, r.ContinuationPoint, nil
		}
		return nil, nil, fmt.Errorf("history read: %T instead of HistoryData", r.HistoryData.Value)
	}
	return hd.DataValues, r.ContinuationPoint, nil
}

// readPages reads every page of a history read, up to maxHistoryPages;
// keep gets each page's values and says whether to go on. It releases a
// continuation point it does not follow.
func (s *session) readPages(ctx context.Context, node *ua.NodeID, details ua.ExtensionObject, keep func([]*ua.DataValue) bool) error {
	var cp []byte
	for page := 0; ; page++ {
		dvs, next, err := s.historyRead(ctx, node, details, cp, false)
		if err != nil {
			return err
		}
		more := keep(dvs)
		if len(next) == 0 {
			return nil
		}
		if !more || page+1 >= maxHistoryPages {
			_, _, _ = s.historyRead(ctx, node, details, next, true)
			return nil
		}
		cp = next
	}
}

// readRaw reads the raw values of node in the request's span, keeping the
// latest MaxValues.
func (s *session) readRaw(ctx context.Context, node *ua.NodeID, req connectors.HistoryRequest) ([]connectors.HistoryValue, error) {
	limit := req.MaxValues
	if limit <= 0 {
		limit = defaultMaxValues
	}
	details := ua.ExtensionObject{
		TypeID:       ua.NewFourByteExpandedNodeID(0, id.ReadRawModifiedDetails_Encoding_DefaultBinary),
		EncodingMask: ua.ExtensionObjectBinary,
		Value: &ua.ReadRawModifiedDetails{
			StartTime: req.Start, EndTime: req.End, NumValuesPerNode: uint32(min(limit, defaultMaxValues)),
		},
	}
	var out []connectors.HistoryValue
	err := s.readPages(ctx, node, details, func(dvs []*ua.DataValue) bool {
		for _, dv := range dvs {
			out = append(out, historyValue(dv, false))
		}
		if len(out) > limit {
			out = append(out[:0], out[len(out)-limit:]...)
		}
		return true
	})
	return out, err
}

// readAverage reads the averages of the request's intervals.
func (s *session) readAverage(ctx context.Context, node *ua.NodeID, req connectors.HistoryRequest) ([]connectors.HistoryValue, error) {
	step := req.End.Sub(req.Start) / time.Duration(req.Intervals)
	if step < time.Millisecond {
		step = time.Millisecond
	}
	details := ua.ExtensionObject{
		TypeID:       ua.NewFourByteExpandedNodeID(0, id.ReadProcessedDetails_Encoding_DefaultBinary),
		EncodingMask: ua.ExtensionObjectBinary,
		Value: &ua.ReadProcessedDetails{
			StartTime: req.Start, EndTime: req.End,
			ProcessingInterval:     float64(step) / float64(time.Millisecond),
			AggregateType:          []*ua.NodeID{ua.NewNumericNodeID(0, id.AggregateFunction_Average)},
			AggregateConfiguration: &ua.AggregateConfiguration{UseServerCapabilitiesDefaults: true},
		},
	}
	var out []connectors.HistoryValue
	err := s.readPages(ctx, node, details, func(dvs []*ua.DataValue) bool {
		for _, dv := range dvs {
			out = append(out, historyValue(dv, true))
		}
		return len(out) < 4*req.Intervals
	})
	return out, err
}

// historyValue converts one value of a history. A processed value's time
// is its interval's start (its source timestamp); a raw value's the
// server's timestamp, else its source timestamp.
func historyValue(dv *ua.DataValue, processed bool) connectors.HistoryValue {
	f := fromDataValue(dv)
	t := f.serverTime
	if processed || t.IsZero() {
		t = f.sourceTime
	}
	if t.IsZero() {
		t = f.serverTime
	}
	hv := connectors.HistoryValue{Time: t, Raw: f.raw, Status: f.status}
	if code, ok := connectors.StatusOf(f.status); ok && code.IsBad() {
		hv.Raw = nil
	}
	return hv
}

// average makes the averages of the request's intervals from raw values:
// the mean of the good numbers in each; Bad_NoData for an interval
// without one.
func average(raw []connectors.HistoryValue, req connectors.HistoryRequest) []connectors.HistoryValue {
	n := req.Intervals
	step := req.End.Sub(req.Start) / time.Duration(n)
	sums := make([]float64, n)
	counts := make([]int, n)
	for _, v := range raw {
		if v.Status != nil || v.Time.Before(req.Start) || !v.Time.Before(req.End) || step <= 0 {
			continue
		}
		x, ok := number(v.Raw)
		if !ok {
			continue
		}
		i := min(int(v.Time.Sub(req.Start)/step), n-1)
		sums[i] += x
		counts[i]++
	}
	out := make([]connectors.HistoryValue, n)
	for i := range out {
		out[i].Time = req.Start.Add(time.Duration(i) * step)
		if counts[i] == 0 {
			out[i].Status = connectors.BadNoData
			continue
		}
		out[i].Raw = sums[i] / float64(counts[i])
	}
	return out
}

// number is a raw value as a float64: numbers, and bools as 0 and 1.
func number(raw any) (float64, bool) {
	switch x := raw.(type) {
	case float64:
		return x, !math.IsNaN(x)
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

var _ connectors.HistoryReader = (*Connector)(nil)
