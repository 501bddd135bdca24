package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/sources"
)

// The diagnosis of an OPC UA point browses its server with the connector
// (every variable below the twin's top folders, each read with its
// value) to find the node the point meant: the same identifier in
// another namespace, else the nearest node id whose values are the tag's.

// served is one variable a browse found, with its values by round.
type served struct {
	addr, ns, node string
	vals           []obs
}

// servedNodes turns the browse snapshots of one source (one per round)
// into the variables found, leaving out namespace 0 (the server's own).
func servedNodes(snaps []map[string]entry) []served {
	byAddr := map[string]*served{}
	var order []string
	for r, snap := range snaps {
		for addr, e := range snap {
			ns, node, err := opcua.SplitNode(addr)
			if err != nil || ns == "" {
				continue
			}
			s := byAddr[addr]
			if s == nil {
				s = &served{addr: addr, ns: ns, node: node, vals: make([]obs, len(snaps))}
				byAddr[addr] = s
				order = append(order, addr)
			}
			s.vals[r] = obs{has: e.r.Status == nil || !statusBad(e.r.Status), raw: e.r.Raw, status: e.r.Status}
		}
	}
	sort.Strings(order)
	out := make([]served, len(order))
	for i, a := range order {
		out[i] = *byAddr[a]
	}
	return out
}

func statusBad(err error) bool {
	code, _ := normalize.MapStatus(err)
	return code.IsBad()
}

// explainOPCUA sets pt's result: the right namespace, the nearest node,
// another tag's node, or a scale or unit off. rounds1 and pt.obs are the
// first pass; rounds2 and snaps the browse of pt's server.
func (c *check) explainOPCUA(pt *point, rounds1, rounds2 []round, snaps []map[string]entry) {
	good := false
	for _, o := range pt.obs {
		if o.has && !o.sample.Status.IsBad() {
			good = true
		}
	}
	nodes := servedNodes(snaps)
	if !good {
		c.explainNode(pt, nodes, rounds2)
		return
	}
	// The node exists: is it another tag's?
	for i := range c.tags {
		if i != pt.tag && c.servesAt(pt, i) {
			other := &c.tags[i]
			if pt.tag < 0 {
				pt.tag = i
				pt.res.Tag = other.ID
				break // it reads that tag: judge the values below
			}
			t := &c.tags[pt.tag]
			pt.res.Kind, pt.res.Kinds = KindNodeID, []Kind{KindNodeID}
			pt.res.Message = fmt.Sprintf("the node is tag %s's, not %s's", other.ID, t.ID)
			if t.OPCUA != nil {
				pt.res.Fix = "node: nsu=" + t.OPCUA.Namespace + ";s=" + t.OPCUA.ID
			}
			return
		}
	}
	if pt.tag < 0 {
		c.unexplained(pt, nil)
		return
	}
	c.explainMapping(pt, rounds1)
}

// explainMapping looks for a scale, offset or unit that makes pt's raw
// values its tag's.
func (c *check) explainMapping(pt *point, rounds []round) {
	t0 := &c.tags[pt.tag]
	label := pt.label
	if label.IsZero() {
		for _, o := range pt.obs {
			if o.has && !o.sample.Unit.IsZero() {
				label = o.sample.Unit
			}
		}
	}
	for _, ma := range mappingAlts(pt.p.Scale, pt.p.Offset, pt.from, label, lookupUnit(t0.Unit), pt.p.Offset)[1:] {
		n, fits := 0, true
		for r := range rounds {
			t := &rounds[r].truth.Tags[pt.tag]
			o := pt.obs[r]
			got, ok := valueOf(o.raw)
			if t.Value == nil || !o.has || !ok {
				continue
			}
			exp := expect(t, ma.label, resolution(t.Type, 0))
			if got.isText || got.isBool {
				fits = false
				break
			}
			got.num = ma.m.apply(got.num)
			if !exp.matches(got) {
				fits = false
				break
			}
			n++
		}
		if fits && n > 0 {
			ch := ma.changes[0]
			pt.res.Kind, pt.res.Kinds = ch.kind, []Kind{ch.kind}
			pt.res.Message, pt.res.Fix = ch.msg, ch.fix
			return
		}
	}
	c.unexplained(pt, nil)
}

