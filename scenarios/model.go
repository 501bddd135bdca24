package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Model is how a tag's value evolves over simulated time. Exactly one kind
// is set. Noise, when set beside another kind, is added to it.
//
// Each field is one model kind, and is that kind's registration: its type
// (model_<kind>.go) holds the kind's settings and checks (ModelKind), and
// the twin evaluates it in a file of its own (twin/model_<kind>.go).
type Model struct {
	// Constant holds a fixed value (a setpoint when the tag is writable).
	Constant *Constant `yaml:"constant,omitempty" json:"constant,omitempty"`
	// Sine is offset + amplitude*sin(2π(t/period) + phase).
	Sine *Sine `yaml:"sine,omitempty" json:"sine,omitempty"`
	// Ramp rises from min to max over period, then restarts (sawtooth) or
	// falls back (triangle).
	Ramp *Ramp `yaml:"ramp,omitempty" json:"ramp,omitempty"`
	// Square alternates between low and high.
	Square *Square `yaml:"square,omitempty" json:"square,omitempty"`
	// RandomWalk moves by a random step each tick within bounds.
	RandomWalk *RandomWalk `yaml:"random_walk,omitempty" json:"random_walk,omitempty"`
	// Noise is Gaussian noise; alone it is mean + noise.
	Noise *Noise `yaml:"noise,omitempty" json:"noise,omitempty"`
	// Counter counts up at a rate and rolls over.
	Counter *Counter `yaml:"counter,omitempty" json:"counter,omitempty"`
	// Steps is a schedule of values at offsets.
	Steps *Steps `yaml:"steps,omitempty" json:"steps,omitempty"`
	// StateMachine moves between named states with dwell times and
	// transition probabilities.
	StateMachine *StateMachine `yaml:"state_machine,omitempty" json:"state_machine,omitempty"`
	// Expr computes the value from other tags each tick.
	Expr *Expr `yaml:"expr,omitempty" json:"expr,omitempty"`
	// Integrate accumulates a rate expression over time (a tank level
	// integrates inflow - outflow).
	Integrate *Integrate `yaml:"integrate,omitempty" json:"integrate,omitempty"`
	// Lag follows an input expression with a first-order lag.
	Lag *Lag `yaml:"lag,omitempty" json:"lag,omitempty"`
	// Replay serves a recorded point's values and status codes.
	Replay *Replay `yaml:"replay,omitempty" json:"replay,omitempty"`
}

// ModelKind is implemented by the settings type of every model kind
// (*Constant, *Sine, …). A kind is one file holding its type and these
// methods, registered by its field in Model; see "Adding a model kind" in
// README.md.
type ModelKind interface {
	// Drives reports whether the kind can drive a tag of type t.
	Drives(t DataType) bool
	// Check reports the settings' problems to c, each under the name of
	// its setting ("period").
	Check(c *ModelCheck)
}

// ModelExprs is implemented by the model kinds whose settings hold
// expressions (expr, counter, integrate, lag).
type ModelExprs interface {
	// Exprs lists the kind's expressions; an empty Src is no expression.
	Exprs() []ModelExpr
}

// ModelExpr is one expression of a model kind's settings.
type ModelExpr struct {
	// Field is the setting's YAML name, e.g. "when".
	Field string
	// Src is the expression (github.com/expr-lang/expr syntax).
	Src string
	// SameTick says the expression reads the values of the current tick:
	// the tags it reads are evaluated before the model, and reading its own
	// tag through other same-tick expressions is a cycle. Otherwise it
	// reads the previous tick's values (integrate, lag), which breaks
	// cycles.
	SameTick bool
}

// noiseKind is the one kind that may be added beside another.
const noiseKind = "noise"

// modelField is one kind of Model: its YAML name and field index.
type modelField struct {
	name  string
	index int
}

