package tui

import (
	"fmt"
	"github.com/otwin/otwin/role"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// view is a page of the TUI.
type view int

const (
	viewTree view = iota
	viewTags
	viewAlerts
	viewConn
	viewFaults
	viewTagDetail
	viewAlertDetail
	viewHelp
	viewConsole
)

var viewNames = map[view]string{
	viewTree: "Tree", viewTags: "Tags", viewAlerts: "Alerts", viewConn: "Conn", viewFaults: "Faults",
	viewTagDetail: "Tag", viewAlertDetail: "Alert", viewHelp: "Help", viewConsole: "Console",
}

// inputMode is what the bottom line's text input is for.
type inputMode int

const (
	inputNone inputMode = iota
	inputCommand
	inputFilter
	inputAckComment
	inputShelveReason
	inputShelveDuration
)

// syncRows is the table size up to which filtering and sorting run
// inline; larger tables use a tea.Cmd.
const syncRows = 4096

// Messages.
type (
	feedMsg       struct{ u Update }
	feedClosedMsg struct{}
	frameMsg      struct{}
	clockMsg      struct{}
	faultTickMsg  struct{ gen uint64 }
	actionMsg     struct {
		what string
		err  error
	}
	faultsMsg struct {
		faults []Fault
		err    error
	}
)

// Model is the TUI of one session, a tea.Model. Create it with New; it is
// used by one bubbletea program's goroutine only. Call Close after the
// program ends to release the feed.
type Model struct{ s *state }

type state struct {
	b      Backend
	opts   Options
	now    func() time.Time
	frame  time.Duration
	feed   Feed       // set once in Init, under feedMu
	feedMu sync.Mutex // Init and Close may race when Options.Context ends early
	closed bool
	once   sync.Once
	stop   chan struct{} // closed by Close
	st     styles

	w, h        int
	view, back  view
	role        Role
	focusTable  bool
	quitting    bool
	autoSelect  bool // the tree selection is the role's, not the user's
	syncJobs    bool
	feedClosed  bool
	dropped     uint64
	msg         string
	msgErr      bool
	dirty       bool
	tickPending bool
	cache       string
	cacheOK     bool

	// tags
	tags   []normalize.Sample
	meta   []tagMeta
	added  map[string]normalize.Sample // new tags, merged on the next frame
	dyn    dynStore                    // parallel to tags; shared copy-on-write with jobs
	byID   map[string]int
	hist   []float64
	rowGen uint64
	rows   []int32
	// keepTag is the tag index the cursor was on when the job started.
	keepTag    int32
	jobPending bool
	rowsAt     time.Time
	tbl        listPos
	sortC      int
	sortR      bool
	filter     string
	bad        bool
	names      bool
	eng        bool

	// tree
	root     *node
	index    map[string]*node
	flat     []*node
	expanded map[string]bool
	tree     listPos
	selPath  string

	// alerts
	alerts      []normalize.Alert
	alertRows   []int
	al          listPos
	alertFilter string
	alertID     string
	detail      listPos

	// tag detail
	tagID string

	// health
	health []connectors.Health
	rates  map[string]rate
	skew   map[string]skew // per source, of its newest sample

	conn listPos

	// screen geometry of the last render, for the mouse
	tabX         []tabHit
	treeW, mainH int

	// faults
	faults   []Fault
	flt      listPos
	faultGen uint64

	// instructor console
	con consoleState

	// input
	input   textinput.Model
	mode    inputMode
	pending string // alert id of an ack or shelve in progress
	reason  string
}

// tabHit is where a tab was drawn in the header.
type tabHit struct {
	x0, x1 int
	v      view
}

// listPos is a cursor and scroll offset.
type listPos struct{ cur, top int }

// skew is a source's clock skew (received - source time) as of at.
type skew struct {
	at time.Time
	d  time.Duration
}

// rate derives samples/s from Health.Readings deltas.
type rate struct {
	readings uint64
	at       time.Time
	perSec   float64
}

// New returns the TUI model for one session reading b. It takes a
// snapshot of b at once; the live feed is subscribed in Init.
func New(b Backend, opts Options) Model {
	s := &state{b: b, opts: opts, expanded: map[string]bool{}, rates: map[string]rate{}, skew: map[string]skew{}, stop: make(chan struct{})}
	s.now = opts.Now
	if s.now == nil {
		s.now = time.Now
	}
	fr := opts.FrameRate
	if fr <= 0 {
		fr = 10
	}
	s.frame = time.Second / time.Duration(fr)
	if s.opts.Title == "" {
		s.opts.Title = "otwin"
	}
	if s.opts.FaultRefresh <= 0 {
		s.opts.FaultRefresh = 3 * time.Second
	}
	if s.opts.ConsoleRefresh <= 0 {
		s.opts.ConsoleRefresh = time.Second
	}
	s.st = newStyles(opts.Renderer, opts.NoColor)
	s.input = newInput(opts.Renderer, opts.NoColor)
	s.w, s.h = 80, 24
	if opts.Width > 0 && opts.Height > 0 {
		s.w, s.h = opts.Width, opts.Height
	}

	s.loadSnapshot()
	role := opts.Role
	if role == "" {
		role = RoleOperator
	}
	s.syncJobs = true // the first table is computed before the first frame
	s.setRole(role)
	s.syncJobs = false
	m := Model{s}
	if ctx := opts.Context; ctx != nil {
		go func() {
			<-ctx.Done()
			m.Close()
		}()
	}
	return m
}

// Close releases the session's feed; safe to call more than once and
// after the program has ended.
func (m Model) Close() {
	m.s.once.Do(func() {
		close(m.s.stop)
		m.s.feedMu.Lock()
		defer m.s.feedMu.Unlock()
		m.s.closed = true
		if m.s.feed != nil {
			m.s.feed.Close()
		}
	})
}

// Init subscribes to the backend's feed and starts the clock.
func (m Model) Init() tea.Cmd {
	s := m.s
	s.feedMu.Lock()
	if s.feed == nil && !s.closed {
		s.feed = s.b.Subscribe()
	}
	s.feedMu.Unlock()
	cmds := []tea.Cmd{waitFeed(s.feed), clockTick()}
	cmds = append(cmds, s.reopen())
	return tea.Batch(cmds...)
}

// waitFeed waits for the next update; it is re-armed after each one.
func waitFeed(f Feed) tea.Cmd {
	if f == nil {
		return nil
	}
	ch := f.C()
	return func() tea.Msg {
		u, ok := <-ch
		if !ok {
			return feedClosedMsg{}
		}
		return feedMsg{u}
	}
}

func clockTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockMsg{} })
}

