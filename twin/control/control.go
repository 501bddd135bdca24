package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// MaxBody is the largest request body the handler reads.
const MaxBody = 64 << 10

// MaxStep is the largest number of ticks one POST /v1/step runs. For
// large scenarios the limit is lower: ticks × tags may not exceed
// StepBudget, so that one request cannot hold the engine for minutes.
const MaxStep = 1_000_000

// StepBudget bounds ticks × tags of one POST /v1/step (about 10 s of work
// on one core).
const StepBudget = 50_000_000

// Engine is what the handler drives; *twin.Engine implements it.
type Engine interface {
	Status() twin.Status
	Faults() []twin.FaultStatus
	InjectFault(f scenarios.Fault) (string, error)
	InjectNamed(name string) error
	Clear(name string) error
	Pause()
	Resume()
	SetSpeed(f float64) error
	Step(n int)
	Events(since int) ([]twin.Event, int)
	Tags() []twin.TagInfo
	Machines() []twin.MachineInfo
	Value(i int) twin.Value
	Lookup(id string) (int, bool)
	Write(i int, v any) error
}

// WriteRequest is the body of POST /v1/tags/{id}.
type WriteRequest struct {
	// Value to write: a number, bool or string of the tag's type. The
	// handler reads a number as a json.Number, by its text: integers are
	// exact over the whole int64 and uint64 range.
	Value any `json:"value"`
}

// FaultRequest is the body of POST /v1/faults: a fault of the scenario by
// name ({"name":"..."}), or a whole fault with the field names of
// scenarios.Fault (durations as strings such as "30s").
type FaultRequest = scenarios.Fault

// ClockRequest is the body of POST /v1/clock.
type ClockRequest struct {
	// Action is pause, resume or speed.
	Action string `json:"action"`
	// Speed is the new speed multiplier (action speed).
	Speed float64 `json:"speed,omitempty"`
}

// StepRequest is the body of POST /v1/step.
type StepRequest struct {
	// Ticks to run, 1..MaxStep.
	Ticks int `json:"ticks"`
}

// EventsResponse is the body of GET /v1/events.
type EventsResponse struct {
	// Events with Seq >= since, oldest first.
	Events []twin.Event `json:"events"`
	// Next is the cursor for the next call.
	Next int `json:"next"`
}

// TagValue is one tag of GET /v1/tags.
//
// A Client decodes Value exactly: a number is a float64, except an
// integer beyond ±2^53, which is an int64 or a uint64.
type TagValue struct {
	ID       string             `json:"id"`
	Machine  string             `json:"machine"`
	Name     string             `json:"name"`
	Type     scenarios.DataType `json:"type"`
	Unit     string             `json:"unit,omitempty"`
	Writable bool               `json:"writable,omitempty"`
	Value    any                `json:"value"`
	// Value is null when the value is NaN or infinite.
	// Status is the OPC UA StatusCode and StatusName its name.
	Status     uint32    `json:"status"`
	StatusName string    `json:"status_name"`
	Source     time.Time `json:"source"`
}

// UnmarshalJSON decodes a TagValue with its Value exact (see TagValue).
func (t *TagValue) UnmarshalJSON(b []byte) error {
	type plain TagValue
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode((*plain)(t)); err != nil {
		return err
	}
	if n, ok := t.Value.(json.Number); ok {
		t.Value = exactNumber(n)
	}
	return nil
}

