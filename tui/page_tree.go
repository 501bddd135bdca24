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
// them, when tall enough, the first alerts (operator) or the endpoints
// (maintenance). Either the tree or the table has the focus and its keys.

const pageTree = "tree"

var treeDef = pageDef{
	id: pageTree, title: "Tree", tab: true,
	cmds: []string{"tree"}, cmdHelp: "asset tree and the tags of the selected node",
	keys: []*keyGroup{&treeKeys, &tableKeys},
	new:  newTreePage,
}

const (
	actTreeToggle   action = "tree-toggle"
	actTreeExpand   action = "tree-expand"
	actTreeCollapse action = "tree-collapse"
)

var treeKeys = keyGroup{title: "Asset tree", bindings: []binding{
	bind(actTreeToggle, "enter space", "expand / collapse node; on a machine, go to its tags", "enter", " ").footer("enter", "open/close"),
	bind(actTreeExpand, "→ l", "expand; on an open node, go to its tags", "right", "l").footer("→", "tags"),
	bind(actTreeCollapse, "← h", "collapse; go to parent", "left", "h"),
	bind(actTagFilter, "/", "filter the tags of the selected node", "/").footer("/", "filter"),
}}

type treePage struct {
	a          *app
	expanded   map[string]bool
	flat       []*node // the visible nodes, depth-first
	pos        widget.Pos
	focusTable bool
	autoSelect bool // the selection is the role's, not the user's
	// geometry of the last render, for the mouse
	treeW, mainH int
}

func newTreePage(a *app) page {
	p := &treePage{a: a, expanded: map[string]bool{}}
	p.reflatten()
	return p
}

// The keys of the focused pane.
var (
	treePaneKeys  = []*keyGroup{&treeKeys}
	treeTableKeys = []*keyGroup{&tableKeys}
)

func (p *treePage) keys() []*keyGroup {
	if p.focusTable {
		return treeTableKeys
	}
	return treePaneKeys
}

func (p *treePage) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openMsg:
		p.focusTable = false
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
			p.focusTable = true // a machine: go to its tags
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
			p.focusTable = true
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
	case actTagLeft:
		p.focusTable = false
	case actBack:
		if cmd, ok := t.clearFilter(); ok {
			return cmd
		}
		p.focusTable = false
	default:
		return t.do(act)
	}
	return nil
}

// move moves the focused pane's cursor; in the tree, the table follows.
func (p *treePage) move(d int) tea.Cmd {
	if p.focusTable {
		p.a.table.move(d)
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
		return nil // the strip below
	}
	if x >= p.treeW {
		p.focusTable = true
		return p.a.table.click(y)
	}
	p.focusTable = false
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
	if (a.role == RoleOperator || a.role == RoleMaintenance) && h >= 14 {
		strip = min(h/3, 8)
	}
	mh := h - strip
	tw := min(max(w/3, 22), 40)
	if w-tw-1 < 30 {
		tw = w / 2
	}
	p.treeW, p.mainH = tw, mh
	out := widget.Beside(make([]string, 0, h), p.pane(tw, mh), a.table.view(w-tw-1, mh, p.focusTable), a.st.dim.Render("│"))
	if strip > 0 {
		if a.role == RoleMaintenance {
			out = append(out, connTable(a, w, strip, nil, false)...)
		} else {
			out = append(out, a.alerts.table(w, strip, false)...)
		}
	}
	return out
}

// pane is the tree: caption, then one line per visible node.
func (p *treePage) pane(w, h int) []string {
	st := &p.a.st
	root := p.a.d.root
	out := make([]string, 0, h)
	out = append(out, p.a.caption(fmt.Sprintf("ASSETS · %d tags", len(p.a.d.tags)), w))
	body := h - 1
	focused := !p.focusTable
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
		indent := 0
		if n.depth > 1 {
			indent = 2 * (n.depth - 1)
		}
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