func (s *state) loadSnapshot() {
	tags := s.b.Snapshot()
	s.tags = append([]normalize.Sample(nil), tags...)
	sort.SliceStable(s.tags, func(i, j int) bool { return s.tags[i].ID < s.tags[j].ID })
	s.reindex()
	for i := range s.tags {
		s.noteSkew(&s.tags[i])
	}
	s.alerts = s.visibleAlerts(s.alerts[:0], s.b.Alerts())
	s.health = append(s.health, s.b.Health()...)
	now := s.now()
	for _, h := range s.health {
		s.rates[h.Source] = rate{readings: h.Readings, at: now}
	}
	s.refreshAlerts()
}

// reindex rebuilds the id index, the shared metadata and the tree after
// the tag set changed.
func (s *state) reindex() {
	s.byID = make(map[string]int, len(s.tags))
	meta := make([]tagMeta, len(s.tags))
	s.dyn = newDynStore(len(s.tags))
	old := 0
	for i := range s.tags {
		t := &s.tags[i]
		s.byID[t.ID] = i
		s.dyn.set(i, dynOf(t))
		// both lists are sorted by id: reuse the lower-cased names
		for old < len(s.meta) && s.meta[old].id < t.ID {
			old++
		}
		if old < len(s.meta) && s.meta[old].id == t.ID && s.meta[old].rawAsset == t.Asset && s.meta[old].tag == t.Tag {
			meta[i] = s.meta[old]
		} else {
			meta[i] = tagMeta{id: t.ID, asset: cleanPath(t.Asset), rawAsset: t.Asset, tag: t.Tag, idLower: strings.ToLower(t.ID), tagLower: strings.ToLower(t.Tag)}
		}
	}
	s.meta = meta
	s.root, s.index = buildTree(meta)
	s.rowGen++ // row indices of older jobs are stale
	s.jobPending = false
	s.reflatten()
}

func (s *state) reflatten() {
	s.flat = flatten(s.root, s.expanded, s.flat[:0])
	s.tree.cur = 0
	for i, n := range s.flat {
		if n.path == s.selPath {
			s.tree.cur = i
			break
		}
	}
}

func dynOf(t *normalize.Sample) tagDyn {
	return tagDyn{code: t.Status, value: t.Value, text: t.Kind == normalize.Text, recv: t.Received.UnixNano()}
}

// visibleAlerts appends the alerts worth showing: all but those back to
// Normal and not shelved.
func (s *state) visibleAlerts(dst, all []normalize.Alert) []normalize.Alert {
	now := s.now().UnixNano()
	for i := range all {
		if all[i].State != normalize.Normal || shelved(&all[i], now) {
			dst = append(dst, all[i])
		}
	}
	return dst
}

// noteSkew keeps the clock skew of the newest sample of each source.
func (s *state) noteSkew(t *normalize.Sample) {
	if t.SourceTime.IsZero() || t.Source == "" {
		return
	}
	if k, ok := s.skew[t.Source]; ok && k.at.After(t.Received) {
		return
	}
	s.skew[t.Source] = skew{at: t.Received, d: t.Skew()}
}

