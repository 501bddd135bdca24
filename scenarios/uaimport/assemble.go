package uaimport

import (
	"fmt"
	"slices"
	"strings"

	"github.com/otwin/otwin/scenarios"
)

// assemble builds the scenario from the mapped templates and machines.
func (m *mapper) assemble() *Result {
	sc := &scenarios.Scenario{
		Name:        m.scenarioName(),
		Description: m.opt.Description,
		Location:    m.opt.Location,
	}
	if sc.Description == "" {
		sc.Description = "Imported from " + m.s.Source + "."
	}
	res := &Result{Scenario: sc, Source: m.s.Source, templateRank: map[string]int{}, templateNotes: map[string]string{}, declNotes: map[string][]string{}}
	for _, t := range m.tmplOrder {
		if t == nil {
			continue
		}
		if sc.Templates == nil {
			sc.Templates = map[string]scenarios.Template{}
		}
		st := scenarios.Template{Description: t.desc, Tags: []scenarios.Tag{}}
		var notes []string
		for _, tg := range t.tags {
			st.Tags = append(st.Tags, tg.t)
			notes = append(notes, tg.note)
		}
		sc.Templates[t.name] = st
		res.templateRank[t.name] = len(res.templateRank)
		res.templateNotes[t.name] = t.note
		res.declNotes[t.name] = notes
	}
	taken := names{}
	ids := newIDGuard()
	for _, mc := range m.orderMachines() {
		nm := taken.unique(mc.name)
		if nm != mc.node.BrowseName {
			m.report(mc.node, Changed, "browse name %q is served as %q", mc.node.BrowseName, nm)
		}
		loc, note := m.locate(mc.folders)
		mach := scenarios.Machine{
			Name:        nm,
			Description: description(mc.node.Description),
			Location:    loc,
			OPCUA:       &scenarios.MachineOPCUA{Port: m.opt.Port, Namespace: mc.ns},
		}
		if note != "" {
			m.report(mc.node, Changed, "%s", note)
		}
		segs := mergeLocation(sc.Location, loc).Segments()
		m.checkFolders(mc, segs)
		asset := strings.Join(append(slices.Clone(segs), nm), "/")
		ids.claimPath(mc.ns, segs, nm)
		if sid, ok := mc.node.ID.StringID(); !ok || sid != asset || mc.node.ID.NS != mc.ns {
			m.report(mc.node, Changed, "the machine's object is served with node id %q", asset)
		}
		if mc.tmpl != nil {
			mach.Template = mc.tmpl.name
		}
		var notes []string
		for _, tg := range mc.tags {
			if base := tg.t.Name[strings.LastIndex(tg.t.Name, ".")+1:]; base != tg.node.BrowseName {
				m.report(tg.node, Changed, "browse name %q is served as %q", tg.node.BrowseName, base)
			}
			m.claimTag(ids, mc.ns, asset, tg)
			mach.Tags = append(mach.Tags, tg.t)
			notes = append(notes, tg.note)
		}
		sc.Machines = append(sc.Machines, mach)
		res.machineNotes = append(res.machineNotes, mc.note)
		res.tagNotes = append(res.tagNotes, notes)
	}
	return res
}

// mergeLocation is loc with the levels it leaves empty taken from def.
func mergeLocation(def, loc scenarios.Location) scenarios.Location {
	pick := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	return scenarios.Location{
		Enterprise: pick(loc.Enterprise, def.Enterprise),
		Site:       pick(loc.Site, def.Site),
		Area:       pick(loc.Area, def.Area),
		Line:       pick(loc.Line, def.Line),
		Cell:       pick(loc.Cell, def.Cell),
	}
}

