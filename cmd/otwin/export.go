package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/units"
)

// The protocols --export-sources reads the tags of a machine served on
// both OPC UA and Modbus over.
const (
	// exportBoth reads such a tag over both: the OPC UA point keeps the
	// tag's name, the Modbus point is named "<tag>.modbus" (tag ids stay
	// unique). The default: the file then reads every endpoint the twin
	// serves, so a fault on either protocol raises its alert, and verify
	// checks every address.
	exportBoth = "both"
	// exportOPCUA reads each tag once, over OPC UA (Modbus for machines
	// served over Modbus alone).
	exportOPCUA = "opcua"
	// exportModbus reads each tag once, over Modbus where it has a
	// register (OPC UA for the others and for machines without Modbus).
	exportModbus = "modbus"
)

// exportChoices lists the values of --export-protocol.
var exportChoices = []string{exportBoth, exportOPCUA, exportModbus}

// checkExportChoice returns an error naming the valid choices when c is
// none of them.
func checkExportChoice(c string) error {
	if slices.Contains(exportChoices, c) {
		return nil
	}
	return fmt.Errorf("--export-protocol %q: want %s", c, strings.Join(exportChoices, ", "))
}

// modbusTagSuffix names the Modbus point of a tag also read over OPC UA
// (exportBoth).
const modbusTagSuffix = ".modbus"

// exportSources writes the connector configuration that points the
// production connectors at a running twin: one source per endpoint — an
// OPC UA server with every machine it serves, a Modbus device (address and
// unit id) — with subscription and poll settings fit for the scenario's
// tick. choice (exportBoth, exportOPCUA, exportModbus) says which protocol
// reads the tags of a machine served on both. The file has every point;
// writeExportedSources writes it with templates.
func exportSources(sc *scenarios.Scenario, eps []endpoint, choice string) *sources.File {
	byMachine := map[string]map[string]endpoint{}
	for _, ep := range eps {
		if byMachine[ep.Machine] == nil {
			byMachine[ep.Machine] = map[string]endpoint{}
		}
		byMachine[ep.Machine][ep.Protocol] = ep
	}
	// Machines and tags per OPC UA server: one machine keeps its own name.
	perURL, tagsPerURL := map[string]int{}, map[string]int{}
	for i := range sc.Machines {
		if ep, ok := byMachine[sc.Machines[i].Name]["opcua"]; ok {
			perURL[ep.URL]++
			tagsPerURL[ep.URL] += len(sc.Machines[i].Tags)
		}
	}
	tick := time.Duration(sc.Tick)
	f := &sources.File{}
	uaSources := map[string]int{} // URL -> index in f.Sources
	for i := range sc.Machines {
		m := &sc.Machines[i]
		ua, mb := machinePoints(m, byMachine[m.Name], choice)
		if len(ua) > 0 {
			url := byMachine[m.Name]["opcua"].URL
			k, ok := uaSources[url]
			if !ok {
				name := m.Name + "-opcua"
				if perURL[url] > 1 {
					name = fmt.Sprintf("opcua-%d", m.OPCUA.Port)
				}
				k = len(f.Sources)
				uaSources[url] = k
				f.Sources = append(f.Sources, sources.Source{Name: name, Config: exportOPCUAConfig(url, tick, tagsPerURL[url]), Points: make([]sources.Point, 0, tagsPerURL[url])})
			}
			f.Sources[k].Points = append(f.Sources[k].Points, ua...)
		}
		if len(mb) > 0 {
			ep := byMachine[m.Name]["modbus"]
			f.Sources = append(f.Sources, sources.Source{
				Name: m.Name + "-modbus",
				Config: &modbus.Config{
					Address:      ep.Address,
					UnitID:       ep.UnitID,
					PollInterval: 500 * time.Millisecond,
					Timeout:      time.Second,
					// The twin refuses reads of unmapped registers, as most
					// PLCs do: merge only adjacent points.
					MaxGap: -1,
				},
				Points: mb,
			})
		}
	}
	sort.SliceStable(f.Sources, func(i, j int) bool { return f.Sources[i].Name < f.Sources[j].Name })
	return f
}

// exportOPCUAConfig is the subscription of an OPC UA source of the twin:
// sampled every half tick (a value changes at most once a tick; sampling
// at the tick itself would lose a change whenever the twin's tick and the
// server's sampling drift across each other), published at the tick but
// at least every second and at most four times a second, with room in
// each item's queue for the samples of a publishing interval and one
// more. A subscription holds the points whose changes in one publishing
// interval fill three quarters of a Publish response; the connector
// spreads the points over as many (opcua.Config). The timeout (requests,
// and silence before the link counts as lost) is 5 s, or four publishing
// intervals, plus a second per 10,000 points: a server of many points
// takes longer over its requests and may pause for its own memory
// collection, and a reconnect costs it every monitored item again.
func exportOPCUAConfig(url string, tick time.Duration, points int) *opcua.Config {
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	publish := min(max(tick, 250*time.Millisecond), time.Second)
	sample := tick / 2
	queue := uint32((publish+sample-1)/sample) + 1
	changes := int((publish + tick - 1) / tick) // of a point in a publishing interval
	return &opcua.Config{
		URL:                     url,
		PublishingInterval:      publish,
		SamplingInterval:        sample,
		QueueSize:               queue,
		MaxItemsPerSubscription: opcua.DefaultMaxNotifications * 3 / 4 / changes,
		Timeout:                 max(5*time.Second, 4*publish) + time.Duration(points/10000)*time.Second,
	}
}

