package tui_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/otwin/otwin/tui"
	"github.com/otwin/otwin/tui/tuifake"
)

func TestFaultInject(t *testing.T) {
	s := newSession(t, tui.RoleTrainer, 80, 24)
	s.waitOutput("robot1-torque-stuck")
	s.keys("jj", "enter")
	s.waitOutput("injected robot1-torque-stuck", "active 3")
	s.final()
	if calls := s.plant.Calls(); !slices.Contains(calls, "inject robot1-torque-stuck") {
		t.Errorf("calls %q", calls)
	}
	f, _ := s.plant.Faults()
	if !f[2].Active {
		t.Errorf("fault not active: %+v", f[2])
	}
}

func TestFaultRefusedShownInStatus(t *testing.T) {
	p := tuifake.NewLine()
	p.Role = tui.RoleOperator // the backend refuses; the session claims trainer
	s := newSessionOn(t, p, tui.RoleTrainer, 80, 24)
	s.waitOutput("robot1-torque-stuck")
	s.keys("enter")
	s.waitOutput("refused")
	v := s.final()
	if !strings.Contains(v, "clear press2-unplug: refused: operators cannot inject or clear faults") {
		t.Errorf("refusal not shown:\n%s", v)
	}
}