// checkFolders reports the folders of mc the twin serves with another
// node id or namespace (the twin's folder id is the location path, in the
// namespace of the first machine placed below it).
func (m *mapper) checkFolders(mc *machine, segs []string) {
	if len(segs) != len(mc.folders) {
		return // joined, skipped or given levels: reported with the machine
	}
	for k := range mc.folders {
		f := m.folders[strings.Join(mc.folders[:k+1], "/")]
		if f == nil || m.reported[f.ID] {
			continue
		}
		path := strings.Join(segs[:k+1], "/")
		if sid, ok := f.ID.StringID(); !ok || sid != path || f.ID.NS != mc.ns {
			m.report(f, Changed, "the folder is served with node id %q in namespace %s", path, mc.ns)
			m.reported[f.ID] = true
		}
	}
}

// orderMachines orders the machines folder by folder, in source order,
// except that below each folder a machine of the folder's own namespace
// comes first when there is one: the twin puts a folder in the namespace
// of the first machine below it.
func (m *mapper) orderMachines() []*machine {
	var order func(prefix []string, ms []*machine) []*machine
	order = func(prefix []string, ms []*machine) []*machine {
		var groups [][]*machine
		at := map[string]int{}
		for _, mc := range ms {
			key := ""
			if len(mc.folders) > len(prefix) {
				key = "/" + mc.folders[len(prefix)]
			} else {
				key = "machine:" + fmt.Sprint(len(groups))
			}
			i, ok := at[key]
			if !ok {
				i = len(groups)
				at[key] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], mc)
		}
		for i, g := range groups {
			if len(g[0].folders) > len(prefix) {
				groups[i] = order(g[0].folders[:len(prefix)+1], g)
			}
		}
		if f := m.folders[strings.Join(prefix, "/")]; f != nil && len(prefix) > 0 {
			if i := slices.IndexFunc(groups, func(g []*machine) bool { return g[0].ns == f.ID.NS }); i > 0 {
				g := groups[i]
				groups = append(groups[:i], groups[i+1:]...)
				groups = append([][]*machine{g}, groups...)
			}
		}
		return slices.Concat(groups...)
	}
	return order(nil, m.machines)
}

// idGuard claims node ids per namespace as the twin's server does, so
// that no tag's node_id clashes with a folder, a machine or another tag.
type idGuard map[[2]string]string

func newIDGuard() idGuard { return idGuard{} }

// claimPath claims the folders of segs (not yet claimed) and the machine
// object's id.
func (g idGuard) claimPath(ns string, segs []string, machine string) {
	for k := range segs {
		p := strings.Join(segs[:k+1], "/")
		if _, ok := g[[2]string{ns, p}]; !ok {
			g[[2]string{ns, p}] = "location " + p
		}
	}
	p := strings.Join(append(slices.Clone(segs), machine), "/")
	g[[2]string{ns, p}] = "machine " + machine
}

// claim claims id in ns for what; it returns the previous holder when id
// is taken.
func (g idGuard) claim(ns, id, what string) (string, bool) {
	k := [2]string{ns, id}
	if prev, ok := g[k]; ok {
		return prev, false
	}
	g[k] = what
	return "", true
}

// claimTag claims the node ids of tg (and its unit and range properties)
// in ns; a node_id taken by another node is dropped (reported) and the
// tag served under its asset path.
func (m *mapper) claimTag(g idGuard, ns, asset string, tg *tag) {
	id := tg.t.NodeID
	if id == "" {
		id = asset + "/" + tg.t.Name
	}
	ok := true
	var prev string
	for _, x := range []string{id, id + "#EngineeringUnits", id + "#EURange"} {
		if p, free := g.claim(ns, x, "tag "+tg.t.Name); !free {
			prev, ok = p, false
			break
		}
	}
	if ok || tg.t.NodeID == "" {
		return
	}
	m.report(tg.node, Changed, "node id %q is taken by %s: served under its asset path", tg.t.NodeID, prev)
	tg.t.NodeID = ""
	id = asset + "/" + tg.t.Name
	g.claim(ns, id, "tag "+tg.t.Name)
}
