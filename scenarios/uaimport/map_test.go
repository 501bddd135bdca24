package uaimport

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
)

// builder makes spaces in code for the mapping's tests.
type builder struct{ s *Space }

func newBuilder() *builder { return &builder{s: NewSpace("test")} }

func sid(ns, id string) NodeID { return NodeID{NS: ns, ID: "s=" + id} }

// folder adds a folder below parent (zero: the Objects folder).
func (b *builder) folder(parent, id NodeID, name string) NodeID {
	if parent.IsZero() {
		parent = ObjectsFolder
	}
	b.s.Add(&Node{ID: id, Class: ClassObject, BrowseName: name, Refs: []Ref{
		{Type: HasTypeDefinition, Target: FolderType, Forward: true},
		{Type: Organizes, Target: parent, Forward: false},
	}})
	return id
}

// object adds an object of type td below parent.
func (b *builder) object(parent, id NodeID, name string, td NodeID) NodeID {
	if parent.IsZero() {
		parent = ObjectsFolder
	}
	b.s.Add(&Node{ID: id, Class: ClassObject, BrowseName: name, Refs: []Ref{
		{Type: HasTypeDefinition, Target: td, Forward: true},
		{Type: Organizes, Target: parent, Forward: false},
	}})
	return id
}

// variable adds a Double variable below parent.
func (b *builder) variable(parent, id NodeID, name string) *Node {
	n := &Node{ID: id, Class: ClassVariable, BrowseName: name, DataType: UA(11), ValueRank: -1, AccessLevel: 1, Value: 1.5,
		Refs: []Ref{{Type: HasComponent, Target: parent, Forward: false}}}
	b.s.Add(n)
	return n
}

func mapped(t *testing.T, s *Space, opt Options) (*Result, *scenarios.Scenario) {
	t.Helper()
	res, err := Map(s, opt)
	if err != nil {
		t.Fatalf("map: %v\n%s", err, res.Report)
	}
	y, err := res.YAML()
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	return res, res.Scenario
}

func TestLocationRule(t *testing.T) {
	tests := []struct {
		folders []string
		levels  []string
		want    scenarios.Location
		note    bool
	}{
		{nil, nil, scenarios.Location{}, false},
		{[]string{"L1"}, nil, scenarios.Location{Line: "L1"}, false},
		{[]string{"A", "L1"}, nil, scenarios.Location{Area: "A", Line: "L1"}, false},
		{[]string{"S", "A", "L1"}, nil, scenarios.Location{Site: "S", Area: "A", Line: "L1"}, false},
		{[]string{"E", "S", "A", "L1"}, nil, scenarios.Location{Enterprise: "E", Site: "S", Area: "A", Line: "L1"}, false},
		{[]string{"E", "S", "A", "L1", "C"}, nil, scenarios.Location{Enterprise: "E", Site: "S", Area: "A", Line: "L1", Cell: "C"}, false},
		{[]string{"X", "Y", "E", "S", "A", "L1", "C"}, nil, scenarios.Location{Enterprise: "X.Y.E", Site: "S", Area: "A", Line: "L1", Cell: "C"}, true},
		{[]string{"Plant", "L1"}, []string{"site", "line"}, scenarios.Location{Site: "Plant", Line: "L1"}, false},
		{[]string{"DeviceSet", "L1"}, []string{"-", "line"}, scenarios.Location{Line: "L1"}, false},
		{[]string{"S", "L1", "Cell7", "Unit2"}, []string{"site", "line"}, scenarios.Location{Site: "S", Line: "L1.Cell7.Unit2"}, true},
	}
	for _, tt := range tests {
		m := &mapper{opt: Options{Levels: tt.levels}}
		got, note := m.locate(tt.folders)
		if got != tt.want || (note != "") != tt.note {
			t.Errorf("locate(%v, levels %v) = %+v, note %q; want %+v, note %v", tt.folders, tt.levels, got, note, tt.want, tt.note)
		}
	}
}

func TestParseLevels(t *testing.T) {
	if got, err := ParseLevels("Site, -, line"); err != nil || !reflect.DeepEqual(got, []string{"site", "-", "line"}) {
		t.Errorf("ParseLevels: %v, %v", got, err)
	}
	for _, bad := range []string{"line,site", "site,site", "-,-", "room", ""} {
		if _, err := ParseLevels(bad); err == nil {
			t.Errorf("ParseLevels(%q) accepted", bad)
		}
	}
}

