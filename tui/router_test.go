package tui

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// TestReadmeKeys keeps the key table of README.md equal to the key map
// (go test -run TestReadmeKeys -update rewrites it).
func TestReadmeKeys(t *testing.T) {
	const begin, end = "<!-- keys:begin -->\n", "<!-- keys:end -->"
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	b, e := strings.Index(doc, begin), strings.Index(doc, end)
	if b < 0 || e < b {
		t.Fatal("README.md lacks the key table markers")
	}
	want := markdownKeys()
	if got := doc[b+len(begin) : e]; got != want {
		if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
			doc = doc[:b+len(begin)] + want + doc[e:]
			if err := os.WriteFile("README.md", []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md key table is stale (run with -update):\n%s", want)
	}
}

// FuzzKeys drives a model with arbitrary key sequences and sizes: no
// panic, and every frame fills the screen exactly.
func FuzzKeys(f *testing.F) {
	f.Add([]byte("jjl\x01l\x02a hi\x01"), uint8(80), uint8(24))
	f.Add([]byte(":role trainer\x01\x03\x03/x\x04\x05"), uint8(200), uint8(60))
	f.Add([]byte("?G\x05\x03z\x01\x01\x07sS"), uint8(30), uint8(8))
	f.Add([]byte("cj\x01 ++--d\x03f:console\x01"), uint8(61), uint8(13))
	specials := []tea.KeyType{tea.KeyEnter, tea.KeyEnter, tea.KeyTab, tea.KeyEsc, tea.KeyBackspace, tea.KeyShiftTab,
		tea.KeyUp, tea.KeyDown, tea.KeyLeft, tea.KeyRight, tea.KeyPgDown, tea.KeyPgUp, tea.KeyHome, tea.KeyEnd, tea.KeyCtrlU, tea.KeyCtrlW, tea.KeyDelete}
	f.Fuzz(func(t *testing.T, keys []byte, w, h uint8) {
		b := generated(300)
		b.alerts = []normalize.Alert{
			{ID: "stale:a", Target: b.tags[0].ID, Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked},
			{ID: "comm_loss:src", Target: "src", Severity: normalize.SeverityCritical, State: normalize.RTNUnacked},
		}
		m := New(b, Options{Now: fixedClock, NoColor: true, Faults: stubFaults{}, Trainer: stubTrainer{}})
		width, height := max(int(w), 20), max(int(h), 6)
		m.Update(tea.WindowSizeMsg{Width: width, Height: height})
		m.Update(stubTrainer{}.load())
		for _, k := range keys {
			var msg tea.KeyMsg
			switch {
			case k == 'q' || k == 3: // quitting ends the run; skip
				continue
			case int(k) < len(specials)+1 && k > 0:
				msg = tea.KeyMsg{Type: specials[k-1]}
			default:
				msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{rune(k)}}
			}
			_, cmd := m.Update(msg)
			_ = cmd // commands (backend actions, ticks) are not run here
			if m.s.quitting {
				return
			}
		}
		v := m.View()
		lines := strings.Split(v, "\n")
		if len(lines) != height {
			t.Fatalf("%d lines, want %d", len(lines), height)
		}
		for i, l := range lines {
			if lw := ansi.StringWidth(l); lw != width {
				t.Fatalf("line %d is %d wide, want %d: %q", i, lw, width, l)
			}
		}
	})
}

// The page list is consistent: ids and commands are unique, a page's
// keys at any time are among those help lists for it, and every footer
// entry names keys that the page dispatches.
func TestPageRegistry(t *testing.T) {
	ids, cmds := map[string]bool{}, map[string]string{}
	for _, d := range pages {
		if d.id == "" || d.title == "" || d.new == nil || ids[d.id] {
			t.Errorf("page %q: empty or duplicate id, no title or no constructor", d.id)
		}
		ids[d.id] = true
		for _, c := range d.cmds {
			if other, ok := cmds[c]; ok || c == "q" || c == "role" {
				t.Errorf("command :%s of %s is taken (by %q or the router)", c, d.id, other)
			}
			cmds[c] = d.id
		}
	}
	m := New(generated(300), Options{Now: fixedClock, NoColor: true, Faults: stubFaults{}, Trainer: stubTrainer{}, Role: RoleTrainer})
	r := m.s
	for i, d := range pages {
		p := r.pages[i]
		for _, focus := range []paneFocus{focusTree, focusTable, focusStrip} {
			if tp, ok := p.(*treePage); ok {
				tp.focus, tp.strip = focus, stripAlerts
			}
			for _, g := range p.keys() {
				if !slices.Contains(d.keys, g) {
					t.Errorf("page %s uses key group %q that help does not list for it", d.id, g.title)
				}
			}
			for _, f := range footerKeys(p.keys(), !d.tab, nil) {
				ks := strings.Split(f.Key, "/")
				if f.Key == "/" {
					ks = []string{"/"}
				}
				for _, k := range ks {
					if !dispatches(p, k) {
						t.Errorf("page %s: footer entry %s:%s names %q, which does nothing there", d.id, f.Key, f.Desc, k)
					}
				}
			}
		}
	}
}

