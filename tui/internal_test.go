package tui

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

var epoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// stub is a fixed in-memory Backend for unit tests of pure UI logic.
type stub struct {
	tags   []normalize.Sample
	alerts []normalize.Alert
	feed   *stubFeed
}

type stubFeed struct{ ch chan Update }

func (f *stubFeed) C() <-chan Update { return f.ch }
func (f *stubFeed) Close()           {}

func (b *stub) Subscribe() Feed {
	if b.feed == nil {
		b.feed = &stubFeed{ch: make(chan Update, 1)}
	}
	return b.feed
}
func (b *stub) Snapshot() []normalize.Sample                     { return b.tags }
func (b *stub) Alerts() []normalize.Alert                        { return b.alerts }
func (b *stub) AlertHistory(string) []normalize.AlertEvent       { return nil }
func (b *stub) Health() []connectors.Health                      { return nil }
func (b *stub) Ack(string, string) error                         { return nil }
func (b *stub) Shelve(string, string, time.Duration, bool) error { return nil }
func (b *stub) History(id string, dst []float64) []float64 {
	for i := 0; i < 60; i++ {
		dst = append(dst, float64((i*7+len(id))%13))
	}
	return dst
}

// generated returns n tags, 100 per machine, 20 machines per line.
func generated(n int) *stub {
	b := &stub{}
	for i := 0; i < n; i++ {
		m := i / 100
		asset := fmt.Sprintf("acme/site%d/area%d/line%02d/machine%03d", m/2000, m/400%5, m/20%20, m%20)
		tag := fmt.Sprintf("tag%04d", i%100)
		st := connectors.Good
		if i%97 == 0 {
			st = connectors.UncertainLastUsableValue
		}
		b.tags = append(b.tags, normalize.Sample{ID: asset + "/" + tag, Asset: asset, Tag: tag, Value: float64((i * 7919) % 1000),
			Status: st, Received: epoch.Add(-time.Duration(i%5000) * time.Millisecond), Address: fmt.Sprintf("holding:%d:float32:ABCD", i%10000)})
	}
	return b
}

func TestLayout(t *testing.T) {
	cols := []col{{w: 10, flex: 1, prio: 9}, {w: 5, prio: 8}, {w: 8, prio: 1}, {w: 6, flex: 1, prio: 5}}
	cases := []struct {
		width int
		want  []int
	}{
		{32, []int{10, 5, 8, 6}},  // exactly the minimum
		{42, []int{15, 5, 8, 11}}, // slack shared by the flex columns
		{31, []int{14, 5, 0, 10}}, // the lowest priority goes first
		{20, []int{14, 5, 0, 0}},  // then the next
		{5, []int{10, 0, 0, 0}},   // the last column is kept even if too wide
	}
	for _, c := range cases {
		got := layout(cols, c.width)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("layout(%d) = %v, want %v", c.width, got, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	cases := []struct{ got, want string }{
		{fmtNum(72.5), "72.5"},
		{fmtNum(1480), "1480"},
		{fmtNum(0.4237), "0.424"},
		{fmtNum(1.5e-5), "1.5e-05"},
		{fmtAge(4200 * time.Millisecond), "4.2s"},
		{fmtAge(37 * time.Second), "37s"},
		{fmtAge(5*time.Minute + 3*time.Second), "5m03s"},
		{fmtAge(2*time.Hour + 7*time.Minute), "2h07m"},
		{fmtAge(76 * time.Hour), "3d04h"},
		{fmtLatency(3200 * time.Microsecond), "3.2ms"},
		{limitBits(connectors.UncertainEngineeringUnitsExceeded | connectors.LimitHigh), "High"},
		{limitBits(connectors.Good | connectors.LimitLow), "Low"},
		{badge(connectors.UncertainLastUsableValue | 0x10), "UNCR"},
		{badge(connectors.GoodClamped), "GOOD"},
		{fit("abcdef", 4), "abc…"},
		{fitTail("site/line/machine", 8), "…machine"},
		{fitR("7", 3), "  7"},
		{spark([]float64{0, 1, 2, 3, 4, 5, 6, 7}, 10), "  ▁▂▃▄▅▆▇█"},
		{spark([]float64{5, 5}, 2), "▄▄"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
	ch := chart([]float64{0, 10}, 16, 2)
	if len(ch) != 2 || !strings.HasSuffix(ch[0], " █") || !strings.HasSuffix(ch[1], "▁█") {
		t.Errorf("chart = %q", ch)
	}
}

func TestRowsJob(t *testing.T) {
	b := generated(1000)
	m := New(b, Options{Now: func() time.Time { return epoch }, NoColor: true, Role: RoleEngineer})
	s := m.s
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
			j := &rowsJob{meta: s.meta, prefix: c.prefix, filter: c.filter, nonGood: c.nonGood, col: c.col, rev: c.rev}
			if j.needsDyn() {
				j.dyn = s.dyn.snapshot()
			}
			rows := j.run()
			if len(rows) != c.n {
				t.Fatalf("%d rows, want %d", len(rows), c.n)
			}
			if c.n > 0 && s.meta[rows[0]].id != c.first {
				t.Errorf("first row %s, want %s", s.meta[rows[0]].id, c.first)
			}
		})
	}
}

// A filter job on a big table runs as a command, and a result that a
// newer job has overtaken is dropped.
func TestStaleRowsDropped(t *testing.T) {
	m := New(generated(syncRows+100), Options{Now: func() time.Time { return epoch }, NoColor: true, Role: RoleEngineer})
	s := m.s
	if len(s.rows) != syncRows+100 {
		t.Fatalf("initial rows = %d", len(s.rows))
	}
	_, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'/'}})
	_, slow := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'x'}}) // matches nothing
	_, fast := m.Update(tea.KeyMsg{Type: tea.KeyBackspace})                 // matches all
	if slow == nil || fast == nil {
		t.Fatal("big tables must filter in a command")
	}
	if len(s.rows) != syncRows+100 {
		t.Fatalf("rows changed before the job finished: %d", len(s.rows))
	}
	// data frames do not overtake a running job
	s.dirty = true
	if cmd := s.onFrame(); cmd != nil {
		t.Error("a frame started a job while one was running")
	}
	m.Update(fast())
	m.Update(slow()) // stale
	if len(s.rows) != syncRows+100 {
		t.Errorf("stale result applied: %d rows", len(s.rows))
	}
}

