package opcuaserver

import (
	"time"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// The aggregates of ReadProcessed (OPC UA Part 13): Interpolative,
// Average, Minimum, Maximum, Count, Start and End, over the history the
// engine computes (twin.HistoryCursor).
//
// A twin tag holds its value from one publication to the next (values
// change at ticks and actions, never in between), so the history is
// stepped: Interpolative returns the value in effect at the interval's
// start (Raw when a value was published at that very time, else
// Interpolated), and extrapolates the last value, Uncertain_DataSubNormal,
// past the end of data. The other aggregates follow Part 13's tables:
// Average and Count count values (PercentDataGood and PercentDataBad apply
// to the numbers of values), Minimum and Maximum return the extreme Good
// value with the interval's start as timestamp, Start and End the first
// and last raw value with its own status and timestamp. An interval that
// is shorter than the processing interval (the last one), or that starts
// before the history or ends after the last tick, is Partial; one wholly
// before the history or after the last tick is Bad_NoData.

// Historian bits of a StatusCode (Part 4, 7.39: with InfoType DataValue,
// bits 0-1 are Raw, Calculated or Interpolated, bit 2 Partial, bit 3
// ExtraData, bit 4 MultiValue). The library's constants for them are
// wrong (Interpolated 0x10, Partial 0x100), hence these.
const (
	infoDataValue uint32 = 0x0400
	bitCalculated uint32 = 0x0001
	bitInterp     uint32 = 0x0002
	bitPartial    uint32 = 0x0004
	bitMulti      uint32 = 0x0010
	// statusBad is the generic Bad of a Count or Average whose Bad
	// values reach PercentDataBad.
	statusBad ua.StatusCode = 0x80000000
)

// aggregate is one of the supported aggregate functions.
type aggregate int

const (
	aggInterpolative aggregate = iota
	aggAverage
	aggMinimum
	aggMaximum
	aggCount
	aggStart
	aggEnd
)

// aggregates maps the standard AggregateFunction objects to the
// aggregates supported.
var aggregates = map[ua.NodeID]aggregate{
	ua.ObjectIDAggregateFunctionInterpolative: aggInterpolative,
	ua.ObjectIDAggregateFunctionAverage:       aggAverage,
	ua.ObjectIDAggregateFunctionMinimum:       aggMinimum,
	ua.ObjectIDAggregateFunctionMaximum:       aggMaximum,
	ua.ObjectIDAggregateFunctionCount:         aggCount,
	ua.ObjectIDAggregateFunctionStart:         aggStart,
	ua.ObjectIDAggregateFunctionEnd:           aggEnd,
}

// numeric reports whether the aggregate needs numbers.
func (a aggregate) numeric() bool { return a == aggAverage || a == aggMinimum || a == aggMaximum }

// aggConfig is an AggregateConfiguration with the server's defaults
// applied (Part 13 4.2.1.2: TreatUncertainAsBad true, PercentDataBad and
// PercentDataGood 100).
type aggConfig struct {
	uncertainAsBad  bool
	pctBad, pctGood int
}

// defaultAggConfig is the server's AggregateConfiguration.
var defaultAggConfig = aggConfig{uncertainAsBad: true, pctBad: 100, pctGood: 100}

// aggConfigOf applies a request's AggregateConfiguration; it fails with
// Bad_AggregateInvalidInputs for percentages above 100.
func aggConfigOf(c ua.AggregateConfiguration) (aggConfig, ua.StatusCode) {
	if c.UseServerCapabilitiesDefaults {
		return defaultAggConfig, ua.Good
	}
	if c.PercentDataBad > 100 || c.PercentDataGood > 100 {
		return aggConfig{}, ua.BadAggregateInvalidInputs
	}
	return aggConfig{uncertainAsBad: c.TreatUncertainAsBad, pctBad: int(c.PercentDataBad), pctGood: int(c.PercentDataGood)}, ua.Good
}

// interval is one processing interval, in time order: [lo, hi) going
// forward, (lo, hi] going backward (Part 13 5.4.2.2), its result stamped
// at its start (lo forward, hi backward).
type interval struct {
	lo, hi   time.Time
	backward bool
	partial  bool
}

// ts is the interval's timestamp.
func (iv interval) ts() time.Time {
	if iv.backward {
		return iv.hi
	}
	return iv.lo
}

// contains reports whether a point published at t is in the interval.
func (iv interval) contains(t time.Time) bool {
	if iv.backward {
		return t.After(iv.lo) && !t.After(iv.hi)
	}
	return !t.Before(iv.lo) && t.Before(iv.hi)
}

// past reports whether a point published at t comes after the interval.
func (iv interval) past(t time.Time) bool {
	if iv.backward {
		return t.After(iv.hi)
	}
	return !t.Before(iv.hi)
}

// stepped is the value in effect at a time: the last point published up
// to it, and the last one that was not Bad with whether Bad points came
// after it.
type stepped struct {
	last, good   twin.HistoryPoint
	hasLast      bool
	hasGood      bool
	badSinceGood bool
}

// add takes the next point, in time order.
func (s *stepped) add(p twin.HistoryPoint) {
	s.last, s.hasLast = p, true
	if ua.StatusCode(p.Status).IsBad() {
		s.badSinceGood = true
		return
	}
	s.good, s.hasGood, s.badSinceGood = p, true, false
}

// accumulator gathers the raw points of one interval for one aggregate.
type accumulator struct {
	agg aggregate
	cfg aggConfig
	iv  interval

	n, good, bad, uncertain int
	sum                     float64
	min, max                twin.HistoryPoint
	minF, maxF              float64
	minN, maxN              int
	uncMinF, uncMaxF        float64 // extremes of the Uncertain values
	hasUncF                 bool
	first, last             twin.HistoryPoint
	// at is the value in effect at the interval's timestamp
	// (Interpolative), once snapped.
	at      stepped
	snapped bool
}

// add takes a point of the interval, in time order.
func (a *accumulator) add(p twin.HistoryPoint) {
	if a.n == 0 {
		a.first = p
	}
	a.last = p
	a.n++
	st := ua.StatusCode(p.Status)
	switch {
	case st.IsBad():
		a.bad++
		return
	case st.IsUncertain():
		a.uncertain++
		if f, ok := scenarios.Number(p.V); ok {
			if !a.hasUncF || f < a.uncMinF {
				a.uncMinF = f
			}
			if !a.hasUncF || f > a.uncMaxF {
				a.uncMaxF = f
			}
			a.hasUncF = true
		}
		return
	}
	a.good++
	if !a.agg.numeric() {
		return
	}
	f, ok := scenarios.Number(p.V)
	if !ok {
		return // the request was refused for a string tag
	}
	a.sum += f
	switch {
	case a.good == 1 || f < a.minF:
		a.min, a.minF, a.minN = p, f, 1
	case f == a.minF:
		a.minN++
	}
	switch {
	case a.good == 1 || f > a.maxF:
		a.max, a.maxF, a.maxN = p, f, 1
	case f == a.maxF:
		a.maxN++
	}
}

// percentStatus is the StatusCode of a value-counting aggregate (Part 13
// 5.4.3.2, PercentValues).
func (a *accumulator) percentStatus() ua.StatusCode {
	if a.n == 0 {
		return ua.Good
	}
	good, bad := a.good, a.bad
	if a.cfg.uncertainAsBad {
		bad += a.uncertain
	} else {
		good += a.uncertain
	}
	switch {
	case bad == 0 || good*100 >= a.cfg.pctGood*a.n:
		return ua.Good
	case bad*100 >= a.cfg.pctBad*a.n:
		return statusBad
	}
	return ua.UncertainDataSubNormal
}

// dataRange says where an interval lies against the history: whether it
// ends before the first point, starts after the last tick, or overlaps
// either end.
type dataRange struct {
	before, after, overlaps bool
}

// rangeOf places iv against the history window [from, to].
func rangeOf(iv interval, from, to time.Time) dataRange {
	r := dataRange{
		before: iv.hi.Before(from) || (!iv.backward && iv.hi.Equal(from)),
		after:  iv.lo.After(to) || (iv.backward && iv.lo.Equal(to)),
	}
	r.overlaps = !r.before && !r.after && (iv.lo.Before(from) || iv.hi.After(to))
	return r
}

// result is the aggregate of the interval.
func (a *accumulator) result(r dataRange) (ua.Variant, ua.StatusCode, time.Time, time.Time) {
	ts := a.iv.ts()
	partial := uint32(0)
	if a.iv.partial || r.overlaps {
		partial = bitPartial
	}
	noData := func() (ua.Variant, ua.StatusCode, time.Time, time.Time) {
		if partial != 0 {
			return nil, ua.BadNoData | ua.StatusCode(infoDataValue|partial), ts, ts
		}
		return nil, ua.BadNoData, ts, ts
	}
	calc := func(st ua.StatusCode, extra uint32) ua.StatusCode {
		return st | ua.StatusCode(infoDataValue|extra|partial)
	}
	switch a.agg {
	case aggInterpolative:
		return a.interpolative(r)
	case aggCount:
		if r.before || r.after {
			return noData()
		}
		return int32(a.good), calc(a.percentStatus(), bitCalculated), ts, ts
	case aggAverage:
		if a.good == 0 || r.before || r.after {
			return noData()
		}
		return a.sum / float64(a.good), calc(a.percentStatus(), bitCalculated), ts, ts
	case aggMinimum, aggMaximum:
		if a.good == 0 || r.before || r.after {
			return noData()
		}
		p, n, unc := a.min, a.minN, a.hasUncF && a.uncMinF < a.minF
		if a.agg == aggMaximum {
			p, n, unc = a.max, a.maxN, a.hasUncF && a.uncMaxF > a.maxF
		}
		st, bits := ua.Good, bitCalculated
		if p.Server.Equal(ts) {
			bits = 0 // Raw: the extreme is at the interval's start
		}
		if a.bad > 0 || unc {
			st, bits = ua.UncertainDataSubNormal, bitCalculated
		}
		if n > 1 {
			bits |= bitMulti
		}
		return p.V, calc(st, bits), ts, ts
	case aggStart, aggEnd:
		if a.n == 0 || r.before || r.after {
			return noData()
		}
		p := a.first
		if a.agg == aggEnd {
			p = a.last
		}
		st := ua.StatusCode(p.Status)
		if partial != 0 {
			st |= ua.StatusCode(infoDataValue | partial)
		}
		return p.V, st, p.Source, p.Server
	}
	return noData()
}

// interpolative is the stepped value at the interval's timestamp (Part
// 13 5.4.3.4 with stepped interpolation).
func (a *accumulator) interpolative(r dataRange) (ua.Variant, ua.StatusCode, time.Time, time.Time) {
	ts := a.iv.ts()
	s := a.at
	if !s.hasGood {
		return nil, ua.BadNoData, ts, ts // before the start of data, or only Bad values
	}
	bits := bitInterp
	if s.last.Server.Equal(ts) && !s.badSinceGood {
		bits = 0 // Raw: a value was published at that very time
	}
	st := ua.Good
	if s.badSinceGood || ua.StatusCode(s.good.Status).IsUncertain() || r.after {
		st, bits = ua.UncertainDataSubNormal, bitInterp
	}
	return s.good.V, st | ua.StatusCode(infoDataValue|bits), ts, ts
}
