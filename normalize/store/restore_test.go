package store

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
)

func TestAlertComment(t *testing.T) {
	s, now := clockStore(0)
	defer s.Close()
	s.PublishConditions(raiseCond("x", 0))
	*now = at(time.Second)
	a, err := s.Act(Action{Kind: ActComment, AlertID: "stale:x", User: "max", Comment: "sensor cable loose, fixing"})
	if err != nil || a.State != normalize.ActiveUnacked || a.AckedBy != "" {
		t.Fatalf("comment: %+v %v; want the alert still unacknowledged", a, err)
	}
	if _, err := s.Act(Action{Kind: ActComment, AlertID: "stale:x", User: "max", Comment: "  "}); !errors.Is(err, ErrNoComment) {
		t.Fatalf("empty comment: %v, want ErrNoComment", err)
	}
	if _, err := s.Act(Action{Kind: ActComment, AlertID: "stale:nope", User: "max", Comment: "x"}); !errors.Is(err, ErrUnknownAlert) {
		t.Fatalf("unknown alert: %v", err)
	}
	// A note on an alert back to normal is fine too.
	s.PublishConditions(clearCond("x", 2*time.Second))
	if err := s.Ack("stale:x", "olga", ""); err != nil {
		t.Fatal(err)
	}
	*now = at(3 * time.Second)
	if _, err := s.Act(Action{Kind: ActComment, AlertID: "stale:x", User: "max", Comment: "replaced the cable"}); err != nil {
		t.Fatal(err)
	}
	var notes []normalize.AlertEvent
	for _, e := range s.AlertHistory("stale:x") {
		if e.What == normalize.EventCommented {
			notes = append(notes, e)
		}
	}
	if len(notes) != 2 || notes[0].User != "max" || notes[0].Comment != "sensor cable loose, fixing" || !notes[0].At.Equal(at(time.Second)) ||
		notes[0].State != normalize.ActiveUnacked || notes[1].State != normalize.Normal {
		t.Fatalf("notes in the history: %+v", notes)
	}
}

// journal records what a store hands it.
type journal struct {
	mu  sync.Mutex
	got []AlertChange
}

func (j *journal) Record(c AlertChange) {
	j.mu.Lock()
	j.got = append(j.got, c)
	j.mu.Unlock()
}

