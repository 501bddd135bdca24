package tui

import (
	"fmt"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/tui/widget"
)

// The tree page: the ISA-95 asset tree (tag counts, active alerts in the
// colour of the worst) beside the tag table of the selected node; below
// them, when tall enough, the alerts (the endpoints for maintenance).
// The tree, the table or the alerts below have the focus and its keys;
// the alert actions work on the alert marked below from the tree too.

const pageTree = "tree"

var treeDef = pageDef{
	id: pageTree, title: "Tree", tab: true,
	cmds: []string{"tree"}, cmdHelp: "asset tree and the tags of the selected node",
	keys: []*keyGroup{&treeKeys, &tableKeys, &stripKeys, &stripOnKeys, &alertActKeys},
	new:  newTreePage,
}

const (
	actTreeToggle   action = "tree-toggle"
	actTreeExpand   action = "tree-expand"
	actTreeCollapse action = "tree-collapse"
	actStripFocus   action = "strip-focus"
	actStripOpen    action = "strip-open"
	actStripLeave   action = "strip-leave"
)

var treeKeys = keyGroup{title: "Asset tree", bindings: []binding{
	bind(actTreeToggle, "enter space", "expand / collapse node; on a machine, go to its tags", "enter", " ").footer("enter", "open/close"),
	bind(actTreeExpand, "→ l", "expand; on an open node, go to its tags", "right", "l").footer("→", "tags"),
	bind(actTreeCollapse, "← h", "collapse; go to parent", "left", "h"),
	bind(actTagFilter, "/", "filter the tags of the selected node", "/").footer("/", "filter"),
}}

// stripKeys are the tree's keys for the alerts below it; the alert
// actions (alertActKeys) work on the alert marked there.
var stripKeys = keyGroup{title: "Asset tree, alerts below it", bindings: []binding{
	bind(actStripFocus, "!", "move the cursor to the alerts below the tree", "!").footer("!", "alerts below"),
}}

// stripOnKeys are the keys of the alerts below the tree when they have
// the cursor.
var stripOnKeys = keyGroup{title: "Alerts below the tree", bindings: []binding{
	bind(actStripOpen, "enter", "alert detail with history", "enter").footer("enter", "detail"),
	bind(actStripLeave, "! ← h", "back to the tree", "!", "left", "h").footer("!", "tree"),
}}

// paneFocus is the pane of the tree page that has the cursor.
type paneFocus int

const (
	focusTree paneFocus = iota
	focusTable
	focusStrip // the alerts below
)

type treePage struct {
	a          *app
	expanded   map[string]bool
	flat       []*node // the visible nodes, depth-first
	pos        widget.Pos
	focus      paneFocus
	autoSelect bool // the selection is the role's, not the user's
	// geometry of the last render, for the mouse and the keys
	treeW, mainH int
	strip        stripKind
	indent       int // cells per tree level
}

// stripKind is what the strip below the tree shows.
type stripKind int

const (
	stripNone stripKind = iota
	stripAlerts
	stripConn
)

func newTreePage(a *app) page {
	p := &treePage{a: a, expanded: map[string]bool{}, indent: 2}
	p.reflatten()
	return p
}

// The keys of the focused pane.
var (
	treePaneKeys  = []*keyGroup{&treeKeys}
	treeAlertKeys = []*keyGroup{&treeKeys, &stripKeys, &alertActKeys}
	treeTableKeys = []*keyGroup{&tableKeys}
	treeStripKeys = []*keyGroup{&stripOnKeys, &alertActKeys}
)

func (p *treePage) keys() []*keyGroup {
	switch {
	case p.focus == focusTable:
		return treeTableKeys
	case p.focus == focusStrip:
		return treeStripKeys
	case p.strip == stripAlerts:
		return treeAlertKeys
	}
	return treePaneKeys
}

func (p *treePage) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openMsg:
		p.focus = focusTree
		p.a.alerts.selectNewest()
		return p.jump(msg.arg)
	case roleMsg:
		p.autoSelect = true
		p.roleSelect()
	case tagsMsg:
		p.reflatten()
		if p.autoSelect {
			// tags arrived after the session opened: start where the
			// role starts, unless the user has moved in the tree
			p.roleSelect()
		}
	case moveMsg:
		return p.move(msg.d)
	case clickMsg:
		return p.click(msg.x, msg.y)
	case doMsg:
		return p.do(msg.act)
	}
	return nil
}