// apply merges one feed update into the state.
func (s *state) apply(u Update) {
	for _, smp := range u.Samples {
		s.noteSkew(&smp)
		if i, ok := s.byID[smp.ID]; ok {
			s.tags[i] = smp
			s.dyn.set(i, dynOf(&smp))
		} else {
			if s.added == nil {
				s.added = map[string]normalize.Sample{}
			}
			s.added[smp.ID] = smp // merged on the next frame
		}
	}
	if len(u.Alerts) > 0 {
		pos := make(map[string]int, len(s.alerts))
		for i := range s.alerts {
			pos[s.alerts[i].ID] = i
		}
		now := s.now().UnixNano()
		for _, a := range u.Alerts {
			remove := a.State == normalize.Normal && !shelved(&a, now)
			if i, ok := pos[a.ID]; ok {
				s.alerts[i] = a
				if remove {
					s.alerts[i].ID = "" // dropped below
				}
			} else if !remove {
				pos[a.ID] = len(s.alerts)
				s.alerts = append(s.alerts, a)
			}
		}
		kept := s.alerts[:0]
		for _, a := range s.alerts {
			if a.ID != "" {
				kept = append(kept, a)
			}
		}
		s.alerts = kept
	}
	if len(u.Health) > 0 {
		now := s.now()
		for _, h := range u.Health {
			found := false
			for i := range s.health {
				if s.health[i].Source == h.Source {
					s.health[i] = h
					found = true
					break
				}
			}
			if !found {
				s.health = append(s.health, h)
			}
			r, ok := s.rates[h.Source]
			if ok && now.After(r.at) && h.Readings >= r.readings {
				dt := now.Sub(r.at).Seconds()
				if dt >= 0.5 {
					r.perSec = float64(h.Readings-r.readings) / dt
					r.readings, r.at = h.Readings, now
				}
			} else {
				r = rate{readings: h.Readings, at: now}
			}
			s.rates[h.Source] = r
		}
	}
}

// refreshAlerts re-sorts and re-filters the alert list and recounts the
// alerts per tree node.
func (s *state) refreshAlerts() {
	now := s.now().UnixNano()
	keep := ""
	if s.al.cur < len(s.alertRows) && s.alertRows[s.al.cur] < len(s.alerts) {
		keep = s.alerts[s.alertRows[s.al.cur]].ID
	}
	sort.SliceStable(s.alerts, func(i, j int) bool {
		a, b := &s.alerts[i], &s.alerts[j]
		sa, sb := shelved(a, now), shelved(b, now)
		if sa != sb {
			return !sa
		}
		ua, ub := a.State == normalize.ActiveUnacked || a.State == normalize.RTNUnacked, b.State == normalize.ActiveUnacked || b.State == normalize.RTNUnacked
		if ua != ub {
			return ua
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if !a.LastActive.Equal(b.LastActive) {
			return a.LastActive.After(b.LastActive)
		}
		return a.ID < b.ID
	})
	f := strings.ToLower(s.alertFilter)
	s.alertRows = s.alertRows[:0]
	for i := range s.alerts {
		a := &s.alerts[i]
		if f != "" && !strings.Contains(strings.ToLower(a.ID+" "+a.Target+" "+a.Message+" "+stateName(a.State)), f) {
			continue
		}
		s.alertRows = append(s.alertRows, i)
		if a.ID == keep {
			s.al.cur = len(s.alertRows) - 1
		}
	}
	s.al.clamp(len(s.alertRows))
	if s.root == nil {
		return
	}
	for _, n := range s.index {
		n.alerts, n.worst = 0, 0
	}
	for i := range s.alerts {
		a := &s.alerts[i]
		if !alertActive(a, now) {
			continue
		}
		ti, ok := s.byID[a.Target]
		if !ok {
			continue
		}
		n := s.index[s.meta[ti].asset]
		for ; n != nil; n = n.parent {
			n.alerts++
			if a.Severity > n.worst {
				n.worst = a.Severity
			}
		}
	}
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	s := m.s
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.w, s.h = msg.Width, msg.Height
		s.fitInput()
		s.invalidate()
		return m, nil
	case feedMsg:
		s.apply(msg.u)
		s.dirty = true
		cmds := []tea.Cmd{waitFeed(s.feed)}
		if !s.tickPending {
			s.tickPending = true
			cmds = append(cmds, tea.Tick(s.frame, func(time.Time) tea.Msg { return frameMsg{} }))
		}
		return m, tea.Batch(cmds...)
	case feedClosedMsg:
		s.feedClosed = true
		s.setMsg("live feed closed", true)
		return m, nil
	case frameMsg:
		s.tickPending = false
		return m, s.onFrame()
	case clockMsg:
		if dc, ok := s.feed.(DropCounter); ok {
			s.dropped = dc.Dropped()
		}
		s.invalidate() // ages move
		return m, tea.Batch(clockTick(), s.onFrame())
	case rowsMsg:
		if msg.gen == s.rowGen {
			s.jobPending = false
			s.setRows(msg.rows)
			s.invalidate()
		}
		return m, nil
	case actionMsg:
		slog.Debug("tui action", "user", s.opts.User, "what", msg.what, "err", msg.err)
		if msg.err != nil {
			s.setMsg(fmt.Sprintf("%s: %v", msg.what, msg.err), true)
		} else {
			s.setMsg(msg.what, false)
		}
		cmds := []tea.Cmd{}
		if s.view == viewFaults || strings.HasPrefix(msg.what, "inject") || strings.HasPrefix(msg.what, "clear") {
			cmds = append(cmds, s.loadFaults())
		}
		if s.view == viewConsole {
			cmds = append(cmds, s.loadConsole())
		}
		// the acted-on alert changes through the feed; re-read it now too
		s.resyncAlerts()
		return m, tea.Batch(cmds...)
	case faultsMsg:
		if msg.err != nil {
			s.setMsg("faults: "+msg.err.Error(), true)
		} else {
			s.faults = msg.faults
			s.flt.clamp(len(s.faults))
		}
		s.invalidate()
		return m, nil
	case faultTickMsg:
		if msg.gen != s.faultGen || s.view != viewFaults {
			return m, nil
		}
		return m, tea.Batch(s.loadFaults(), s.faultTick())
	case consoleMsg:
		s.onConsole(msg)
		return m, nil
	case consoleDoneMsg:
		return m.Update(s.onConsoleDone(msg))
	case consoleTickMsg:
		if msg.gen != s.con.gen || s.view != viewConsole {
			return m, nil
		}
		return m, tea.Batch(s.loadConsole(), s.consoleTick())
	case tea.KeyMsg:
		s.invalidate()
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && s.mode == inputNone {
			// keys that arrived in one packet: one key each, until a
			// prompt opens and takes the rest as text
			var cmds []tea.Cmd
			for i, r := range msg.Runes {
				if s.mode != inputNone {
					cmds = append(cmds, s.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: msg.Runes[i:]}))
					break
				}
				cmds = append(cmds, s.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}))
				if s.quitting {
					break
				}
			}
			return m, tea.Batch(cmds...)
		}
		return m, s.key(msg)
	case tea.MouseMsg:
		if msg.Action == tea.MouseActionPress && s.mode == inputNone {
			switch msg.Button {
			case tea.MouseButtonWheelUp:
				s.invalidate()
				return m, s.move(-3)
			case tea.MouseButtonWheelDown:
				s.invalidate()
				return m, s.move(3)
			case tea.MouseButtonLeft:
				s.invalidate()
				return m, s.click(msg.X, msg.Y)
			}
		}
		return m, nil
	}
	return m, nil
}