// exactNumber is n as a float64, or, for an integer beyond ±2^53 (where
// float64 stops holding every integer), as the int64 or uint64 it is.
func exactNumber(n json.Number) any {
	const limit = 1 << 53
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil && (i > limit || i < -limit) {
		return i
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil && u > limit {
		return u
	}
	f, _ := n.Float64()
	return f
}

// ErrorResponse is the body of every error: {"error":"..."}.
type ErrorResponse struct {
	Error string `json:"error"`
}

// Handler serves the control API of e (see doc.go) under /v1/. It limits
// request bodies to MaxBody and answers every error as JSON
// {"error":"..."} with a fitting status code: 400 for bad input (naming
// the field), 404 for an unknown fault or path, 405 for a wrong method,
// 409 for a fault that is not active, 413 for a body too large. It is
// safe for concurrent use; where it listens (loopback by default) is the
// caller's choice. logger may be nil.
func Handler(e Engine, logger ...*slog.Logger) http.Handler {
	h := &handler{e: e, log: slog.Default()}
	if len(logger) > 0 && logger[0] != nil {
		h.log = logger[0]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", h.status)
	mux.HandleFunc("GET /v1/faults", h.faults)
	mux.HandleFunc("POST /v1/faults", h.inject)
	mux.HandleFunc("DELETE /v1/faults/{name}", h.clear)
	mux.HandleFunc("POST /v1/clock", h.clock)
	mux.HandleFunc("POST /v1/step", h.step)
	mux.HandleFunc("GET /v1/events", h.events)
	mux.HandleFunc("GET /v1/tags", h.tags)
	mux.HandleFunc("GET /v1/tags/{id...}", h.tag)
	mux.HandleFunc("POST /v1/tags/{id...}", h.write)
	mux.HandleFunc("GET /v1/truth", h.truth)
	registerMethods(mux, h)
	registerAlarms(mux, h)
	h.routeClients(mux)
	for _, p := range []string{"/v1/truth", "/v1/status", "/v1/faults", "/v1/faults/{name}", "/v1/clock", "/v1/step", "/v1/events", "/v1/tags", "/v1/tags/{id...}"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s (see GET /v1/status)", r.URL.Path))
	})
	return mux
}

type handler struct {
	e   Engine
	log *slog.Logger
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ErrorResponse{Error: msg})
}

// decode reads a JSON body into v strictly (unknown fields are errors)
// and writes the error response itself; it reports whether to go on.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	dec.UseNumber() // a written value keeps every digit (see twin.Engine.Write)
	err := dec.Decode(v)
	if err == nil {
		if _, after := dec.Token(); after != io.EOF {
			writeError(w, http.StatusBadRequest, "body: one JSON object expected, and nothing after it")
			return false
		}
		return true
	}
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBody))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "body: empty, want a JSON object")
	case errors.As(err, &typeErr):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("field %s: want %s, got %s", typeErr.Field, typeErr.Type, typeErr.Value))
	case errors.As(err, &synErr):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("body: invalid JSON at byte %d: %v", synErr.Offset, err))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeError(w, http.StatusBadRequest, "field "+strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)+": unknown")
	default:
		// Errors of UnmarshalText (durations) name the field.
		writeError(w, http.StatusBadRequest, "body: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return false
}

// errorCode maps engine errors to HTTP status codes.
func errorCode(err error) int {
	switch {
	case errors.Is(err, twin.ErrUnknownFault), errors.Is(err, twin.ErrUnknownTag):
		return http.StatusNotFound
	case errors.Is(err, twin.ErrNotActive), errors.Is(err, twin.ErrNotWritable):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.e.Status())
}

func (h *handler) faults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.e.Faults())
}

func (h *handler) inject(w http.ResponseWriter, r *http.Request) {
	var f FaultRequest
	if !decode(w, r, &f) {
		return
	}
	name := f.Name
	var err error
	if f.Kind == "" && f.Target == "" {
		if f.Name == "" {
			writeError(w, http.StatusBadRequest, `field name: want {"name":"..."} or a fault with kind and target`)
			return
		}
		if f != (scenarios.Fault{Name: f.Name}) {
			writeError(w, http.StatusBadRequest, "field kind: a fault with settings needs kind and target")
			return
		}
		err = h.e.InjectNamed(f.Name)
	} else {
		name, err = h.e.InjectFault(f)
	}
	if err != nil {
		writeError(w, errorCode(err), err.Error())
		return
	}
	h.log.Info("fault injected over the control API", "remote", r.RemoteAddr, "fault", name)
	for _, s := range h.e.Faults() {
		if s.Name == name {
			writeJSON(w, http.StatusCreated, s)
			return
		}
	}
	// Over at once (a disconnect without duration).
	f.Name = name
	writeJSON(w, http.StatusCreated, twin.FaultStatus{Name: name, Kind: f.Kind, Target: f.Target, Protocol: f.Protocol, Fault: f})
}

