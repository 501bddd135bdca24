package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/role"
	"github.com/otwin/otwin/tui/widget"
)

// pageDef registers a page: how it is named, shown and built.
type pageDef struct {
	// id is how navigation names the page.
	id string
	// title is the tab's name, or the header's for a page over the tabs.
	title string
	// tab puts the page in the header; tab and shift+tab cycle through
	// the tabs. Other pages are shown over the current one; esc returns.
	tab bool
	// overlay: shown over any page without replacing it and belonging to
	// no tab (help).
	overlay bool
	// cmds are the ":" commands that show the page, the first one listed
	// in help with cmdHelp.
	cmds    []string
	cmdHelp string
	// hotkey, when it has keys, is a global key that shows the page.
	hotkey binding
	// keys are every key group the page uses, for help.
	keys []*keyGroup
	// available, when set, says whether the session has the page;
	// unavailable is the status line's refusal otherwise.
	available   func(a *app) bool
	unavailable string
	// new builds the page for a session.
	new func(a *app) page
}

// pages is every page, tabs in tab order first. A new page is one file
// defining its pageDef and its page type, and one entry here.
var pages []*pageDef

func init() {
	pages = []*pageDef{
		&treeDef, &tagsDef, &alertsDef, &connDef, &faultsDef, &consoleDef,
		&tagDetailDef, &alertDetailDef, &endpointDef, &scorecardDef, &helpDef,
	}
	buildGlobalKeys(pages)
}

// roleView is what a role's session opens on. A role not in roleViews
// opens on the tree with every tag and every alert.
type roleView struct {
	// pages are the pages the role opens on, the first the session has
	// (the tree when none).
	pages []string
	// alertKinds are the only kinds of alert the alert views list at
	// first (esc lists every kind); nil lists all.
	alertKinds []normalize.AlertKind
	// badTags opens the tag table on the tags whose quality is not good.
	badTags bool
}

// roleViews is each role's opening view. Quality watches the values
// themselves: their range, jumps, a sensor that stops moving or updating,
// the status the device gives them; the connections (comm_loss,
// decode_error, sequence_gap, clock_skew) are left to engineering and
// maintenance.
var roleViews = map[Role]roleView{
	RoleSupervisor: {pages: []string{pageAlerts}},
	RoleQuality: {pages: []string{pageTags}, badTags: true, alertKinds: []normalize.AlertKind{
		normalize.AlertOutOfRange, normalize.AlertSpike, normalize.AlertFrozen, normalize.AlertStale,
		normalize.AlertBadQuality, normalize.AlertUncertain,
	}},
	RoleEngineer: {pages: []string{pageTags}},
	RoleTrainer:  {pages: []string{pageConsole, pageFaults, pageTree}},
}

// router shows one page at a time and owns navigation (tabs, ":"
// commands, esc, pages over pages), the dispatch of keys and clicks, and
// the chrome: header, status bar and bottom line.
type router struct {
	session
	a     *app
	pages []page // parallel to the page list
	// stack is what is shown, the current page last: a tab, then the
	// pages shown over it.
	stack []frame
	in    *widget.Prompt
	spec  promptSpec // what the open prompt is for
	jump  jumpList   // the ":" line's matches
	w, h  int
	tabX  []tabHit  // where the tabs were drawn, for the mouse
	tabv  []int     // tabs' buffer
	cells []tabCell // each tab drawn, by page index
	foot  footLine  // the last footer
}

// footLine is a footer as drawn for key groups at a width.
type footLine struct {
	groups  []*keyGroup
	over    bool
	w       int
	permGen int
	text    string
}

// frame is one page on the stack and the tab it belongs to (-1: none).
type frame struct{ page, tab int }

// tabCell is a tab as the header draws it, current or not, and its width.
type tabCell struct {
	on, off string
	w       int
}

// tabHit is where a tab was drawn in the header.
type tabHit struct {
	x0, x1 int
	page   int
}

func newRouter(a *app) *router {
	r := &router{a: a, w: 80, h: 24}
	if a.opts.Width > 0 && a.opts.Height > 0 {
		r.w, r.h = a.opts.Width, a.opts.Height
	}
	fr := a.opts.FrameRate
	if fr <= 0 {
		fr = 10
	}
	r.frame = time.Second / time.Duration(fr)
	r.in = widget.NewPrompt(sessionRenderer(a.opts.Renderer, a.opts.NoColor), a.opts.NoColor, r.w)
	for _, d := range pages {
		r.pages = append(r.pages, d.new(a))
		r.cells = append(r.cells, tabCell{on: a.st.tabActive.Render("[" + d.title + "]"), off: a.st.tab.Render(" " + d.title + " "), w: widget.Width(d.title) + 2})
	}
	r.stack = []frame{{0, 0}}
	return r
}