// onFrame makes coalesced data changes visible.
func (s *state) onFrame() tea.Cmd {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	if len(s.added) > 0 {
		s.mergeAdded()
	}
	s.refreshAlerts()
	s.invalidate()
	if s.jobPending {
		return nil // a running job is not overtaken by data changes
	}
	if s.rows == nil || (s.sortC != sortName || s.bad || s.filter != "") && s.now().Sub(s.rowsAt) >= time.Second {
		return s.recompute()
	}
	return nil
}

func (s *state) invalidate() { s.cacheOK = false }

// mergeAdded merges the tags first seen since the last frame into the
// sorted tag list (one merge per frame however many batches brought them).
func (s *state) mergeAdded() {
	add := make([]normalize.Sample, 0, len(s.added))
	for _, t := range s.added {
		add = append(add, t)
	}
	clear(s.added)
	sort.Slice(add, func(i, j int) bool { return add[i].ID < add[j].ID })
	merged := make([]normalize.Sample, 0, len(s.tags)+len(add))
	i, j := 0, 0
	for i < len(s.tags) || j < len(add) {
		if j == len(add) || i < len(s.tags) && s.tags[i].ID < add[j].ID {
			merged = append(merged, s.tags[i])
			i++
		} else {
			merged = append(merged, add[j])
			j++
		}
	}
	s.tags = merged
	s.reindex()
	if s.autoSelect {
		// tags arrived after the session opened: start where the role
		// starts, unless the user has moved in the tree
		s.roleSelect()
	}
	s.rows = nil
	s.rowsAt = time.Time{}
}

func (s *state) setMsg(m string, isErr bool) {
	s.msg, s.msgErr = m, isErr
	s.invalidate()
}

func (s *state) resyncAlerts() {
	s.alerts = s.visibleAlerts(s.alerts[:0], s.b.Alerts())
	s.refreshAlerts()
	s.invalidate()
}

// recompute starts the filter-and-sort of the tag table: inline for small
// tables, else as a tea.Cmd whose stale results are dropped.
func (s *state) recompute() tea.Cmd {
	s.rowGen++
	s.keepTag = -1
	if s.tbl.cur < len(s.rows) {
		s.keepTag = s.rows[s.tbl.cur]
	}
	j := &rowsJob{gen: s.rowGen, meta: s.meta, prefix: s.selPath, filter: strings.ToLower(s.filter), nonGood: s.bad, col: s.sortC, rev: s.sortR}
	if j.needsDyn() {
		j.dyn = s.dyn.snapshot()
	}
	s.rowsAt = s.now()
	if len(s.meta) <= syncRows || s.syncJobs {
		s.jobPending = false
		s.setRows(j.run())
		return nil
	}
	s.jobPending = true
	return func() tea.Msg { return rowsMsg{gen: j.gen, rows: j.run()} }
}

// setRows installs a job's rows, keeping the cursor on the tag it was on.
func (s *state) setRows(rows []int32) {
	s.rows = rows
	if s.keepTag >= 0 {
		for i, r := range rows {
			if r == s.keepTag {
				s.tbl.cur = i
				break
			}
		}
	}
	s.tbl.clamp(len(s.rows))
}

