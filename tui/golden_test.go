package tui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/otwin/otwin/role"
	"github.com/otwin/otwin/tui"
)

func TestGolden(t *testing.T) {
	cases := []struct {
		name    string
		role    tui.Role
		keys    []string
		wait    string // drawn once the view is complete
		console bool   // the session has the fake class as its console
	}{
		{"tree", tui.RoleOperator, nil, "ASSETS", false},
		{"tags_engineer", tui.RoleEngineer, nil, "ADDRESS", false},
		{"alerts", tui.RoleSupervisor, nil, "ALERTS", false},
		{"alert_detail", tui.RoleSupervisor, []string{"j", "enter"}, "HISTORY", false},
		{"tag_detail_bad", tui.RoleEngineer, []string{"jjjj", "enter"}, "why bad?", false},
		{"tag_detail_good", tui.RoleEngineer, []string{"jjj", "enter"}, "HISTORY", false},
		{"connections", tui.RoleMaintenance, []string{":conn", "enter"}, "CONNECTIONS", false},
		{"faults", tui.RoleTrainer, nil, "robot1-torque-stuck", false},
		{"help", tui.RoleOperator, []string{"?"}, "Everywhere", false},
		{"console", tui.RoleTrainer, nil, "olga", true},
		{"console_started", tui.RoleTrainer, []string{"enter"}, "running 1", true},
	}
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s_%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				var s *session
				if c.console {
					s = newConsoleSession(t, size[0], size[1], time.Hour)
				} else {
					s = newSession(t, c.role, size[0], size[1])
				}
				if c.console && len(c.keys) > 0 {
					s.waitOutput("olga") // the console has read the class
				}
				s.keys(c.keys...)
				s.waitOutput(c.wait)
				v := s.final()
				checkFrame(t, v, size[0], size[1])
				golden.RequireEqual(t, []byte(v))
			})
		}
	}
}

func TestResizeFrames(t *testing.T) {
	for _, r := range role.All {
		for _, size := range [][2]int{{80, 24}, {200, 60}, {100, 30}, {60, 16}} {
			t.Run(fmt.Sprintf("%s_%dx%d", r, size[0], size[1]), func(t *testing.T) {
				s := newSession(t, r, 80, 24)
				s.keys(fmt.Sprintf("size:%dx%d", size[0], size[1]))
				checkFrame(t, s.final(), size[0], size[1])
			})
		}
	}
}
