package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
)

func benchModel(b *testing.B, n int, role Role) Model {
	m := New(generated(n), Options{Now: fixedClock, Role: role})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	return m
}

// BenchmarkView renders the tag table of 100k tags at 200×60.
func BenchmarkView(b *testing.B) {
	for _, role := range []Role{RoleEngineer, RoleOperator} {
		b.Run(string(role), func(b *testing.B) {
			m := benchModel(b, 100_000, role)
			b.ReportAllocs()
			for b.Loop() {
				m.s.a.invalidate()
				_ = m.View()
			}
		})
	}
}

// BenchmarkFilter filters 100k tags (the job, off the update loop).
func BenchmarkFilter(b *testing.B) {
	m := benchModel(b, 100_000, RoleEngineer)
	tbl := m.s.a.table
	for _, c := range []struct {
		name, filter string
		col          int
	}{{"substring", "tag0042", sortName}, {"status", "uncertain", sortName}, {"sort-value", "", sortValue}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tbl.filter, tbl.sortC = c.filter, c.col
				cmd := tbl.recompute()
				if msg, ok := cmd().(rowsMsg); !ok || len(msg.rows) == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
}

// BenchmarkRecomputeOnLoop is the part of a filter that runs on the
// update loop: preparing the job.
func BenchmarkRecomputeOnLoop(b *testing.B) {
	m := benchModel(b, 100_000, RoleEngineer)
	tbl := m.s.a.table
	tbl.filter = "tag0042"
	b.ReportAllocs()
	for b.Loop() {
		_ = tbl.recompute()
	}
}

// BenchmarkMergeNewTags merges 1000 new tags into 100k (on a frame).
func BenchmarkMergeNewTags(b *testing.B) {
	m := benchModel(b, 100_000, RoleOperator)
	d := m.s.a.d
	extra := generated(101_000).tags[100_000:]
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		d.tags = d.tags[:100_000]
		d.added = map[string]normalize.Sample{}
		for _, t := range extra {
			d.added[t.ID] = t
		}
		b.StartTimer()
		m.s.mergeAdded()
	}
}

// BenchmarkConsoleView renders the instructor console of a class of 60
// with 20 exercises at 200×60, as each second's refresh does.
func BenchmarkConsoleView(b *testing.B) {
	m := New(generated(100), Options{Now: fixedClock, NoColor: true, Trainer: stubTrainer{}, Role: RoleTrainer, Width: 200, Height: 60})
	msg := stubTrainer{}.load()
	for i := range 60 {
		msg.scores = append(msg.scores, Score{User: fmt.Sprintf("user%02d", i), Role: "operator", Online: i%3 > 0, AlertsSeen: i, Acks: i / 2, MeanAck: time.Duration(i) * time.Second})
	}
	for i := range 20 {
		msg.ex = append(msg.ex, Exercise{Name: fmt.Sprintf("exercise-%02d", i), Steps: 3, Fired: i % 4})
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(msg)
		_ = m.View()
	}
}
