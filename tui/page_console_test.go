package tui

import (
	"fmt"
	"testing"
	"time"
)

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