// dispatches says whether key (as help and footers show it) has a
// binding on p or a global one.
func dispatches(p page, k string) bool {
	names := map[string]string{"→": "right", "←": "left", "↑": "up", "↓": "down", "space": " ", "pgdn": "pgdown"}
	if n, ok := names[k]; ok {
		k = n
	}
	for _, g := range append(p.keys(), &globalKeys) {
		for _, b := range g.bindings {
			if slices.Contains(b.Keys(), k) {
				return true
			}
		}
	}
	return false
}

// The footer is generated per page and fits the width, giving up the
// least important keys first.
func TestFooter(t *testing.T) {
	cases := []struct {
		role Role
		keys []tea.KeyMsg
		w    int
		want string
	}{
		{RoleOperator, nil, 80, "enter:open/close →:tags /:filter tab:view ::cmd ?:help q:quit"},
		{RoleEngineer, nil, 80, "enter:detail ←:tree s/S:sort /:filter n:names b:bad only tab:view ::cmd ?:help"},
		{RoleEngineer, nil, 40, "enter:detail ←:tree s/S:sort ?:help"},
		{RoleSupervisor, []tea.KeyMsg{{Type: tea.KeyEnter}}, 80, "esc:back a:ack S/z:shelve C:comment t:target tab:view ::cmd ?:help q:quit"},
		{RoleMaintenance, []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("?")}}, 80, "esc:back tab:view ::cmd ?:help q:quit"},
	}
	b := generated(300)
	b.alerts = []normalize.Alert{{ID: "stale:a", Target: b.tags[0].ID, Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked}}
	for _, c := range cases {
		m := New(b, Options{Now: fixedClock, NoColor: true, Role: c.role})
		m.Update(tea.WindowSizeMsg{Width: c.w, Height: 24})
		for _, k := range c.keys {
			m.Update(k)
		}
		if got := m.s.bottomLine(c.w); got != widget.Fit(" "+c.want, c.w) {
			t.Errorf("%s %v at %d: footer %q, want %q", c.role, c.keys, c.w, got, c.want)
		}
	}
}

// A key the backend refuses the session stays in the footer, marked, and
// help says why; the key still sends the attempt, and the refusal is the
// backend's.
func TestFooterRefused(t *testing.T) {
	b := &refusing{stub: generated(300)}
	b.alerts = []normalize.Alert{{ID: "stale:a", Target: b.tags[0].ID, Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked}}
	m := New(b, Options{Now: fixedClock, NoColor: true, Role: RoleSupervisor, Faults: stubFaults{}})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	if got := m.s.bottomLine(100); !strings.Contains(got, "a:ack✗ S/z:shelve C:comment✗") {
		t.Errorf("footer %q: want ack and comment marked refused, shelve not", got)
	}
	if h := strings.Join(helpLines(12, m.s.a.refusal), "\n"); !strings.Contains(h, "acknowledge (with optional comment); on CONF, confirm\n"+strings.Repeat(" ", 15)+"✗ refused: supervisors cannot acknowledge alerts") {
		t.Errorf("help lacks the reason under the key:\n%s", h)
	}
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("a")})
	if m.s.in.IsOpen() {
		t.Fatal("a refused ack asks for a comment")
	}
	if cmd == nil {
		t.Fatal("a refused ack sent nothing to the backend")
	}
	msg, ok := cmd().(actionMsg)
	if !ok || msg.err == nil || msg.err.Error() != "refused: supervisors cannot acknowledge alerts" {
		t.Fatalf("refused ack: %#v", msg)
	}
	if b.acks != 1 {
		t.Errorf("backend saw %d ack attempts, want 1", b.acks)
	}
	m.Update(msg)
	if got := m.s.bottomLine(100); !strings.Contains(got, "ack stale:a: refused: supervisors cannot acknowledge alerts") {
		t.Errorf("status line %q", got)
	}
}

