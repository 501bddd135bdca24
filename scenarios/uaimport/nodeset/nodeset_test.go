package nodeset_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/scenarios/uaimport"
	"github.com/otwin/otwin/scenarios/uaimport/nodeset"
)

// importFile reads, maps and renders a test file, and loads the rendered
// scenario as `otwin validate` would.
func importFile(t *testing.T, path string) (*uaimport.Result, *scenarios.Scenario) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	space, err := nodeset.Read(f, path, nodeset.Limits{})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	res, err := uaimport.Map(space, uaimport.Options{})
	if err != nil {
		t.Fatalf("map: %v\n%s", err, res.Report)
	}
	y, err := res.YAML()
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	sc, err := scenarios.Parse(path+".yaml", y)
	if err != nil {
		t.Fatalf("the written scenario does not validate: %v\n%s", err, y)
	}
	return res, sc
}

func TestLineNodeSet(t *testing.T) {
	res, sc := importFile(t, "testdata/line.xml")
	if sc.Name != "line" || len(sc.Machines) != 2 {
		t.Fatalf("scenario %s with %d machines", sc.Name, len(sc.Machines))
	}
	type want struct {
		typ      scenarios.DataType
		unit     string
		rng      *scenarios.Range
		writable bool
		model    string
	}
	wants := map[string]want{
		"Filler1/Speed":         {scenarios.Float64, "RPM", &scenarios.Range{Low: 0, High: 1200}, false, "constant"},
		"Filler1/State":         {scenarios.Int32, "", nil, false, "state_machine"},
		"Filler1/Bottles":       {scenarios.Uint32, "", nil, false, "constant"},
		"Filler1/SpeedSetpoint": {scenarios.Float64, "", nil, true, "constant"},
		"Filler1/ProductTemp":   {scenarios.Float32, "CEL", &scenarios.Range{Low: -5, High: 25}, false, "constant"},
		"Capper1/Torque":        {scenarios.Float64, "NU", &scenarios.Range{Low: 0, High: 5.5}, false, "constant"},
		"Capper1/Running":       {scenarios.Bool, "", nil, false, "constant"},
		"Capper1/Recipe":        {scenarios.String, "", nil, true, "constant"},
		"Capper1/Mode":          {scenarios.Uint32, "", nil, false, "state_machine"},
		"Capper1/Rate":          {scenarios.Float64, "bottles/min", nil, false, "constant"},
	}
	seen := 0
	for _, m := range sc.Machines {
		if m.OPCUA == nil || m.OPCUA.Namespace != "urn:acme:line1" || m.OPCUA.Port != uaimport.DefaultPort {
			t.Errorf("%s: exposure %+v", m.Name, m.OPCUA)
		}
		if got := m.AssetPath(); got != "Springfield/Packaging/Line1/"+m.Name {
			t.Errorf("%s: asset path %s, want the folders Springfield/Packaging/Line1", m.Name, got)
		}
		for _, tg := range m.Tags {
			key := m.Name + "/" + tg.Name
			w, ok := wants[key]
			if !ok {
				t.Errorf("unexpected tag %s", key)
				continue
			}
			seen++
			kind, _, _ := tg.Model.Kind()
			if tg.Type != w.typ || tg.Unit != w.unit || !reflect.DeepEqual(tg.Range, w.rng) || tg.Writable != w.writable || kind != w.model {
				t.Errorf("%s: %s %q %v writable=%v %s; want %+v", key, tg.Type, tg.Unit, tg.Range, tg.Writable, kind, w)
			}
			if wantID := "Springfield/Packaging/Line1/" + key; tg.NodeID != wantID {
				t.Errorf("%s: node_id %q, want %q", key, tg.NodeID, wantID)
			}
		}
	}
	if seen != len(wants) {
		t.Errorf("%d of %d tags", seen, len(wants))
	}
	// The ObjectType is the filler's template; its enumeration is a state
	// machine over the Definition's fields, in the state of the value.
	f := sc.Machines[0]
	if f.Name != "Filler1" {
		t.Fatalf("first machine %s", f.Name)
	}
	// The resolved scenario lost the template name; the file keeps it.
	if tmpl, ok := res.Scenario.Templates["FillerType"]; !ok || len(tmpl.Tags) != 4 || tmpl.Description != "A rotary bottle filler." {
		t.Errorf("template FillerType: %+v", res.Scenario.Templates)
	}
	if res.Scenario.Machines[0].Template != "FillerType" {
		t.Errorf("Filler1 is not of FillerType: %+v", res.Scenario.Machines[0])
	}
	var state *scenarios.StateMachine
	for _, tg := range f.Tags {
		if tg.Name == "State" {
			state = tg.Model.StateMachine
		}
	}
	var names []string
	var codes []int64
	for i, s := range state.States {
		names = append(names, s.Name)
		codes = append(codes, state.StateCode(i))
	}
	if !reflect.DeepEqual(names, []string{"Idle", "Running", "Starved", "Fault"}) || !reflect.DeepEqual(codes, []int64{0, 1, 2, 4}) || state.Initial != "Running" {
		t.Errorf("State: %v %v from %s", names, codes, state.Initial)
	}
	// What the twin serves differently is reported, with lines.
	for _, want := range []string{
		"line.xml:204: UAVariable nsu=urn:acme:line1;s=Springfield/Packaging/Line1/Filler1/State (State) changed: enumeration MachineState is served as Int32",
		"line.xml:332: UAVariable nsu=urn:acme:line1;s=Springfield/Packaging/Line1/Capper1/Mode (Mode) changed: type definition MultiStateDiscreteType is served as BaseDataVariableType",
	} {
		if !strings.Contains(res.Report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, res.Report)
		}
	}
	if n := res.Report.Count(uaimport.Dropped); n != 0 {
		t.Errorf("%d nodes not imported:\n%s", n, res.Report)
	}
}

