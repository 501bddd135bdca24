package opcuaserver

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// HistoryRead (OPC UA Part 11) of every historizing tag: ReadRaw and
// ReadProcessed (aggregate.go) over the history the engine computes from
// its run (see twin.HistoryCursor), and ReadEvent over an EventHistory
// (events.go). Limits, each documented in the README:
//
//   - at most historyMaxValues values (raw), intervals (processed) or
//     events per node in one response, and at most NumValuesPerNode when
//     the client gives it; a continuation point carries the rest;
//   - at most historyBudget tag-ticks of replay per request (about 2 s of
//     one core), shared by its nodes: a node whose read needs more gets
//     what was computed, possibly nothing, and a continuation point;
//   - at most historyMaxCPs continuation points at once on an endpoint
//     (Bad_NoContinuationPoints beyond); one unused for historyCPIdle is
//     released;
//   - MaxNodesPerHistoryReadData (1000) nodes per request
//     (Bad_TooManyOperations, answered by the stack).
//
// Times select by the server timestamp (the time the twin published the
// value); the source timestamp differs from it only under a clock_skew
// fault. DateTime 0 (1601-01-01, the encoding of "no time") means the
// time is not given. Start after end reads backwards, as Part 11 says.
const (
	historyMaxValues = 10000
	historyMaxCPs    = 100
	historyCPIdle    = 5 * time.Minute
)

// historyBudget is the replay work of one request, in tag-ticks (a
// variable for the tests).
var historyBudget int64 = 2_000_000

// HistorySource is what HistoryRead needs of the twin; *twin.Engine
// offers it (FromEngine passes it on). Its methods must be safe for
// concurrent use.
type HistorySource interface {
	// OpenHistory returns a cursor over tag i's history.
	OpenHistory(i int) (HistoryCursor, error)
	// HistoryWindow returns the times of the first point kept and of the
	// last tick.
	HistoryWindow() (from, to time.Time, ok bool)
}

// HistoryCursor reads one tag's history in time order
// (*twin.HistoryCursor implements it).
type HistoryCursor interface {
	// Seek moves to the first point published at or after t.
	Seek(t time.Time, budget *int64) error
	// Next returns the point at the position and moves past it; false
	// when there is none yet.
	Next(budget *int64) (twin.HistoryPoint, bool, error)
	// Before returns the n-th point before the position, as far back as
	// the cursor keeps points.
	Before(n int) (twin.HistoryPoint, bool)
	// Close hands the cursor back.
	Close()
}