// TestJournalSeesEveryTransitionOnce: the journal gets every transition,
// in order, numbered as AlertChanges numbers them, even those the bounded
// log no longer keeps.
func TestJournalSeesEveryTransitionOnce(t *testing.T) {
	j := &journal{}
	now := t0
	s := New(Config{AlertHistory: 3, Journal: j, Now: func() time.Time { return now }})
	defer s.Close()
	s.PublishConditions(raiseCond("a", 0), raiseCond("b", 0), raiseCond("a", 1)) // the second raise of a changes nothing
	if err := s.Ack("stale:a", "ana", "ok"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Act(Action{Kind: ActComment, AlertID: "stale:b", User: "ben", Comment: "looking"}); err != nil {
		t.Fatal(err)
	}
	s.PublishConditions(clearCond("a", 2))
	want := []string{"raised stale:a", "raised stale:b", "acked stale:a", "commented stale:b", "cleared stale:a"}
	if len(j.got) != len(want) {
		t.Fatalf("journal has %d changes, want %d: %+v", len(j.got), len(want), j.got)
	}
	for i, c := range j.got {
		if c.Seq != uint64(i+1) || c.Event.What+" "+c.Event.AlertID != want[i] || c.Alert.ID != c.Event.AlertID {
			t.Errorf("journal[%d] = %d %s %s, want %d %s", i, c.Seq, c.Event.What, c.Event.AlertID, i+1, want[i])
		}
	}
	if kept := s.AlertChanges(0, nil); len(kept) != 3 || kept[2] != j.got[4] {
		t.Fatalf("log keeps %+v", kept)
	}
}

// restoredStore is a store restored from r, its Expire clock at t0.
func restoredStore(r *Restored, grace time.Duration) *Store {
	return New(Config{AlertHistory: 8, Restored: r, RestoreGrace: grace, FrameInterval: time.Millisecond, Now: func() time.Time { return t0 }})
}

func TestRestore(t *testing.T) {
	acked := normalize.Alert{ID: "stale:a", Kind: normalize.AlertStale, Target: "a", Severity: normalize.SeverityMedium,
		State: normalize.ActiveAcked, Count: 2, AckedBy: "ana", AckedAt: at(-time.Hour), Comment: "known", FirstActive: at(-2 * time.Hour), LastActive: at(-time.Hour)}
	unacked := normalize.Alert{ID: "stale:b", Kind: normalize.AlertStale, Target: "b", State: normalize.ActiveUnacked, Count: 1}
	oneShot := normalize.Alert{ID: "stale:c", Kind: normalize.AlertStale, Target: "c", State: normalize.ActiveAcked, Count: 1,
		Shelved: true, ShelvedOneShot: true, ShelvedBy: "ben", ShelveReason: "maintenance"}
	timed := normalize.Alert{ID: "stale:d", Kind: normalize.AlertStale, Target: "d", State: normalize.RTNUnacked, Count: 1,
		Shelved: true, ShelvedUntil: at(-time.Minute), ShelvedBy: "ben"}
	rtn := normalize.Alert{ID: "stale:e", Kind: normalize.AlertStale, Target: "e", State: normalize.RTNUnacked, Count: 1}
	r := &Restored{
		Alerts: []normalize.Alert{acked, unacked, oneShot, timed, rtn},
		History: []AlertChange{
			{Seq: 40, Event: normalize.AlertEvent{AlertID: "stale:a", What: normalize.EventAcked, User: "ana", Comment: "known"}},
			// 41 was lost: the numbering has a gap
			{Seq: 42, Event: normalize.AlertEvent{AlertID: "stale:b", What: normalize.EventCommented, User: "max", Comment: "on it"}},
		},
		Seq: 42,
	}
	grace := 30 * time.Second

	t.Run("kept as saved", func(t *testing.T) {
		s := restoredStore(r, grace)
		defer s.Close()
		for _, want := range r.Alerts {
			if got, ok := s.Alert(want.ID); !ok || got != want {
				t.Errorf("restored %s = %+v, want %+v", want.ID, got, want)
			}
		}
		h := s.AlertHistory("")
		if len(h) != 2 || h[1].What != normalize.EventCommented || h[1].Comment != "on it" {
			t.Fatalf("restored history %+v", h)
		}
		if s.RestoredSeq() != 42 || len(s.AlertChanges(0, nil)) != 0 {
			t.Fatalf("RestoredSeq %d, changes %+v: restored changes are history, not changes", s.RestoredSeq(), s.AlertChanges(0, nil))
		}
		if _, err := s.Act(Action{Kind: ActComment, AlertID: "stale:a", User: "olga", Comment: "still there"}); err != nil {
			t.Fatal(err)
		}
		if ch := s.AlertChanges(0, nil); len(ch) != 1 || ch[0].Seq != 43 {
			t.Fatalf("first change after the restore %+v, want Seq 43", ch)
		}
		// A subscriber's first batch has the restored alerts.
		sub := s.Subscribe()
		defer sub.Close()
		if b := next(t, sub); len(b.Alerts) != len(r.Alerts) {
			t.Fatalf("first batch has %d alerts, want %d", len(b.Alerts), len(r.Alerts))
		}
	})

	t.Run("raised again within the grace", func(t *testing.T) {
		s := restoredStore(r, grace)
		defer s.Close()
		s.Expire(at(0)) // the pipeline's first tick starts the grace
		s.PublishConditions(raiseCond("a", 5*time.Second), raiseCond("c", 5*time.Second), raiseCond("b", 6*time.Second))
		s.Expire(at(grace + time.Second))
		for _, id := range []string{"stale:a", "stale:b", "stale:c"} {
			got, _ := s.Alert(id)
			want := r.Alerts[map[string]int{"stale:a": 0, "stale:b": 1, "stale:c": 2}[id]]
			if got != want {
				t.Errorf("%s raised again: %+v, want it untouched %+v", id, got, want)
			}
		}
		for _, c := range s.AlertChanges(0, nil) {
			if c.Event.AlertID != "stale:d" { // its timed shelve ended while down
				t.Errorf("unexpected transition %s %s", c.Event.What, c.Event.AlertID)
			}
		}
	})

	t.Run("not raised again", func(t *testing.T) {
		s := restoredStore(r, grace)
		defer s.Close()
		s.Expire(at(0))
		if d, _ := s.Alert("stale:d"); d.Shelved {
			t.Error("a timed shelve that ended while otwin was down is still on after the first Expire")
		}
		s.Expire(at(grace - time.Second))
		if a, _ := s.Alert("stale:a"); a.State != normalize.ActiveAcked {
			t.Fatalf("cleared before the grace ended: %+v", a)
		}
		s.Expire(at(grace))
		want := map[string]normalize.AlertState{"stale:a": normalize.Normal, "stale:b": normalize.RTNUnacked, "stale:c": normalize.Normal,
			"stale:d": normalize.RTNUnacked, "stale:e": normalize.RTNUnacked}
		for id, st := range want {
			if a, _ := s.Alert(id); a.State != st {
				t.Errorf("%s after the grace: %v, want %v", id, a.State, st)
			}
		}
		if c, _ := s.Alert("stale:c"); c.Shelved {
			t.Error("the one-shot shelve of stale:c did not end with its clear")
		}
		if a, _ := s.Alert("stale:a"); a.AckedBy != "ana" || !a.Cleared.Equal(at(grace)) {
			t.Errorf("stale:a after the grace: %+v", a)
		}
		var why string
		for _, e := range s.AlertHistory("stale:b") {
			if e.What == normalize.EventCleared {
				why = e.Comment
			}
		}
		if !strings.Contains(why, "not raised again within 30s") {
			t.Errorf("the clear of stale:b says %q", why)
		}
		// Once settled, a later raise is a new activation.
		s.PublishConditions(raiseCond("a", grace+time.Second))
		if a, _ := s.Alert("stale:a"); a.State != normalize.ActiveUnacked || a.Count != 3 || a.AckedBy != "" {
			t.Errorf("raised after the grace: %+v", a)
		}
	})

	t.Run("cleared within the grace", func(t *testing.T) {
		s := restoredStore(r, grace)
		defer s.Close()
		s.Expire(at(0))
		s.PublishConditions(clearCond("b", time.Second))
		s.Expire(at(grace))
		var clears []normalize.AlertEvent
		for _, e := range s.AlertHistory("stale:b") {
			if e.What == normalize.EventCleared {
				clears = append(clears, e)
			}
		}
		if len(clears) != 1 || clears[0].Comment != "" || !clears[0].At.Equal(at(time.Second)) {
			t.Fatalf("clears of stale:b %+v, want the rule's one", clears)
		}
	})

	t.Run("negative grace keeps them", func(t *testing.T) {
		s := restoredStore(r, -1)
		defer s.Close()
		s.Expire(at(0))
		s.Expire(at(24 * time.Hour))
		if a, _ := s.Alert("stale:a"); a.State != normalize.ActiveAcked {
			t.Fatalf("%+v", a)
		}
	})
}
