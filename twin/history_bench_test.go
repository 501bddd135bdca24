package twin

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkHistory100k measures what computed history costs on a twin of
// 100k tags (bigScenario: 200 machines × 500 tags of every model kind):
//
//   - journal-KB: the journal's memory: a chunk of 512 KiB holds 65536
//     ticks (8 bytes a tick), whatever the number of tags;
//   - stored-MB/h: what storing every published value would take instead
//     (the changes a tick publishes, measured, × 16 bytes a point at its
//     most compact: value and time; status not counted), per hour;
//   - replay-ns/tag-tick and live-ns/tag-tick: reading a tag's history
//     replays the tag and what its expressions read, from the start;
//     the anchor is the live engine's own cost per tag and tick, in the
//     same run, and replay/live their ratio;
//   - open-µs: building a cursor's replay (its part of the scenario);
//   - cursor-KB: the heap an idle cursor keeps (the engine keeps up to
//     64 for the next reads).
func BenchmarkHistory100k(b *testing.B) {
	const ticks = 300
	sc := bigScenario(b, 200, 500)
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	e, err := New(sc, Options{Now: clock.now, Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	w := e.Watch()
	var changed []int
	changes := 0
	start := time.Now()
	for range ticks {
		clock.t = clock.t.Add(100 * time.Millisecond)
		e.Step(1)
		changed = w.Changed(changed[:0])
		changes += len(changed)
	}
	live := time.Since(start)
	w.Close()
	tags := len(e.Tags())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var cursors []*HistoryCursor
	for k := range maxIdleCursors {
		c, err := e.OpenHistory(k * 37 % tags)
		if err != nil {
			b.Fatal(err)
		}
		cursors = append(cursors, c)
	}
	budget := int64(1 << 40)
	for _, c := range cursors {
		if err := c.Seek(clock.t, &budget); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	b.ResetTimer()
	var replayed, tagTicks int64
	var opening time.Duration
	for i := range b.N {
		c, err := e.OpenHistory((i*7919 + 13) % tags)
		if err != nil {
			b.Fatal(err)
		}
		// A fresh cursor: replay from the start, not the ring.
		c2 := &HistoryCursor{e: e, tag: c.tag, ring: make([]HistoryPoint, ringSize)}
		t0 := time.Now()
		if err := c2.restart(); err != nil {
			b.Fatal(err)
		}
		opening += time.Since(t0)
		budget := int64(1 << 40)
		for {
			_, ok, err := c2.Next(&budget)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
		}
		replayed += ticks
		tagTicks += int64(ticks * len(c2.sub.rt))
		c.Close()
	}
	el := b.Elapsed()
	b.ReportMetric(float64(e.HistoryBytes())/1024, "journal-KB")
	b.ReportMetric(float64(changes)/ticks*10*3600*16/1e6, "stored-MB/h")
	liveNs := float64(live.Nanoseconds()) / float64(ticks*tags)
	replayNs := float64((el - opening).Nanoseconds()) / float64(tagTicks)
	b.ReportMetric(liveNs, "live-ns/tag-tick")
	b.ReportMetric(replayNs, "replay-ns/tag-tick")
	b.ReportMetric(replayNs/liveNs, "replay/live")
	b.ReportMetric(float64((el-opening).Nanoseconds())/float64(replayed)/1e3, "µs/tick-of-history")
	b.ReportMetric(float64(opening.Microseconds())/float64(b.N), "open-µs")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/maxIdleCursors/1024, "cursor-KB")
}
