package opcuaserver

import (
	"testing"
	"time"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin"
)

// TestAggregateStatus: Part 13's status rules on hand-made intervals:
// PercentDataGood and PercentDataBad, TreatUncertainAsBad, Minimum and
// Maximum with Bad, Uncertain and repeated values, Interpolative over Bad
// values.
func TestAggregateStatus(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	pt := func(s int, v float64, st ua.StatusCode) twin.HistoryPoint {
		return twin.HistoryPoint{V: v, Status: uint32(st), Source: at(s), Server: at(s)}
	}
	iv := interval{lo: at(0), hi: at(10)}
	full := dataRange{}
	run := func(agg aggregate, cfg aggConfig, pts ...twin.HistoryPoint) (any, ua.StatusCode) {
		a := accumulator{agg: agg, cfg: cfg, iv: iv}
		for _, p := range pts {
			if !a.snapped && p.Server.After(iv.lo) {
				a.snapped = true
			}
			a.add(p)
			if !a.snapped {
				a.at.add(p)
			}
		}
		v, st, _, _ := a.result(full)
		return v, st
	}
	bad, unc := ua.BadSensorFailure, ua.UncertainLastUsableValue
	tests := []struct {
		name   string
		agg    aggregate
		cfg    aggConfig
		pts    []twin.HistoryPoint
		v      any
		status ua.StatusCode
	}{
		{"average, all good", aggAverage, defaultAggConfig, []twin.HistoryPoint{pt(1, 2, 0), pt(2, 4, 0)}, 3.0, ua.StatusCode(infoDataValue | bitCalculated)},
		{"average, one bad of four", aggAverage, defaultAggConfig, []twin.HistoryPoint{pt(1, 2, 0), pt(2, 4, 0), pt(3, 6, 0), pt(4, 99, bad)}, 4.0, ua.UncertainDataSubNormal | ua.StatusCode(infoDataValue|bitCalculated)},
		{"average, 75% good is enough at 75", aggAverage, aggConfig{uncertainAsBad: true, pctBad: 100, pctGood: 75}, []twin.HistoryPoint{pt(1, 2, 0), pt(2, 4, 0), pt(3, 6, 0), pt(4, 99, bad)}, 4.0, ua.StatusCode(infoDataValue | bitCalculated)},
		{"count, half bad is bad at 50", aggCount, aggConfig{uncertainAsBad: true, pctBad: 50, pctGood: 100}, []twin.HistoryPoint{pt(1, 2, 0), pt(4, 9, bad)}, int32(1), statusBad | ua.StatusCode(infoDataValue|bitCalculated)},
		{"uncertain as good", aggCount, aggConfig{uncertainAsBad: false, pctBad: 100, pctGood: 100}, []twin.HistoryPoint{pt(1, 2, 0), pt(4, 9, unc)}, int32(1), ua.StatusCode(infoDataValue | bitCalculated)},
		{"uncertain as bad", aggCount, defaultAggConfig, []twin.HistoryPoint{pt(1, 2, 0), pt(4, 9, unc)}, int32(1), ua.UncertainDataSubNormal | ua.StatusCode(infoDataValue|bitCalculated)},
		{"minimum twice", aggMinimum, defaultAggConfig, []twin.HistoryPoint{pt(1, 2, 0), pt(2, 5, 0), pt(3, 2, 0)}, 2.0, ua.StatusCode(infoDataValue | bitCalculated | bitMulti)},
		{"minimum below it uncertain", aggMinimum, defaultAggConfig, []twin.HistoryPoint{pt(1, 2, 0), pt(2, 1, unc)}, 2.0, ua.UncertainDataSubNormal | ua.StatusCode(infoDataValue|bitCalculated)},
		{"maximum with a bad value", aggMaximum, defaultAggConfig, []twin.HistoryPoint{pt(1, 2, 0), pt(2, 100, bad)}, 2.0, ua.UncertainDataSubNormal | ua.StatusCode(infoDataValue|bitCalculated)},
		{"maximum of nothing good", aggMaximum, defaultAggConfig, []twin.HistoryPoint{pt(2, 100, bad)}, nil, ua.BadNoData},
		{"interpolative over a bad value", aggInterpolative, defaultAggConfig, []twin.HistoryPoint{pt(0, 7, 0), pt(0, 8, bad)}, 7.0, ua.UncertainDataSubNormal | ua.StatusCode(infoDataValue|bitInterp)},
		{"start is raw", aggStart, defaultAggConfig, []twin.HistoryPoint{pt(3, 8, unc), pt(4, 9, 0)}, 8.0, unc},
	}
	for _, tt := range tests {
		v, st := run(tt.agg, tt.cfg, tt.pts...)
		if v != tt.v || st != tt.status {
			t.Errorf("%s: %v 0x%08X, want %v 0x%08X", tt.name, v, uint32(st), tt.v, uint32(tt.status))
		}
	}
	if _, code := aggConfigOf(ua.AggregateConfiguration{PercentDataBad: 101}); code != ua.BadAggregateInvalidInputs {
		t.Errorf("PercentDataBad 101: %v", code)
	}
}
