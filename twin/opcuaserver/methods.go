package opcuaserver

import (
	"errors"
	"reflect"
	"slices"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// Methods: each method of a machine (scenarios.Method) is a Method node
// of the machine's object (HasComponent), node id "<machine object
// id>/<method>", with InputArguments and OutputArguments properties; a
// template's methods are declared on its ObjectType too (ModellingRule
// Mandatory), and a call with the type's method id on one of the type's
// machines runs that machine's method. A call on the ObjectType itself
// answers Bad_NotExecutable.
//
// Calls follow the write right: anonymous sessions call when
// AnonymousWrite is set, users when they may write (the stack answers
// Bad_UserAccessDenied to the others). A call checks, in order: the
// method belongs to the object (Bad_MethodInvalid), the number of
// arguments (Bad_ArgumentsMissing, Bad_TooManyArguments), each argument's
// type, which must be exactly the declared one (Bad_InvalidArgument, with
// Bad_TypeMismatch or Bad_OutOfRange for the argument), then the
// machine's state (Bad_InvalidState). Every call is logged with its
// outcome.

// MethodSource is what method calls need of the twin; *twin.Engine
// implements it. Call must be safe for concurrent use.
type MethodSource interface {
	// Call runs machine's method with args and returns its outputs
	// (errors as twin.Engine.Call's).
	Call(machine, method string, args []any) ([]any, error)
}

// opcuaMethods is methods as the node-id rule sees them.
func opcuaMethods(ms []twin.MethodInfo) []scenarios.OPCUAMethod {
	out := make([]scenarios.OPCUAMethod, len(ms))
	for i, m := range ms {
		out[i] = scenarios.OPCUAMethod{Name: m.Name, Inputs: len(m.Inputs) > 0, Outputs: len(m.Outputs) > 0}
	}
	return out
}

// addMethods adds the Method nodes of machine m, whose object is obj in
// namespace ns, with the node ids ids; methods its template declares take
// the declaration's browse name.
func (a *addressSpace) addMethods(obj *objSpec, m twin.MachineInfo, ns uint16, typ *objSpec, ids []scenarios.OPCUAMethodIDs) {
	if a.owner == nil || a.owner.calls == nil {
		return
	}
	for k, mi := range m.Methods {
		browseNS := ns
		if typ != nil && slices.ContainsFunc(m.Template.Methods, func(t twin.MethodInfo) bool { return t.Name == mi.Name }) {
			browseNS = typ.name.NamespaceIndex
		}
		id := ua.NewNodeIDString(ns, ids[k].ID)
		n := a.method(mi, id, ua.NewQualifiedName(browseNS, mi.Name), ids[k].Inputs, ids[k].Outputs, ns, false)
		n.SetCallMethodHandler(a.owner.callHandler(m.Name, mi.Name, obj.id))
		obj.refs = append(obj.refs, ua.NewReference(ua.ReferenceTypeIDHasComponent, false, ua.NewExpandedNodeID(id)))
	}
}

// addTypeMethods declares template t's methods on its ObjectType o, in
// namespace ns.
func (a *addressSpace) addTypeMethods(o *objSpec, t *twin.TemplateInfo, ns uint16) {
	if a.owner == nil || a.owner.calls == nil {
		return
	}
	for _, mi := range t.Methods {
		id := t.Name + "/" + mi.Name
		var in, out string
		if len(mi.Inputs) > 0 {
			in = id + scenarios.InputArgumentsSuffix
		}
		if len(mi.Outputs) > 0 {
			out = id + scenarios.OutputArgumentsSuffix
		}
		nid := ua.NewNodeIDString(ns, id)
		n := a.method(mi, nid, ua.NewQualifiedName(ns, mi.Name), in, out, ns, true)
		n.SetCallMethodHandler(a.owner.typeCallHandler(t, mi.Name, o.id))
		o.refs = append(o.refs, ua.NewReference(ua.ReferenceTypeIDHasComponent, false, ua.NewExpandedNodeID(nid)))
	}
}

// method builds the Method node of mi with its argument properties under
// the given ids ("" for none).
func (a *addressSpace) method(mi twin.MethodInfo, id ua.NodeID, browse ua.QualifiedName, inID, outID string, ns uint16, declaration bool) *server.MethodNode {
	var refs []ua.Reference
	if declaration {
		refs = append(refs, hasModellingRuleMandatory)
	}
	if inID != "" {
		args := make([]ua.ExtensionObject, len(mi.Inputs))
		for i, in := range mi.Inputs {
			args[i] = argument(in.Name, in.Type, in.Description)
		}
		refs = append(refs, a.arguments(ua.NewNodeIDString(ns, inID), "InputArguments", args, declaration))
	}
	if outID != "" {
		args := make([]ua.ExtensionObject, len(mi.Outputs))
		for i, o := range mi.Outputs {
			args[i] = argument(o.Name, o.Type, o.Description)
		}
		refs = append(refs, a.arguments(ua.NewNodeIDString(ns, outID), "OutputArguments", args, declaration))
	}
	n := server.NewMethodNode(a.srv, id, browse, ua.NewLocalizedText(mi.Name, ""), ua.NewLocalizedText(mi.Description, ""), nil, refs, true)
	a.methods = append(a.methods, n)
	return n
}

// argument is the Argument structure of an argument of type t.
func argument(name string, t scenarios.DataType, desc string) ua.ExtensionObject {
	dt, _ := dataTypeID(t)
	return ua.Argument{Name: name, DataType: dt, ValueRank: ua.ValueRankScalar, ArrayDimensions: []uint32{}, Description: ua.NewLocalizedText(desc, "")}
}

// arguments adds an InputArguments or OutputArguments property and
// returns the method's reference to it.
func (a *addressSpace) arguments(id ua.NodeID, name string, args []ua.ExtensionObject, declaration bool) ua.Reference {
	refs := []ua.Reference{hasTypeDefinition(ua.VariableTypeIDPropertyType)}
	if declaration {
		refs = append(refs, hasModellingRuleMandatory)
	}
	n := server.NewVariableNode(a.srv, id, ua.NewQualifiedName(0, name), ua.NewLocalizedText(name, ""), ua.NewLocalizedText("", ""),
		nil, refs, ua.NewDataValue(args, ua.Good, a.now, 0, a.now, 0),
		ua.DataTypeIDArgument, ua.ValueRankOneDimension, []uint32{uint32(len(args))}, ua.AccessLevelsCurrentRead, 0, false, nil)
	a.props = append(a.props, n)
	return ua.NewReference(ua.ReferenceTypeIDHasProperty, false, ua.NewExpandedNodeID(id))
}

// callHandler runs machine's method when called on the machine's object.
func (s *Server) callHandler(machine, method string, object ua.NodeID) func(*server.Session, ua.CallMethodRequest) ua.CallMethodResult {
	return func(sess *server.Session, req ua.CallMethodRequest) ua.CallMethodResult {
		if req.ObjectID != object {
			return s.logCall(sess, machine, method, ua.CallMethodResult{StatusCode: ua.BadMethodInvalid})
		}
		return s.logCall(sess, machine, method, s.call(machine, method, req.InputArguments))
	}
}

// typeCallHandler runs a template's method declared on its ObjectType:
// on the machine of that template the call names.
func (s *Server) typeCallHandler(t *twin.TemplateInfo, method string, typeID ua.NodeID) func(*server.Session, ua.CallMethodRequest) ua.CallMethodResult {
	return func(sess *server.Session, req ua.CallMethodRequest) ua.CallMethodResult {
		if req.ObjectID == typeID {
			return s.logCall(sess, t.Name, method, ua.CallMethodResult{StatusCode: ua.BadNotExecutable})
		}
		m, ok := s.objects[req.ObjectID]
		if !ok || m.Template != t || !slices.ContainsFunc(m.Methods, func(x twin.MethodInfo) bool { return x.Name == method }) {
			return s.logCall(sess, t.Name, method, ua.CallMethodResult{StatusCode: ua.BadMethodInvalid})
		}
		return s.logCall(sess, m.Name, method, s.call(m.Name, method, req.InputArguments))
	}
}

// call checks the arguments' number and types and runs the method.
func (s *Server) call(machine, method string, in []ua.Variant) ua.CallMethodResult {
	m, ok := s.machineMethod(machine, method)
	if !ok {
		return ua.CallMethodResult{StatusCode: ua.BadMethodInvalid}
	}
	switch {
	case len(in) < len(m.Inputs):
		return ua.CallMethodResult{StatusCode: ua.BadArgumentsMissing}
	case len(in) > len(m.Inputs):
		return ua.CallMethodResult{StatusCode: ua.BadTooManyArguments}
	}
	results := make([]ua.StatusCode, len(in))
	bad := false
	args := make([]any, len(in))
	for i, a := range m.Inputs {
		args[i] = in[i]
		if !sameType(a.Type, in[i]) {
			results[i], bad = ua.BadTypeMismatch, true
		}
	}
	if bad {
		return ua.CallMethodResult{StatusCode: ua.BadInvalidArgument, InputArgumentResults: results}
	}
	out, err := s.calls.Call(machine, method, args)
	if err != nil {
		var ae *twin.ArgumentsError
		switch {
		case errors.As(err, &ae):
			for i, e := range ae.Args {
				if i < len(results) && e != nil {
					results[i] = ua.BadInvalidArgument
					if errors.Is(e, twin.ErrType) {
						results[i] = ua.BadTypeMismatch
					} else if errors.Is(e, twin.ErrOutOfRange) {
						results[i] = ua.BadOutOfRange
					}
				}
			}
			return ua.CallMethodResult{StatusCode: ua.BadInvalidArgument, InputArgumentResults: results}
		case errors.Is(err, twin.ErrInvalidState):
			return ua.CallMethodResult{StatusCode: ua.BadInvalidState}
		case errors.Is(err, twin.ErrArgumentsMissing):
			return ua.CallMethodResult{StatusCode: ua.BadArgumentsMissing}
		case errors.Is(err, twin.ErrTooManyArguments):
			return ua.CallMethodResult{StatusCode: ua.BadTooManyArguments}
		case errors.Is(err, twin.ErrUnknownMethod):
			return ua.CallMethodResult{StatusCode: ua.BadMethodInvalid}
		}
		return ua.CallMethodResult{StatusCode: ua.BadInternalError}
	}
	outs := make([]ua.Variant, len(out))
	for i, v := range out {
		outs[i] = v
	}
	return ua.CallMethodResult{StatusCode: ua.Good, InputArgumentResults: results, OutputArguments: outs}
}

// machineMethod finds a served machine's method.
func (s *Server) machineMethod(machine, method string) (twin.MethodInfo, bool) {
	for _, m := range s.machines {
		if m.Name == machine {
			k := slices.IndexFunc(m.Methods, func(x twin.MethodInfo) bool { return x.Name == method })
			if k >= 0 {
				return m.Methods[k], true
			}
		}
	}
	return twin.MethodInfo{}, false
}

// logCall logs a call with its outcome and returns its result.
func (s *Server) logCall(sess *server.Session, machine, method string, r ua.CallMethodResult) ua.CallMethodResult {
	attrs := []any{"machine", machine, "method", method, "status", twin.StatusName(uint32(r.StatusCode)), "user", userName(sess)}
	if r.StatusCode == ua.Good {
		s.log.Info("opc ua method called", attrs...)
	} else {
		s.log.Info("opc ua method call refused", attrs...)
	}
	return r
}

// sameType reports whether v is exactly a value of type t, as OPC UA
// requires of a method argument.
func sameType(t scenarios.DataType, v ua.Variant) bool {
	return v != nil && goTypes[reflect.TypeOf(v)] == t
}

// goTypes maps the Go type of a decoded Variant to the tag data type.
var goTypes = map[reflect.Type]scenarios.DataType{
	reflect.TypeFor[bool]():    scenarios.Bool,
	reflect.TypeFor[int16]():   scenarios.Int16,
	reflect.TypeFor[int32]():   scenarios.Int32,
	reflect.TypeFor[int64]():   scenarios.Int64,
	reflect.TypeFor[uint16]():  scenarios.Uint16,
	reflect.TypeFor[uint32]():  scenarios.Uint32,
	reflect.TypeFor[uint64]():  scenarios.Uint64,
	reflect.TypeFor[float32](): scenarios.Float32,
	reflect.TypeFor[float64](): scenarios.Float64,
	reflect.TypeFor[string]():  scenarios.String,
}