// modelFields lists Model's kinds in field order.
var modelFields = func() []modelField {
	t := reflect.TypeFor[Model]()
	kind := reflect.TypeFor[ModelKind]()
	out := make([]modelField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Type.Implements(kind) {
			panic(fmt.Sprintf("scenarios: Model.%s is not a ModelKind", f.Name))
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		out = append(out, modelField{name: name, index: i})
	}
	return out
}()

// ModelKindNames lists every model kind's name, as the file writes it, in
// Model's field order.
func ModelKindNames() []string {
	out := make([]string, len(modelFields))
	for i, f := range modelFields {
		out[i] = f.name
	}
	return out
}

// settings returns the kind of field f set in m, nil when unset.
func (m *Model) settings(f modelField) ModelKind {
	v := reflect.ValueOf(m).Elem().Field(f.index)
	if v.IsNil() {
		return nil
	}
	return v.Interface().(ModelKind)
}

// kinds lists the names and settings of the kinds set in m besides noise.
func (m *Model) kinds() (names []string, set []ModelKind) {
	for _, f := range modelFields {
		if f.name == noiseKind {
			continue
		}
		if k := m.settings(f); k != nil {
			names = append(names, f.name)
			set = append(set, k)
		}
	}
	return names, set
}

// Kind returns the kind m holds: its name and settings (e.g. "sine" and a
// *Sine), or noise when noise is the only kind set. ok is false when m
// holds no kind, or more than one besides noise.
func (m *Model) Kind() (name string, settings ModelKind, ok bool) {
	names, set := m.kinds()
	switch {
	case len(set) == 1:
		return names[0], set[0], true
	case len(set) == 0 && m.Noise != nil:
		return noiseKind, m.Noise, true
	}
	return "", nil, false
}

// ModelCheck is what a model kind's Check reports to: the type of the tag
// the model drives, and the problems found. A problem is either a need of
// the twin (it cannot run the model: no period to divide by, no steps) or
// a rule of the format (a minimum above its maximum, a constant outside
// the tag's type): the validator refuses both; the twin, given a model
// built in code, refuses only needs and runs the rest as the twin package
// documents (values rounded and clamped to the type).
type ModelCheck struct {
	// Type is the data type of the tag the model drives.
	Type DataType
	// prefix is the path of the kind's settings ("model.sine").
	prefix string
	// full reports rules as well as needs.
	full bool
	// literal returns the text of a number the file wrote at field (a path
	// relative to the tag) when its decoded value is not exactly the
	// number written; nil outside the validator.
	literal func(field string) (string, bool)
	fs      findings
}

// Need reports a problem that stops the twin from running the model.
func (c *ModelCheck) Need(field, hint, format string, args ...any) {
	c.fs.add(sub(c.prefix, field), hint, format, args...)
}

// NeedKey is Need, placed at the key that names field.
func (c *ModelCheck) NeedKey(field, hint, format string, args ...any) {
	c.Need(field, hint, format, args...)
	c.fs[len(c.fs)-1].Key = true
}

// Want reports a rule of the format that the settings break.
func (c *ModelCheck) Want(field, hint, format string, args ...any) {
	if c.full {
		c.fs.add(sub(c.prefix, field), hint, format, args...)
	}
}

// lit returns the text written for field when it was not decoded exactly.
func (c *ModelCheck) lit(field string) (string, bool) {
	if c.literal == nil {
		return "", false
	}
	return c.literal(sub(c.prefix, field))
}

// Value checks v, written at field as a value of the tag (a constant, a
// step's value), with Exact: what names it in the message ("constant
// value"). A value the twin cannot convert at all (text for a number) is a
// need; one it would round or clamp is a rule.
func (c *ModelCheck) Value(field, what string, v any) {
	if v == nil {
		return
	}
	if text, ok := c.lit(field); ok {
		v = json.Number(text)
	}
	_, err := Exact(c.Type, v)
	if err == nil {
		return
	}
	if s, isText := v.(string); isText && c.Type != String && !numericText(s) {
		c.Need(field, "", "%s %v", what, err)
		return
	}
	c.Want(field, "", "%s %v", what, err)
}

// numericText reports whether the twin reads s as a number or a bool.
func numericText(s string) bool {
	if _, ok := parseNumber(s); ok {
		return true
	}
	_, err := strconv.ParseBool(s)
	return err == nil
}

// Integer checks a number setting f of a model on an integer tag (a
// counter's start): it must be an integer that the setting holds exactly,
// within the tag's type; top allows the type's maximum + 1 (a rollover).
func (c *ModelCheck) Integer(field, what string, f float64, top bool) {
	if !c.Type.Integer() {
		return
	}
	if text, ok := c.lit(field); ok {
		if n, _ := parseNumber(text); n.isInt {
			c.Want(field, "counter start and rollover are exact up to 2^53", "%s %s cannot be held exactly (it would be %s)", what, text, fmt.Sprintf("%.0f", f))
			return
		}
		c.Want(field, "", "%s %s is not an integer (the tag is %s)", what, text, c.Type)
		return
	}
	n := floatNumber(f)
	lo, hi, _ := c.Type.IntRange()
	switch {
	case top && c.Type == Uint64 && f == two64:
		// uint64's maximum + 1
	case n.overflow || !n.isInt && (math.IsNaN(f) || math.IsInf(f, 0)):
		c.Want(field, "", "%s %v is out of the %s range", what, f, c.Type)
	case !n.isInt:
		c.Want(field, "", "%s %v is not an integer (the tag is %s)", what, f, c.Type)
	case !n.fits(c.Type) && !(top && !n.neg && n.mag-1 == hi && n.mag != 0):
		c.Want(field, "", "%s %v is outside the %s range [%d, %d]", what, f, c.Type, lo, hi)
	}
}

// checkModel checks the model of a tag of type t; full adds the format's
// rules to the twin's needs. Fields are paths relative to the tag.
func checkModel(m *Model, t DataType, full bool, literal func(string) (string, bool)) []Finding {
	c := &ModelCheck{Type: t, prefix: "model", full: full, literal: literal}
	names, set := m.kinds()
	switch {
	case len(set) == 0 && m.Noise == nil:
		c.Want("", "want one of "+orList(ModelKindNames()), "model has no kind")
		if len(c.fs) > 0 {
			c.fs[0].Key = true
		}
		return c.fs
	case len(set) > 1:
		c.NeedKey("", "noise may be added to one other kind", "model has several kinds: %s; want one", strings.Join(names, ", "))
		return c.fs
	}
	name, kind, _ := m.Kind()
	if !kind.Drives(t) {
		c.Want(name, "", "a %s model cannot drive a %s tag", name, t)
		return c.fs
	}
	if m.Noise != nil && name != noiseKind {
		if !m.Noise.Drives(t) {
			c.Want(noiseKind, "", "noise needs a numeric tag, not %s", t)
		}
		c.prefix = "model." + noiseKind
		m.Noise.Check(c)
	}
	c.prefix = "model." + name
	kind.Check(c)
	return c.fs
}

// Runnable reports the problems that keep the twin from running m on a
// tag of type t (a model with several kinds, a period of 0, a step list
// without steps), as one error naming each setting; nil when it can run.
// The validator reports the same problems, and the format's other rules.
func (m *Model) Runnable(t DataType) error {
	return FindingsError(checkModel(m, t, false, nil))
}

// sub is the path of field under prefix ("" is prefix itself).
func sub(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return join(prefix, field)
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