func (p *listPos) clamp(n int) {
	if p.cur >= n {
		p.cur = n - 1
	}
	if p.cur < 0 {
		p.cur = 0
	}
	if p.top > p.cur {
		p.top = p.cur
	}
	if p.top < 0 {
		p.top = 0
	}
}

// scroll keeps cur within a window of height rows.
func (p *listPos) scroll(height int) {
	if height < 1 {
		height = 1
	}
	if p.cur < p.top {
		p.top = p.cur
	}
	if p.cur >= p.top+height {
		p.top = p.cur - height + 1
	}
}

// setRole switches the role and opens its starting view.
func (s *state) setRole(r Role) tea.Cmd {
	s.role = r
	s.eng = r == RoleEngineer
	s.bad = r == RoleQuality
	s.alertFilter = ""
	s.filter = ""
	s.sortC, s.sortR = sortName, false
	if r == RoleQuality {
		s.alertFilter = string(normalize.AlertOutOfRange)
	}
	var cmd tea.Cmd
	s.autoSelect = true
	s.roleSelect()
	switch r {
	case RoleSupervisor:
		s.view = viewAlerts
	case RoleMaintenance:
		s.view = viewTree
	case RoleQuality, RoleEngineer:
		s.view = viewTags
		s.focusTable = true
	case RoleTrainer:
		s.view = viewTree
		if s.consoleAllowed() {
			s.view = viewConsole
			cmd = s.openConsole()
		} else if s.opts.Faults != nil {
			s.view = viewFaults
			cmd = s.openFaults()
		}
	default:
		s.view = viewTree
	}
	if s.view == viewTree {
		s.focusTable = false
	}
	s.refreshAlerts()
	s.invalidate()
	return tea.Batch(cmd, s.recompute())
}

// roleSelect selects the tree node the role starts from.
func (s *state) roleSelect() {
	switch s.role {
	case RoleMaintenance:
		s.selectLevel(false, true)
	case RoleQuality, RoleEngineer:
		s.selectLevel(false, false)
	default:
		s.selectLevel(true, false)
	}
}

// selectLevel selects the first line (a node whose children hold tags
// directly) or, with machine, the first machine (a node with no children
// below the root), expanding its ancestors; with neither, the root.
func (s *state) selectLevel(line, machine bool) {
	var find func(n *node) *node
	find = func(n *node) *node {
		leafKids := len(n.children) > 0
		for _, c := range n.children {
			if len(c.children) > 0 {
				leafKids = false
			}
		}
		switch {
		case machine && len(n.children) == 0 && n.depth > 0:
			return n
		case line && !machine && leafKids && n.depth > 0:
			return n
		}
		for _, c := range n.children {
			if f := find(c); f != nil {
				return f
			}
		}
		return nil
	}
	n := s.root
	if line || machine {
		if f := find(s.root); f != nil {
			n = f
		}
	}
	for p := n.parent; p != nil; p = p.parent {
		if p.depth > 0 {
			s.expanded[p.path] = true
		}
	}
	s.selPath = n.path
	s.reflatten()
}

// views lists the views tab cycles through.
func (s *state) views() []view {
	v := []view{viewTree, viewTags, viewAlerts, viewConn}
	if s.faultsAllowed() {
		v = append(v, viewFaults)
	}
	if s.consoleAllowed() {
		v = append(v, viewConsole)
	}
	return v
}

func (s *state) faultsAllowed() bool {
	return s.opts.Faults != nil && (s.opts.FaultsForAll || s.role != RoleOperator)
}

func (s *state) scope() scope {
	switch s.view {
	case viewTree:
		if s.focusTable {
			return scopeTable
		}
		return scopeTree
	case viewTags:
		return scopeTable
	case viewAlerts:
		return scopeAlerts
	case viewConn:
		return scopeConn
	case viewFaults:
		return scopeFaults
	case viewConsole:
		return scopeConsole
	case viewTagDetail, viewAlertDetail, viewHelp:
		return scopeDetail
	}
	return scopeGlobal
}

