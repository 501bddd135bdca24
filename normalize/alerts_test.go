package normalize

import (
	"errors"
	"testing"
	"time"
)

func TestAlertLifecycle(t *testing.T) {
	type op struct {
		do      string // raise, clear, ack, shelve, oneshot, unshelve, expire
		d       time.Duration
		until   time.Duration
		want    AlertState
		count   int
		shelved bool
		err     error
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"raise ack clear", []op{
			{do: "raise", want: ActiveUnacked, count: 1},
			{do: "ack", d: 1, want: ActiveAcked, count: 1},
			{do: "clear", d: 2, want: Normal, count: 1},
			{do: "ack", d: 3, want: Normal, count: 1, err: ErrNotAckable},
		}},
		{"return to normal unacked", []op{
			{do: "raise", want: ActiveUnacked, count: 1},
			{do: "clear", d: 1, want: RTNUnacked, count: 1},
			{do: "ack", d: 2, want: Normal, count: 1},
		}},
		{"re-raise counts", []op{
			{do: "raise", want: ActiveUnacked, count: 1},
			{do: "raise", d: 1, want: ActiveUnacked, count: 1},
			{do: "clear", d: 2, want: RTNUnacked, count: 1},
			{do: "raise", d: 3, want: ActiveUnacked, count: 2},
			{do: "ack", d: 4, want: ActiveAcked, count: 2},
			{do: "clear", d: 5, want: Normal, count: 2},
			{do: "raise", d: 6, want: ActiveUnacked, count: 3},
		}},
		{"timed shelve expires", []op{
			{do: "raise", want: ActiveUnacked, count: 1},
			{do: "shelve", d: 1, until: 10, want: ActiveUnacked, count: 1, shelved: true},
			{do: "expire", d: 5, want: ActiveUnacked, count: 1, shelved: true},
			{do: "clear", d: 6, want: RTNUnacked, count: 1, shelved: true},
			{do: "expire", d: 10, want: RTNUnacked, count: 1, shelved: false},
		}},
		{"one-shot shelve ends when cleared", []op{
			{do: "raise", want: ActiveUnacked, count: 1},
			{do: "oneshot", d: 1, want: ActiveUnacked, count: 1, shelved: true},
			{do: "expire", d: 100, want: ActiveUnacked, count: 1, shelved: true},
			{do: "clear", d: 101, want: RTNUnacked, count: 1, shelved: false},
			{do: "oneshot", d: 102, want: RTNUnacked, count: 1, err: ErrBadShelve},
		}},
		{"unshelve", []op{
			{do: "raise", want: ActiveUnacked, count: 1},
			{do: "shelve", d: 1, until: 100, want: ActiveUnacked, count: 1, shelved: true},
			{do: "unshelve", d: 2, want: ActiveUnacked, count: 1, shelved: false},
			{do: "shelve", d: 3, until: 2, want: ActiveUnacked, count: 1, err: ErrBadShelve},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := NewAlerts(0)
			id := AlertID(AlertStale, "x/y")
			for i, o := range tt.ops {
				now := at(o.d * time.Second)
				var err error
				switch o.do {
				case "raise":
					as.Raise(AlertStale, "x/y", SeverityMedium, "m", now)
				case "clear":
					as.Clear(AlertStale, "x/y", now)
				case "ack":
					_, err = as.Ack(id, "ana", "seen", now)
				case "shelve":
					_, err = as.Shelve(id, "ben", "maintenance", at(o.until*time.Second), now)
				case "oneshot":
					_, err = as.Shelve(id, "ben", "known", time.Time{}, now)
				case "unshelve":
					_, err = as.Unshelve(id, "ben", now)
				case "expire":
					as.Expire(now)
				}
				if !errors.Is(err, o.err) {
					t.Fatalf("op %d %s: err %v, want %v", i, o.do, err, o.err)
				}
				a, _ := as.Get(id)
				if a.State != o.want || a.Count != o.count || a.Shelved != o.shelved {
					t.Fatalf("op %d %s: state %v count %d shelved %v; want %v %d %v", i, o.do, a.State, a.Count, a.Shelved, o.want, o.count, o.shelved)
				}
			}
		})
	}
}

func TestAlertAckRecordsWho(t *testing.T) {
	as := NewAlerts(0)
	as.Raise(AlertCommLoss, "plc", SeverityCritical, "down", at(0))
	a, err := as.Ack("comm_loss:plc", "ana", "calling maintenance", at(time.Second))
	if err != nil || a.AckedBy != "ana" || a.Comment != "calling maintenance" || !a.AckedAt.Equal(at(time.Second)) {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := as.Ack("nope", "ana", "", at(0)); !errors.Is(err, ErrUnknownAlert) {
		t.Fatalf("unknown: %v", err)
	}
	// A new activation after Normal needs a new acknowledgement.
	as.Clear(AlertCommLoss, "plc", at(2*time.Second))
	a, _ = as.Raise(AlertCommLoss, "plc", SeverityCritical, "down again", at(3*time.Second))
	if a.AckedBy != "" || a.State != ActiveUnacked || a.LastActive != at(3*time.Second) || a.FirstActive != at(0) {
		t.Fatalf("%+v", a)
	}
}

func TestAlertListOrderHistoryChanges(t *testing.T) {
	as := NewAlerts(4)
	as.Raise(AlertStale, "a", SeverityMedium, "", at(1))
	as.Raise(AlertCommLoss, "p", SeverityCritical, "", at(0))
	as.Raise(AlertSpike, "b", SeverityMedium, "", at(2))
	as.Raise(AlertFrozen, "c", SeverityLow, "", at(3))
	as.Clear(AlertFrozen, "c", at(4))
	as.Ack("frozen:c", "u", "", at(5)) // now Normal: not listed
	list := as.List()
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
	as.Shelve("frozen:c", "u", "work", at(100), at(6))
	if l := as.List(); len(l) != 4 || !l[len(l)-1].Shelved {
		t.Fatalf("shelved Normal alert not listed: %+v", l)
	}
	as.Unshelve("frozen:c", "u", at(7))
	if len(as.All()) != 4 {
		t.Errorf("All: %d", len(as.All()))
	}
	h := as.History("")
	if len(h) != 4 || h[3].What != EventUnshelved || h[0].AlertID != "frozen:c" {
		t.Fatalf("bounded history: %+v", h)
	}
	if hc := as.History("frozen:c"); len(hc) != 4 {
		t.Fatalf("history of c: %+v", hc)
	}
	ch := as.Changes()
	if len(ch) != 8 || ch[5].What != EventAcked || ch[5].Alert.State != Normal || ch[7].What != EventUnshelved {
		t.Fatalf("changes %+v", ch)
	}
	if as.Changes() != nil {
		t.Fatal("changes not drained")
	}
}