// explainNode explains a node the server does not serve (or serves bad):
// the same identifier in another namespace, else the nearest node whose
// values are the tag's, else the nearest node.
func (c *check) explainNode(pt *point, nodes []served, rounds2 []round) {
	status := pt.res.Read
	var sameID []served
	for _, n := range nodes {
		if n.node == pt.node && n.ns != pt.ns {
			sameID = append(sameID, n)
		}
	}
	nsKnown := false
	for _, n := range nodes {
		if n.ns == pt.ns {
			nsKnown = true
			break
		}
	}
	if len(sameID) > 0 {
		pick := sameID[0]
		for _, n := range sameID {
			if pt.tag >= 0 && c.nodeFits(pt.tag, n, rounds2) {
				pick = n
				break
			}
		}
		c.claimNode(pt, pick)
		pt.res.Kind, pt.res.Kinds = KindNamespace, []Kind{KindNamespace}
		where := "is not on the server"
		if nsKnown {
			where = "has no node " + pt.node
		}
		pt.res.Message = fmt.Sprintf("wrong namespace: namespace %s %s; %s is in %s", pt.ns, where, pt.node, pick.ns)
		pt.res.Fix = "node: " + pick.addr
		return
	}
	if len(nodes) == 0 {
		c.unexplained(pt, nil)
		pt.res.Kind = KindNodeID
		pt.res.Kinds = []Kind{KindNodeID}
		pt.res.Message = fmt.Sprintf("%s reads %s; browsing the server found no variables to compare", pt.p.Address, status)
		return
	}
	// Nearest by edit distance: among the nodes whose values are the
	// tag's when the tag is known, else among all.
	pool := nodes
	confirmed := false
	if pt.tag >= 0 {
		var fit []served
		for _, n := range nodes {
			if c.nodeFits(pt.tag, n, rounds2) {
				fit = append(fit, n)
			}
		}
		if len(fit) > 0 {
			pool, confirmed = fit, true
		}
	}
	near := pool[0]
	bestD := sources.EditDistance(pt.p.Address, near.addr)
	for _, n := range pool[1:] {
		if d := sources.EditDistance(pt.p.Address, n.addr); d < bestD {
			near, bestD = n, d
		}
	}
	c.claimNode(pt, near)
	pt.res.Kind, pt.res.Kinds = KindNodeID, []Kind{KindNodeID}
	what := "unknown node id"
	if !nsKnown {
		what = "unknown namespace " + pt.ns
	}
	pt.res.Message = fmt.Sprintf("%s; the nearest node the server serves is %s", what, near.addr)
	if tag := c.tagAt(near); tag >= 0 && tag != pt.tag {
		pt.res.Message += " (tag " + c.tags[tag].ID + ")"
	}
	if confirmed {
		pt.res.Message += ", and its values are the tag's"
	}
	pt.res.Fix = "node: " + near.addr
}

// claimNode makes the tag served at n pt's tag when pt had none.
func (c *check) claimNode(pt *point, n served) {
	if pt.tag >= 0 {
		return
	}
	if i := c.tagAt(n); i >= 0 {
		pt.tag = i
		pt.res.Tag = c.tags[i].ID
	}
}

// tagAt is the twin tag served at node n, -1 when none.
func (c *check) tagAt(n served) int {
	for i := range c.tags {
		if o := c.tags[i].OPCUA; o != nil && o.Namespace == n.ns && "s="+o.ID == n.node {
			return i
		}
	}
	return -1
}

// nodeFits says node n read tag ti's value in every round it was read,
// and at least once.
func (c *check) nodeFits(ti int, n served, rounds []round) bool {
	k := 0
	for r := range rounds {
		t := &rounds[r].truth.Tags[ti]
		o := n.vals[r]
		if t.Value == nil || !o.has {
			continue
		}
		got, ok := valueOf(o.raw)
		if !ok || !expect(t, lookupUnit(t.Unit), resolution(t.Type, 0)).matches(got) {
			return false
		}
		k++
	}
	return k > 0
}

// browseRoots are the twin's top folders at src's endpoint: the first
// level of its tags' asset paths (the twin's folders have their location
// path as node id), in each namespace its tags are in. A root that is not
// in a namespace finds nothing. Browsing starts there rather than at the
// Objects folder, whose Server object the diagnosis does not need.
func (c *check) browseRoots(src *source) []string {
	seen := map[string]bool{}
	var out []string
	for i := range c.tags {
		t := &c.tags[i]
		if t.OPCUA == nil || !src.onMachine(t.Machine) {
			continue
		}
		top, _, _ := strings.Cut(t.ID, "/")
		for j := range c.tags {
			u := c.tags[j].OPCUA
			if u == nil || !src.onMachine(c.tags[j].Machine) {
				continue
			}
			root := "nsu=" + u.Namespace + ";s=" + top
			if !seen[root] {
				seen[root] = true
				out = append(out, root)
			}
		}
	}
	sort.Strings(out)
	return out
}

// browseConfig is src's OPC UA configuration browsing below root.
func browseConfig(src *source, root string) *opcua.Config {
	cfg := *src.ua
	cfg.BrowseRoot, cfg.AssetPrefix = root, ""
	return &cfg
}