func (p *treePage) do(act action) tea.Cmd {
	t := p.a.table
	switch act {
	case actTreeToggle:
		n := p.cur()
		switch {
		case n == nil:
		case len(n.children) > 0 && n.depth > 0:
			p.expanded[n.path] = !p.expanded[n.path]
			p.reflatten()
		case len(n.children) == 0:
			p.focus = focusTable // a machine: go to its tags
		}
	case actTreeExpand:
		n := p.cur()
		if n == nil {
			return nil
		}
		if len(n.children) > 0 && n.depth > 0 && !p.expanded[n.path] {
			p.expanded[n.path] = true
			p.reflatten()
		} else {
			p.focus = focusTable
		}
	case actTreeCollapse:
		n := p.cur()
		if n == nil {
			return nil
		}
		if p.expanded[n.path] && len(n.children) > 0 {
			p.expanded[n.path] = false
			p.reflatten()
		} else if n.parent != nil {
			return p.selectNode(n.parent)
		}
	case actTagLeft, actStripLeave:
		p.focus = focusTree
	case actStripFocus:
		p.focus = focusStrip
	case actStripOpen:
		if al := p.a.alerts.cur(); al != nil {
			return p.a.nav.show(pageAlertDetail, al.ID)
		}
	case actAlertAck, actAlertShelve, actAlertComment:
		return p.a.alerts.do(act, p.a.alerts.cur())
	case actBack:
		if p.focus != focusStrip {
			if cmd, ok := t.clearFilter(); ok {
				return cmd
			}
		}
		p.focus = focusTree
	default:
		return t.do(act)
	}
	return nil
}

// move moves the focused pane's cursor; in the tree, the table follows.
func (p *treePage) move(d int) tea.Cmd {
	switch p.focus {
	case focusTable:
		p.a.table.move(d)
		return nil
	case focusStrip:
		p.a.alerts.move(d)
		return nil
	}
	p.autoSelect = false
	p.pos.Cur += d
	p.pos.Clamp(len(p.flat))
	if n := p.cur(); n != nil {
		return p.a.table.selectPath(n.path)
	}
	return nil
}

// click focuses the pane clicked and selects the row; a click on the
// selected row opens it.
func (p *treePage) click(x, y int) tea.Cmd {
	if y >= p.mainH {
		if p.strip != stripAlerts {
			return nil
		}
		l := p.a.alerts
		p.focus = focusStrip
		switch row := l.pos.Row(y-p.mainH, 1, len(l.rows)); {
		case row < 0:
		case row != l.pos.Cur:
			l.move(row - l.pos.Cur)
		default:
			return p.do(actStripOpen)
		}
		return nil
	}
	if x >= p.treeW {
		p.focus = focusTable
		return p.a.table.click(y)
	}
	p.focus = focusTree
	switch row := p.pos.Row(y, 1, len(p.flat)); {
	case row < 0:
		return nil
	case row != p.pos.Cur:
		return p.move(row - p.pos.Cur)
	}
	return p.do(actTreeToggle)
}

func (p *treePage) cur() *node {
	if p.pos.Cur < len(p.flat) {
		return p.flat[p.pos.Cur]
	}
	return nil
}

func (p *treePage) selectNode(n *node) tea.Cmd {
	for i, f := range p.flat {
		if f == n {
			p.pos.Cur = i
		}
	}
	return p.a.table.selectPath(n.path)
}

// reflatten lists the visible nodes again, the cursor on the selected one.
func (p *treePage) reflatten() {
	p.flat = flatten(p.a.d.root, p.expanded, p.flat[:0])
	p.pos.Cur = 0
	for i, n := range p.flat {
		if n.path == p.a.table.path {
			p.pos.Cur = i
			break
		}
	}
}

// roleSelect selects the node the role starts from.
func (p *treePage) roleSelect() {
	switch p.a.role {
	case RoleMaintenance:
		p.selectLevel(false, true)
	case RoleQuality, RoleEngineer:
		p.selectLevel(false, false)
	default:
		p.selectLevel(true, false)
	}
}

// selectLevel selects the first line (a node whose children hold tags
// directly) or, with machine, the first machine (a node with no children
// below the root), expanding its ancestors; with neither, the root.
func (p *treePage) selectLevel(line, machine bool) {
	var find func(n *node) *node
	find = func(n *node) *node {
		switch {
		case machine && len(n.children) == 0 && n.depth > 0:
			return n
		case line && !machine && n.isLine():
			return n
		}
		for _, c := range n.children {
			if f := find(c); f != nil {
				return f
			}
		}
		return nil
	}
	root := p.a.d.root
	n := root
	if line || machine {
		if f := find(root); f != nil {
			n = f
		}
	}
	for a := n.parent; a != nil; a = a.parent {
		if a.depth > 0 {
			p.expanded[a.path] = true
		}
	}
	p.a.table.path = n.path
	p.reflatten()
}