func (e engineSource) OpenHistory(i int) (HistoryCursor, error) {
	c, err := e.Engine.OpenHistory(i)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// noTime is DateTime 0 as the stack decodes it: no time given.
var noTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// given reports whether a request's time is given.
func given(t time.Time) bool { return t.After(noTime) }

// historian is the stack's HistoryReadWriter for one endpoint.
type historian struct {
	src    HistorySource // nil: the source keeps no history
	events EventHistory
	tags   map[ua.NodeID]int    // the served tags' engine indices
	all    []twin.TagInfo       // the source's tags, by engine index
	notif  map[ua.NodeID]bool   // event notifiers: machine objects, Server
	exists func(ua.NodeID) bool // whether a node is in the address space
	cps    cpStore
}

var _ server.HistoryReadWriter = (*historian)(nil)

// WriteValue ignores the values the stack hands over: history is
// computed from the engine's run.
func (h *historian) WriteValue(context.Context, ua.NodeID, ua.DataValue) error { return nil }

// WriteEvent ignores events the stack hands over: an alarm module records
// its events into the EventHistory.
func (h *historian) WriteEvent(context.Context, ua.NodeID, []ua.Variant) error { return nil }

// ReadAtTime is not supported.
func (h *historian) ReadAtTime(_ context.Context, nodes []ua.HistoryReadValueID, _ ua.ReadAtTimeDetails, _ ua.TimestampsToReturn, _ bool) ([]ua.HistoryReadResult, ua.StatusCode) {
	return fill(len(nodes), ua.BadHistoryOperationUnsupported), ua.Good
}

// fill returns n results of status code.
func fill(n int, code ua.StatusCode) []ua.HistoryReadResult {
	out := make([]ua.HistoryReadResult, n)
	for i := range out {
		out[i].StatusCode = code
	}
	return out
}

// node resolves a node of a data history read: a served, historizing
// tag.
func (h *historian) node(n ua.HistoryReadValueID) (twin.TagInfo, ua.StatusCode) {
	i, ok := h.tags[n.NodeID]
	var t twin.TagInfo
	if ok {
		t = h.all[i]
	}
	switch {
	case !ok:
		return t, ua.BadNodeIDUnknown
	case !t.Historizing || h.src == nil:
		return t, ua.BadHistoryOperationUnsupported
	case n.IndexRange != "":
		return t, ua.BadIndexRangeInvalid
	case n.DataEncoding.Name != "":
		return t, ua.BadDataEncodingUnsupported
	}
	return t, ua.Good
}

// reader is a read in progress of one node, kept by a continuation point
// between requests.
type reader interface {
	// read returns the node's next values (HistoryData) or events
	// (HistoryEvent), at most max of them, spending budget; more says
	// whether a continuation point is needed.
	read(budget *int64, max int, ttr ua.TimestampsToReturn) (data ua.ExtensionObject, n int, more bool, code ua.StatusCode)
	// node is the node read.
	node() ua.NodeID
	// close releases what the read holds.
	close()
}

// serve answers one request's nodes: a new read from start for a node
// without continuation point, the kept read for one with. Each node's
// result says how it went.
func (h *historian) serve(nodes []ua.HistoryReadValueID, release bool, kind string, start func(int, ua.HistoryReadValueID) (reader, ua.StatusCode), ttr ua.TimestampsToReturn) []ua.HistoryReadResult {
	results := make([]ua.HistoryReadResult, len(nodes))
	budget := historyBudget
	for i, n := range nodes {
		var rd reader
		switch {
		case len(n.ContinuationPoint) > 0:
			var ok bool
			if rd, ok = h.cps.take(n.ContinuationPoint, kind, n.NodeID); !ok {
				results[i].StatusCode = ua.BadContinuationPointInvalid
				continue
			}
			if release {
				rd.close()
				continue
			}
		case release:
			continue // nothing to release
		default:
			var code ua.StatusCode
			if rd, code = start(i, n); code != ua.Good {
				results[i].StatusCode = code
				continue
			}
		}
		data, count, more, code := rd.read(&budget, historyMaxValues, ttr)
		if code.IsBad() {
			rd.close()
			results[i].StatusCode = code
			continue
		}
		if more {
			cp, ok := h.cps.put(rd, kind)
			if !ok {
				rd.close()
				results[i].StatusCode = ua.BadNoContinuationPoints
				continue
			}
			results[i].ContinuationPoint = cp
		} else {
			rd.close()
		}
		results[i].StatusCode = code
		if count == 0 && !more && code == ua.Good {
			results[i].StatusCode = ua.GoodNoData
		}
		results[i].HistoryData = data
	}
	return results
}

// historyData is values as HistoryData, with the timestamps the client
// asked for.
func historyData(vals []ua.DataValue, ttr ua.TimestampsToReturn) ua.HistoryData {
	if vals == nil {
		vals = []ua.DataValue{}
	}
	for k := range vals {
		vals[k] = stamps(vals[k], ttr)
	}
	return ua.HistoryData{DataValues: vals}
}

// domainGiven reports whether a raw or event read gives at least two of
// start, end and NumValuesPerNode (Part 11 6.5.2, 6.5.3).
func domainGiven(hasStart, hasEnd bool, numValues uint32) bool {
	return hasStart && hasEnd || (hasStart || hasEnd) && numValues > 0
}

// continuing reports whether every node of a request goes on from a
// continuation point: the details of the first request apply then.
func continuing(nodes []ua.HistoryReadValueID) bool {
	for _, n := range nodes {
		if len(n.ContinuationPoint) == 0 {
			return false
		}
	}
	return len(nodes) > 0
}

// stamps keeps the timestamps the client asked for.
func stamps(dv ua.DataValue, ttr ua.TimestampsToReturn) ua.DataValue {
	switch ttr {
	case ua.TimestampsToReturnSource:
		dv.ServerTimestamp = time.Time{}
	case ua.TimestampsToReturnServer:
		dv.SourceTimestamp = time.Time{}
	}
	return dv
}

// ReadRawModified answers ReadRaw (Part 11 6.5.3); ReadModified reads
// nothing: the twin's history is never modified.
func (h *historian) ReadRawModified(_ context.Context, nodes []ua.HistoryReadValueID, d ua.ReadRawModifiedDetails, ttr ua.TimestampsToReturn, release bool) ([]ua.HistoryReadResult, ua.StatusCode) {
	if d.IsReadModified {
		return fill(len(nodes), ua.BadHistoryOperationUnsupported), ua.Good
	}
	hasStart, hasEnd := given(d.StartTime), given(d.EndTime)
	if !release && !continuing(nodes) && !domainGiven(hasStart, hasEnd, d.NumValuesPerNode) {
		return nil, ua.BadHistoryOperationInvalid
	}
	return h.serve(nodes, release, "raw", func(_ int, n ua.HistoryReadValueID) (reader, ua.StatusCode) {
		t, code := h.node(n)
		if code != ua.Good {
			return nil, code
		}
		cur, err := h.src.OpenHistory(t.Index)
		if err != nil {
			return nil, ua.BadInternalError
		}
		return newRawRead(n.NodeID, cur, d, hasStart, hasEnd), ua.Good
	}, ttr), ua.Good
}

// ReadProcessed answers ReadProcessed (Part 11 6.5.4, Part 13) with the
// aggregates of aggregate.go.
func (h *historian) ReadProcessed(_ context.Context, nodes []ua.HistoryReadValueID, d ua.ReadProcessedDetails, ttr ua.TimestampsToReturn, release bool) ([]ua.HistoryReadResult, ua.StatusCode) {
	if !release && !continuing(nodes) && len(d.AggregateType) != len(nodes) {
		return nil, ua.BadAggregateListMismatch
	}
	cfg, cfgCode := aggConfigOf(d.AggregateConfiguration)
	return h.serve(nodes, release, "processed", func(k int, n ua.HistoryReadValueID) (reader, ua.StatusCode) {
		t, code := h.node(n)
		switch {
		case code != ua.Good:
			return nil, code
		case !given(d.StartTime) || !given(d.EndTime) || d.StartTime.Equal(d.EndTime) || d.ProcessingInterval < 0:
			return nil, ua.BadInvalidArgument
		case cfgCode != ua.Good:
			return nil, cfgCode
		}
		agg, ok := aggregates[d.AggregateType[k]]
		if !ok {
			return nil, ua.BadAggregateNotSupported
		}
		if agg.numeric() && t.Type == scenarios.String {
			return nil, ua.BadAggregateInvalidInputs
		}
		from, to, ok := h.src.HistoryWindow()
		if !ok {
			return nil, ua.BadHistoryOperationUnsupported
		}
		cur, err := h.src.OpenHistory(t.Index)
		if err != nil {
			return nil, ua.BadInternalError
		}
		return newProcRead(n.NodeID, cur, agg, cfg, d, from, to), ua.Good
	}, ttr), ua.Good
}

// cpStore keeps the reads of continuation points.
type cpStore struct {
	mu  sync.Mutex
	cps map[string]*cpEntry
}

type cpEntry struct {
	rd   reader
	kind string
	used time.Time
}

// put keeps rd under a new continuation point; ok is false when every
// continuation point is taken.
func (s *cpStore) put(rd reader, kind string) (ua.ByteString, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.cps == nil {
		s.cps = map[string]*cpEntry{}
	}
	for k, e := range s.cps {
		if now.Sub(e.used) > historyCPIdle {
			e.rd.close()
			delete(s.cps, k)
		}
	}
	if len(s.cps) >= historyMaxCPs {
		return "", false
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s.cps[string(b)] = &cpEntry{rd: rd, kind: kind, used: now}
	return ua.ByteString(b), true
}

// take removes and returns the read of continuation point cp, which must
// be of kind and node; ok is false for an unknown, released or expired
// point, or one of another read (Bad_ContinuationPointInvalid).
func (s *cpStore) take(cp ua.ByteString, kind string, node ua.NodeID) (reader, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cps[string(cp)]
	if !ok || e.kind != kind || e.rd.node() != node {
		return nil, false
	}
	delete(s.cps, string(cp))
	if time.Since(e.used) > historyCPIdle {
		e.rd.close()
		return nil, false
	}
	return e.rd, true
}

// closeAll releases every continuation point.
func (s *cpStore) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.cps {
		e.rd.close()
		delete(s.cps, k)
	}
}

// boundNotFound is a bound that does not exist (Part 11 4.6).
func boundNotFound(t time.Time) ua.DataValue {
	return ua.NewDataValue(nil, ua.BadBoundNotFound, t, 0, t, 0)
}

// dataValue is a history point as a DataValue.
func dataValue(p twin.HistoryPoint) ua.DataValue {
	return ua.NewDataValue(p.V, ua.StatusCode(p.Status), p.Source, 0, p.Server, 0)
}

// errBudget reports whether err is the end of a request's budget.
func errBudget(err error) bool { return errors.Is(err, twin.ErrHistoryBudget) }

// initExtensions prepares what the source offers beyond values: history
// (HistorySource) and method calls (MethodSource).
func (s *Server) initExtensions() {
	s.objects = map[ua.NodeID]twin.MachineInfo{}
	s.hist = &historian{tags: map[ua.NodeID]int{}, notif: map[ua.NodeID]bool{ua.ObjectIDServer: true}}
	if hs, ok := s.src.(HistorySource); ok {
		s.hist.src = hs
	}
	s.hist.events = s.cfg.EventHistory
	if s.hist.events == nil {
		s.events = NewEventLog(0)
		s.hist.events = s.events
	}
	if mc, ok := s.src.(MethodSource); ok {
		s.calls = mc
	}
}

// historyOptions are the stack options for HistoryRead.
func (s *Server) historyOptions() []server.Option {
	caps := ua.NewServerCapabilities()
	caps.MaxHistoryContinuationPoints = historyMaxCPs
	return []server.Option{server.WithHistorian(s.hist), server.WithServerCapabilities(caps)}
}

// historyCapabilities publishes what HistoryRead offers in the Server
// object's HistoryServerCapabilities, and lists the aggregates supported
// in its AggregateFunctions folders.
func (s *Server) historyCapabilities() {
	nm := s.ua.NamespaceManager()
	s.hist.exists = func(id ua.NodeID) bool { _, ok := nm.FindNode(id); return ok }
	set := func(id ua.NodeID, v any) {
		if n, ok := nm.FindVariable(id); ok {
			n.SetValue(ua.NewDataValue(v, ua.Good, time.Now(), 0, time.Now(), 0))
		}
	}
	set(ua.VariableIDHistoryServerCapabilitiesAccessHistoryDataCapability, s.hist.src != nil)
	set(ua.VariableIDHistoryServerCapabilitiesAccessHistoryEventsCapability, true)
	set(ua.VariableIDHistoryServerCapabilitiesMaxReturnDataValues, uint32(historyMaxValues))
	set(ua.VariableIDHistoryServerCapabilitiesMaxReturnEventValues, uint32(historyMaxValues))
	for _, folder := range []ua.NodeID{ua.ObjectIDHistoryServerCapabilitiesAggregateFunctions, ua.ObjectIDServerServerCapabilitiesAggregateFunctions} {
		f, ok := nm.FindNode(folder)
		if !ok {
			continue
		}
		o, ok := f.(*server.ObjectNode)
		if !ok {
			continue
		}
		refs := o.References()
		for id := range aggregates {
			if _, ok := nm.FindNode(id); ok {
				refs = append(refs, ua.NewReference(ua.ReferenceTypeIDOrganizes, false, ua.NewExpandedNodeID(id)))
			}
		}
		o.SetReferences(refs)
	}
}

// historizing reports whether tag t's variable is historizing, and the
// historian the stack hands its values to.
func (a *addressSpace) historizing(t twin.TagInfo) (bool, server.HistoryReadWriter) {
	if a.owner == nil || a.owner.hist.src == nil || !t.Historizing {
		return false, nil
	}
	return true, a.owner.hist
}
