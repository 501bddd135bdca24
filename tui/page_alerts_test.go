package tui_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
)

func TestAckWithComment(t *testing.T) {
	s := newSession(t, tui.RoleSupervisor, 80, 24)
	s.keys("a", "checked on site", "enter")
	s.waitOutput("acknowledged")
	v := s.final()
	want := "ack comm_loss:press2-mb checked on site"
	if calls := s.plant.Calls(); !slices.Contains(calls, want) {
		t.Fatalf("calls %q lack %q", calls, want)
	}
	if !strings.Contains(v, "UNACK 1 ACK 2") {
		t.Errorf("status bar does not show the ack:\n%s", v)
	}
	for _, a := range s.plant.Alerts() {
		if a.ID == "comm_loss:press2-mb" && (a.State != normalize.ActiveAcked || a.AckedBy != "alice" || a.Comment != "checked on site") {
			t.Errorf("alert after ack: %+v", a)
		}
	}
}

func TestAckRefusedShownInStatus(t *testing.T) {
	s := newSession(t, tui.RoleSupervisor, 80, 24)
	// the third row is acknowledged already: the backend refuses
	s.keys("jjj", "a", "enter")
	s.waitOutput("already acknowledged")
	v := s.final()
	if !strings.Contains(v, "ack stale:acme/berlin/paint/line2/oven1/zone2_temp: already acknowledged") {
		t.Errorf("error not in status line:\n%s", v)
	}
}

func TestShelve(t *testing.T) {
	cases := []struct {
		name, reason, dur string
		wantCall          string
		wantMsg           string
	}{
		{"timed", "sensor swap", "15m", "shelve comm_loss:press2-mb sensor swap 15m0s false", "shelved comm_loss:press2-mb for 15m0s"},
		{"one-shot", "test run", "", "shelve comm_loss:press2-mb test run 0s true", "until it clears"},
		{"bad duration", "x", "soon", "", "bad duration \"soon\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t, tui.RoleSupervisor, 80, 24)
			s.keys("z", c.reason, "enter")
			if c.dur != "" {
				s.keys(c.dur)
			}
			s.keys("enter")
			s.waitOutput(c.wantMsg)
			s.final()
			calls := s.plant.Calls()
			if c.wantCall == "" {
				if len(calls) != 0 {
					t.Errorf("unexpected calls %q", calls)
				}
				return
			}
			if !slices.Contains(calls, c.wantCall) {
				t.Errorf("calls %q lack %q", calls, c.wantCall)
			}
		})
	}
}