func TestMapNamesAndNamespaces(t *testing.T) {
	const nsA, nsB = "urn:a", "urn:b"
	b := newBuilder()
	line := b.folder(NodeID{}, sid(nsB, "Line 1"), "Line 1")
	// Two objects with one browse name in one folder; the first in the
	// other namespace than the folder's.
	m1 := b.object(line, sid(nsA, "x"), "Pump #1", BaseObjectType)
	b.variable(m1, sid(nsA, "x/t"), "Temp (°C)")
	b.variable(m1, sid(nsA, "x/t2"), "Temp °C")
	m2 := b.object(line, sid(nsB, "y"), "Pump #1", BaseObjectType)
	b.variable(m2, NodeID{NS: nsB, ID: "i=7"}, "flow")
	res, sc := mapped(t, b.s, Options{})

	if len(sc.Machines) != 2 {
		t.Fatalf("machines %+v", sc.Machines)
	}
	// The machine in the folder's namespace comes first, so the twin puts
	// the folder in that namespace, as the source did.
	if got := sc.Machines[0].OPCUA.Namespace; got != nsB {
		t.Errorf("first machine in %s, want %s (the folder's)", got, nsB)
	}
	if a, b := sc.Machines[0].Name, sc.Machines[1].Name; a != "Pump_1" || b != "Pump_1-2" {
		t.Errorf("machine names %q, %q; want Pump_1 and Pump_1-2", a, b)
	}
	if got := sc.Machines[0].Location.Line; got != "Line_1" {
		t.Errorf("line %q", got)
	}
	tags := sc.Machines[1].Tags
	if tags[0].Name != "Temp_C" || tags[1].Name != "Temp_C-2" || tags[0].NodeID != "x/t" {
		t.Errorf("tags %+v", tags)
	}
	// A numeric id cannot be kept: the tag takes its asset path, reported.
	if id := sc.Machines[0].Tags[0].NodeID; id != "" {
		t.Errorf("numeric node id kept as %q", id)
	}
	for _, want := range []string{"i=7 (flow) changed: node id i=7 is not a string id", `browse name "Pump #1" is served as "Pump_1-2"`, `browse name "Temp (°C)" is served as "Temp_C"`} {
		if !strings.Contains(res.Report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, res.Report)
		}
	}
}

func TestMapNodeIDClash(t *testing.T) {
	const ns = "urn:a"
	b := newBuilder()
	f := b.folder(NodeID{}, sid(ns, "F"), "F")
	m := b.object(f, sid(ns, "obj-m"), "m", BaseObjectType)
	b.variable(m, sid(ns, "F/m"), "self") // the machine object's own id
	b.variable(m, sid(ns, "F/m/ok"), "ok")
	res, sc := mapped(t, b.s, Options{})
	tags := sc.Machines[0].Tags
	if len(tags) != 2 || tags[0].NodeID != "" || tags[1].NodeID != "F/m/ok" {
		t.Errorf("tags %+v: the clashing node_id should be dropped, the other kept", tags)
	}
	if !strings.Contains(res.Report.String(), `node id "F/m" of tag m/self is already used by machine m in namespace urn:a: served under its asset path`) {
		t.Errorf("report:\n%s", res.Report)
	}
}

func TestMapStructure(t *testing.T) {
	const ns = "urn:a"
	b := newBuilder()
	f := b.folder(NodeID{}, sid(ns, "F"), "F")
	b.variable(f, sid(ns, "F/stray"), "stray") // a variable in a folder
	// An object without variables of its own, holding a machine.
	grp := b.object(f, sid(ns, "F/G"), "G", BaseObjectType)
	m := b.object(grp, sid(ns, "F/G/m"), "m", BaseObjectType)
	b.variable(m, sid(ns, "F/G/m/v"), "v")
	sub := b.object(m, sid(ns, "F/G/m/drive"), "drive", BaseObjectType)
	b.variable(sub, sid(ns, "F/G/m/drive/rpm"), "rpm")
	b.s.Add(&Node{ID: sid(ns, "F/G/m/start"), Class: ClassMethod, BrowseName: "Start", Refs: []Ref{{Type: HasComponent, Target: m, Forward: false}}})
	// An Organizes cycle back to the folder.
	b.s.Nodes[m].Refs = append(b.s.Nodes[m].Refs, Ref{Type: Organizes, Target: f, Forward: true})
	// A node whose parent is in no source: imported at the top.
	orphan := b.object(sid("urn:other", "DeviceSet"), sid(ns, "dev"), "dev", BaseObjectType)
	b.variable(orphan, sid(ns, "dev/x"), "x")
	// A reference of an unknown type.
	b.s.Nodes[m].Refs = append(b.s.Nodes[m].Refs, Ref{Type: sid(ns, "MyRef"), Target: sid(ns, "F/G/m/v"), Forward: true})

	res, sc := mapped(t, b.s, Options{})
	var names []string
	for _, mc := range sc.Machines {
		var tags []string
		for _, tg := range mc.Tags {
			tags = append(tags, tg.Name)
		}
		names = append(names, fmt.Sprintf("%s@%s:%s", mc.Name, strings.Join(mc.Location.Segments(), "/"), strings.Join(tags, ",")))
	}
	if want := []string{"m@F/G:v,drive.rpm", "dev@:x"}; !reflect.DeepEqual(names, want) {
		t.Errorf("machines %v, want %v", names, want)
	}
	for _, want := range []string{
		"(stray) not imported: a variable directly in a folder",
		"(G) changed: an object of type BaseObjectType without variables of its own is served as a folder",
		`(drive) changed: an object inside m: its variables are tags of m named "drive.*"`,
		"(Start) not imported: methods are not imported",
		"(dev) changed: its parent nsu=urn:other;s=DeviceSet is not in test",
		"nsu=urn:a;s=MyRef not imported: unknown reference type",
	} {
		if !strings.Contains(res.Report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, res.Report)
		}
	}
}

