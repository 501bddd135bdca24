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
	rawAsset       string // Sample.Asset; asset is it cleaned
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
	ctx   *normalize.Context // immutable, shared
}

// dynStore holds the tagDyn of every tag in chunks that are copied on
// write: a job takes a snapshot of the chunk list (O(chunks)), and an
// update copies only a chunk a job may still be reading.
type dynStore struct {
	chunks [][]tagDyn
	owned  []bool
}

const dynChunk = 1024

func newDynStore(n int) dynStore {
	var d dynStore
	for i := 0; i < n; i += dynChunk {
		d.chunks = append(d.chunks, make([]tagDyn, min(dynChunk, n-i)))
		d.owned = append(d.owned, true)
	}
	return d
}

func (d *dynStore) set(i int, v tagDyn) {
	c := i / dynChunk
	if !d.owned[c] {
		d.chunks[c] = append([]tagDyn(nil), d.chunks[c]...)
		d.owned[c] = true
	}
	d.chunks[c][i%dynChunk] = v
}

// snapshot returns a read-only view; later sets do not change it.
func (d *dynStore) snapshot() dynView {
	for i := range d.owned {
		d.owned[i] = false
	}
	return dynView(append([][]tagDyn(nil), d.chunks...))
}

// dynView is a snapshot of a dynStore.
type dynView [][]tagDyn

func (v dynView) at(i int32) *tagDyn { return &v[i/dynChunk][i%dynChunk] }

// cleanPath drops empty segments of an asset path ("/a//b/" is "a/b").
func cleanPath(p string) string {
	if !strings.HasPrefix(p, "/") && !strings.HasSuffix(p, "/") && !strings.Contains(p, "//") {
		return p
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return strings.Join(segs, "/")
}

// underPath says whether asset is path or below it.
func underPath(asset, path string) bool {
	if path == "" {
		return true
	}
	return asset == path || (len(asset) > len(path) && asset[len(path)] == '/' && strings.HasPrefix(asset, path))
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

// isLine says whether n is a production line: a node below the root whose
// children all hold tags directly (none has children of its own).
func (n *node) isLine() bool {
	if n.depth == 0 || len(n.children) == 0 {
		return false
	}
	for _, c := range n.children {
		if len(c.children) > 0 {
			return false
		}
	}
	return true
}
