package tui

import (
	"sort"
	"strings"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// tagMeta is the immutable part of a tag, shared with filter jobs. The
// slice holding it is replaced, never modified, when tags are added.
type tagMeta struct {
	id, asset, tag string
	idLower        string
	tagLower       string
}

// tagDyn is the changing part of a tag a filter job may sort by; copied
// for each job that needs it.
type tagDyn struct {
	code  connectors.StatusCode
	value float64
	text  bool
	recv  int64
}

// sort columns of the tag table.
const (
	sortName = iota
	sortValue
	sortQuality
	sortAge
	numSortCols
)

var sortNames = [numSortCols]string{"name", "value", "quality", "age"}

// rowsJob is a filter-and-sort of the tag table, run off the update loop
// for large tables; its result is discarded if gen is stale.
type rowsJob struct {
	gen     uint64
	meta    []tagMeta
	dyn     []tagDyn // nil when neither filter nor sort needs it
	prefix  string   // node path; "" is every tag
	filter  string   // lower case
	nonGood bool
	col     int
	rev     bool
}

// rowsMsg carries a rowsJob's result.
type rowsMsg struct {
	gen  uint64
	rows []int32
}

func (j *rowsJob) needsDyn() bool {
	return j.filter != "" || j.nonGood || j.col != sortName
}

// underPath says whether asset is path or below it.
func underPath(asset, path string) bool {
	if path == "" {
		return true
	}
	return asset == path || (len(asset) > len(path) && asset[len(path)] == '/' && strings.HasPrefix(asset, path))
}

// run filters and sorts; it reads only the job's own data.
func (j *rowsJob) run() []int32 {
	rows := make([]int32, 0, 64)
	var names map[connectors.StatusCode]string
	if j.filter != "" {
		names = map[connectors.StatusCode]string{}
	}
	for i := range j.meta {
		m := &j.meta[i]
		if !underPath(m.asset, j.prefix) {
			continue
		}
		if j.nonGood && j.dyn[i].code.IsGood() {
			continue
		}
		if j.filter != "" && !strings.Contains(m.idLower, j.filter) && !strings.Contains(m.tagLower, j.filter) {
			c := j.dyn[i].code
			n, ok := names[c]
			if !ok {
				n = strings.ToLower(c.Name() + " " + c.Severity().String())
				names[c] = n
			}
			if !strings.Contains(n, j.filter) {
				continue
			}
		}
		rows = append(rows, int32(i))
	}
	less := func(a, b int32) bool { return a < b }
	switch j.col {
	case sortValue:
		less = func(a, b int32) bool {
			da, db := &j.dyn[a], &j.dyn[b]
			if da.text != db.text {
				return !da.text
			}
			if da.value != db.value {
				return da.value < db.value
			}
			return a < b
		}
	case sortQuality:
		less = func(a, b int32) bool {
			sa, sb := j.dyn[a].code.Severity(), j.dyn[b].code.Severity()
			if sa != sb {
				return sa > sb // worst first
			}
			return a < b
		}
	case sortAge:
		less = func(a, b int32) bool {
			ra, rb := j.dyn[a].recv, j.dyn[b].recv
			if ra != rb {
				return ra < rb // oldest first
			}
			return a < b
		}
	}
	if j.col != sortName {
		sort.Slice(rows, func(x, y int) bool { return less(rows[x], rows[y]) })
	}
	if j.rev {
		for l, r := 0, len(rows)-1; l < r; l, r = l+1, r-1 {
			rows[l], rows[r] = rows[r], rows[l]
		}
	}
	return rows
}

// node is one asset in the ISA-95 tree.
type node struct {
	name, path string
	depth      int
	parent     *node
	children   []*node
	tags       int
	alerts     int
	worst      normalize.AlertSeverity
}

// buildTree derives the asset tree from the tags' asset paths.
func buildTree(meta []tagMeta) (*node, map[string]*node) {
	root := &node{name: "all assets", depth: 0}
	index := map[string]*node{"": root}
	for i := range meta {
		a := meta[i].asset
		n, ok := index[a]
		if !ok {
			n = root
			path := ""
			for _, seg := range strings.Split(a, "/") {
				if seg == "" {
					continue
				}
				if path == "" {
					path = seg
				} else {
					path += "/" + seg
				}
				c, ok := index[path]
				if !ok {
					c = &node{name: seg, path: path, depth: n.depth + 1, parent: n}
					n.children = append(n.children, c)
					index[path] = c
				}
				n = c
			}
			index[a] = n
		}
		for p := n; p != nil; p = p.parent {
			p.tags++
		}
	}
	var sortKids func(n *node)
	sortKids = func(n *node) {
		sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
		for _, c := range n.children {
			sortKids(c)
		}
	}
	sortKids(root)
	return root, index
}

// flatten lists the visible nodes depth-first.
func flatten(root *node, expanded map[string]bool, dst []*node) []*node {
	dst = append(dst, root)
	if root.depth == 0 || expanded[root.path] {
		for _, c := range root.children {
			dst = flatten(c, expanded, dst)
		}
	}
	return dst
}

// alertActive says whether an alert counts as active in the tree and
// the overview: not Normal and not shelved.
func alertActive(a *normalize.Alert, now int64) bool {
	if a.State == normalize.Normal {
		return false
	}
	return !shelved(a, now)
}

func shelved(a *normalize.Alert, now int64) bool {
	if a.ShelvedOneShot {
		return true
	}
	return !a.ShelvedUntil.IsZero() && a.ShelvedUntil.UnixNano() > now
}