// view is the tree beside the table, and the strip below when tall
// enough.
func (p *treePage) view(w, h int) []string {
	a := p.a
	strip := 0
	p.strip = stripNone
	if h >= 14 {
		strip = min(h/3, 8)
		p.strip = stripAlerts
		if a.role == RoleMaintenance {
			p.strip = stripConn
		}
	}
	if p.focus == focusStrip && p.strip != stripAlerts {
		p.focus = focusTree // the screen got too small for the strip
	}
	mh := h - strip
	// the tree as wide as its names need, within a third of the screen;
	// a deep tree indents by one cell a level when two do not fit
	limit := min(max(w/3, 22), 40)
	p.indent = 2
	if p.needWidth() > limit {
		p.indent = 1
	}
	tw := min(max(p.needWidth(), 18), limit)
	if w-tw-1 < 30 {
		tw = w / 2
	}
	p.treeW, p.mainH = tw, mh
	out := widget.Beside(make([]string, 0, h), p.pane(tw, mh), a.table.view(w-tw-1, mh, p.focus == focusTable), a.st.dim.Render("│"))
	switch p.strip {
	case stripConn:
		out = append(out, connTable(a, w, strip, nil, false)...)
	case stripAlerts:
		out = append(out, a.alerts.table(w, strip, p.focus == focusStrip)...)
	}
	return out
}

// needWidth is the width the visible nodes need: cursor, indent, mark,
// name, tag count and alert count.
func (p *treePage) needWidth() int {
	countW := len(strconv.Itoa(p.a.d.root.tags))
	need := 0
	for _, n := range p.flat {
		need = max(need, 1+p.indent*max(n.depth-1, 0)+2+widget.Width(n.name)+1+countW+4)
	}
	return need
}

// pane is the tree: caption, then one line per visible node.
func (p *treePage) pane(w, h int) []string {
	st := &p.a.st
	root := p.a.d.root
	out := make([]string, 0, h)
	out = append(out, p.a.caption(fmt.Sprintf("ASSETS · %d tags", len(p.a.d.tags)), w))
	body := h - 1
	focused := p.focus == focusTree
	p.pos.Clamp(len(p.flat))
	p.pos.Scroll(body)
	countW := len(strconv.Itoa(root.tags))
	for i := p.pos.Top; i < len(p.flat) && i < p.pos.Top+body; i++ {
		n := p.flat[i]
		cur := " "
		if i == p.pos.Cur {
			cur = "›"
			if focused {
				cur = ">"
			}
		}
		indent := p.indent * max(n.depth-1, 0)
		mark := "  "
		if len(n.children) > 0 && n.depth > 0 {
			mark = "▸ "
			if p.expanded[n.path] {
				mark = "▾ "
			}
		}
		count := widget.FitRight(strconv.Itoa(n.tags), countW)
		alert := "    "
		if n.alerts > 0 {
			alert = widget.Fit(" !"+strconv.Itoa(n.alerts), 4)
		}
		rw := len(count) + len(alert) + 1
		left := widget.Fit(cur+strings.Repeat(" ", indent)+mark+n.name, w-rw)
		if i == p.pos.Cur && focused {
			out = append(out, st.selected.Render(left+" "+count+alert))
		} else {
			out = append(out, left+" "+st.dim.Render(count)+st.sevStyle(n.worst).Render(alert))
		}
	}
	return widget.Pad(out, w, h)
}

// jump shows what arg names (":" jump list): "node:PATH" selects that
// node in the tree, "tag:ID" its tag in the table of its machine; other
// args change nothing.
func (p *treePage) jump(arg string) tea.Cmd {
	d := p.a.d
	kind, v, _ := strings.Cut(arg, ":")
	var n *node
	tag := int32(-1)
	switch kind {
	case "node":
		n = d.index[v]
	case "tag":
		if i, ok := d.byID[v]; ok {
			n, tag = d.index[d.meta[i].asset], int32(i)
		}
	}
	if n == nil {
		return nil
	}
	p.autoSelect = false
	for a := n.parent; a != nil; a = a.parent {
		if a.depth > 0 {
			p.expanded[a.path] = true
		}
	}
	var cmd tea.Cmd
	if tag >= 0 {
		cmd = p.a.table.showTag(n.path, tag)
		p.focus = focusTable
	} else {
		cmd = p.a.table.selectPath(n.path)
	}
	p.reflatten()
	return cmd
}
