package opcuaserver

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/units"
)

// node-opcua (npm, testdata/node) is a client that is not ours: what it
// reads of the information model and the answers to its writes are what
// any client would get. The tests skip when node or the package is not
// installed (.ci/run installs it with npm ci).

// nodePeer returns the node binary and the folder of the node-opcua
// peers (client.js, subscriber.js, server.js), or skips tb when node or
// node-opcua is not installed.
func nodePeer(tb testing.TB) (string, string) {
	tb.Helper()
	node, dir, why := nodeMissing()
	if why != "" {
		tb.Skip(why)
	}
	return node, dir
}

// nodeMissing returns the node binary and the peers' folder, or why the
// node-opcua peers cannot run.
func nodeMissing() (node, dir, why string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", "node is not installed: the node-opcua tests need it (.ci/run installs it)"
	}
	dir, err = filepath.Abs("testdata/node")
	if err != nil {
		return "", "", err.Error()
	}
	for _, pkg := range []string{"node-opcua-client", "node-opcua-server"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
			return "", "", pkg + " is not installed: run npm ci --prefix twin/opcuaserver/testdata/node (.ci/run does)"
		}
	}
	return node, dir, ""
}

// nodeReport is what client.js prints.
type nodeReport struct {
	Endpoints  []struct{ URL, Mode, Policy string }
	Namespaces []string
	Type       struct {
		NodeClass    string
		Supertypes   []string
		Declarations map[string]struct {
			BrowseNamespace string
			TypeDefinition  []string
			ModellingRule   []string
			Properties      map[string]nodeProperty
		}
		Instances []string
	}
	Tags map[string]struct {
		Status         string
		Value          any
		TypeDefinition []string
		Properties     map[string]nodeProperty
	}
	Writes []string
}

type nodeProperty struct {
	Status        string
	ModellingRule []string
	UnitID        *int32 `json:"unitId"`
	NamespaceURI  string `json:"namespaceUri"`
	DisplayName   string
	Low, High     *float64
}

// runNodeClient runs client.js with plan and returns its report.
func runNodeClient(t *testing.T, plan map[string]any) nodeReport {
	t.Helper()
	var r nodeReport
	stderr := runNodeScript(t, "client.js", plan, &r)
	// node-opcua warns about endpoints it finds inconsistent (duplicates,
	// wrong URLs): none may be reported.
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(strings.ToLower(l), "endpoint") {
			t.Errorf("node-opcua: %s", l)
		}
	}
	return r
}