// key handles one key press.
func (s *state) key(k tea.KeyMsg) tea.Cmd {
	s.msg, s.msgErr = "", false
	if s.mode != inputNone {
		return s.inputKey(k)
	}
	switch lookup(s.scope(), k.String()) {
	case actQuit:
		return s.quit()
	case actHelp:
		if s.view != viewHelp {
			s.back = s.view
			s.view = viewHelp
			s.detail = listPos{}
		}
	case actCommand:
		return s.startInput(inputCommand, ":", "")
	case actNextView, actPrevView:
		step := 1
		if lookup(s.scope(), k.String()) == actPrevView {
			step = -1
		}
		vs := s.views()
		cur := 0
		for i, v := range vs {
			if v == s.view || (s.view == viewTagDetail && v == s.back) || (s.view == viewAlertDetail && v == viewAlerts) {
				cur = i
			}
		}
		return s.switchView(vs[(cur+step+len(vs))%len(vs)])
	case actBack:
		return s.goBack()
	case actFaults:
		if !s.faultsAllowed() {
			s.setMsg("no fault panel for this session", true)
			return nil
		}
		return s.switchView(viewFaults)
	case actConsole:
		return s.switchView(viewConsole)
	case actPause:
		return s.togglePause()
	case actFaster:
		return s.scaleSpeed(2)
	case actSlower:
		return s.scaleSpeed(0.5)
	case actStart:
		return s.startExercise()
	case actDebrief:
		return s.writeDebrief()
	case actUp:
		return s.move(-1)
	case actDown:
		return s.move(1)
	case actPageUp:
		return s.move(-s.pageSize())
	case actPageDown:
		return s.move(s.pageSize())
	case actTop:
		return s.move(-1 << 30)
	case actBottom:
		return s.move(1 << 30)
	case actToggle:
		if s.view == viewFaults {
			return s.toggleFault()
		}
		n := s.curNode()
		switch {
		case n == nil:
		case len(n.children) > 0 && n.depth > 0:
			s.expanded[n.path] = !s.expanded[n.path]
			s.reflatten()
		case len(n.children) == 0:
			s.focusTable = true // a machine: go to its tags
		}
	case actExpand:
		n := s.curNode()
		if n == nil {
			return nil
		}
		if len(n.children) > 0 && n.depth > 0 && !s.expanded[n.path] {
			s.expanded[n.path] = true
			s.reflatten()
		} else {
			s.focusTable = true
		}
	case actCollapse:
		if s.view == viewTree && s.focusTable {
			s.focusTable = false
			return nil
		}
		if s.view == viewTags {
			return s.switchView(viewTree)
		}
		n := s.curNode()
		if n == nil {
			return nil
		}
		if s.expanded[n.path] && len(n.children) > 0 {
			s.expanded[n.path] = false
			s.reflatten()
		} else if n.parent != nil {
			return s.selectNode(n.parent)
		}
	case actOpen:
		switch s.view {
		case viewConn:
			if s.conn.cur < len(s.health) {
				h := s.health[s.conn.cur]
				if h.LastError != nil {
					s.setMsg(h.Source+": "+h.LastError.Error(), true)
				} else {
					s.setMsg(h.Source+" "+h.Endpoint+": no error", false)
				}
			}
		case viewAlerts:
			if a := s.curAlert(); a != nil {
				s.alertID = a.ID
				s.detail = listPos{}
				s.view = viewAlertDetail
			}
		default:
			if t := s.curTag(); t != nil {
				s.tagID = t.ID
				s.detail = listPos{}
				s.back = s.view
				s.view = viewTagDetail
			}
		}
	case actSort:
		s.sortC = (s.sortC + 1) % numSortCols
		s.setMsg("sorted by "+sortNames[s.sortC], false)
		return s.recompute()
	case actSortReverse:
		s.sortR = !s.sortR
		return s.recompute()
	case actFilter:
		if s.view == viewAlerts {
			return s.startInput(inputFilter, "/", s.alertFilter)
		}
		return s.startInput(inputFilter, "/", s.filter)
	case actNames:
		s.names = !s.names
	case actNonGood:
		s.bad = !s.bad
		return s.recompute()
	case actAck:
		a := s.actionAlert()
		if a == nil {
			return nil
		}
		s.pending = a.ID
		return s.startInput(inputAckComment, "ack "+a.ID+" comment: ", "")
	case actShelve:
		a := s.actionAlert()
		if a == nil {
			return nil
		}
		s.pending = a.ID
		return s.startInput(inputShelveReason, "shelve "+a.ID+" reason: ", "")
	case actRefresh:
		if s.view == viewConsole {
			return s.loadConsole()
		}
		return s.loadFaults()
	case actTarget:
		if s.view != viewAlertDetail {
			return nil
		}
		a := s.alertByID(s.alertID)
		if a == nil {
			return nil
		}
		if _, ok := s.byID[a.Target]; !ok {
			for i, h := range s.health {
				if h.Source == a.Target {
					s.conn.cur = i
					return s.switchView(viewConn)
				}
			}
			s.setMsg(a.Target+" is neither a tag nor an endpoint here", true)
			return nil
		}
		s.tagID = a.Target
		s.detail = listPos{}
		s.back = viewAlerts
		s.view = viewTagDetail
	}
	return nil
}

// click selects what is under the pointer: a tab, or a row of the
// focused list (a click on the selected row opens it).
func (s *state) click(x, y int) tea.Cmd {
	s.msg, s.msgErr = "", false
	if y == 0 {
		for _, t := range s.tabX {
			if x >= t.x0 && x < t.x1 {
				return s.switchView(t.v)
			}
		}
		return nil
	}
	var (
		first int // screen line of the list's first row
		pos   *listPos
		n     int
		sc    scope
	)
	switch s.view {
	case viewTree:
		if y-1 >= s.mainH {
			return nil // the strip below
		}
		if x < s.treeW {
			first, pos, n, sc = 2, &s.tree, len(s.flat), scopeTree
			s.focusTable = false
		} else {
			first, pos, n, sc = 3, &s.tbl, len(s.rows), scopeTable
			s.focusTable = true
		}
	case viewTags:
		first, pos, n, sc = 3, &s.tbl, len(s.rows), scopeTable
	case viewAlerts:
		first, pos, n, sc = 5, &s.al, len(s.alertRows), scopeAlerts
	case viewConn:
		first, pos, n, sc = 3, &s.conn, len(s.health), scopeConn
	case viewFaults:
		first, pos, n, sc = 3, &s.flt, len(s.faults), scopeFaults
	case viewConsole:
		first, pos, n, sc = 5, &s.con.exl, len(s.con.ex), scopeConsole
	default:
		return nil
	}
	row := pos.top + y - first
	if y < first || row >= n {
		return nil
	}
	if row != pos.cur {
		return s.move(row - pos.cur)
	}
	if sc == scopeFaults || sc == scopeConsole {
		return nil // a fault is toggled, an exercise started, by key only
	}
	return s.key(tea.KeyMsg{Type: tea.KeyEnter})
}

