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

// TestGoldenRoles draws every view as every role sees it at 80×24 (the
// trainer with the workshop's console, as otwin gives it): what fits,
// what is shortened and how, what is marked refused.
func TestGoldenRoles(t *testing.T) {
	views := []struct {
		name string
		keys []string
		wait string
	}{
		{"tree", []string{":tree", "enter"}, "ASSETS"},
		{"tags", []string{":tags", "enter"}, "TAGS "},
		{"alerts", []string{":alerts", "enter"}, "ALERTS"},
		{"alert_detail", []string{":alerts", "enter", "enter"}, "HISTORY"},
		{"tag_detail", []string{":press2/temperature", "enter", "enter"}, "why bad?"},
		{"conn", []string{":conn", "enter"}, "CONNECTIONS"},
		{"endpoint", []string{":conn", "enter", "j", "enter"}, "ALERTS ABOUT"},
		{"faults", []string{":faults", "enter"}, "press2-unplug"},
		{"console", []string{":console", "enter"}, "console"},
		{"help", []string{"?"}, "Everywhere"},
		{"jump", []string{":", "press1"}, "JUMP TO"},
		{"ack", []string{":alerts", "enter", "a"}, "ack "},
	}
	for _, r := range role.All {
		for _, v := range views {
			t.Run(fmt.Sprintf("%s_%s", r, v.name), func(t *testing.T) {
				var s *session
				if r == tui.RoleTrainer {
					s = newConsoleSession(t, 80, 24, time.Hour)
					s.waitOutput("olga")
				} else {
					s = newSession(t, r, 80, 24)
				}
				s.keys(v.keys...)
				wait := v.wait
				if v.name == "ack" {
					if refused := r == tui.RoleTrainer || r == tui.RoleEngineer; refused {
						wait = "refused" // sent at once, refused by the backend
					} else {
						s.waitOutput("comment:")
						s.keys("checked the plc on site, reset the breaker")
						wait = "breaker"
					}
				}
				if v.name == "console" && r == tui.RoleTrainer {
					wait = "" // the page it opened on: nothing new to draw
				}
				if wait != "" {
					s.waitOutput(wait)
				}
				view := s.final()
				checkFrame(t, view, 80, 24)
				golden.RequireEqual(t, []byte(view))
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
