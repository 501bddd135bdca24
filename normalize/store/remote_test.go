package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
)

// TestPublishRemote: another collector's alerts take the owner's state
// and history, once per transition; a retained state seen again only
// makes them current; a lost owner leaves them as they were, not
// current; an acknowledgement is the owner's.
func TestPublishRemote(t *testing.T) {
	s, _ := clockStore(0)
	sub := s.Subscribe()
	defer sub.Close()
	raised := normalize.Alert{ID: "stale:acme/a/b", Kind: normalize.AlertStale, Target: "acme/a/b", Severity: normalize.SeverityMedium,
		State: normalize.ActiveUnacked, Message: "no update", FirstActive: at(0), LastActive: at(0), Count: 1}
	rs := RemoteState{Alert: raised, Ref: "stale:a/b", Event: normalize.AlertEvent{What: normalize.EventRaised, At: at(0), Comment: "no update"}}

	// a Normal alert the store never saw is not taken
	normal := rs
	normal.Alert.ID, normal.Alert.State = "stale:acme/a/c", normalize.Normal
	s.PublishRemote("edge1", normal)
	if _, ok := s.Alert("stale:acme/a/c"); ok {
		t.Error("an unknown Normal alert was taken")
	}

	s.PublishRemote("edge1", rs)
	s.PublishRemote("edge1", rs) // the retained message again
	a, ok := s.Alert(raised.ID)
	if !ok || a.State != normalize.ActiveUnacked || a.Owner == nil || a.Owner.Name != "edge1" || a.Owner.Ref != "stale:a/b" || !a.Owner.Current {
		t.Fatalf("raised: %+v", a)
	}
	if h := s.AlertHistory(raised.ID); len(h) != 1 || h[0].What != normalize.EventRaised || !h[0].At.Equal(at(0)) {
		t.Errorf("history after a state seen twice: %+v", h)
	}
	if err := s.Ack(raised.ID, "olga", ""); !errors.Is(err, ErrOwned) {
		t.Errorf("a local ack of a remote alert: %v, want ErrOwned", err)
	}

	s.OwnerLost("edge1", at(time.Second), "collector edge1 offline")
	if a, _ := s.Alert(raised.ID); !a.NotCurrent() || a.Owner.Why != "collector edge1 offline" || a.State != normalize.ActiveUnacked {
		t.Errorf("lost: %+v %+v", a, a.Owner)
	}
	s.PublishRemote("edge1", rs) // retained again after the owner came back
	if a, _ := s.Alert(raised.ID); a.NotCurrent() || len(s.AlertHistory(raised.ID)) != 1 {
		t.Errorf("back: %+v, history %+v", a.Owner, s.AlertHistory(raised.ID))
	}

	acked := rs
	acked.Alert.State, acked.Alert.AckedBy, acked.Alert.AckedAt, acked.Alert.Comment = normalize.ActiveAcked, "olga@central", at(2*time.Second), "valve"
	acked.Event = normalize.AlertEvent{What: normalize.EventAcked, At: at(2 * time.Second), User: "olga@central", Comment: "valve"}
	s.PublishRemote("edge1", acked)
	h := s.AlertHistory(raised.ID)
	if len(h) != 2 || h[1].What != normalize.EventAcked || h[1].User != "olga@central" || h[1].Comment != "valve" || h[1].State != normalize.ActiveAcked {
		t.Errorf("history after the owner's ack: %+v", h)
	}
	waitBatch(t, sub, func(b Batch) bool {
		for _, x := range b.Alerts {
			if x.ID == raised.ID && x.State == normalize.ActiveAcked {
				return true
			}
		}
		return false
	})
}

// waitBatch waits up to 5s for a batch of sub for which ok holds.
func waitBatch(t *testing.T, sub *Subscription, ok func(Batch) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case b := <-sub.C():
			if ok(b) {
				return
			}
		case <-deadline:
			t.Fatal("no such batch within 5s")
		}
	}
}

// TestPublishRemoteRelayed: an alarm the owning collector relays from its
// server is listed while the server retains it — acknowledged, waiting
// for its confirmation — and its context read again from a payload (a
// new context of the same values) is the same state, not a transition.
func TestPublishRemoteRelayed(t *testing.T) {
	s, _ := clockStore(0)
	var v [ctxrole.N]string
	v[ctxrole.Batch.Index()] = "B-1"
	a := normalize.Alert{ID: "opcua_alarm:acme/a/b/HighAlarm", Kind: "opcua_alarm", Target: "acme/a/b", Severity: normalize.SeverityHigh,
		State: normalize.Normal, Message: "high", FirstActive: at(0), LastActive: at(0), Cleared: at(time.Second), AckedBy: "olga", Count: 1,
		Context: normalize.NewContext(v, at(0))}
	rs := RemoteState{Alert: a, Ref: a.ID, Event: normalize.AlertEvent{What: normalize.EventAcked, At: at(time.Second)},
		Retain: true, Confirmable: true}
	s.PublishRemote("edge1", rs)
	got, ok := s.Alert(a.ID)
	if !ok || !got.AwaitsConfirm() || !got.Retained() {
		t.Fatalf("relayed alarm waiting for its confirmation: %+v (owner %+v)", got, got.Owner)
	}
	if !slices.ContainsFunc(s.Alerts(), func(x normalize.Alert) bool { return x.ID == a.ID }) {
		t.Error("a retained alarm, Normal in the lifecycle, not listed")
	}
	again := rs
	again.Alert.Context = normalize.NewContext(v, at(0))
	s.PublishRemote("edge1", again)
	if h := s.AlertHistory(a.ID); len(h) != 1 {
		t.Errorf("the same state again (a new context of the same values) recorded: %+v", h)
	}
	confirmed := rs
	confirmed.Confirmed, confirmed.Retain = true, false
	confirmed.Event = normalize.AlertEvent{What: normalize.EventConfirmed, At: at(2 * time.Second), User: "olga@central"}
	s.PublishRemote("edge1", confirmed)
	if got, _ := s.Alert(a.ID); got.AwaitsConfirm() || slices.ContainsFunc(s.Alerts(), func(x normalize.Alert) bool { return x.ID == a.ID }) {
		t.Errorf("confirmed: %+v, still listed", got.Owner)
	}
	if h := s.AlertHistory(a.ID); len(h) != 2 || h[1].What != normalize.EventConfirmed {
		t.Errorf("history: %+v", h)
	}
}