func (s *state) quit() tea.Cmd {
	s.quitting = true
	Model{s}.Close()
	return tea.Quit
}

func (s *state) goBack() tea.Cmd {
	switch s.view {
	case viewHelp, viewTagDetail:
		s.view = s.back
		return s.reopen() // a panel's refresh stopped while it was hidden
	case viewAlertDetail:
		s.view = viewAlerts
	case viewAlerts:
		if s.alertFilter != "" {
			s.alertFilter = ""
			s.refreshAlerts()
		}
	case viewTree, viewTags:
		if s.filter != "" {
			s.filter = ""
			return s.recompute()
		}
		if s.view == viewTree && s.focusTable {
			s.focusTable = false
		}
	}
	return nil
}

func (s *state) switchView(v view) tea.Cmd {
	if v == viewFaults && !s.faultsAllowed() {
		s.setMsg("no fault panel for this session", true)
		return nil
	}
	if v == viewConsole && !s.consoleAllowed() {
		s.setMsg("no instructor console for this session", true)
		return nil
	}
	s.view = v
	s.invalidate()
	switch v {
	case viewTags:
		s.focusTable = true
	case viewTree:
		s.focusTable = false
	case viewFaults:
		return s.openFaults()
	case viewConsole:
		return s.openConsole()
	case viewHelp:
		s.detail = listPos{}
	}
	return nil
}

// reopen restarts the refresh of the fault panel or the console when one
// of them is the current view.
func (s *state) reopen() tea.Cmd {
	switch s.view {
	case viewFaults:
		return s.openFaults()
	case viewConsole:
		return s.openConsole()
	}
	return nil
}

func (s *state) openFaults() tea.Cmd {
	s.faultGen++
	return tea.Batch(s.loadFaults(), s.faultTick())
}

func (s *state) faultTick() tea.Cmd {
	gen := s.faultGen
	return tea.Tick(s.opts.FaultRefresh, func(time.Time) tea.Msg { return faultTickMsg{gen} })
}

func (s *state) loadFaults() tea.Cmd {
	fc := s.opts.Faults
	if fc == nil {
		return nil
	}
	return func() tea.Msg {
		f, err := fc.Faults()
		return faultsMsg{f, err}
	}
}

func (s *state) toggleFault() tea.Cmd {
	if s.flt.cur >= len(s.faults) || s.opts.Faults == nil {
		return nil
	}
	f := s.faults[s.flt.cur]
	fc := s.opts.Faults
	if f.Active {
		return func() tea.Msg { return actionMsg{"clear " + f.Name, fc.Clear(f.Name)} }
	}
	return func() tea.Msg { return actionMsg{"inject " + f.Name, fc.Inject(f.Name)} }
}

func (s *state) curNode() *node {
	if s.tree.cur < len(s.flat) {
		return s.flat[s.tree.cur]
	}
	return nil
}

func (s *state) selectNode(n *node) tea.Cmd {
	for i, f := range s.flat {
		if f == n {
			s.tree.cur = i
		}
	}
	if s.selPath != n.path {
		s.selPath = n.path
		s.tbl = listPos{}
		return s.recompute()
	}
	return nil
}

func (s *state) curTag() *normalize.Sample {
	if s.tbl.cur < len(s.rows) {
		if i := int(s.rows[s.tbl.cur]); i < len(s.tags) {
			return &s.tags[i]
		}
	}
	return nil
}

func (s *state) curAlert() *normalize.Alert {
	if s.view != viewAlerts || s.al.cur >= len(s.alertRows) {
		return nil
	}
	return &s.alerts[s.alertRows[s.al.cur]]
}

func (s *state) alertByID(id string) *normalize.Alert {
	for i := range s.alerts {
		if s.alerts[i].ID == id {
			return &s.alerts[i]
		}
	}
	return nil
}

func (s *state) pageSize() int {
	if n := s.h - 6; n > 1 {
		return n
	}
	return 1
}

// move moves the cursor of the focused list by d.
func (s *state) move(d int) tea.Cmd {
	step := func(p *listPos, n int) {
		p.cur += d
		p.clamp(n)
	}
	switch s.scope() {
	case scopeTree:
		s.autoSelect = false
		step(&s.tree, len(s.flat))
		if n := s.curNode(); n != nil && n.path != s.selPath {
			s.selPath = n.path
			s.tbl = listPos{}
			return s.recompute()
		}
	case scopeTable:
		step(&s.tbl, len(s.rows))
	case scopeAlerts:
		step(&s.al, len(s.alertRows))
	case scopeFaults:
		step(&s.flt, len(s.faults))
	case scopeConsole:
		step(&s.con.exl, len(s.con.ex))
	case scopeConn:
		step(&s.conn, len(s.health))
	case scopeDetail:
		s.detail.top += d
		if s.detail.top < 0 {
			s.detail.top = 0
		}
	}
	return nil
}

