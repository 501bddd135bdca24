package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// Methods of the machines (see scenarios.Method), callable as an OPC UA
// client calls them:
//
//	GET  /v1/methods                              every machine's methods
//	POST /v1/machines/{machine}/methods/{method}  call one
//
// A call's body names the arguments, {"arguments": {"speed": 450}}; the
// answer is {"outputs": {...}}. A number is read by its text, exactly, as
// a write's value is. Refusals: 404 for an unknown machine or method, 409
// when the machine's state does not allow the method (as OPC UA answers
// Bad_InvalidState), 400 for a missing, unknown or ill-typed argument or
// one out of its range, naming it.

// MethodEngine is what the method endpoints need; *twin.Engine
// implements it.
type MethodEngine interface {
	Machines() []twin.MachineInfo
	Call(machine, method string, args []any) ([]any, error)
}

// MethodArgument is an argument of a method in GET /v1/methods.
type MethodArgument struct {
	// Name of the argument (the key of CallRequest.Arguments).
	Name string `json:"name"`
	// Type is the argument's data type (an output's: its tag's).
	Type scenarios.DataType `json:"type"`
	// Description of the argument.
	Description string `json:"description,omitempty"`
	// Range of the values accepted (inputs only).
	Range *scenarios.Range `json:"range,omitempty"`
}

// Method is one method of GET /v1/methods.
type Method struct {
	// Machine is the machine's name.
	Machine string `json:"machine"`
	// Name is the method's name.
	Name string `json:"name"`
	// Description of the method.
	Description string `json:"description,omitempty"`
	// Inputs are the input arguments, in call order.
	Inputs []MethodArgument `json:"inputs,omitempty"`
	// Outputs are the output arguments.
	Outputs []MethodArgument `json:"outputs,omitempty"`
	// StateTag and AllowedIn: the states of the machine's StateTag the
	// method may be called in (empty: any).
	StateTag  string   `json:"state_tag,omitempty"`
	AllowedIn []string `json:"allowed_in,omitempty"`
}

// CallRequest is the body of POST /v1/machines/{machine}/methods/{method}.
type CallRequest struct {
	// Arguments by name. A number is read by its text, exactly.
	Arguments map[string]any `json:"arguments"`
}

// CallResponse is the answer to a call.
type CallResponse struct {
	// Outputs by name.
	Outputs map[string]any `json:"outputs"`
}

// registerMethods adds the method endpoints to mux when the engine has
// methods.
func registerMethods(mux *http.ServeMux, h *handler) {
	me, ok := h.e.(MethodEngine)
	if !ok {
		return
	}
	mux.HandleFunc("GET /v1/methods", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, methodList(me))
	})
	mux.HandleFunc("POST /v1/machines/{machine}/methods/{method}", func(w http.ResponseWriter, r *http.Request) {
		h.call(w, r, me)
	})
	for _, p := range []string{"/v1/methods", "/v1/machines/{machine}/methods/{method}"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		})
	}
}

// methodList lists every machine's methods.
func methodList(me MethodEngine) []Method {
	out := []Method{}
	for _, m := range me.Machines() {
		for _, mi := range m.Methods {
			x := Method{Machine: m.Name, Name: mi.Name, Description: mi.Description, StateTag: mi.StateTag, AllowedIn: mi.AllowedIn}
			for _, a := range mi.Inputs {
				x.Inputs = append(x.Inputs, MethodArgument{Name: a.Name, Type: a.Type, Description: a.Description, Range: a.Range})
			}
			for _, o := range mi.Outputs {
				x.Outputs = append(x.Outputs, MethodArgument{Name: o.Name, Type: o.Type, Description: o.Description})
			}
			out = append(out, x)
		}
	}
	return out
}

// call serves POST /v1/machines/{machine}/methods/{method}.
func (h *handler) call(w http.ResponseWriter, r *http.Request, me MethodEngine) {
	machine, method := r.PathValue("machine"), r.PathValue("method")
	mi, ok := findMethod(me, machine, method)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("machine %q has no method %q (see GET /v1/methods)", machine, method))
		return
	}
	var req CallRequest
	if r.ContentLength != 0 && !decode(w, r, &req) {
		return
	}
	args := make([]any, len(mi.Inputs))
	var missing []string
	for i, a := range mi.Inputs {
		v, ok := req.Arguments[a.Name]
		if !ok {
			missing = append(missing, a.Name)
		}
		args[i] = v
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, "arguments: missing "+strings.Join(missing, ", "))
		return
	}
	var unknown []string
	for name := range req.Arguments {
		if !slices.ContainsFunc(mi.Inputs, func(a scenarios.Argument) bool { return a.Name == name }) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		writeError(w, http.StatusBadRequest, fmt.Sprintf("arguments: unknown %s (%s takes %s)", strings.Join(unknown, ", "), method, argNames(mi)))
		return
	}
	out, err := me.Call(machine, method, args)
	if err != nil {
		code := http.StatusBadRequest
		switch {
		case errors.Is(err, twin.ErrInvalidState):
			code = http.StatusConflict
		case errors.Is(err, twin.ErrUnknownMethod):
			code = http.StatusNotFound
		}
		writeError(w, code, err.Error())
		return
	}
	res := CallResponse{Outputs: map[string]any{}}
	for i, o := range mi.Outputs {
		res.Outputs[o.Name] = jsonValue(out[i])
	}
	h.log.Info("method called over the control API", "remote", r.RemoteAddr, "machine", machine, "method", method)
	writeJSON(w, http.StatusOK, res)
}

// findMethod finds machine's method.
func findMethod(me MethodEngine, machine, method string) (twin.MethodInfo, bool) {
	for _, m := range me.Machines() {
		if m.Name != machine {
			continue
		}
		for _, mi := range m.Methods {
			if mi.Name == method {
				return mi, true
			}
		}
	}
	return twin.MethodInfo{}, false
}

// argNames lists a method's input names ("no arguments" for none).
func argNames(mi twin.MethodInfo) string {
	if len(mi.Inputs) == 0 {
		return "no arguments"
	}
	names := make([]string, len(mi.Inputs))
	for i, a := range mi.Inputs {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

// Methods lists every machine's methods.
func (c *Client) Methods(ctx context.Context) ([]Method, error) {
	var ms []Method
	err := c.do(ctx, http.MethodGet, "/v1/methods", nil, &ms)
	return ms, err
}

// Call calls machine's method with arguments by name and returns its
// outputs by name.
func (c *Client) Call(ctx context.Context, machine, method string, args map[string]any) (map[string]any, error) {
	if args == nil {
		args = map[string]any{}
	}
	var res CallResponse
	err := c.do(ctx, http.MethodPost, "/v1/machines/"+url.PathEscape(machine)+"/methods/"+url.PathEscape(method), CallRequest{Arguments: args}, &res)
	return res.Outputs, err
}