// top is the page on the screen.
func (r *router) top() page { return r.pages[r.stack[len(r.stack)-1].page] }

func (r *router) shown(p page) bool { return r.top() == p }

func (r *router) index(id string) int {
	for i, d := range pages {
		if d.id == id {
			return i
		}
	}
	return -1
}

func (r *router) has(i int) bool {
	d := pages[i]
	return d.available == nil || d.available(r.a)
}

func (r *router) show(id, arg string) tea.Cmd {
	i := r.index(id)
	if i < 0 {
		r.a.setMsg("no page "+id, true)
		return nil
	}
	if !r.has(i) {
		r.a.setMsg(pages[i].unavailable, true)
		return nil
	}
	top := r.stack[len(r.stack)-1]
	d := pages[i]
	switch {
	case d.tab:
		r.stack = append(r.stack[:0], frame{i, i})
	case d.overlay && top.page == i:
		return nil
	case d.overlay:
		r.stack = append(r.stack, frame{i, -1})
	case pages[top.page].tab:
		r.stack = append(r.stack, frame{i, top.tab})
	default: // a page opened from a page over a tab replaces it
		r.stack[len(r.stack)-1] = frame{i, top.tab}
	}
	r.a.invalidate()
	return r.pages[i].update(openMsg{arg})
}

func (r *router) back() tea.Cmd {
	if len(r.stack) == 1 {
		return r.top().update(doMsg{actBack})
	}
	r.stack = r.stack[:len(r.stack)-1]
	r.a.invalidate()
	return r.top().update(resumeMsg{}) // a panel's refresh stopped while it was hidden
}

// tabs lists the tabs the session has, by page index (valid until the
// next call).
func (r *router) tabs() []int {
	r.tabv = r.tabv[:0]
	for i, d := range pages {
		if d.tab && r.has(i) {
			r.tabv = append(r.tabv, i)
		}
	}
	return r.tabv
}

// cycle shows the tab step tabs from the current one.
func (r *router) cycle(step int) tea.Cmd {
	tabs := r.tabs()
	cur := 0
	for k, i := range tabs {
		if i == r.stack[len(r.stack)-1].tab {
			cur = k
		}
	}
	return r.show(pages[tabs[(cur+step+len(tabs))%len(tabs)]].id, "")
}

// broadcast gives msg to every page.
func (r *router) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, p := range r.pages {
		if cmd := p.update(msg); cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	return tea.Batch(cmds...)
}

// setRole switches the role and opens its starting page.
func (r *router) setRole(to Role) tea.Cmd {
	a := r.a
	a.role = to
	a.readPermissions()
	view := roleViews[to]
	a.table.setRole(to, view)
	a.alerts.setRole(to, view)
	r.broadcast(roleMsg{})
	start := view.pages
	if start == nil {
		start = []string{pageTree}
	}
	var cmd tea.Cmd
	for _, id := range start {
		if i := r.index(id); i >= 0 && r.has(i) {
			cmd = r.show(id, "")
			break
		}
	}
	a.alerts.refresh()
	a.invalidate()
	return tea.Batch(cmd, a.table.recompute())
}

func (r *router) quit() tea.Cmd {
	r.quitting = true
	Model{r}.Close()
	return tea.Quit
}

// pageSize is how far page up and page down move.
func (r *router) pageSize() int {
	if n := r.h - 6; n > 1 {
		return n
	}
	return 1
}

// key handles one key press: the prompt's when it is open, else the
// current page's bindings, then the global ones.
func (r *router) key(k tea.KeyMsg) tea.Cmd {
	r.a.msg, r.a.msgErr = "", false
	if r.in.IsOpen() {
		return r.promptKey(k)
	}
	p := r.top()
	for _, g := range p.keys() {
		if b := g.find(k); b != nil {
			if b.show != "" {
				return r.show(b.show, "")
			}
			return p.update(doMsg{b.act})
		}
	}
	b := globalKeys.find(k)
	if b == nil {
		return nil
	}
	if b.show != "" {
		return r.show(b.show, "")
	}
	switch b.act {
	case actUp:
		return p.update(moveMsg{-1})
	case actDown:
		return p.update(moveMsg{1})
	case actPageUp:
		return p.update(moveMsg{-r.pageSize()})
	case actPageDown:
		return p.update(moveMsg{r.pageSize()})
	case actTop:
		return p.update(moveMsg{-1 << 30})
	case actBottom:
		return p.update(moveMsg{1 << 30})
	case actQuit:
		return r.quit()
	case actHelp:
		return r.show(pageHelp, "")
	case actCommand:
		return r.openCommand()
	case actNextView:
		return r.cycle(1)
	case actPrevView:
		return r.cycle(-1)
	case actBack:
		return r.back()
	}
	return nil
}

