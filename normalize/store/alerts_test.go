package store

import (
	"errors"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
)

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// raiseCond and clearCond are the conditions of the stale rule on target.
func raiseCond(target string, d time.Duration) normalize.Condition {
	return normalize.Condition{Kind: normalize.AlertStale, Target: target, Active: true, Severity: normalize.SeverityMedium, Message: "m", At: at(d)}
}

func clearCond(target string, d time.Duration) normalize.Condition {
	return normalize.Condition{Kind: normalize.AlertStale, Target: target, At: at(d)}
}

// clockStore is a store whose clock the test sets.
func clockStore(history int) (*Store, *time.Time) {
	now := t0
	return New(Config{AlertHistory: history, FrameInterval: time.Millisecond, Now: func() time.Time { return now }}), &now
}

func TestAlertLifecycle(t *testing.T) {
	type op struct {
		do      string // raise, clear, ack, shelve, oneshot, unshelve, expire
		d       time.Duration
		until   time.Duration
		want    normalize.AlertState
		count   int
		shelved bool
		err     error
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"raise ack clear", []op{
			{do: "raise", want: normalize.ActiveUnacked, count: 1},
			{do: "ack", d: 1, want: normalize.ActiveAcked, count: 1},
			{do: "clear", d: 2, want: normalize.Normal, count: 1},
			{do: "ack", d: 3, want: normalize.Normal, count: 1, err: ErrNotAckable},
		}},
		{"return to normal unacked", []op{
			{do: "raise", want: normalize.ActiveUnacked, count: 1},
			{do: "clear", d: 1, want: normalize.RTNUnacked, count: 1},
			{do: "ack", d: 2, want: normalize.Normal, count: 1},
		}},
		{"re-raise counts", []op{
			{do: "raise", want: normalize.ActiveUnacked, count: 1},
			{do: "raise", d: 1, want: normalize.ActiveUnacked, count: 1},
			{do: "clear", d: 2, want: normalize.RTNUnacked, count: 1},
			{do: "raise", d: 3, want: normalize.ActiveUnacked, count: 2},
			{do: "ack", d: 4, want: normalize.ActiveAcked, count: 2},
			{do: "clear", d: 5, want: normalize.Normal, count: 2},
			{do: "raise", d: 6, want: normalize.ActiveUnacked, count: 3},
		}},
		{"timed shelve expires", []op{
			{do: "raise", want: normalize.ActiveUnacked, count: 1},
			{do: "shelve", d: 1, until: 10, want: normalize.ActiveUnacked, count: 1, shelved: true},
			{do: "expire", d: 5, want: normalize.ActiveUnacked, count: 1, shelved: true},
			{do: "clear", d: 6, want: normalize.RTNUnacked, count: 1, shelved: true},
			{do: "expire", d: 10, want: normalize.RTNUnacked, count: 1, shelved: false},
		}},
		{"one-shot shelve ends when cleared", []op{
			{do: "raise", want: normalize.ActiveUnacked, count: 1},
			{do: "oneshot", d: 1, want: normalize.ActiveUnacked, count: 1, shelved: true},
			{do: "expire", d: 100, want: normalize.ActiveUnacked, count: 1, shelved: true},
			{do: "clear", d: 101, want: normalize.RTNUnacked, count: 1, shelved: false},
			{do: "oneshot", d: 102, want: normalize.RTNUnacked, count: 1, err: ErrBadShelve},
		}},
		{"unshelve", []op{
			{do: "raise", want: normalize.ActiveUnacked, count: 1},
			{do: "shelve", d: 1, until: 100, want: normalize.ActiveUnacked, count: 1, shelved: true},
			{do: "unshelve", d: 2, want: normalize.ActiveUnacked, count: 1, shelved: false},
			{do: "shelve", d: 3, until: 2, want: normalize.ActiveUnacked, count: 1, err: ErrBadShelve},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, now := clockStore(0)
			defer s.Close()
			id := normalize.AlertID(normalize.AlertStale, "x/y")
			for i, o := range tt.ops {
				*now = at(o.d * time.Second)
				var err error
				switch o.do {
				case "raise":
					s.PublishConditions(raiseCond("x/y", o.d*time.Second))
				case "clear":
					s.PublishConditions(clearCond("x/y", o.d*time.Second))
				case "ack":
					err = s.Ack(id, "ana", "seen")
				case "shelve":
					err = s.Shelve(id, "ben", "maintenance", at(o.until*time.Second))
				case "oneshot":
					err = s.Shelve(id, "ben", "known", time.Time{})
				case "unshelve":
					err = s.Unshelve(id, "ben")
				case "expire":
					s.Expire(*now)
				}
				if !errors.Is(err, o.err) {
					t.Fatalf("op %d %s: err %v, want %v", i, o.do, err, o.err)
				}
				a, _ := s.Alert(id)
				if a.State != o.want || a.Count != o.count || a.Shelved != o.shelved {
					t.Fatalf("op %d %s: state %v count %d shelved %v; want %v %d %v", i, o.do, a.State, a.Count, a.Shelved, o.want, o.count, o.shelved)
				}
			}
		})
	}
}