func (s *state) startInput(mode inputMode, prompt, value string) tea.Cmd {
	s.mode = mode
	s.input.Prompt = prompt
	s.input.Reset()
	s.input.SetValue(value)
	s.input.CursorEnd()
	s.fitInput()
	return s.input.Focus()
}

func (s *state) endInput() {
	s.mode = inputNone
	s.input.Blur()
	s.input.Reset()
}

// fitInput makes the editor scroll its text within the bottom line: the
// prompt, the visible text and the cursor cell fill the screen width.
func (s *state) fitInput() {
	s.input.Width = max(1, s.w-width(s.input.Prompt)-inputCursorCells(s.opts.NoColor))
	s.input.SetCursor(s.input.Position()) // re-clips the visible text
}

// inputKey handles keys while the bottom line takes text.
func (s *state) inputKey(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyCtrlC:
		return s.quit()
	case tea.KeyEsc:
		mode := s.mode
		s.endInput()
		if mode == inputFilter {
			if s.view == viewAlerts {
				s.alertFilter = ""
				s.refreshAlerts()
				return nil
			}
			s.filter = ""
			return s.recompute()
		}
		s.setMsg("cancelled", false)
		return nil
	case tea.KeyEnter:
		val := strings.TrimSpace(s.input.Value())
		mode := s.mode
		s.endInput()
		switch mode {
		case inputCommand:
			return s.command(val)
		case inputFilter:
			return nil // the filter was applied while typing
		case inputAckComment:
			return s.ack(s.pending, val)
		case inputShelveReason:
			s.reason = val
			return s.startInput(inputShelveDuration, "shelve for (e.g. 15m; empty = one-shot): ", "")
		case inputShelveDuration:
			return s.shelve(s.pending, s.reason, val)
		}
		return nil
	}
	if k.Type == tea.KeySpace && len(k.Runes) == 0 {
		k.Runes = []rune{' '}
	}
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(k)
	if s.mode == inputFilter {
		v := s.input.Value()
		if s.view == viewAlerts {
			s.alertFilter = v
			s.al = listPos{}
			s.refreshAlerts()
		} else if v != s.filter {
			s.filter = v
			s.tbl = listPos{}
			return tea.Batch(cmd, s.recompute())
		}
	}
	return cmd
}

func (s *state) ack(id, comment string) tea.Cmd {
	b := s.b
	return func() tea.Msg {
		if err := b.Ack(id, comment); err != nil {
			return actionMsg{"ack " + id, err}
		}
		return actionMsg{"acknowledged " + id, nil}
	}
}

func (s *state) shelve(id, reason, dur string) tea.Cmd {
	var d time.Duration
	oneShot := false
	switch strings.ToLower(dur) {
	case "", "once", "oneshot", "one-shot":
		oneShot = true
	default:
		var err error
		d, err = time.ParseDuration(dur)
		if err != nil || d <= 0 {
			s.setMsg(fmt.Sprintf("shelve %s: bad duration %q (e.g. 15m, 2h, or empty for one-shot)", id, dur), true)
			return nil
		}
	}
	b := s.b
	return func() tea.Msg {
		if err := b.Shelve(id, reason, d, oneShot); err != nil {
			return actionMsg{"shelve " + id, err}
		}
		if oneShot {
			return actionMsg{"shelved " + id + " until it clears", nil}
		}
		return actionMsg{"shelved " + id + " for " + d.String(), nil}
	}
}

// command runs a ":" command line.
func (s *state) command(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "q", "quit", "q!":
		return s.quit()
	case "tree":
		return s.switchView(viewTree)
	case "tags", "tag":
		return s.switchView(viewTags)
	case "alerts", "alert", "al":
		return s.switchView(viewAlerts)
	case "conn", "connections", "health":
		return s.switchView(viewConn)
	case "faults", "fault":
		return s.switchView(viewFaults)
	case "console", "con":
		return s.switchView(viewConsole)
	case "help":
		s.back = s.view
		return s.switchView(viewHelp)
	case "role":
		if len(f) < 2 {
			s.setMsg("role: "+string(s.role), false)
			return nil
		}
		if s.opts.LockRole {
			s.setMsg("the role of this session is "+string(s.role)+": it comes from the users file", true)
			return nil
		}
		r, err := role.Parse(f[1])
		if err != nil {
			s.setMsg(err.Error(), true)
			return nil
		}
		cmd := s.setRole(r)
		s.setMsg("role "+string(r), false)
		return cmd
	}
	s.setMsg(fmt.Sprintf("unknown command %q (try :help)", line), true)
	return nil
}

// actionAlert is the alert an ack or shelve is about: the one open in the
// alert detail, else the one under the cursor (nil when none).
func (s *state) actionAlert() *normalize.Alert {
	if s.view == viewAlertDetail {
		return s.alertByID(s.alertID)
	}
	return s.curAlert()
}
