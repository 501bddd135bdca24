package normalize

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
)

// FuzzApply feeds arbitrary readings and checks the invariants: no panic,
// Seq increases by one per emitted sample of a tag, SourceTime never goes
// back, a Good sample's value is finite and inside the range when clamped,
// and conditions are edges (no raise of an active one, no clear of one
// not active).
func FuzzApply(f *testing.F) {
	f.Add(uint8(0), 1.5, int64(3), "x", uint32(0), int64(0), true)
	f.Add(uint8(3), math.NaN(), int64(-1), "", uint32(0x80310000), int64(-5), false)
	f.Add(uint8(5), math.Inf(1), int64(1<<62), "ab", uint32(0x40940000), int64(7), true)
	f.Fuzz(func(t *testing.T, kind uint8, fv float64, iv int64, sv string, status uint32, dt int64, info bool) {
		tm := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("Apply hangs: %v %v %v %q %v %v %v", kind, fv, iv, sv, status, dt, info)) })
		defer tm.Stop()
		n, err := New(Config{Points: []Point{
			{Source: "s", Address: "a", Asset: "x", Tag: "a", Range: &Range{Low: -10, High: 10}, Clamp: true, Rules: &Rules{Deadband: 0.1, Frozen: time.Second}},
			{Source: "s", Address: "b", Asset: "x", Tag: "b", Interval: time.Second},
		}, AutoMap: []AutoMap{{Source: "s", AssetPrefix: "auto"}}})
		if err != nil {
			t.Fatal(err)
		}
		log := newCondLog(t)
		var out Output
		lastSeq := map[string]uint64{}
		lastSrc := map[string]time.Time{}
		var raws = []any{fv, iv, sv, kind%2 == 0, nil, float32(fv), uint64(iv), []byte(sv), struct{}{}}
		for i := 0; i < 40; i++ {
			addr := []string{"a", "b", "c", sv}[(int(kind)+i)%4]
			r := connectors.Reading{
				Source: "s", Address: addr, Raw: raws[(int(kind)+i*7)%len(raws)],
				SourceTime: t0.Add(time.Duration(dt*int64(i%5-2)) * time.Millisecond), Received: t0.Add(time.Duration(i) * time.Second),
			}
			if status != 0 && i%3 == 0 {
				r.Status = connectors.StatusCode(status)
			}
			r.LinkDown = status != 0 && i%5 == 0
			if info && i%4 == 0 {
				r.Info = &connectors.PointInfo{BrowsePath: sv + "/" + addr, HasRange: true, Low: fv, High: float64(iv), HasUnit: true, UnitID: int32(iv)}
			}
			out.Reset()
			ok := n.Apply(r, &out)
			log.take(&out)
			if ok {
				checkSample(t, out.Samples[0], lastSeq, lastSrc)
			}
			if i%6 == 0 {
				out.Reset()
				n.Tick(r.Received, &out)
				n.ObserveHealth(connectors.Health{Source: "s", State: connectors.LinkState(i % 3), SequenceGaps: uint64(i / 2)}, &out)
				for _, ts := range out.Samples {
					checkSample(t, ts, lastSeq, lastSrc)
				}
				log.take(&out)
			}
		}
	})
}

// checkSample checks the invariants of one sample against the tag's last.
func checkSample(t *testing.T, s Sample, lastSeq map[string]uint64, lastSrc map[string]time.Time) {
	t.Helper()
	if s.Seq != lastSeq[s.ID]+1 {
		t.Fatalf("seq %d after %d", s.Seq, lastSeq[s.ID])
	}
	lastSeq[s.ID] = s.Seq
	if !s.SourceTime.IsZero() {
		if s.SourceTime.Before(lastSrc[s.ID]) {
			t.Fatalf("source time went back")
		}
		lastSrc[s.ID] = s.SourceTime
	}
	if s.Status.IsGood() && s.Kind == Number {
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			t.Fatalf("good non-finite value %v", s.Value)
		}
		if s.ID == "x/a" && (s.Value < -10 || s.Value > 10) {
			t.Fatalf("clamped value %v outside range", s.Value)
		}
	}
}
