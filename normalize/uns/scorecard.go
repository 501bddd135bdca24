package uns

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/otwin/otwin/normalize/score"
)

// Scorecard is the JSON payload of a collector's data-quality scorecards
// (Topics.Scorecard), retained: the report of its scorecard board as
// `otwin watch --headless` writes it (score.Report, score.Card), plus
// "node":
//
//	{"type":"scorecard","node":"edge1","at":"2026-12-06T10:05:00Z","window_s":900,
//	 "sites":[{"level":"site","asset":"acme/plant1","from":"…","to":"…",
//	   "completeness":0.998,"expected":5400,"received":5389,"validity":1,
//	   "samples":5389,"good":5389,"p95_age_s":0.41,"availability":1}],
//	 "lines":[…],"machines":[…],
//	 "periods":[{"level":"batch","asset":"acme/plant1/bottling","value":"B-2401",…}]}
type Scorecard struct {
	Type string `json:"type"` // "scorecard"
	Node string `json:"node"`
	score.Report
}

// ScorecardPayload returns the payload of report r of collector node.
func ScorecardPayload(node string, r *score.Report) []byte {
	b, _ := json.Marshal(Scorecard{Type: "scorecard", Node: node, Report: *r}) // numbers, strings, times: cannot fail
	return b
}

// DecodeScorecard decodes a scorecard payload (ScorecardPayload's
// object). Cards need a level and an asset; ratios must be in [0, 1] or
// -1 (nothing to go on).
func DecodeScorecard(b []byte) (sc Scorecard, extra bool, err error) {
	if extra, err = decodeObject(b, &sc); err != nil {
		return sc, false, err
	}
	for _, cs := range [][]score.Card{sc.Sites, sc.Lines, sc.Machines, sc.Periods} {
		for i := range cs {
			c := &cs[i]
			if c.Level == "" || c.Asset == "" {
				return sc, false, malformed(`a scorecard needs "level" and "asset"`)
			}
			for _, f := range []struct {
				name string
				v    float64
			}{{"completeness", c.Completeness}, {"validity", c.Validity}, {"availability", c.Availability}} {
				if f.v != -1 && (f.v < 0 || f.v > 1) {
					return sc, false, malformed("scorecard %s %s: %s %v out of [0, 1]", c.Level, c.Asset, f.name, f.v)
				}
			}
		}
	}
	return sc, extra, nil
}

// MergeScorecards makes one report of the reports of several collectors
// (a central dashboard's): their cards side by side, each level sorted by
// asset (a line's periods in their report's order), at the latest
// report's time and over the longest window.
func MergeScorecards(rs ...score.Report) score.Report {
	var out score.Report
	for i := range rs {
		r := &rs[i]
		if r.At.After(out.At) {
			out.At = r.At
		}
		out.Window = max(out.Window, r.Window)
		out.Sites = append(out.Sites, r.Sites...)
		out.Lines = append(out.Lines, r.Lines...)
		out.Machines = append(out.Machines, r.Machines...)
		out.Periods = append(out.Periods, r.Periods...)
	}
	byAsset := func(a, b score.Card) int { return strings.Compare(a.Asset, b.Asset) }
	slices.SortStableFunc(out.Sites, byAsset)
	slices.SortStableFunc(out.Lines, byAsset)
	slices.SortStableFunc(out.Machines, byAsset)
	slices.SortStableFunc(out.Periods, byAsset) // a line's periods keep their order
	return out
}
