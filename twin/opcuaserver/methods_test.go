package opcuaserver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	gua "github.com/gopcua/opcua/ua"
)

// call calls a method of an object over c.
func call(t *testing.T, c *opcua.Client, object, method *gua.NodeID, args ...any) *gua.CallMethodResult {
	t.Helper()
	req := &gua.CallMethodRequest{ObjectID: object, MethodID: method}
	for _, a := range args {
		v, err := gua.NewVariant(a)
		if err != nil {
			t.Fatal(err)
		}
		req.InputArguments = append(req.InputArguments, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Call(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", method, err)
	}
	return res
}

// TestMethods calls the press's methods over gopcua: the browse of the
// Method nodes and their arguments, calls that change the machine, and
// every refusal with its status code.
func TestMethods(t *testing.T) {
	p := pressServer(t)
	ctx := context.Background()
	op := connect(t, p.s.URL(), userOpts(t, p.s.URL(), gua.SecurityPolicyURIBasic256Sha256, gua.MessageSecurityModeSignAndEncrypt, "op", "op-secret")...)
	press1 := p.node(t, "press1()")
	method := func(m string) *gua.NodeID { return p.node(t, "press1/"+m+"()") }

	// The machine's object has the methods as components, each with its
	// arguments.
	if got := methodNames(t, op, press1); got != "start,stop,reset,set_recipe" {
		t.Errorf("methods of press1: %s", got)
	}
	args, err := op.Node(gua.NewStringNodeID(p.s.NamespaceIndex(), "plant/l1/press1/set_recipe#InputArguments")).Value(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := args.Value().([]*gua.ExtensionObject)
	if len(list) != 2 {
		t.Fatalf("InputArguments = %#v", args.Value())
	}
	a0, _ := list[0].Value.(*gua.Argument)
	a1, _ := list[1].Value.(*gua.Argument)
	if a0 == nil || a1 == nil || a0.Name != "recipe" || a0.DataType.IntID() != id.String || a1.Name != "speed" || a1.DataType.IntID() != id.Double {
		t.Errorf("InputArguments = %+v %+v", a0, a1)
	}

	// Start from Stopped: Running, the output says so.
	res := call(t, op, press1, method("start"))
	if res.StatusCode != gua.StatusOK || len(res.OutputArguments) != 1 || res.OutputArguments[0].Value() != "Running" {
		t.Fatalf("start: %v %v", res.StatusCode, res.OutputArguments)
	}
	if v := p.e.Value(mustLookup(t, p, "press1/state")).V; v != "Running" {
		t.Errorf("state after start = %v", v)
	}
	// Start again: the state does not allow it.
	if res := call(t, op, press1, method("start")); res.StatusCode != gua.StatusBadInvalidState {
		t.Errorf("start while running: %v", res.StatusCode)
	}
	// set_recipe with typed arguments: the tags change, the outputs say so.
	res = call(t, op, press1, method("set_recipe"), "cola", 80.0)
	if res.StatusCode != gua.StatusOK || len(res.OutputArguments) != 2 || res.OutputArguments[0].Value() != "cola" || res.OutputArguments[1].Value() != 80.0 {
		t.Errorf("set_recipe: %v %v", res.StatusCode, res.OutputArguments)
	}
	// Wrong arguments.
	for _, tt := range []struct {
		name string
		args []any
		want gua.StatusCode
		each []gua.StatusCode
	}{
		{"a float32 for a double", []any{"cola", float32(80)}, gua.StatusBadInvalidArgument, []gua.StatusCode{gua.StatusOK, gua.StatusBadTypeMismatch}},
		{"a number for a string", []any{int32(1), 80.0}, gua.StatusBadInvalidArgument, []gua.StatusCode{gua.StatusBadTypeMismatch, gua.StatusOK}},
		{"out of range", []any{"cola", 180.0}, gua.StatusBadInvalidArgument, []gua.StatusCode{gua.StatusOK, gua.StatusBadOutOfRange}},
		{"one missing", []any{"cola"}, gua.StatusBadArgumentsMissing, nil},
		{"one too many", []any{"cola", 80.0, true}, gua.StatusBadTooManyArguments, nil},
	} {
		res := call(t, op, press1, method("set_recipe"), tt.args...)
		if res.StatusCode != tt.want || tt.each != nil && !slices.Equal(res.InputArgumentResults, tt.each) {
			t.Errorf("%s: %v %v, want %v %v", tt.name, res.StatusCode, res.InputArgumentResults, tt.want, tt.each)
		}
	}
	if v := p.e.Value(mustLookup(t, p, "press1/speed_sp")).V; v != 80.0 {
		t.Errorf("a refused call changed speed_sp to %v", v)
	}
	// A method of another object, an unknown method.
	if res := call(t, op, press1, p.node(t, "press2/start()")); res.StatusCode != gua.StatusBadMethodInvalid {
		t.Errorf("press2's start on press1: %v", res.StatusCode)
	}
	if res := call(t, op, press1, gua.NewStringNodeID(p.s.NamespaceIndex(), "plant/l1/press1/explode")); res.StatusCode != gua.StatusBadMethodInvalid {
		t.Errorf("an unknown method: %v", res.StatusCode)
	}

	// The ObjectType declares the methods; its method id runs on a machine
	// of the type, not on the type.
	types := nsIndex(t, op, "urn:otwin:press-test:types")
	pressType := gua.NewStringNodeID(types, "Press")
	stopDecl := gua.NewStringNodeID(types, "Press/stop")
	if got := methodNames(t, op, pressType); got != "start,stop,reset,set_recipe" {
		t.Errorf("methods of the ObjectType: %s", got)
	}
	if res := call(t, op, pressType, stopDecl); res.StatusCode != gua.StatusBadNotExecutable {
		t.Errorf("stop on the type: %v", res.StatusCode)
	}
	if res := call(t, op, press1, stopDecl); res.StatusCode != gua.StatusOK {
		t.Errorf("the type's stop on press1: %v", res.StatusCode)
	}
	if v := p.e.Value(mustLookup(t, p, "press1/state")).V; v != "Stopped" {
		t.Errorf("state after stop = %v", v)
	}

	// reset clears the machine's faults.
	if err := p.e.InjectNamed("ramp-bad"); err != nil {
		t.Fatal(err)
	}
	if res := call(t, op, press1, method("reset")); res.StatusCode != gua.StatusOK {
		t.Errorf("reset: %v", res.StatusCode)
	}
	for _, f := range p.e.Faults() {
		if f.Active {
			t.Errorf("fault %s active after reset", f.Name)
		}
	}

	// Calls follow the write right: an anonymous session and a viewer are
	// refused.
	anon := connect(t, p.s.URL())
	if res := call(t, anon, press1, method("stop")); res.StatusCode != gua.StatusBadUserAccessDenied {
		t.Errorf("anonymous call: %v", res.StatusCode)
	}
	if !slices.ContainsFunc(strings.Split(p.logs.String(), "\n"), func(l string) bool {
		return strings.Contains(l, `msg="opc ua method call refused"`) && strings.Contains(l, "machine=press1 method=start status=Bad_InvalidState user=op")
	}) {
		t.Errorf("the refused start is not logged:\n%s", p.logs.String())
	}
}

// methodNames are the browse names of n's Method components, in order.
func methodNames(t *testing.T, c *opcua.Client, n *gua.NodeID) string {
	t.Helper()
	var names []string
	for _, r := range refs(t, c, n, id.HasComponent, gua.BrowseDirectionForward) {
		if r.NodeClass == gua.NodeClassMethod {
			names = append(names, r.BrowseName.Name)
		}
	}
	return strings.Join(names, ",")
}

func mustLookup(t *testing.T, p *pressTwin, ref string) int {
	t.Helper()
	i, ok := p.e.Lookup(ref)
	if !ok {
		t.Fatalf("no tag %s", ref)
	}
	return i
}