// machinePoints returns the points of machine m over OPC UA and over
// Modbus, given its endpoints by protocol and the export choice.
func machinePoints(m *scenarios.Machine, eps map[string]endpoint, choice string) (ua, mb []sources.Point) {
	asset := m.AssetPath()
	uaEP, hasUA := eps["opcua"]
	_, hasMB := eps["modbus"]
	for j := range m.Tags {
		t := &m.Tags[j]
		viaMB := hasMB && t.Modbus != nil && (choice != exportOPCUA || !hasUA)
		viaUA := hasUA && (choice != exportModbus || !viaMB)
		point := func(name string, modbus bool) sources.Point {
			p := sources.Point{Asset: asset, Tag: name, Unit: exportUnit(t.Unit)}
			if t.Range != nil {
				p.Range = &sources.Range{Low: t.Range.Low, High: t.Range.High}
			}
			if frozenWatch(t, modbus) {
				p.Rules = &sources.Rules{Frozen: frozenWindow}
			}
			return p
		}
		if viaUA {
			p := point(t.Name, false)
			id := t.NodeID
			if id == "" {
				id = asset + "/" + t.Name
			}
			p.Address = fmt.Sprintf("nsu=%s;s=%s", uaEP.Namespace, id)
			ua = append(ua, p)
		}
		if viaMB {
			name := t.Name
			if viaUA {
				name += modbusTagSuffix
			}
			p := point(name, true)
			r := t.Modbus
			p.Address = fmt.Sprintf("%s:%d:%s", r.Table, r.Address, r.Type)
			if (r.Table == "holding" || r.Table == "input") && r.Type.Registers() > 1 {
				p.Address += ":" + r.Order
			}
			if r.Scale != 0 && r.Scale != 1 {
				p.Scale = r.Scale
			}
			p.Offset = r.Offset
			mb = append(mb, p)
		}
	}
	markContext(m, ua, mb)
	return ua, mb
}

// writeExportedSources writes f, the exported sources of sc, to path (atomically)
// with the header a user reads first; points that repeat from machine to
// machine are written once, as a template named after the scenario's
// machine template (or the first machine) and applied to every machine.
func writeExportedSources(path string, sc *scenarios.Scenario, f *sources.File) error {
	names := map[string]string{}
	for i := range sc.Machines {
		m := &sc.Machines[i]
		n := m.Template
		if n == "" {
			n = m.Name
		}
		names[m.AssetPath()] = n
	}
	c, err := f.Compact(func(asset string) string { return names[asset] })
	if err != nil {
		return err
	}
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	hdr := fmt.Sprintf("# Sources of the otwin twin of scenario %q, written by 'otwin sim --export-sources'.\n# Point the addresses at real devices and the same file reads them.\n", sc.Name)
	return writeFileAtomic(path, append([]byte(hdr), data...))
}

// exportUnit writes a scenario unit as its UNECE code, which both halves
// accept, or as its symbol when it has no code; unknown units are passed
// through for the sources validator to name.
func exportUnit(u string) string {
	if u == "" {
		return ""
	}
	if unit, ok := units.Lookup(u); ok {
		if unit.Code != "" {
			return unit.Code
		}
		return unit.Symbol // a unit with no UNECE code (e.g. bottles/min)
	}
	return u
}

// frozenWindow is how long a noisy value may stay identical before the
// exported sources call it frozen.
const frozenWindow = 10 * time.Second

// frozenWatch reports whether a tag's model keeps its value moving, so that
// an identical value for frozenWindow means the sensor froze (a stuck
// fault): the model has noise or a random walk whose step is well above
// the resolution the value is read at (a Modbus integer register with a
// scale reads in steps of that scale).
func frozenWatch(t *scenarios.Tag, viaModbus bool) bool {
	if t.Model == nil {
		return false
	}
	var move float64
	if t.Model.Noise != nil {
		move = t.Model.Noise.StdDev
	}
	if rw := t.Model.RandomWalk; rw != nil && rw.Step > move {
		move = rw.Step
	}
	if move <= 0 {
		return false
	}
	resolution := 0.0
	if viaModbus && t.Modbus != nil && t.Modbus.Type.Integer() {
		resolution = t.Modbus.Scale
		if resolution == 0 {
			resolution = 1
		}
	} else if t.Type.Integer() {
		resolution = 1
	}
	return move >= 2*resolution
}

// markContext makes context points of the points that read m's context
// tags: per role, the first such point, those read over OPC UA first (the
// text a string tag holds before a Modbus register's number). Each
// applies to the machine's location, the parent of its asset, which is
// the sources file's default.
func markContext(m *scenarios.Machine, ua, mb []sources.Point) {
	roles := map[string]ctxrole.Role{} // tag name -> role
	for _, t := range m.Tags {
		if t.Context != "" {
			roles[t.Name] = t.Context
			roles[t.Name+modbusTagSuffix] = t.Context
		}
	}
	if len(roles) == 0 {
		return
	}
	given := map[ctxrole.Role]bool{}
	for _, ps := range [][]sources.Point{ua, mb} {
		for i := range ps {
			if r, ok := roles[ps[i].Tag]; ok && !given[r] {
				ps[i].Context, given[r] = r, true
			}
		}
	}
}