// runNodeScript runs a script of testdata/node with plan (JSON, its
// argument), decodes the JSON report it prints into report and returns
// what it wrote to stderr.
func runNodeScript(t *testing.T, script string, plan, report any) string {
	t.Helper()
	node, dir := nodePeer(t)
	p, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, script), string(p))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node-opcua %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), report); err != nil {
		t.Fatalf("node-opcua %s report: %v\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	return stderr.String()
}

func TestNodeOPCUAInformationModel(t *testing.T) {
	nodePeer(t)
	s, _, _ := modelServer(t)
	types := scenarios.TypesNamespace("brewery")
	mash := "nsu=urn:x:brewhouse;s=brewery/hot-side/mash-cell/mash"
	r := runNodeClient(t, map[string]any{
		"url":  s.URL(),
		"type": "nsu=" + types + ";s=Vessel",
		"tags": []string{mash + "/rate", mash + "/turbidity", mash + "/temp", "nsu=urn:x:kettle;s=vessel-id"},
	})

	// GetEndpoints: each enabled mode once, Basic256Sha256 when signed,
	// at the front door's URL.
	var eps []string
	for _, ep := range r.Endpoints {
		if ep.URL != s.URL() {
			t.Errorf("endpoint URL %s, want %s", ep.URL, s.URL())
		}
		eps = append(eps, ep.Mode+" "+ep.Policy[strings.LastIndex(ep.Policy, "#")+1:])
	}
	if want := []string{"None None", "Sign Basic256Sha256", "SignAndEncrypt Basic256Sha256"}; !reflect.DeepEqual(eps, want) {
		t.Errorf("GetEndpoints: %v, want %v", eps, want)
	}
	for _, ns := range []string{"urn:x:kettle", "urn:x:brewhouse", types} {
		if !slices.Contains(r.Namespaces, ns) {
			t.Errorf("NamespaceArray %v lacks %s", r.Namespaces, ns)
		}
	}

	// The template: an ObjectType below BaseObjectType, its tags Mandatory
	// InstanceDeclarations, its instances both machines.
	typ := r.Type
	if typ.NodeClass != "ObjectType" || !reflect.DeepEqual(typ.Supertypes, []string{"ns=0;i=58"}) {
		t.Errorf("Vessel: %s below %v, want an ObjectType below BaseObjectType (i=58)", typ.NodeClass, typ.Supertypes)
	}
	wantDecl := map[string]string{"temp": "ns=0;i=2368", "level": "ns=0;i=63", "setpoint": "ns=0;i=2368", "id": "ns=0;i=63"}
	if len(typ.Declarations) != len(wantDecl) {
		t.Errorf("declarations %v", typ.Declarations)
	}
	for name, td := range wantDecl {
		d := typ.Declarations[name]
		if d.BrowseNamespace != types || !reflect.DeepEqual(d.TypeDefinition, []string{td}) || !reflect.DeepEqual(d.ModellingRule, []string{"ns=0;i=78"}) {
			t.Errorf("declaration %s: %+v, want type %s, Mandatory, browse name in %s", name, d, td, types)
		}
		for pn, p := range d.Properties {
			if !reflect.DeepEqual(p.ModellingRule, []string{"ns=0;i=78"}) {
				t.Errorf("declaration %s property %s: modelling rule %v", name, pn, p.ModellingRule)
			}
		}
	}
	if d := typ.Declarations["temp"].Properties["EURange"]; d.Low == nil || *d.Low != 0 || *d.High != 110 {
		t.Errorf("declaration temp EURange %+v", d)
	}
	if want := []string{"nsu=urn:x:kettle;s=brewery/hot-side/kettle", mash}; !reflect.DeepEqual(typ.Instances, want) {
		t.Errorf("instances of Vessel (inverse HasTypeDefinition): %v, want %v", typ.Instances, want)
	}

	// Tags: type definitions, EngineeringUnits for every unit, EURange.
	for id, want := range map[string]struct {
		typeDef string
		unitID  int32
		symbol  string
		rng     []float64
	}{
		mash + "/rate":                 {"ns=0;i=63", units.NoUnitID, "bottles/min", nil},
		mash + "/turbidity":            {"ns=0;i=2368", units.NoUnitID, "NTU", []float64{0, 50}},
		mash + "/temp":                 {"ns=0;i=2368", units.PackUnitID("CEL"), "°C", []float64{0, 110}},
		"nsu=urn:x:kettle;s=vessel-id": {"ns=0;i=63", 0, "", nil},
	} {
		tag := r.Tags[id]
		if tag.Status != "Good" || !reflect.DeepEqual(tag.TypeDefinition, []string{want.typeDef}) {
			t.Errorf("%s: %s, type %v, want Good, %s", id, tag.Status, tag.TypeDefinition, want.typeDef)
		}
		eu, hasEU := tag.Properties["EngineeringUnits"]
		switch {
		case want.symbol == "" && hasEU:
			t.Errorf("%s: unexpected EngineeringUnits %+v", id, eu)
		case want.symbol != "" && (eu.UnitID == nil || *eu.UnitID != want.unitID || eu.DisplayName != want.symbol || eu.NamespaceURI != units.Namespace):
			t.Errorf("%s: EngineeringUnits %+v, want UnitId %d %q", id, eu, want.unitID, want.symbol)
		}
		rng, hasRange := tag.Properties["EURange"]
		switch {
		case want.rng == nil && hasRange:
			t.Errorf("%s: unexpected EURange %+v", id, rng)
		case want.rng != nil && (rng.Low == nil || *rng.Low != want.rng[0] || *rng.High != want.rng[1]):
			t.Errorf("%s: EURange %+v, want %v", id, rng, want.rng)
		}
	}
	if v := r.Tags["nsu=urn:x:kettle;s=vessel-id"].Value; v != "kettle" {
		t.Errorf("kettle's vessel-id reads %v", v)
	}
}

func TestNodeOPCUAWrites(t *testing.T) {
	nodePeer(t)
	s, e, logs := modelServer(t)
	sp := "nsu=urn:x:kettle;s=brewery/hot-side/kettle/setpoint"
	viewer := map[string]string{"name": "viewer", "password": "look"}
	r := runNodeClient(t, map[string]any{
		"url": s.URL(),
		"writes": []map[string]any{
			{"node": sp, "type": "Double", "value": 80},
			{"node": sp, "type": "Double", "value": 150},
			{"node": "nsu=urn:x:kettle;s=brewery/hot-side/kettle/temp", "type": "Double", "value": 1},
			{"node": sp, "type": "Float", "value": 60},
			{"node": sp, "type": "Double", "value": 81, "user": viewer},
		},
	})
	want := []string{"Good", "BadOutOfRange", "BadNotWritable", "BadTypeMismatch", "BadUserAccessDenied"}
	if !reflect.DeepEqual(r.Writes, want) {
		t.Errorf("write results %v, want %v", r.Writes, want)
	}
	i, _ := e.Lookup("kettle/setpoint")
	if v := e.Value(i).V; v != 80.0 {
		t.Errorf("engine setpoint %v, want 80", v)
	}
	for _, w := range []string{"status=Bad_OutOfRange", "status=Bad_NotWritable", "status=Bad_TypeMismatch", "status=Bad_UserAccessDenied user=viewer"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}
}
