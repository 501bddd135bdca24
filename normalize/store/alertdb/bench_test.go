package alertdb

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

// benchTarget is a tag id of realistic length.
func benchTarget(i int) string {
	return fmt.Sprintf("acme/springfield/packaging/line1/filling/filler%d/speed", i)
}

// benchChange is transition seq of alert i%alerts.
func benchChange(seq uint64, alerts int) store.AlertChange {
	id := normalize.AlertID(normalize.AlertOutOfRange, benchTarget(int(seq)%alerts))
	a := normalize.Alert{ID: id, Kind: normalize.AlertOutOfRange, Target: benchTarget(int(seq) % alerts), Severity: normalize.SeverityHigh,
		State: normalize.ActiveUnacked, Message: "151.2 above the range 0..100", Count: int(seq), FirstActive: at(0), LastActive: at(time.Duration(seq))}
	return store.AlertChange{Seq: seq, Alert: a,
		Event: normalize.AlertEvent{At: at(time.Duration(seq) * time.Millisecond), AlertID: id, What: normalize.EventRaised, State: a.State, Comment: a.Message}}
}

// BenchmarkTransition is the cost of one alert transition on the store's
// hot path (PublishConditions): in memory (the anchor); journaled to the
// alert database with the writer idle (the cost a transition adds to the
// hot path: a queued copy); and with the writer writing every 200ms
// meanwhile (on a 2-core machine the writer's CPU counts too). The rate
// here is far above any line's: past MaxQueue queued transitions, the
// oldest half of the history is dropped, which this cost includes.
func BenchmarkTransition(b *testing.B) {
	conds := make([][2]normalize.Condition, 100)
	for i := range conds {
		conds[i] = [2]normalize.Condition{raise(benchTarget(i), 0), clearOf(benchTarget(i), 0)}
	}
	run := func(b *testing.B, st *store.Store) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := &conds[i%len(conds)]
			st.PublishConditions(c[(i/len(conds))%2])
		}
	}
	b.Run("memory", func(b *testing.B) {
		st := store.New(store.Config{})
		defer st.Close()
		run(b, st)
	})
	for _, v := range []struct {
		name  string
		every time.Duration
	}{{"alertdb-queued", time.Hour}, {"alertdb-writing", DefaultFlushInterval}} {
		b.Run(v.name, func(b *testing.B) {
			db, err := Open(b.TempDir(), Options{KeepAge: -1, FlushInterval: v.every})
			if err != nil {
				b.Fatal(err)
			}
			st := store.New(store.Config{Journal: db, Restored: db.Restored()})
			defer st.Close()
			run(b, st)
			b.StopTimer()
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWrite is the writer's cost per transition, written in batches
// of n and committed (fsync) once per batch; the anchor appends the same
// bytes to a plain file and fsyncs it once per batch.
func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("alertdb/batch=%d", n), func(b *testing.B) {
			db, err := Open(b.TempDir(), Options{FlushInterval: time.Hour, KeepAge: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				db.Record(benchChange(uint64(i+1), 100))
				if (i+1)%n == 0 || i == b.N-1 {
					if err := db.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("fsync-anchor/batch=%d", n), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			line := []byte(fmt.Sprintf("%d %s raised active_unacked 151.2 above the range 0..100\n", time.Now().UnixNano(), benchTarget(1)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.Write(line); err != nil {
					b.Fatal(err)
				}
				if (i+1)%n == 0 || i == b.N-1 {
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// benchFile writes a database of events transitions on alerts alerts in
// a new directory and returns it.
func benchFile(b *testing.B, events, alerts int) string {
	b.Helper()
	dir := b.TempDir()
	db, err := Open(dir, Options{FlushInterval: time.Hour, KeepAge: -1, KeepEvents: -1})
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= events; i++ {
		db.Record(benchChange(uint64(i), alerts))
		if i%5000 == 0 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkOpen is the startup cost: Open (lock, quick_check of every
// page, the alerts and the latest 2000 transitions) and Close of a file of
// 100,000 transitions on 1,000 alerts; file-MB is its size. The anchor
// reads the same file whole.
func BenchmarkOpen(b *testing.B) {
	dir := benchFile(b, 100_000, 1000)
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("alertdb/events=100000", func(b *testing.B) {
		b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
		for i := 0; i < b.N; i++ {
			db, err := Open(dir, Options{KeepAge: -1})
			if err != nil {
				b.Fatal(err)
			}
			if r := db.Restored(); len(r.Alerts) != 1000 || len(r.History) != store.DefaultAlertHistory {
				b.Fatalf("restored %d alerts, %d events", len(r.Alerts), len(r.History))
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-anchor", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := os.ReadFile(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}