// mouse handles a click (a tab, or a row of the page) or the wheel
// (moves the page's cursor); not while the prompt is open.
func (r *router) mouse(m tea.MouseMsg) tea.Cmd {
	if m.Action != tea.MouseActionPress || r.in.IsOpen() {
		return nil
	}
	switch m.Button {
	case tea.MouseButtonWheelUp:
		r.a.invalidate()
		return r.top().update(moveMsg{-3})
	case tea.MouseButtonWheelDown:
		r.a.invalidate()
		return r.top().update(moveMsg{3})
	case tea.MouseButtonLeft:
		r.a.invalidate()
		r.a.msg, r.a.msgErr = "", false
		if m.Y == 0 {
			for _, t := range r.tabX {
				if m.X >= t.x0 && m.X < t.x1 {
					return r.show(pages[t.page].id, "")
				}
			}
			return nil
		}
		return r.top().update(clickMsg{m.X, m.Y - 1})
	}
	return nil
}

func (r *router) prompt(text, value string, p promptSpec) tea.Cmd {
	r.spec = p
	return r.in.Open(text, value)
}

func (r *router) promptFor(label func(w int) string, p promptSpec) tea.Cmd {
	r.spec = p
	return r.in.OpenFor(label, "")
}

// promptKey handles keys while the bottom line takes text.
func (r *router) promptKey(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyCtrlC:
		return r.quit()
	case tea.KeyEsc:
		spec := r.spec
		r.in.Close()
		if spec.cancel != nil {
			return spec.cancel()
		}
		r.a.setMsg("cancelled", false)
		return nil
	case tea.KeyUp, tea.KeyDown, tea.KeyCtrlP, tea.KeyCtrlN:
		if r.jump.on {
			if k.Type == tea.KeyUp || k.Type == tea.KeyCtrlP {
				r.moveJump(-1)
			} else {
				r.moveJump(1)
			}
			return nil
		}
	case tea.KeyEnter:
		val := strings.TrimSpace(r.in.Value())
		spec := r.spec
		r.in.Close()
		if spec.submit != nil {
			return spec.submit(val)
		}
		return nil
	}
	cmd := r.in.Update(k)
	if r.spec.change != nil {
		return tea.Batch(cmd, r.spec.change(r.in.Value()))
	}
	return cmd
}

// command runs a ":" command line.
func (r *router) command(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "q", "quit", "q!":
		return r.quit()
	case "role":
		return r.roleCommand(f[1:])
	}
	for _, d := range pages {
		if slices.Contains(d.cmds, f[0]) {
			return r.show(d.id, "")
		}
	}
	r.a.setMsg(fmt.Sprintf("no command, view, machine or tag called %q (? lists the commands)", line), true)
	return nil
}

// roleCommand is ":role [NAME]".
func (r *router) roleCommand(args []string) tea.Cmd {
	a := r.a
	if len(args) == 0 {
		a.setMsg("role: "+string(a.role), false)
		return nil
	}
	if a.opts.LockRole {
		a.setMsg("the role of this session is "+string(a.role)+": it comes from the users file", true)
		return nil
	}
	to, err := role.Parse(args[0])
	if err != nil {
		a.setMsg(err.Error(), true)
		return nil
	}
	cmd := r.setRole(to)
	a.setMsg("role "+string(to), false)
	return cmd
}

// render draws the screen: header, the page's body, status bar and
// bottom line.
func (r *router) render() string {
	w, h := max(r.w, 20), max(r.h, 6)
	bh := h - 3
	body := widget.Pad(r.top().view(w, bh), w, bh)
	if r.jump.on && r.in.IsOpen() {
		r.jumpView(body[:bh], w)
	}
	lines := make([]string, 0, h)
	lines = append(lines, r.header(w))
	lines = append(lines, body[:bh]...)
	lines = append(lines, r.statusBar(w), r.bottomLine(w))
	if w < 60 || h < 12 {
		// pages size themselves; this only catches what a small screen
		// squeezes out (FuzzKeys checks every size)
		widget.Exact(lines, w)
	}
	return strings.Join(lines, "\n")
}

