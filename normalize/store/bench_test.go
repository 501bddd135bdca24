package store

import (
	"fmt"
	"testing"

	"github.com/otwin/otwin/normalize"
)

// BenchmarkPublish10Subscribers publishes single samples over 1000 tags
// with 10 subscribers reading.
func BenchmarkPublish10Subscribers(b *testing.B) {
	s := New(Config{})
	defer s.Close()
	for range 10 {
		sub := s.Subscribe()
		go func() {
			for range sub.C() {
			}
		}()
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprint("site/line/m/t", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.Publish(normalize.Sample{ID: ids[i%len(ids)], Value: float64(i), Seq: uint64(i)})
	}
}

// BenchmarkSnapshot100k takes a sorted snapshot of 100k tags into a
// reused slice.
func BenchmarkSnapshot100k(b *testing.B) {
	s := New(Config{History: 8})
	for i := range 100_000 {
		s.Publish(normalize.Sample{ID: fmt.Sprintf("site/line/m%03d/t%d", i%997, i), Value: float64(i)})
	}
	dst := s.Snapshot()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst = s.SnapshotInto(dst)
	}
	if len(dst) != 100_000 {
		b.Fatal(len(dst))
	}
}
