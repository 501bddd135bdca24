package tui

import (
	"cmp"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/tui/widget"
)

// The ":" line's jump list, as k9s has it: while a command is typed, the
// views, the tree's nodes (lines, machines), the endpoints and the tags
// that match it fuzzily are listed above the status bar, best first; ↑/↓
// (ctrl+p, ctrl+n) choose one, enter goes to it: a view opens, a node is
// selected in the tree, a tag in the table of its machine, an endpoint's
// detail opens. A line that is a
// command (":alerts", ":role quality") runs as such unless a match was
// chosen.

// jumpRows is how many matches the list shows at most.
const jumpRows = 8

// jumpItem is one match: what it is, how it is shown, where it goes.
type jumpItem struct {
	kind  string // "view", "line", "machine", "asset", "endpoint", "tag"
	label string // the view's command, the node's path, the tag's id
	page  string // the page to show
	arg   string // about what: "node:PATH", "tag:ID", or "" for a view
	score int
}

// jumpList is the state of the list while the ":" line is open.
type jumpList struct {
	on     bool
	items  []jumpItem
	cur    int
	chosen bool   // the user moved the selection: enter takes it
	gen    uint64 // matches of older texts are dropped
}

// jumpMsg carries the matches of a text, computed off the update loop
// for a large plant.
type jumpMsg struct {
	gen   uint64
	items []jumpItem
}

// openCommand opens the ":" line with its jump list.
func (r *router) openCommand() tea.Cmd {
	r.jump = jumpList{on: true}
	return tea.Batch(r.prompt(":", "", promptSpec{
		change: r.matchJump,
		submit: r.submitCommand,
		cancel: func() tea.Cmd {
			r.jump = jumpList{}
			r.a.setMsg("cancelled", false)
			return nil
		},
	}), r.matchJump(""))
}

// matchJump lists the matches of text: inline for a small plant, else
// in a tea.Cmd.
func (r *router) matchJump(text string) tea.Cmd {
	r.jump.gen++
	r.jump.chosen = false
	job := r.jumpJob(text)
	if len(r.a.d.meta) <= syncRows {
		r.jump.items, r.jump.cur = job(), 0
		return nil
	}
	gen := r.jump.gen
	return func() tea.Msg { return jumpMsg{gen, job()} }
}

// onJump installs matches unless the text changed since.
func (r *router) onJump(m jumpMsg) {
	if r.jump.on && m.gen == r.jump.gen {
		r.jump.items, r.jump.cur = m.items, 0
		r.a.invalidate()
	}
}

// jumpJob returns the matching of text against the views the session
// has, the tree's nodes and the tags; it reads only what it captured.
func (r *router) jumpJob(text string) func() []jumpItem {
	q := strings.Fields(strings.ToLower(text))
	var views []jumpItem
	for i, d := range pages {
		if len(d.cmds) > 0 && r.has(i) {
			views = append(views, jumpItem{kind: "view", label: ":" + d.cmds[0], page: d.id})
		}
	}
	meta := r.a.d.meta
	var nodes []jumpItem
	for _, h := range r.a.d.health {
		nodes = append(nodes, jumpItem{kind: "endpoint", label: h.Source, page: pageEndpoint, arg: h.Source})
	}
	for path, n := range r.a.d.index {
		if n.depth == 0 || n.path != path {
			continue
		}
		kind := "asset"
		switch {
		case len(n.children) == 0:
			kind = "machine"
		case n.isLine():
			kind = "line"
		}
		nodes = append(nodes, jumpItem{kind: kind, label: n.path, page: pageTree, arg: "node:" + n.path})
	}
	return func() []jumpItem {
		var out []jumpItem
		keep := func(it jumpItem, s string) {
			if it.score = fuzzyScore(q, s); it.score >= 0 {
				out = append(out, it)
			}
		}
		for _, v := range views {
			keep(v, v.label[1:])
		}
		if len(q) == 0 {
			return out // the views, in tab order
		}
		for _, n := range nodes {
			keep(n, strings.ToLower(n.label))
		}
		for i := range meta {
			m := &meta[i]
			if s := fuzzyScore(q, m.idLower); s >= 0 {
				out = append(out, jumpItem{kind: "tag", label: m.id, page: pageTree, arg: "tag:" + m.id, score: s})
			}
		}
		slices.SortFunc(out, func(a, b jumpItem) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(len(a.label), len(b.label)), cmp.Compare(a.label, b.label))
		})
		return out[:min(len(out), jumpRows)]
	}
}

