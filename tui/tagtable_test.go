package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
)

func TestRowsJob(t *testing.T) {
	b := generated(1000)
	m := New(b, Options{Now: fixedClock, NoColor: true, Role: RoleEngineer})
	d := m.s.a.d
	cases := []struct {
		name    string
		prefix  string
		filter  string
		nonGood bool
		col     int
		rev     bool
		n       int
		first   string
	}{
		{"all", "", "", false, sortName, false, 1000, "acme/site0/area0/line00/machine000/tag0000"},
		{"machine", "acme/site0/area0/line00/machine003", "", false, sortName, false, 100, "acme/site0/area0/line00/machine003/tag0000"},
		{"prefix is not a path prefix", "acme/site0/area0/line00/machine00", "", false, sortName, false, 0, ""},
		{"filter", "", "tag0042", false, sortName, false, 10, "acme/site0/area0/line00/machine000/tag0042"},
		{"filter by status", "", "uncertain", false, sortName, false, 11, "acme/site0/area0/line00/machine000/tag0000"},
		{"non-good", "", "", true, sortName, false, 11, "acme/site0/area0/line00/machine000/tag0000"},
		{"reverse", "", "", false, sortName, true, 1000, "acme/site0/area0/line00/machine009/tag0099"},
		{"by age, oldest first", "", "", false, sortAge, false, 1000, "acme/site0/area0/line00/machine009/tag0099"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := &rowsJob{meta: d.meta, prefix: c.prefix, filter: c.filter, nonGood: c.nonGood, col: c.col, rev: c.rev}
			if j.needsDyn() {
				j.dyn = d.dyn.snapshot()
			}
			rows := j.run()
			if len(rows) != c.n {
				t.Fatalf("%d rows, want %d", len(rows), c.n)
			}
			if c.n > 0 && d.meta[rows[0]].id != c.first {
				t.Errorf("first row %s, want %s", d.meta[rows[0]].id, c.first)
			}
		})
	}
}

// A filter job on a big table runs as a command, and a result that a
// newer job has overtaken is dropped.
func TestStaleRowsDropped(t *testing.T) {
	m := New(generated(syncRows+100), Options{Now: fixedClock, NoColor: true, Role: RoleEngineer})
	tbl := m.s.a.table
	if len(tbl.rows) != syncRows+100 {
		t.Fatalf("initial rows = %d", len(tbl.rows))
	}
	_, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'/'}})
	_, slow := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'x'}}) // matches nothing
	_, fast := m.Update(tea.KeyMsg{Type: tea.KeyBackspace})                 // matches all
	if slow == nil || fast == nil {
		t.Fatal("big tables must filter in a command")
	}
	if len(tbl.rows) != syncRows+100 {
		t.Fatalf("rows changed before the job finished: %d", len(tbl.rows))
	}
	// data frames do not overtake a running job
	m.s.dirty = true
	if cmd := m.s.onFrame(); cmd != nil {
		t.Error("a frame started a job while one was running")
	}
	m.Update(fast())
	m.Update(slow()) // stale
	if len(tbl.rows) != syncRows+100 {
		t.Errorf("stale result applied: %d rows", len(tbl.rows))
	}
}

// Tags that arrive after the session opened land where the role starts,
// until the user moves in the tree.
func TestLateTagsSelectRoleLevel(t *testing.T) {
	full := generated(300)
	m := New(&stub{}, Options{Now: fixedClock, NoColor: true, Role: RoleOperator})
	tbl, d := m.s.a.table, m.s.a.d
	if tbl.path != "" {
		t.Fatalf("empty store selects %q", tbl.path)
	}
	m.Update(feedMsg{Update{Samples: full.tags[:150]}})
	m.Update(feedMsg{Update{Samples: full.tags[150:]}})
	m.Update(frameMsg{})
	if want := "acme/site0/area0/line00"; tbl.path != want {
		t.Errorf("selected %q, want %q", tbl.path, want)
	}
	if len(d.tags) != 300 || len(tbl.rows) != 300 {
		t.Errorf("tags %d rows %d", len(d.tags), len(tbl.rows))
	}
	// the user moves: later tags no longer move the selection
	m.Update(tea.KeyMsg{Type: tea.KeyUp})
	sel := tbl.path
	extra := generated(2100).tags[2000:]
	m.Update(feedMsg{Update{Samples: extra}})
	m.Update(frameMsg{})
	if tbl.path != sel {
		t.Errorf("selection moved from %q to %q", sel, tbl.path)
	}
}

func TestUncleanAssetPaths(t *testing.T) {
	b := &stub{tags: []normalize.Sample{
		{ID: "x/a", Asset: "/site//line/", Tag: "a"},
		{ID: "x/b", Asset: "site/line", Tag: "b"},
		{ID: "x/c", Asset: "", Tag: "c"},
	}}
	m := New(b, Options{Now: fixedClock, NoColor: true, Role: RoleMaintenance})
	d, tbl := m.s.a.d, m.s.a.table
	if n := d.index["site/line"]; n == nil || n.tags != 2 {
		t.Fatalf("site/line node: %+v", n)
	}
	if d.root.tags != 3 {
		t.Errorf("root counts %d tags", d.root.tags)
	}
	if tbl.path != "site/line" || len(tbl.rows) != 2 {
		t.Errorf("selected %q with %d rows", tbl.path, len(tbl.rows))
	}
}
