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
		Name:        m.name,
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
	ms := m.orderMachines()
	taken := names{}
	for _, mc := range ms {
		mc.name = taken.unique(mc.name)
		if mc.name != mc.node.BrowseName {
			m.report(mc.node, Changed, "browse name %q is served as %q", mc.node.BrowseName, mc.name)
		}
		var note string
		mc.loc, note = m.locate(mc.folders)
		if note != "" {
			m.report(mc.node, Changed, "%s", note)
		}
		for _, tg := range mc.tags {
			if base := tg.t.Name[strings.LastIndex(tg.t.Name, ".")+1:]; base != tg.node.BrowseName {
				m.report(tg.node, Changed, "browse name %q is served as %q", tg.node.BrowseName, base)
			}
		}
		if mc.ns == scenarios.TypesNamespace(sc.Name) {
			sc.Name += "-imported" // the twin serves the templates there
		}
	}
	m.nodeIDs(sc, ms)
	folderNS := map[string]string{} // the namespace the twin gives each folder
	for _, mc := range ms {
		mach := scenarios.Machine{
			Name:        mc.name,
			Description: description(mc.node.Description),
			Location:    mc.loc,
			OPCUA:       &scenarios.MachineOPCUA{Port: m.opt.Port, Namespace: mc.ns},
		}
		segs := mergeLocation(sc.Location, mc.loc).Segments()
		m.checkFolders(mc, segs, folderNS)
		asset := strings.Join(append(slices.Clone(segs), mc.name), "/")
		if sid, ok := mc.node.ID.StringID(); !ok || sid != asset || mc.node.ID.NS != mc.ns {
			m.report(mc.node, Changed, "the machine's object is served with node id %q", asset)
		}
		if mc.tmpl != nil {
			mach.Template = mc.tmpl.name
		}
		var notes []string
		for _, tg := range mc.tags {
			mach.Tags = append(mach.Tags, tg.t)
			notes = append(notes, tg.note)
		}
		sc.Machines = append(sc.Machines, mach)
		res.machineNotes = append(res.machineNotes, mc.note)
		res.tagNotes = append(res.tagNotes, notes)
	}
	return res
}

// nodeIDs judges the node ids the twin will serve by its own rule
// (scenarios.OPCUAAddressSpace, which validate applies too): a tag's
// node_id that another node of its namespace has is dropped (reported),
// the tag served under its asset path; a machine whose object id another
// node has is renamed. Every machine is on one port: one address space.
func (m *mapper) nodeIDs(sc *scenarios.Scenario, ms []*machine) {
	taken := names{}
	for _, mc := range ms {
		taken[mc.name] = true
	}
	for round := 0; round < 8; round++ {
		as := scenarios.NewOPCUAAddressSpace()
		clean := true
		for _, mc := range ms {
			om, tags := m.opcuaMachine(sc, mc)
			_, clashes := as.Add(om)
			for _, c := range clashes {
				clean = false
				switch tg := tags[max(c.Tag, 0)]; {
				case c.Tag < 0:
					old := mc.name
					mc.name = taken.unique(mc.name)
					m.report(mc.node, Changed, "%v: the machine %s is named %s", c.Err, old, mc.name)
				case tg != nil && tg.t.NodeID != "":
					m.report(tg.node, Changed, "%v: served under its asset path", c.Err)
					tg.t.NodeID = ""
				}
			}
		}
		if clean {
			return
		}
	}
}

// opcuaMachine is mc as the node-id rule sees it: its template's tags
// (overridden by its own) and its own tags, with the tag each comes from
// (nil for a template's tag the machine does not override).
func (m *mapper) opcuaMachine(sc *scenarios.Scenario, mc *machine) (scenarios.OPCUAMachine, []*tag) {
	om := scenarios.OPCUAMachine{Name: mc.name, Namespace: mc.ns, Location: mergeLocation(sc.Location, mc.loc)}
	var from []*tag
	own := map[string]*tag{}
	for _, tg := range mc.tags {
		own[tg.t.Name] = tg
	}
	if mc.tmpl != nil {
		for _, d := range mc.tmpl.tags {
			o := own[d.t.Name]
			ot := scenarios.OPCUATag{Name: d.t.Name, Unit: d.t.Unit != "", Range: d.t.Range != nil}
			if o != nil {
				ot.NodeID = o.t.NodeID
				ot.Unit = ot.Unit || o.t.Unit != ""
				ot.Range = ot.Range || o.t.Range != nil
				delete(own, d.t.Name)
			}
			om.Tags = append(om.Tags, ot)
			from = append(from, o)
		}
	}
	for _, tg := range mc.tags {
		if own[tg.t.Name] == nil {
			continue
		}
		om.Tags = append(om.Tags, scenarios.OPCUATag{Name: tg.t.Name, NodeID: tg.t.NodeID, Unit: tg.t.Unit != "", Range: tg.t.Range != nil})
		from = append(from, tg)
	}
	return om, from
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
// node id or namespace: the twin's folder id is the location path, in the
// namespace of the first machine placed below it (folderNS records them).
func (m *mapper) checkFolders(mc *machine, segs []string, folderNS map[string]string) {
	for k := range segs {
		path := strings.Join(segs[:k+1], "/")
		if folderNS[path] == "" {
			folderNS[path] = mc.ns
		}
		if len(segs) != len(mc.folders) {
			continue // joined, skipped or given levels: reported with the machine
		}
		f := m.folders[strings.Join(mc.folders[:k+1], "/")]
		if f == nil || m.reported[f.ID] {
			continue
		}
		if served := (NodeID{NS: folderNS[path], ID: "s=" + path}); f.ID != served {
			m.report(f, Changed, "the folder is served as %s", served)
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
