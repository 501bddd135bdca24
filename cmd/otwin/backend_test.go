package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/tui/sshserve"
)

// A comment from the dashboard reaches the alert's history in the store
// and the audit log; a role without the right is refused, audited alike,
// and leaves the history as it was.
func TestBackendComment(t *testing.T) {
	st := store.New(store.Config{})
	defer st.Close()
	c := normalize.Condition{Kind: normalize.AlertStale, Target: "site/line/m/t", Active: true,
		Severity: normalize.SeverityMedium, Message: "no update", At: time.Now()}
	st.PublishConditions(c)
	var audit bytes.Buffer
	log := sshserve.NewAuditLog(&audit)

	olga := &storeBackend{st: st, sess: &session{user: "olga", role: "operator", policy: rolePolicy("operator", false), audit: log}}
	if err := olga.Comment(c.ID(), "sensor cable checked"); err != nil {
		t.Fatalf("operator's comment: %v", err)
	}
	commented := func() int {
		n := 0
		for _, ev := range st.AlertHistory(c.ID()) {
			if ev.What == normalize.EventCommented && ev.Comment == "sensor cable checked" && ev.User == "olga" {
				n++
			}
		}
		return n
	}
	if commented() != 1 {
		t.Fatalf("history of %s has no comment by olga: %+v", c.ID(), st.AlertHistory(c.ID()))
	}
	if a, _ := st.Alert(c.ID()); a.State != normalize.ActiveUnacked {
		t.Errorf("a comment changed the alert's state to %v", a.State)
	}

	tom := &storeBackend{st: st, sess: &session{user: "tom", role: "trainer", policy: rolePolicy("trainer", false), audit: log}}
	err := tom.Comment(c.ID(), "not mine to say")
	if err == nil || !strings.Contains(err.Error(), "trainers cannot comment") {
		t.Fatalf("trainer's comment: %v, want a refusal", err)
	}
	if commented() != 1 {
		t.Error("a refused comment reached the history")
	}
	lines := audit.String()
	if !strings.Contains(lines, `"user":"olga"`) || !strings.Contains(lines, `"user":"tom"`) || strings.Count(lines, `"event":"comment"`) != 2 {
		t.Errorf("audit log lacks both comment attempts:\n%s", lines)
	}
}