func TestAlertAckRecordsWho(t *testing.T) {
	s, now := clockStore(0)
	defer s.Close()
	s.PublishConditions(normalize.Condition{Kind: normalize.AlertCommLoss, Target: "plc", Active: true, Severity: normalize.SeverityCritical, Message: "down", At: at(0)})
	*now = at(time.Second)
	a, err := s.Act(Action{Kind: ActAck, AlertID: "comm_loss:plc", User: "ana", Comment: "calling maintenance"})
	if err != nil || a.AckedBy != "ana" || a.Comment != "calling maintenance" || !a.AckedAt.Equal(at(time.Second)) {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := s.Act(Action{Kind: ActAck, AlertID: "nope", User: "ana"}); !errors.Is(err, ErrUnknownAlert) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := s.Act(Action{Kind: "delete", AlertID: "comm_loss:plc", User: "ana"}); !errors.Is(err, ErrBadAction) {
		t.Fatalf("unknown action: %v", err)
	}
	// A new activation after Normal needs a new acknowledgement.
	s.PublishConditions(
		normalize.Condition{Kind: normalize.AlertCommLoss, Target: "plc", At: at(2 * time.Second)},
		normalize.Condition{Kind: normalize.AlertCommLoss, Target: "plc", Active: true, Severity: normalize.SeverityCritical, Message: "down again", At: at(3 * time.Second)},
	)
	a, _ = s.Alert("comm_loss:plc")
	if a.AckedBy != "" || a.State != normalize.ActiveUnacked || a.LastActive != at(3*time.Second) || a.FirstActive != at(0) ||
		a.Message != "down again" || a.Severity != normalize.SeverityCritical {
		t.Fatalf("%+v", a)
	}
}

func TestAlertListHistoryAndChanges(t *testing.T) {
	s, now := clockStore(4)
	defer s.Close()
	c := func(kind normalize.AlertKind, target string, sev normalize.AlertSeverity, d time.Duration) normalize.Condition {
		return normalize.Condition{Kind: kind, Target: target, Active: true, Severity: sev, Message: "m", At: at(d)}
	}
	s.PublishConditions(
		c(normalize.AlertStale, "a", normalize.SeverityMedium, 1),
		c(normalize.AlertCommLoss, "p", normalize.SeverityCritical, 0),
		c(normalize.AlertSpike, "b", normalize.SeverityMedium, 2),
		c(normalize.AlertFrozen, "c", normalize.SeverityLow, 3),
		normalize.Condition{Kind: normalize.AlertFrozen, Target: "c", At: at(4)},
	)
	*now = at(5)
	if err := s.Ack("frozen:c", "u", ""); err != nil { // now Normal: not listed
		t.Fatal(err)
	}
	list := s.Alerts()
	want := []string{"comm_loss:p", "spike:b", "stale:a"}
	if len(list) != len(want) {
		t.Fatalf("list %+v", list)
	}
	for i := range want {
		if list[i].ID != want[i] {
			t.Errorf("list[%d] = %s, want %s", i, list[i].ID, want[i])
		}
	}
	// A shelved alert is listed whatever its state.
	*now = at(6)
	if err := s.Shelve("frozen:c", "u", "work", at(100)); err != nil {
		t.Fatal(err)
	}
	if l := s.Alerts(); len(l) != 4 || !l[len(l)-1].Shelved {
		t.Fatalf("shelved Normal alert not listed: %+v", l)
	}
	*now = at(7)
	if err := s.Unshelve("frozen:c", "u"); err != nil {
		t.Fatal(err)
	}
	// The log keeps the last 4 of 8 transitions, numbered.
	h := s.AlertHistory("")
	if len(h) != 4 || h[3].What != normalize.EventUnshelved || h[0].AlertID != "frozen:c" || h[0].What != normalize.EventCleared {
		t.Fatalf("bounded history: %+v", h)
	}
	if hc := s.AlertHistory("frozen:c"); len(hc) != 4 {
		t.Fatalf("history of c: %+v", hc)
	}
	ch := s.AlertChanges(0, nil)
	if len(ch) != 4 || ch[0].Seq != 5 || ch[3].Seq != 8 || ch[1].Event.What != normalize.EventAcked || ch[1].Alert.State != normalize.Normal ||
		ch[1].Alert.AckedBy != "u" {
		t.Fatalf("changes %+v", ch)
	}
	if later := s.AlertChanges(7, nil); len(later) != 1 || later[0].Seq != 8 {
		t.Fatalf("changes after 7: %+v", later)
	}
	if none := s.AlertChanges(8, nil); len(none) != 0 {
		t.Fatalf("changes after the last: %+v", none)
	}
}

// TestAlertTransitionPublishedOnce: every transition marks its alert once
// for a subscriber, an ack included, and a raise of an active alert (or a
// clear of one not active) changes nothing and publishes nothing.
func TestAlertTransitionPublishedOnce(t *testing.T) {
	s, _ := clockStore(0)
	defer s.Close()
	s.PublishConditions(raiseCond("x", 0))
	sub := s.Subscribe()
	defer sub.Close()
	if b := next(t, sub); len(b.Alerts) != 1 || b.Alerts[0].State != normalize.ActiveUnacked {
		t.Fatalf("%+v", b)
	}
	s.PublishConditions(raiseCond("x", time.Second), clearCond("y", time.Second))
	if err := s.Ack("stale:x", "ana", "ok"); err != nil {
		t.Fatal(err)
	}
	b := next(t, sub)
	if len(b.Alerts) != 1 || b.Alerts[0].State != normalize.ActiveAcked || b.Alerts[0].AckedBy != "ana" {
		t.Fatalf("%+v", b)
	}
	ch := s.AlertChanges(0, nil)
	if len(ch) != 2 || ch[0].Event.What != normalize.EventRaised || ch[1].Event.What != normalize.EventAcked {
		t.Fatalf("changes %+v, want one raise and one ack", ch)
	}
	if _, ok := s.Alert("stale:y"); ok {
		t.Fatal("a clear of an unknown condition made an alert")
	}
}