// Feed updates reach the screen on the next frame, not at once.
func TestFrameCoalescing(t *testing.T) {
	b := generated(200)
	m := New(b, Options{Now: func() time.Time { return epoch }, NoColor: true, Role: RoleEngineer})
	m.Init()
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	before := m.View()
	up := b.tags[0]
	up.Value = 123456
	_, cmd := m.Update(feedMsg{Update{Samples: []normalize.Sample{up}}})
	if cmd == nil {
		t.Fatal("no re-armed feed / frame tick")
	}
	if m.View() != before {
		t.Error("view changed before the frame")
	}
	if !m.s.tickPending {
		t.Error("no frame scheduled")
	}
	m.Update(feedMsg{Update{Samples: []normalize.Sample{up}}})
	m.Update(frameMsg{})
	if v := m.View(); v == before || !strings.Contains(v, "123456") {
		t.Errorf("frame did not show the update:\n%s", v)
	}
}

func TestAlertUpsert(t *testing.T) {
	b := generated(10)
	b.alerts = []normalize.Alert{
		{ID: "stale:a", Target: b.tags[0].ID, Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked},
		{ID: "spike:old", Target: b.tags[2].ID, Severity: normalize.SeverityHigh, State: normalize.Normal},
	}
	m := New(b, Options{Now: func() time.Time { return epoch }, NoColor: true})
	s := m.s
	if len(s.alerts) != 1 {
		t.Fatalf("normal alert shown: %+v", s.alerts)
	}
	if n := s.index[b.tags[0].Asset]; n.alerts != 1 || n.worst != normalize.SeverityHigh {
		t.Fatalf("node alerts %d worst %d", n.alerts, n.worst)
	}
	s.apply(Update{Alerts: []normalize.Alert{
		{ID: "stale:a", Target: b.tags[0].ID, State: normalize.Normal},
		{ID: "frozen:b", Target: b.tags[1].ID, Severity: normalize.SeverityLow, State: normalize.ActiveAcked},
	}})
	s.refreshAlerts()
	if len(s.alerts) != 1 || s.alerts[0].ID != "frozen:b" {
		t.Fatalf("alerts %+v", s.alerts)
	}
	if n := s.root; n.alerts != 1 || n.worst != normalize.SeverityLow {
		t.Errorf("root alerts %d worst %d", n.alerts, n.worst)
	}
}

func benchModel(b *testing.B, n int, role Role) Model {
	m := New(generated(n), Options{Now: func() time.Time { return epoch }, Role: role})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	return m
}