// fuzzyScore scores s (lower case) against the words of a query (lower
// case): every word must match, as a substring (best in the last path
// segment, better at its start) or else as a subsequence (better on
// segment starts and runs). It returns -1 when a word does not match.
func fuzzyScore(words []string, s string) int {
	if len(words) == 0 {
		return 0
	}
	last := s[strings.LastIndexByte(s, '/')+1:]
	total := 0
	for _, w := range words {
		switch i := strings.Index(last, w); {
		case i == 0 && len(w) == len(last):
			total += 300
		case i == 0:
			total += 200
		case i > 0:
			total += 150
		case strings.Contains(s, w):
			total += 100
			if segStart(s, strings.Index(s, w)) {
				total += 20
			}
		default:
			sc := subsequence(w, s)
			if sc < 0 {
				return -1
			}
			total += sc
		}
	}
	return total
}

// subsequence scores w as a subsequence of s (greedy, left to right), or
// -1: a point per letter, more on segment starts and in runs.
func subsequence(w, s string) int {
	score, j, prev := 0, 0, -2
	for i := 0; i < len(w); i++ {
		k := strings.IndexByte(s[j:], w[i])
		if k < 0 {
			return -1
		}
		at := j + k
		score++
		if segStart(s, at) {
			score += 4
		}
		if at == prev+1 {
			score += 3
		}
		prev, j = at, at+1
	}
	return score
}

// segStart says whether s[i] starts a word of a path or name.
func segStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	switch s[i-1] {
	case '/', '_', '-', '.', ' ', ':':
		return true
	}
	return false
}

// moveJump moves the selection in the list.
func (r *router) moveJump(d int) {
	if n := len(r.jump.items); n > 0 {
		r.jump.cur = (r.jump.cur + d + n) % n
		r.jump.chosen = true
	}
}

// submitCommand runs the ":" line: the match chosen, else the command
// typed, else the best match.
func (r *router) submitCommand(line string) tea.Cmd {
	j := r.jump
	r.jump = jumpList{}
	if j.chosen && j.cur < len(j.items) || !r.isCommand(line) && len(j.items) > 0 {
		it := j.items[j.cur]
		return r.show(it.page, it.arg)
	}
	return r.command(line)
}

// isCommand says whether line starts with a ":" command's name.
func (r *router) isCommand(line string) bool {
	f := strings.Fields(line)
	if len(f) == 0 {
		return true // empty: nothing to do
	}
	switch f[0] {
	case "q", "quit", "q!", "role":
		return true
	}
	for _, d := range pages {
		if slices.Contains(d.cmds, f[0]) {
			return true
		}
	}
	return false
}

// jumpView draws the list in w cells over the last lines of the body.
func (r *router) jumpView(body []string, w int) {
	st := &r.a.st
	items := r.jump.items
	n := min(len(items), jumpRows, len(body)-1)
	if n <= 0 {
		if len(body) > 1 && len(strings.TrimSpace(r.in.Value())) > 0 {
			body[len(body)-1] = st.dim.Render(widget.Fit("  no view, machine, endpoint or tag matches", w))
		}
		return
	}
	top := len(body) - n - 1
	body[top] = st.colHead.Render(widget.Fit(" JUMP TO · a view, machine, endpoint or tag · ↑↓ choose · enter go", w))
	for i := 0; i < n; i++ {
		it := items[i]
		mark := " "
		if i == r.jump.cur {
			mark = ">"
		}
		line := mark + widget.Fit(it.kind, 9) + widget.FitPath(it.label, w-10)
		if i == r.jump.cur {
			body[top+1+i] = st.selected.Render(line)
		} else {
			body[top+1+i] = line
		}
	}
}