func TestBadNodeSet(t *testing.T) {
	res, sc := importFile(t, "testdata/bad.xml")
	if len(sc.Machines) != 1 || len(sc.Machines[0].Tags) != 2 {
		t.Fatalf("machines %+v", sc.Machines)
	}
	for _, want := range []string{
		"bad.xml:15: Gadgets not imported: unknown element of UANodeSet",
		"bad.xml:16: UAObject nsu=urn:bad;s=m (m) changed: type definition nsu=urn:bad;s=NoSuchType is not imported",
		"bad.xml:16: Reference nsu=urn:bad;s=m/gone not imported: nsu=urn:bad;s=m (m) refers to it, but it is not in",
		`bad.xml:21: Reference nsu=urn:bad;s=m (m) not imported: target: node id "ns=3;s=elsewhere": namespace index 3`,
		"bad.xml:29: UAVariable nsu=urn:bad;s=m/ok#EURange (EURange) not imported: EURange [10, 0] is not a range",
		`bad.xml:32: UAVariable not imported: node id "ns=2;s=m/lost": namespace index 2`,
		"bad.xml:33: UAVariable nsu=urn:bad;s=m/blob (blob) not imported: tags have no byte string type",
		"bad.xml:36: UAVariable nsu=urn:bad;s=m/custom (custom) not imported: unknown data type nsu=urn:bad;s=Mystery",
		"bad.xml:39: UAVariable nsu=urn:bad;s=m/arr (arr) not imported: arrays are not imported (ValueRank 1)",
		`bad.xml:42: UAVariable nsu=urn:bad;s=m/bad-rank (bad) not imported: ValueRank "many" is not an integer`,
		"bad.xml:45: UAVariable nsu=urn:bad;s=m/ok (twice) not imported: a second node with this id",
		`bad.xml:46: UAVariable not imported: "Nonsense" is neither a node id nor an alias the file declares`,
		"bad.xml:47: UAMethod nsu=urn:bad;s=m/Start (Start) not imported: methods are not imported",
		`bad.xml:53: Reference nsu=urn:bad;s=m/ref (ref) not imported: reference type: "NoSuchAlias" is neither`,
	} {
		if !strings.Contains(res.Report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, res.Report)
		}
	}
}

// TestRefused: files that are not NodeSet2 files, or break a limit, are
// refused with the line.
func TestRefused(t *testing.T) {
	tests := []struct {
		name, xml string
		lim       nodeset.Limits
		line      int
		msg       string
	}{
		{"not xml", "hello", nodeset.Limits{}, 1, "text before the UANodeSet"},
		{"empty", "<?xml version=\"1.0\"?>\n", nodeset.Limits{}, 2, "no UANodeSet element"},
		{"other root", "<?xml version=\"1.0\"?>\n<html/>", nodeset.Limits{}, 2, "not a NodeSet2 file"},
		{"truncated", "<UANodeSet>\n<UAObject NodeId=\"i=1\" BrowseName=\"a\">\n", nodeset.Limits{}, 3, "unexpected end"},
		{"mismatched", "<UANodeSet>\n<UAObject>\n</UAVariable>", nodeset.Limits{}, 3, "XML"},
		{"doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE UANodeSet SYSTEM \"file:///etc/passwd\">\n<UANodeSet/>", nodeset.Limits{}, 2, "declarations"},
		{"two roots", "<UANodeSet/>\n<UANodeSet/>", nodeset.Limits{}, 2, "second root"},
		{"too many nodes", "<UANodeSet>\n<UAObject NodeId=\"i=1\" BrowseName=\"a\"/>\n<UAObject NodeId=\"i=2\" BrowseName=\"b\"/>\n</UANodeSet>", nodeset.Limits{MaxNodes: 1}, 3, "more than 1 nodes"},
		{"too deep", "<UANodeSet>\n" + strings.Repeat("<x>", 100), nodeset.Limits{}, 2, "nested deeper than 64"},
		{"long text", "<UANodeSet>\n<UAObject>" + strings.Repeat("a", 5000), nodeset.Limits{MaxToken: 4096}, 2, "longer than 4096 bytes"},
		{"long comment", "<UANodeSet>\n<!--" + strings.Repeat("<a>", 2000), nodeset.Limits{MaxToken: 4096}, 2, "longer than 4096 bytes"},
		{"long attribute", "<UANodeSet>\n<UAObject NodeId=\"" + strings.Repeat(">", 5000), nodeset.Limits{MaxToken: 4096}, 2, "longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := nodeset.Read(strings.NewReader(tt.xml), "f.xml", tt.lim)
			var e *nodeset.Error
			if !errors.As(err, &e) {
				t.Fatalf("Read: %v, want an *Error", err)
			}
			if e.Line != tt.line || !strings.Contains(e.Msg, tt.msg) || !strings.HasPrefix(err.Error(), "f.xml:") {
				t.Errorf("error %q (line %d), want line %d and %q", err, e.Line, tt.line, tt.msg)
			}
		})
	}
}