// BenchmarkView renders the tag table of 100k tags at 200×60.
func BenchmarkView(b *testing.B) {
	for _, role := range []Role{RoleEngineer, RoleOperator} {
		b.Run(string(role), func(b *testing.B) {
			m := benchModel(b, 100_000, role)
			b.ReportAllocs()
			for b.Loop() {
				m.s.invalidate()
				_ = m.View()
			}
		})
	}
}

// BenchmarkConsoleView renders the instructor console of a class of 60
// with 20 exercises at 200×60, as each second's refresh does.
func BenchmarkConsoleView(b *testing.B) {
	m := New(generated(100), Options{Now: func() time.Time { return epoch }, NoColor: true, Trainer: stubTrainer{}, Role: RoleTrainer, Width: 200, Height: 60})
	msg := stubTrainer{}.load()
	for i := range 60 {
		msg.scores = append(msg.scores, Score{User: fmt.Sprintf("user%02d", i), Role: "operator", Online: i%3 > 0, AlertsSeen: i, Acks: i / 2, MeanAck: time.Duration(i) * time.Second})
	}
	for i := range 20 {
		msg.ex = append(msg.ex, Exercise{Name: fmt.Sprintf("exercise-%02d", i), Steps: 3, Fired: i % 4})
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(msg)
		_ = m.View()
	}
}

// BenchmarkFilter filters 100k tags (the job, off the update loop).
func BenchmarkFilter(b *testing.B) {
	m := benchModel(b, 100_000, RoleEngineer)
	s := m.s
	for _, c := range []struct {
		name, filter string
		col          int
	}{{"substring", "tag0042", sortName}, {"status", "uncertain", sortName}, {"sort-value", "", sortValue}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.filter, s.sortC = c.filter, c.col
				cmd := s.recompute()
				if msg, ok := cmd().(rowsMsg); !ok || len(msg.rows) == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
}

// BenchmarkRecomputeOnLoop is the part of a filter that runs on the
// update loop: preparing the job.
func BenchmarkRecomputeOnLoop(b *testing.B) {
	m := benchModel(b, 100_000, RoleEngineer)
	s := m.s
	s.filter = "tag0042"
	b.ReportAllocs()
	for b.Loop() {
		_ = s.recompute()
	}
}

// BenchmarkMergeNewTags merges 1000 new tags into 100k (on a frame).
func BenchmarkMergeNewTags(b *testing.B) {
	m := benchModel(b, 100_000, RoleOperator)
	s := m.s
	extra := generated(101_000).tags[100_000:]
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s.tags = s.tags[:100_000]
		s.added = map[string]normalize.Sample{}
		for _, t := range extra {
			s.added[t.ID] = t
		}
		b.StartTimer()
		s.mergeAdded()
	}
}

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
		m := New(b, Options{Now: func() time.Time { return epoch }, NoColor: true, Faults: stubFaults{}, Trainer: stubTrainer{}})
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

type stubFaults struct{}

// stubTrainer is a fixed console for the fuzzer; its actions do nothing.
type stubTrainer struct{}

func (stubTrainer) Exercises() []Exercise {
	return []Exercise{{Name: "a-rather-long-exercise-name-that-needs-cutting", Description: "d", Steps: 3, Fired: 1, Running: true}, {Name: "b", Steps: 1, Fired: 1}}
}
func (stubTrainer) StartExercise(string) error { return nil }
func (stubTrainer) Clock() (Clock, error) {
	return Clock{Elapsed: 100*time.Hour + time.Second, Speed: 0.25, Paused: true}, nil
}
func (stubTrainer) Pause() error                  { return nil }
func (stubTrainer) Resume() error                 { return nil }
func (stubTrainer) SetSpeed(float64) error        { return nil }
func (stubTrainer) WriteDebrief() (string, error) { return "x", nil }
func (stubTrainer) Scoreboard() []Score {
	return []Score{{User: "someone-with-a-long-name", Role: "maintenance", Online: true, AlertsSeen: 12345, Acks: 3, MeanAck: 2 * time.Hour, Refused: 2}}
}

// load is the message a console load of this trainer delivers.
func (t stubTrainer) load() consoleMsg {
	c, err := t.Clock()
	return consoleMsg{clock: c, clockErr: err, ex: t.Exercises(), scores: t.Scoreboard()}
}

func (stubFaults) Faults() ([]Fault, error) { return []Fault{{Name: "f1"}}, nil }
func (stubFaults) Inject(string) error      { return nil }
func (stubFaults) Clear(string) error       { return nil }