// header is the title, the tabs (the current page's tab marked) and, on
// the right, the page over the tabs, the role and the time. The role and
// the time stay at every width: the page's name over the tabs gives way
// first, then the title, then the tabs farthest from the current one.
func (r *router) header(w int) string {
	st := &r.a.st
	r.tabX = r.tabX[:0]
	top := r.stack[len(r.stack)-1]
	right := string(r.a.role) + " " + r.a.now().Format("15:04:05") + " "
	over := ""
	if !pages[top.page].tab {
		over = pages[top.page].title + " · "
	}
	title := " " + r.a.opts.Title + " "
	tabs := r.tabs()
	tabsW := 0
	for _, i := range tabs {
		tabsW += r.cells[i].w
	}
	room := w - widget.Width(right) - 1 // at least one space before the right
	if widget.Width(title)+tabsW+widget.Width(over) > room {
		over = ""
	}
	if tw := widget.Width(title); tw+tabsW > room {
		switch fit := room - tabsW; {
		case fit >= 6:
			title = widget.Fit(title[:len(title)-1], fit-1) + " "
		default:
			title = ""
		}
	}
	cur := slices.Index(tabs, top.tab)
	for len(tabs) > 1 && widget.Width(title)+tabsW > room {
		// drop the tab farthest from the current one (the current stays)
		far := 0
		if cur < 0 || cur-0 < len(tabs)-1-cur {
			far = len(tabs) - 1
		}
		tabsW -= r.cells[tabs[far]].w
		tabs = slices.Delete(tabs, far, far+1)
		cur = slices.Index(tabs, top.tab)
	}
	var b strings.Builder
	b.WriteString(st.title.Render(title))
	used := widget.Width(title)
	for _, i := range tabs {
		c := r.cells[i]
		if i == top.tab {
			b.WriteString(c.on)
		} else {
			b.WriteString(c.off)
		}
		r.tabX = append(r.tabX, tabHit{x0: used, x1: used + c.w, page: i})
		used += c.w
	}
	right = over + right
	gap := w - used - widget.Width(right)
	if gap < 1 {
		// too narrow for even one tab beside the role and the time
		r.tabX = r.tabX[:0]
		return st.header.Render(widget.FitRight(right, w))
	}
	b.WriteString(st.header.Render(strings.Repeat(" ", gap) + right))
	return b.String()
}

// statusBar is the user, the role and the alerts by state; when the
// feed ended, that; for engineers, how many intermediate values of fast
// tags were replaced by newer ones before they were drawn (the newest
// is always drawn: it says how much faster than the screen the plant
// changes, nothing a technician acts on).
func (r *router) statusBar(w int) string {
	user := r.a.opts.User
	if user == "" {
		user = "-"
	}
	u, ack, rtn, z := r.a.d.alertCounts()
	left := fmt.Sprintf(" %s (%s) │ UNACK %d ACK %d RTN %d SHELVED %d", user, r.a.role, u, ack, rtn, z)
	if r.feedClosed {
		left += " │ live data stopped"
	} else if r.dropped > 0 && r.a.role == RoleEngineer {
		left += fmt.Sprintf(" │ %d older values skipped", r.dropped)
	}
	return r.a.st.status.Render(widget.Fit(left, w))
}

// bottomLine is the prompt while it is open, else the status message,
// else the footer: esc on a page over another, the keys of the page,
// then the common global keys, as many as fit.
func (r *router) bottomLine(w int) string {
	st := &r.a.st
	if r.in.IsOpen() {
		return r.in.View(w)
	}
	if m := r.a.msg; m != "" {
		if r.a.msgErr {
			return st.statusErr.Render(widget.Fit(" "+m, w))
		}
		return st.label.Render(widget.Fit(" "+m, w))
	}
	return r.footer(w)
}

// footer is the footer line of the page on the screen, w cells wide
// (kept while the page's keys and the session's permissions stay the
// same). Keys the session may not use are struck through (plain: marked
// offMark).
func (r *router) footer(w int) string {
	a := r.a
	groups, over := r.top().keys(), len(r.stack) > 1
	if f := &r.foot; f.text != "" && slices.Equal(f.groups, groups) && f.over == over && f.w == w && f.permGen == a.permGen {
		return f.text
	}
	text := " " + widget.Footer(footerKeys(groups, over, func(p Permission) bool { return !a.may(p) }), w-1, a.st.footer)
	if tw := widget.Width(text); tw < w {
		text += strings.Repeat(" ", w-tw)
	}
	r.foot = footLine{groups: slices.Clone(groups), over: over, w: w, permGen: a.permGen, text: text}
	return r.foot.text
}