// refusing is a backend that refuses acknowledging and commenting.
type refusing struct {
	*stub
	acks int
}

func (b *refusing) Allowed(p Permission) error {
	if p == PermAck || p == PermComment {
		return fmt.Errorf("refused: supervisors cannot %s", p)
	}
	return nil
}

func (b *refusing) Ack(string, string) error {
	b.acks++
	return b.Allowed(PermAck)
}

// Pages over pages: help over a tag detail returns to it, the tag detail
// to the tree; the alert detail's t replaces it by the tag detail, which
// returns to the alerts; a tab leaves them all.
func TestNavigation(t *testing.T) {
	b := generated(300)
	b.alerts = []normalize.Alert{{ID: "stale:a", Target: b.tags[0].ID, Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked}}
	m := New(b, Options{Now: fixedClock, NoColor: true, Role: RoleOperator})
	r := m.s
	on := func(want string) {
		t.Helper()
		if got := pages[r.stack[len(r.stack)-1].page].id; got != want {
			t.Fatalf("on page %s, want %s", got, want)
		}
	}
	key := func(k string) {
		t.Helper()
		switch k {
		case "enter":
			m.Update(tea.KeyMsg{Type: tea.KeyEnter})
		case "esc":
			m.Update(tea.KeyMsg{Type: tea.KeyEsc})
		case "tab":
			m.Update(tea.KeyMsg{Type: tea.KeyTab})
		default:
			m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		}
	}
	key("l") // open the line
	key("l") // its tags
	key("enter")
	on(pageTagDetail)
	key("?")
	on(pageHelp)
	if v := m.View(); !strings.Contains(v, "Help · operator") || strings.Contains(v, "[Tree]") {
		t.Errorf("help marks a tab or lacks its title:\n%s", v)
	}
	key("?")
	if len(r.stack) != 3 {
		t.Errorf("? on help stacked it again: %d pages", len(r.stack))
	}
	key("esc")
	on(pageTagDetail)
	if v := m.View(); !strings.Contains(v, "[Tree]") || !strings.Contains(v, "Tag · operator") {
		t.Errorf("tag detail over the tree:\n%s", v)
	}
	key("esc")
	on(pageTree)
	if r.pages[0].(*treePage).focus != focusTable {
		t.Error("back on the tree: the table lost the focus the detail was opened from")
	}
	key(":alerts")
	key("enter")
	key("enter")
	on(pageAlertDetail)
	key("t")
	on(pageTagDetail)
	if len(r.stack) != 2 {
		t.Errorf("t stacked the tag detail over the alert detail: %d pages", len(r.stack))
	}
	key("tab")
	on(pageConn)
	if len(r.stack) != 1 {
		t.Errorf("a tab kept %d pages", len(r.stack))
	}
}

// The dashboard reads only the value types of the monitoring half.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".", "./tuifake", "./widget").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/otwin/otwin/tui": true, "github.com/otwin/otwin/tui/tuifake": true, "github.com/otwin/otwin/tui/widget": true,
		"github.com/otwin/otwin/connectors": true, "github.com/otwin/otwin/normalize": true,
		"github.com/otwin/otwin/normalize/score": true,
		// leaf packages both halves share
		"github.com/otwin/otwin/units": true, "github.com/otwin/otwin/role": true, "github.com/otwin/otwin/datatype": true,
		"github.com/otwin/otwin/ctxrole":    true,
		"github.com/otwin/otwin/statuscode": true, "github.com/otwin/otwin/mbexception": true,
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/otwin/otwin") && !allowed[p] {
			t.Errorf("tui depends on %s", p)
		}
	}
}

