package normalize

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/otwin/otwin/ctxrole"
)

// Context is the production context of an asset: the work order, product,
// batch, recipe, phase and shift under way, as its context points (see
// Point.Context) last said. A Context is immutable: the normalizer makes a
// new one when a value changes and hands out the pointer, so that every
// Sample and Condition of an asset shares one value and stamping costs no
// allocation. Never modify one; compare contexts by pointer to tell a
// change. A nil *Context is no context (its methods work on nil).
type Context struct {
	// WorkOrder is the production order under way, e.g. "WO-4711".
	WorkOrder string `json:"work_order,omitempty"`
	// Product is what the order makes.
	Product string `json:"product,omitempty"`
	// Batch is the batch under way.
	Batch string `json:"batch,omitempty"`
	// Recipe is the batch's recipe.
	Recipe string `json:"recipe,omitempty"`
	// Phase is the batch's phase.
	Phase string `json:"phase,omitempty"`
	// Shift is the crew's shift.
	Shift string `json:"shift,omitempty"`
	// Since is when one of the values last changed (the time of the
	// sample that changed it).
	Since time.Time `json:"since,omitzero"`

	// json is the context as a JSON object; lower is its values in lower
	// case, for Match. Both are made once, with the context. gen orders
	// the contexts this process made (0: read back from JSON).
	json  []byte
	lower string
	gen   uint64
}

// contextGen numbers the contexts NewContext makes.
var contextGen atomic.Uint64

// NewContext returns the context with vals (indexed by ctxrole.Role.Index)
// since since.
func NewContext(vals [ctxrole.N]string, since time.Time) *Context {
	c := &Context{Since: since, gen: contextGen.Add(1)}
	for i, r := range ctxrole.All {
		*c.field(r) = vals[i]
	}
	c.seal()
	return c
}

// seal makes the derived forms of c (JSON, lower case).
func (c *Context) seal() {
	c.json, _ = json.Marshal(c) // cannot fail: strings and a time
	var b strings.Builder
	for _, r := range ctxrole.All {
		if v := *c.field(r); v != "" {
			b.WriteString(strings.ToLower(v))
			b.WriteByte('\n')
		}
	}
	c.lower = b.String()
}

func (c *Context) field(r ctxrole.Role) *string {
	switch r {
	case ctxrole.WorkOrder:
		return &c.WorkOrder
	case ctxrole.Product:
		return &c.Product
	case ctxrole.Batch:
		return &c.Batch
	case ctxrole.Recipe:
		return &c.Recipe
	case ctxrole.Phase:
		return &c.Phase
	case ctxrole.Shift:
		return &c.Shift
	}
	return new(string)
}

// Value returns the value of role r ("" for a nil context or an unknown
// role).
func (c *Context) Value(r ctxrole.Role) string {
	if c == nil {
		return ""
	}
	return *c.field(r)
}

// Newer says c was made after o (a nil context is the oldest): in the
// order NewContext made them — two changes of one sample time are two
// contexts with the same Since — or, for contexts read back from JSON, by
// Since.
func (c *Context) Newer(o *Context) bool {
	switch {
	case c == nil:
		return false
	case o == nil:
		return true
	case c.gen != 0 && o.gen != 0:
		return c.gen > o.gen
	}
	return c.Since.After(o.Since)
}

// Empty says c holds no value.
func (c *Context) Empty() bool { return c == nil || c.lower == "" }

// Match says one of c's values contains lowerSub, which must be in lower
// case; it does not allocate.
func (c *Context) Match(lowerSub string) bool {
	return c != nil && lowerSub != "" && strings.Contains(c.lower, lowerSub)
}

// String lists the values that are set, in the order of ctxrole.All,
// separated by spaces: "WO-4711 cola-0.5l B-2401 heat A".
func (c *Context) String() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	for _, r := range ctxrole.All {
		if v := *c.field(r); v != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(v)
		}
	}
	return b.String()
}

// AppendJSON appends c as a JSON object to dst — {"work_order":"WO-4711",
// "product":"cola-0.5l","since":"…"}, the values that are set, and {} for
// a nil or empty context — without allocating.
func (c *Context) AppendJSON(dst []byte) []byte {
	if c == nil || c.json == nil {
		return append(dst, '{', '}')
	}
	return append(dst, c.json...)
}

// MarshalJSON is AppendJSON for encoding/json.
func (c *Context) MarshalJSON() ([]byte, error) {
	if c == nil || c.json == nil {
		type plain Context // no MarshalJSON: the fields
		return json.Marshal((*plain)(c))
	}
	return c.json, nil
}

// UnmarshalJSON reads a context written by MarshalJSON.
func (c *Context) UnmarshalJSON(b []byte) error {
	type plain Context
	if err := json.Unmarshal(b, (*plain)(c)); err != nil {
		return err
	}
	c.seal()
	return nil
}

// contextScope is the part of the asset tree one set of context points
// applies to (an asset path and everything below it), with the values
// they last gave.
type contextScope struct {
	path   string
	vals   [ctxrole.N]string
	since  time.Time
	assets []*assetContext // the assets below it
}

