package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
)

// ownedState is owner plc's state of its alarm "hi" on tag t at d.
func ownedState(d time.Duration, active, acked, retain bool) OwnedState {
	return OwnedState{
		ID: "plc_alarm:t/hi", Kind: "plc_alarm", Target: "t", Severity: normalize.SeverityHigh, Message: "high",
		Ref: "cond-7", Active: active, Acked: acked, Confirmed: true, Retain: retain, At: at(d),
	}
}

// TestOwnedAlertLifecycle: the owner's messages alone make an owned
// alert's state; a local acknowledgement is refused naming the owner; a
// lost link keeps the state, not current; a refresh makes it current
// again, and one that leaves it out returns it to normal.
func TestOwnedAlertLifecycle(t *testing.T) {
	s, _ := clockStore(16)
	const id = "plc_alarm:t/hi"
	get := func() normalize.Alert {
		t.Helper()
		a, ok := s.Alert(id)
		if !ok {
			t.Fatal("owned alert unknown to the store")
		}
		return a
	}
	// A state the store does not know and the owner does not retain is
	// ignored.
	s.PublishOwned("plc", ownedState(0, false, true, false))
	if _, ok := s.Alert(id); ok {
		t.Fatal("an unretained, unknown alert was kept")
	}

	s.PublishOwned("plc", ownedState(time.Second, true, false, true))
	a := get()
	if a.State != normalize.ActiveUnacked || a.Owner == nil || a.Owner.Name != "plc" || a.Owner.Ref != "cond-7" || !a.Owner.Current || a.Count != 1 {
		t.Fatalf("raised by its owner: %+v owner %+v", a, a.Owner)
	}

	err := s.Ack(id, "olga", "seen")
	if !errors.Is(err, ErrOwned) || !strings.Contains(err.Error(), "plc") {
		t.Fatalf("local ack of an owned alert: %v, want ErrOwned naming the owner", err)
	}
	if a := get(); a.State != normalize.ActiveUnacked || a.AckedBy != "" {
		t.Fatalf("a refused ack changed the alert: %v by %q", a.State, a.AckedBy)
	}
	// Comments and shelving stay local.
	if _, err := s.Act(Action{Kind: ActComment, AlertID: id, User: "olga", Comment: "calling maintenance"}); err != nil {
		t.Fatalf("comment on an owned alert: %v", err)
	}

	// The owner's acknowledgement.
	st := ownedState(2*time.Second, true, true, true)
	st.User, st.Comment = "scada", "olga: seen"
	s.PublishOwned("plc", st)
	if a := get(); a.State != normalize.ActiveAcked || a.AckedBy != "scada" || a.Comment != "olga: seen" {
		t.Fatalf("acked by its owner: %v by %q %q", a.State, a.AckedBy, a.Comment)
	}

	// The link is lost: kept as it was, not current; other owners'
	// alerts and the store's own are untouched.
	s.PublishConditions(raiseCond("t", 3*time.Second))
	s.OwnerLost("other", at(3*time.Second), "EOF")
	if a := get(); a.NotCurrent() {
		t.Fatal("another owner's loss marked the alert")
	}
	s.OwnerLost("plc", at(4*time.Second), "EOF")
	a = get()
	if a.State != normalize.ActiveAcked || !a.NotCurrent() || a.Owner.Why != "EOF" || !a.Owner.Lost.Equal(at(4*time.Second)) {
		t.Fatalf("after the loss: %v not current %v %+v", a.State, a.NotCurrent(), a.Owner)
	}
	if own, _ := s.Alert(normalize.AlertID(normalize.AlertStale, "t")); own.Owner != nil || own.State != normalize.ActiveUnacked {
		t.Fatalf("the store's own alert after an owner's loss: %+v", own)
	}

	// The refresh after the reconnect resends it: current again, no new
	// raise.
	s.OwnerRefreshStart("plc")
	st.Refresh, st.At = true, at(5*time.Second)
	s.PublishOwned("plc", st)
	s.OwnerRefreshEnd("plc", at(5*time.Second))
	if a := get(); a.NotCurrent() || a.State != normalize.ActiveAcked || a.Count != 1 {
		t.Fatalf("after the refresh: %v not current %v count %d", a.State, a.NotCurrent(), a.Count)
	}

	// A refresh without it: the owner no longer retains it; cleared.
	s.OwnerRefreshStart("plc")
	s.OwnerRefreshEnd("plc", at(6*time.Second))
	a = get()
	if a.State != normalize.Normal || a.Retained() || a.NotCurrent() {
		t.Fatalf("left out of a refresh: %v retained %v", a.State, a.Retained())
	}
	var whats []string
	for _, e := range s.AlertHistory(id) {
		whats = append(whats, e.What)
	}
	if got := strings.Join(whats, " "); got != "raised commented acked cleared" {
		t.Errorf("history %q, want raised commented acked cleared", got)
	}
	for _, l := range s.Alerts() {
		if l.ID == id {
			t.Errorf("a normal, unretained owned alert is listed: %+v", l)
		}
	}
}

// TestOwnedAlertAwaitingConfirmation: an acknowledged alert whose owner
// keeps it for a confirmation is Normal in the lifecycle yet listed; the
// owner's confirmation is recorded and releases it.
func TestOwnedAlertAwaitingConfirmation(t *testing.T) {
	s, _ := clockStore(16)
	const id = "plc_alarm:t/hi"
	st := ownedState(0, true, false, true)
	st.Confirmable, st.Confirmed = true, false
	s.PublishOwned("plc", st)
	st.Active, st.Acked, st.At = false, true, at(time.Second)
	s.PublishOwned("plc", st)
	a, _ := s.Alert(id)
	listed := false
	for _, l := range s.Alerts() {
		listed = listed || l.ID == id
	}
	if a.State != normalize.Normal || !a.AwaitsConfirm() || !listed {
		t.Fatalf("inactive, acked, unconfirmed: %v awaits %v listed %v", a.State, a.AwaitsConfirm(), listed)
	}
	st.Confirmed, st.Retain, st.At = true, false, at(2*time.Second)
	s.PublishOwned("plc", st)
	h := s.AlertHistory(id)
	if a, _ := s.Alert(id); a.AwaitsConfirm() || a.Retained() || len(h) == 0 || h[len(h)-1].What != normalize.EventConfirmed {
		t.Fatalf("after the confirmation: awaits %v retained %v history %+v", a.AwaitsConfirm(), a.Retained(), h)
	}
}