func TestMapNothing(t *testing.T) {
	b := newBuilder()
	b.folder(NodeID{}, sid("urn:a", "empty"), "empty")
	res, err := Map(b.s, Options{})
	if !errors.Is(err, ErrNothing) || res == nil {
		t.Fatalf("Map of an empty folder: %v", err)
	}
}

func TestMapDataTypesAndUnits(t *testing.T) {
	const ns = "urn:a"
	b := newBuilder()
	m := b.object(NodeID{}, sid(ns, "m"), "m", BaseObjectType)
	add := func(name string, dt NodeID, rank int) *Node {
		v := b.variable(m, sid(ns, "m/"+name), name)
		v.DataType, v.ValueRank, v.Value = dt, rank, nil
		return v
	}
	add("sbyte", UA(2), -1)
	add("text", UA(21), -1)
	add("when", UA(13), -1)
	add("arr", UA(11), 1)
	add("any", UA(11), -2)
	add("unknown", sid(ns, "NoSuchType"), -1)
	// A subtype of UInt32 defined in the space.
	b.s.Add(&Node{ID: sid(ns, "Count"), Class: ClassDataType, BrowseName: "Count", Refs: []Ref{{Type: HasSubtype, Target: UA(7), Forward: false}}})
	add("count", sid(ns, "Count"), -1)
	// Units: a code, a symbol without code, one otwin does not know.
	withUnit := func(name string, eu EUInformation) {
		v := b.variable(m, sid(ns, "m/"+name), name)
		p := &Node{ID: sid(ns, "m/"+name+"/eu"), Class: ClassVariable, BrowseName: "EngineeringUnits", Value: eu, ValueRank: -1}
		b.s.Add(p)
		v.Refs = append(v.Refs, Ref{Type: HasProperty, Target: p.ID, Forward: true})
	}
	withUnit("bar", EUInformation{NamespaceURI: "http://www.opcfoundation.org/UA/units/un/cefact", UnitID: 4342098, DisplayName: "bar"})
	withUnit("rate", EUInformation{UnitID: -1, DisplayName: "bottles/min"})
	withUnit("odd", EUInformation{UnitID: 1234567, DisplayName: "furlong/fortnight"})

	res, sc := mapped(t, b.s, Options{})
	got := map[string]scenarios.Tag{}
	for _, tg := range sc.Machines[0].Tags {
		got[tg.Name] = tg
	}
	for name, typ := range map[string]scenarios.DataType{"sbyte": scenarios.Int16, "text": scenarios.String, "any": scenarios.Float64, "count": scenarios.Uint32} {
		if got[name].Type != typ {
			t.Errorf("%s: type %q, want %s", name, got[name].Type, typ)
		}
	}
	for _, name := range []string{"when", "arr", "unknown"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s imported", name)
		}
	}
	if got["bar"].Unit != "BAR" || got["rate"].Unit != "bottles/min" || got["odd"].Unit != "" {
		t.Errorf("units bar %q, rate %q, odd %q", got["bar"].Unit, got["rate"].Unit, got["odd"].Unit)
	}
	for _, want := range []string{
		"(sbyte) changed: SByte is served as Int16",
		"(text) changed: LocalizedText is served as String",
		"(when) not imported: tags have no date type",
		"(arr) not imported: arrays are not imported (ValueRank 1)",
		"(any) changed: ValueRank -2",
		"(unknown) not imported: unknown data type nsu=urn:a;s=NoSuchType",
		"(count) changed: Count (a subtype of UInt32) is served as UInt32",
		`(EngineeringUnits) not imported: unit "furlong/fortnight" (UnitId 1234567`,
	} {
		if !strings.Contains(res.Report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, res.Report)
		}
	}
}