// Tags that arrive after the session opened land where the role starts,
// until the user moves in the tree.
func TestLateTagsSelectRoleLevel(t *testing.T) {
	full := generated(300)
	b := &stub{}
	m := New(b, Options{Now: func() time.Time { return epoch }, NoColor: true, Role: RoleOperator})
	if m.s.selPath != "" {
		t.Fatalf("empty store selects %q", m.s.selPath)
	}
	m.Update(feedMsg{Update{Samples: full.tags[:150]}})
	m.Update(feedMsg{Update{Samples: full.tags[150:]}})
	m.Update(frameMsg{})
	if want := "acme/site0/area0/line00"; m.s.selPath != want {
		t.Errorf("selected %q, want %q", m.s.selPath, want)
	}
	if len(m.s.tags) != 300 || len(m.s.rows) != 300 {
		t.Errorf("tags %d rows %d", len(m.s.tags), len(m.s.rows))
	}
	// the user moves: later tags no longer move the selection
	m.Update(tea.KeyMsg{Type: tea.KeyUp})
	sel := m.s.selPath
	extra := generated(2100).tags[2000:]
	m.Update(feedMsg{Update{Samples: extra}})
	m.Update(frameMsg{})
	if m.s.selPath != sel {
		t.Errorf("selection moved from %q to %q", sel, m.s.selPath)
	}
}

type countingFeed struct{ stubFeed }

func (countingFeed) Dropped() uint64 { return 5 }

type countingStub struct{ *stub }

func (b countingStub) Subscribe() Feed { return &countingFeed{stubFeed{ch: make(chan Update)}} }

func TestDroppedShown(t *testing.T) {
	m := New(countingStub{generated(10)}, Options{Now: func() time.Time { return epoch }, NoColor: true})
	m.Init()
	if v := m.View(); !strings.Contains(v, "coalesced 0") {
		t.Fatalf("no drop count:\n%s", v)
	}
	m.Update(clockMsg{})
	if v := m.View(); !strings.Contains(v, "coalesced 5") {
		t.Errorf("drop count not refreshed:\n%s", v)
	}
}

func TestUncleanAssetPaths(t *testing.T) {
	b := &stub{tags: []normalize.Sample{
		{ID: "x/a", Asset: "/site//line/", Tag: "a"},
		{ID: "x/b", Asset: "site/line", Tag: "b"},
		{ID: "x/c", Asset: "", Tag: "c"},
	}}
	m := New(b, Options{Now: func() time.Time { return epoch }, NoColor: true, Role: RoleMaintenance})
	s := m.s
	if n := s.index["site/line"]; n == nil || n.tags != 2 {
		t.Fatalf("site/line node: %+v", n)
	}
	if s.root.tags != 3 {
		t.Errorf("root counts %d tags", s.root.tags)
	}
	if s.selPath != "site/line" || len(s.rows) != 2 {
		t.Errorf("selected %q with %d rows", s.selPath, len(s.rows))
	}
}

func TestPaint(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	colour := newStyles(r, false)
	if got := colour.bad.Render("x"); !strings.HasPrefix(got, "\x1b[") || !strings.Contains(got, "x") || !strings.HasSuffix(got, "m") {
		t.Errorf("colour paint = %q", got)
	}
	if got := newStyles(r, true).bad.Render("x"); got != "x" {
		t.Errorf("no-colour paint = %q", got)
	}
	ascii := lipgloss.NewRenderer(io.Discard)
	ascii.SetColorProfile(termenv.Ascii)
	if got := newStyles(ascii, false).selected.Render("x"); got != "x" {
		t.Errorf("ascii renderer paint = %q", got)
	}
}

// The dashboard reads only the value types of the monitoring half.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".", "./demo").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/otwin/otwin/tui": true, "github.com/otwin/otwin/tui/demo": true,
		"github.com/otwin/otwin/connectors": true, "github.com/otwin/otwin/normalize": true,
		// leaf packages both halves share
		"github.com/otwin/otwin/units": true, "github.com/otwin/otwin/role": true, "github.com/otwin/otwin/datatype": true,
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/otwin/otwin") && !allowed[p] {
			t.Errorf("tui depends on %s", p)
		}
	}
}