// The bottom line's editor in a session: a multi-rune packet is typed
// into the prompt it opens, enter runs the command, the line is plain
// under NoColor and has a reverse-video cursor with colour.
func TestPromptLine(t *testing.T) {
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	m := New(&stub{}, Options{Now: fixedClock, NoColor: true, Role: RoleMaintenance})
	defer m.Close()
	m.Update(runes(":role x"))
	if got := m.s.in.Value(); got != "role x" {
		t.Errorf("value %q, want the packet after the prompt", got)
	}
	if line := m.s.bottomLine(80); !strings.HasPrefix(line, ":role x█") || strings.Contains(line, "\x1b") || widget.Width(line) != 80 {
		t.Errorf("bottom line %q", line)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if line := m.s.bottomLine(80); !strings.Contains(line, `unknown role "x"`) {
		t.Errorf("after enter %q", line)
	}

	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	c := New(&stub{}, Options{Now: fixedClock, Renderer: r, Role: RoleMaintenance})
	defer c.Close()
	c.Update(tea.WindowSizeMsg{Width: 20, Height: 10})
	if _, cmd := c.Update(runes("/")); cmd != nil {
		if msg := cmd(); msg != nil {
			t.Errorf("opening a prompt sent %T", msg)
		}
	}
	c.Update(runes("ab"))
	if line := c.s.bottomLine(20); !strings.Contains(line, "\x1b[7m") || ansi.Strip(line) != widget.Fit("/ab", 20) {
		t.Errorf("colour bottom line %q: want a reverse-video cursor after /ab", line)
	}
	c.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if c.s.in.IsOpen() || c.s.a.table.filter != "" {
		t.Errorf("esc left the prompt open (%v) or the filter %q", c.s.in.IsOpen(), c.s.a.table.filter)
	}
}

// A status message goes after a while (an error stays longer); a key
// clears it at once.
func TestMessagesExpire(t *testing.T) {
	now := epoch
	m := New(&stub{}, Options{Now: func() time.Time { return now }, NoColor: true})
	defer m.Close()
	last := func() string { return m.s.bottomLine(80) }
	typeLine := func(line string) {
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":")})
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(line)})
		m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	}
	typeLine("role")
	steps := []struct {
		after time.Duration
		shown bool
	}{{4 * time.Second, true}, {2 * time.Second, false}}
	for _, st := range steps {
		now = now.Add(st.after)
		m.Update(clockMsg{})
		if got := strings.Contains(last(), "role: operator"); got != st.shown {
			t.Errorf("%s later: message shown %v, want %v: %q", now.Sub(epoch), got, st.shown, last())
		}
	}
	typeLine("frobnicate")
	start := now
	for _, st := range []struct {
		after time.Duration
		shown bool
	}{{6 * time.Second, true}, {5 * time.Second, false}} {
		now = now.Add(st.after)
		m.Update(clockMsg{})
		if got := strings.Contains(last(), "no command, view"); got != st.shown {
			t.Errorf("%s later: error shown %v, want %v: %q", now.Sub(start), got, st.shown, last())
		}
	}
	typeLine("role")
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("j")})
	if strings.Contains(last(), "role: operator") {
		t.Errorf("a key left the message: %q", last())
	}
}

// The header keeps the role and the clock at every width, the page over
// the tabs giving way first, then the title, then the tabs farthest from
// the current one.
func TestHeaderKeepsRoleAndClock(t *testing.T) {
	b := generated(30)
	b.alerts = []normalize.Alert{{ID: "stale:a", Target: b.tags[0].ID, Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked}}
	m := New(b, Options{Now: fixedClock, NoColor: true, Role: RoleTrainer, Title: "otwin workshop — bottling line 1",
		Faults: stubFaults{}, Trainer: stubTrainer{}})
	defer m.Close()
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":alerts")})
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	m.Update(tea.KeyMsg{Type: tea.KeyEnter}) // the alert detail, over the alerts
	for w := 20; w <= 200; w++ {
		h := m.s.header(w)
		if !strings.HasSuffix(h, "trainer 12:00:00 ") || widget.Width(h) != w {
			t.Fatalf("header at %d: %q", w, h)
		}
		if w >= 110 && !strings.Contains(h, "Alert · ") {
			t.Errorf("header at %d lost the page's name: %q", w, h)
		}
		if w >= 40 && !strings.Contains(h, "[Alerts]") {
			t.Errorf("header at %d lost the current tab: %q", w, h)
		}
		if w >= 80 && !strings.Contains(h, " otwin") {
			t.Errorf("header at %d lost the title: %q", w, h)
		}
	}
}