func (h *handler) clear(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := h.e.Clear(name); err != nil {
		writeError(w, errorCode(err), err.Error())
		return
	}
	h.log.Info("fault cleared over the control API", "remote", r.RemoteAddr, "fault", name)
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) clock(w http.ResponseWriter, r *http.Request) {
	var c ClockRequest
	if !decode(w, r, &c) {
		return
	}
	switch c.Action {
	case "pause":
		h.e.Pause()
	case "resume":
		h.e.Resume()
	case "speed":
		if err := h.e.SetSpeed(c.Speed); err != nil {
			writeError(w, http.StatusBadRequest, "field speed: "+err.Error())
			return
		}
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("field action: %q, want pause, resume or speed", c.Action))
		return
	}
	writeJSON(w, http.StatusOK, h.e.Status())
}

func (h *handler) step(w http.ResponseWriter, r *http.Request) {
	var s StepRequest
	if !decode(w, r, &s) {
		return
	}
	limit := MaxStep
	if n := len(h.e.Tags()); n > 0 {
		limit = min(MaxStep, max(1, StepBudget/n))
	}
	if s.Ticks < 1 || s.Ticks > limit {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("field ticks: %d, want 1..%d for this scenario", s.Ticks, limit))
		return
	}
	h.e.Step(s.Ticks)
	writeJSON(w, http.StatusOK, h.e.Status())
}

func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	since := 0
	if s := r.URL.Query().Get("since"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("parameter since: %q, want a cursor >= 0", s))
			return
		}
		since = n
	}
	evs, next := h.e.Events(since)
	if evs == nil {
		evs = []twin.Event{}
	}
	writeJSON(w, http.StatusOK, EventsResponse{Events: evs, Next: next})
}

func (h *handler) tags(w http.ResponseWriter, r *http.Request) {
	prefix := r.URL.Query().Get("prefix")
	tags := h.e.Tags()
	out := make([]TagValue, 0, len(tags))
	for _, t := range tags {
		if prefix != "" && !strings.HasPrefix(t.ID, prefix) && !strings.HasPrefix(t.Machine+"/"+t.Name, prefix) {
			continue
		}
		out = append(out, h.tagValue(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) lookup(w http.ResponseWriter, r *http.Request) (twin.TagInfo, bool) {
	id := r.PathValue("id")
	i, ok := h.e.Lookup(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown tag %q (use machine/tag or the full id)", id))
		return twin.TagInfo{}, false
	}
	return h.e.Tags()[i], true
}

func (h *handler) tag(w http.ResponseWriter, r *http.Request) {
	if t, ok := h.lookup(w, r); ok {
		writeJSON(w, http.StatusOK, h.tagValue(t))
	}
}

func (h *handler) write(w http.ResponseWriter, r *http.Request) {
	t, ok := h.lookup(w, r)
	if !ok {
		return
	}
	var req WriteRequest
	if !decode(w, r, &req) {
		return
	}
	if err := h.e.Write(t.Index, req.Value); err != nil {
		writeError(w, errorCode(err), "field value: "+err.Error())
		return
	}
	h.log.Info("tag written over the control API", "remote", r.RemoteAddr, "tag", t.ID)
	writeJSON(w, http.StatusOK, h.tagValue(t))
}

// tagValue is t with its current value.
func (h *handler) tagValue(t twin.TagInfo) TagValue {
	v := h.e.Value(t.Index)
	return TagValue{
		ID: t.ID, Machine: t.Machine, Name: t.Name, Type: t.Type, Unit: t.Unit.Symbol, Writable: t.Writable,
		Value: jsonValue(v.V), Status: v.Status, StatusName: twin.StatusName(v.Status), Source: v.Source,
	}
}