// The bottom line's editor: the keys edit the text at the cursor, a
// multi-rune packet is typed into an open prompt, the cursor is hidden under
// NoColor and a reverse-video cell with colour, and no key blinks it.
func TestLineEditor(t *testing.T) {
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	k := func(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }
	alt := func(m tea.KeyMsg) tea.KeyMsg { m.Alt = true; return m }
	cases := []struct {
		name string
		keys []tea.KeyMsg
		want string
	}{
		{"typed", []tea.KeyMsg{runes("a"), runes("b"), k(tea.KeySpace), runes("c")}, "ab c"},
		{"packet after the prompt", []tea.KeyMsg{runes("role x")}, "role x"},
		{"backspace", []tea.KeyMsg{runes("abc"), k(tea.KeyBackspace)}, "ab"},
		{"left insert", []tea.KeyMsg{runes("ac"), k(tea.KeyLeft), runes("b")}, "abc"},
		{"home end", []tea.KeyMsg{runes("bc"), k(tea.KeyHome), runes("a"), k(tea.KeyEnd), runes("d")}, "abcd"},
		{"ctrl+a ctrl+e", []tea.KeyMsg{runes("b"), k(tea.KeyCtrlA), runes("a"), k(tea.KeyCtrlE), runes("c")}, "abc"},
		{"delete", []tea.KeyMsg{runes("abc"), k(tea.KeyHome), k(tea.KeyDelete)}, "bc"},
		{"ctrl+u", []tea.KeyMsg{runes("ab cd"), k(tea.KeyLeft), k(tea.KeyCtrlU)}, "d"},
		{"ctrl+k", []tea.KeyMsg{runes("ab cd"), k(tea.KeyLeft), k(tea.KeyLeft), k(tea.KeyCtrlK)}, "ab "},
		{"ctrl+w", []tea.KeyMsg{runes("ab cd"), k(tea.KeyCtrlW)}, "ab "},
		{"word back", []tea.KeyMsg{runes("ab cd"), alt(k(tea.KeyLeft)), runes("x")}, "ab xcd"},
		{"paste", []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("a\tb"), Paste: true}}, "a b"},
		{"ctrl+v reads no clipboard", []tea.KeyMsg{runes("a"), k(tea.KeyCtrlV)}, "a"},
	}
	moved := map[string]bool{"left insert": true, "delete": true, "ctrl+u": true, "ctrl+k": true, "word back": true}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New(&stub{}, Options{Now: func() time.Time { return epoch }, NoColor: true, Role: RoleMaintenance})
			defer m.Close()
			m.Update(runes(":"))
			for _, key := range c.keys {
				if _, cmd := m.Update(key); cmd != nil && c.name == "ctrl+v reads no clipboard" {
					t.Errorf("ctrl+v returned a command")
				}
			}
			if got := m.s.input.Value(); got != c.want {
				t.Errorf("value %q, want %q", got, c.want)
			}
			line := m.s.bottomLine(80)
			if want := ":" + c.want + "█"; !strings.Contains(line, "█") || strings.ReplaceAll(line, "█", "") != fit(":"+c.want, 79) ||
				!strings.HasPrefix(line, want) && !moved[c.name] || strings.Contains(line, "\x1b") || width(line) != 80 {
				t.Errorf("bottom line %q, want plain %q and padding to 80", line, want)
			}
		})
	}

	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	m := New(&stub{}, Options{Now: func() time.Time { return epoch }, Renderer: r, Role: RoleMaintenance})
	defer m.Close()
	m.Update(tea.WindowSizeMsg{Width: 20, Height: 10})
	if _, cmd := m.Update(runes("/")); cmd != nil {
		if msg := cmd(); msg != nil {
			t.Errorf("opening a prompt sent %T", msg)
		}
	}
	m.Update(runes("ab"))
	line := m.s.bottomLine(20)
	if !strings.Contains(line, "\x1b[7m") || ansi.Strip(line) != fit("/ab", 20) {
		t.Errorf("colour bottom line %q: want a reverse-video cursor after /ab", line)
	}

	// Long text scrolls: the cursor's end of it stays on the screen.
	m.Update(runes(strings.Repeat("x", 30) + "END"))
	if line := ansi.Strip(m.s.bottomLine(20)); !strings.Contains(line, "END") || width(line) != 20 {
		t.Errorf("long input line %q, want its end visible in 20 cells", line)
	}

	// The same under NoColor, with the cursor inside the text: the mark
	// takes a cell and nothing is cut off with "…".
	p := New(&stub{}, Options{Now: func() time.Time { return epoch }, NoColor: true, Role: RoleMaintenance})
	defer p.Close()
	p.Update(tea.WindowSizeMsg{Width: 20, Height: 10})
	p.Update(runes(":"))
	p.Update(runes(strings.Repeat("x", 30) + "END"))
	p.Update(tea.KeyMsg{Type: tea.KeyLeft})
	if line := p.s.bottomLine(20); !strings.Contains(line, "EN█D") || strings.Contains(line, "…") || width(line) != 20 {
		t.Errorf("no-colour long input line %q, want EN█D visible in 20 cells", line)
	}
}