// assetContext is the context of one asset: the scopes above it, from the
// widest, and the context they make together (a narrower scope's value
// wins).
type assetContext struct {
	path   string
	scopes []*contextScope
	cur    *Context
}

// current returns the asset's context; nil for no asset.
func (a *assetContext) current() *Context {
	if a == nil {
		return nil
	}
	return a.cur
}

// contextPoint is how a tag that is a context point files its values.
type contextPoint struct {
	role   int // ctxrole index
	scopes []*contextScope
	// last is the value last filed, and num the number it was made of
	// (numeric points: no formatting while the number stays the same).
	last    string
	num     float64
	hasNum  bool
	hasLast bool
}

// contexts is the normalizer's context state.
type contexts struct {
	scopes []*contextScope // sorted by path
	assets map[string]*assetContext
}

// ContextScope is the asset path a context point applies to by default:
// the parent of its asset (a context point is usually a tag of the line's
// MES or PLC object, "…/line1/mes/work_order", and applies to the line),
// or the asset itself when it has no parent.
func ContextScope(asset string) string {
	if i := strings.LastIndexByte(asset, '/'); i > 0 {
		return asset[:i]
	}
	return asset
}

// scopesOf returns the scopes of point p, creating them.
func (cs *contexts) scopesOf(p *Point) []*contextScope {
	paths := p.AppliesTo
	if len(paths) == 0 {
		paths = []string{ContextScope(p.Asset)}
	}
	out := make([]*contextScope, 0, len(paths))
	for _, path := range paths {
		out = append(out, cs.scope(path))
	}
	return out
}

func (cs *contexts) scope(path string) *contextScope {
	for _, s := range cs.scopes {
		if s.path == path {
			return s
		}
	}
	s := &contextScope{path: path}
	cs.scopes = append(cs.scopes, s)
	// Assets known already (none while configuring: scopes come first).
	for _, a := range cs.assets {
		if under(a.path, path) {
			a.scopes = append(a.scopes, s)
			sortScopes(a.scopes)
			s.assets = append(s.assets, a)
		}
	}
	return s
}

// asset returns the context of asset path, nil when no scope covers it.
func (cs *contexts) asset(path string) *assetContext {
	if a, ok := cs.assets[path]; ok {
		return a
	}
	var scopes []*contextScope
	for _, s := range cs.scopes {
		if under(path, s.path) {
			scopes = append(scopes, s)
		}
	}
	if cs.assets == nil {
		cs.assets = make(map[string]*assetContext)
	}
	if len(scopes) == 0 {
		cs.assets[path] = nil
		return nil
	}
	sortScopes(scopes)
	a := &assetContext{path: path, scopes: scopes}
	for _, s := range scopes {
		s.assets = append(s.assets, a)
	}
	a.remake()
	cs.assets[path] = a
	return a
}

// sortScopes orders scopes from the widest (shortest path) to the
// narrowest; a scope's path is a prefix of the next's.
func sortScopes(s []*contextScope) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && len(s[j].path) < len(s[j-1].path); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// remake makes the asset's context from its scopes: nil while none has a
// value.
func (a *assetContext) remake() {
	var vals [ctxrole.N]string
	var since time.Time
	any := false
	for _, s := range a.scopes {
		for i, v := range s.vals {
			if v != "" {
				vals[i], any = v, true
			}
		}
		if s.since.After(since) {
			since = s.since
		}
	}
	if !any {
		a.cur = nil
		return
	}
	a.cur = NewContext(vals, since)
}

// under says asset is path or lies below it.
func under(asset, path string) bool {
	return asset == path || len(asset) > len(path) && asset[len(path)] == '/' && asset[:len(path)] == path
}

// file files the value of a context point's sample s: a value that is not
// Bad and differs from the last replaces it in the point's scopes, and the
// assets below them get a new context. A sample that only repeats the
// value costs no allocation.
func (cp *contextPoint) file(s *Sample) {
	if s.Status.IsBad() {
		return // the last value stands: a lost link does not end an order
	}
	var v string
	switch s.Kind {
	case Text:
		if cp.hasLast && s.Text == cp.last {
			return
		}
		v = s.Text
	case Bool:
		v = strconv.FormatBool(s.Value != 0)
		if cp.hasLast && v == cp.last {
			return
		}
	default:
		if cp.hasNum && (s.Value == cp.num || math.IsNaN(s.Value) && math.IsNaN(cp.num)) {
			return
		}
		cp.num, cp.hasNum = s.Value, true
		v = strconv.FormatFloat(s.Value, 'f', -1, 64)
		if cp.hasLast && v == cp.last {
			return
		}
	}
	cp.last, cp.hasLast = v, true
	at := s.SourceTime
	if at.IsZero() {
		at = s.Received
	}
	for _, sc := range cp.scopes {
		if sc.vals[cp.role] == v {
			continue
		}
		sc.vals[cp.role], sc.since = v, at
		for _, a := range sc.assets {
			a.remake()
		}
	}
}
