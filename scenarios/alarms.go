package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Alarm is an alarm the twin evaluates on one tag, every tick, in
// simulated time, and serves as an OPC UA condition (and as a Modbus
// discrete input where mapped). It gives exactly one of Limits, States,
// Normal and Quality: that is its kind.
type Alarm struct {
	// Name identifies the alarm: the condition's name over OPC UA, the
	// name the control API and `otwin alarm` use ([a-zA-Z0-9._-]).
	Name string `yaml:"name" json:"name"`
	// Tag is the "machine/tag" the alarm watches; the condition is served
	// on that machine's OPC UA endpoint.
	Tag string `yaml:"tag" json:"tag"`
	// Message is the alarm's text. Default: the tag and the kind, e.g.
	// "filler1/co2_pressure High".
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
	// Severity is the OPC UA severity, 1 (least) to 1000. Default 500.
	Severity int `yaml:"severity,omitempty" json:"severity,omitempty"`
	// Limits makes a limit alarm on a numeric tag: active while the value
	// is above high_high or high, or below low or low_low.
	Limits *AlarmLimits `yaml:"limits,omitempty" json:"limits,omitempty"`
	// Deadband (limit alarms) is how far the value must come back inside
	// a limit before that limit clears, in the tag's unit. Default 0.
	Deadband float64 `yaml:"deadband,omitempty" json:"deadband,omitempty"`
	// Exclusive (limit alarms): true serves an ExclusiveLimitAlarmType,
	// one limit state at a time (the most severe one exceeded); false a
	// NonExclusiveLimitAlarmType, where high_high and high are active
	// together. Default true.
	Exclusive *bool `yaml:"exclusive,omitempty" json:"exclusive,omitempty"`
	// States makes a discrete alarm (DiscreteAlarmType): active while the
	// tag's value is one of these: state names of a state machine tag (on
	// a string or numeric tag), true or false on a bool tag, numbers on a
	// numeric tag.
	States []any `yaml:"states,omitempty" json:"states,omitempty"`
	// Normal makes an off-normal alarm (OffNormalAlarmType): active while
	// the tag's value is not this one (written as States are).
	Normal any `yaml:"normal,omitempty" json:"normal,omitempty"`
	// Quality makes an instrument alarm (InstrumentDiagnosticAlarmType):
	// active while the tag's status is "bad", or "not_good" (bad or
	// uncertain). A bad_quality fault raises it.
	Quality string `yaml:"quality,omitempty" json:"quality,omitempty"`
	// OnDelay is how long, in simulated time, the condition must hold
	// before the alarm goes active (limit alarms: each limit). Default 0.
	OnDelay Duration `yaml:"on_delay,omitempty" json:"on_delay,omitempty"`
	// OffDelay is how long the condition must be gone before the alarm
	// goes inactive. Default 0.
	OffDelay Duration `yaml:"off_delay,omitempty" json:"off_delay,omitempty"`
	// Confirm makes the alarm confirmable: after acknowledgement it stays
	// retained until confirmed (OPC UA ConfirmedState). Default false.
	Confirm bool `yaml:"confirm,omitempty" json:"confirm,omitempty"`
	// Latch keeps the alarm retained after its condition clears until it
	// is reset (OPC UA LatchedState and Reset). Default false.
	Latch bool `yaml:"latch,omitempty" json:"latch,omitempty"`
	// Modbus serves the alarm as a discrete input of its machine's Modbus
	// unit: 1 while active or latched.
	Modbus *AlarmModbus `yaml:"modbus,omitempty" json:"modbus,omitempty"`
}

// AlarmLimits are the limits of a limit alarm, in the tag's unit; give at
// least one. Where several are given, low_low < low < high < high_high.
type AlarmLimits struct {
	// HighHigh is the upper alarm limit.
	HighHigh *float64 `yaml:"high_high,omitempty" json:"high_high,omitempty"`
	// High is the upper warning limit.
	High *float64 `yaml:"high,omitempty" json:"high,omitempty"`
	// Low is the lower warning limit.
	Low *float64 `yaml:"low,omitempty" json:"low,omitempty"`
	// LowLow is the lower alarm limit.
	LowLow *float64 `yaml:"low_low,omitempty" json:"low_low,omitempty"`
}

// AlarmModbus maps an alarm onto Modbus.
type AlarmModbus struct {
	// Discrete is the 0-based discrete-input address (10001 in Modicon
	// numbering is 0); it may not overlap a discrete tag of the machine.
	Discrete int `yaml:"discrete" json:"discrete"`
}

// AlarmKind is what an alarm watches.
type AlarmKind string

// The alarm kinds.
const (
	// AlarmLimit: the value against high_high, high, low and low_low.
	AlarmLimit AlarmKind = "limit"
	// AlarmDiscrete: the value in one of States.
	AlarmDiscrete AlarmKind = "discrete"
	// AlarmOffNormal: the value other than Normal.
	AlarmOffNormal AlarmKind = "off_normal"
	// AlarmQuality: the status bad (or not good).
	AlarmQuality AlarmKind = "quality"
)

// The quality settings of a quality alarm.
const (
	QualityBad     = "bad"
	QualityNotGood = "not_good"
)

// DefaultAlarmSeverity is the severity of an alarm that gives none.
const DefaultAlarmSeverity = 500

// Kind is the alarm's kind, "" when it gives none or several.
func (a *Alarm) Kind() AlarmKind {
	var kinds []AlarmKind
	if a.Limits != nil {
		kinds = append(kinds, AlarmLimit)
	}
	if len(a.States) > 0 {
		kinds = append(kinds, AlarmDiscrete)
	}
	if a.Normal != nil {
		kinds = append(kinds, AlarmOffNormal)
	}
	if a.Quality != "" {
		kinds = append(kinds, AlarmQuality)
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// IsExclusive reports whether a limit alarm is exclusive (the default).
func (a *Alarm) IsExclusive() bool { return a.Exclusive == nil || *a.Exclusive }

// The limit states of limit alarms, most severe first within each side:
// the names OPC UA gives them.
const (
	LimitHighHigh = "HighHigh"
	LimitHigh     = "High"
	LimitLow      = "Low"
	LimitLowLow   = "LowLow"
)

// Levels lists the limits given, as (name, value) pairs in the order
// HighHigh, High, Low, LowLow.
func (l *AlarmLimits) Levels() []AlarmLevel {
	var out []AlarmLevel
	for _, x := range []struct {
		name string
		v    *float64
	}{{LimitHighHigh, l.HighHigh}, {LimitHigh, l.High}, {LimitLow, l.Low}, {LimitLowLow, l.LowLow}} {
		if x.v != nil {
			out = append(out, AlarmLevel{Name: x.name, Limit: *x.v, High: x.name == LimitHighHigh || x.name == LimitHigh})
		}
	}
	return out
}

// AlarmLevel is one limit of a limit alarm.
type AlarmLevel struct {
	// Name is HighHigh, High, Low or LowLow.
	Name string `json:"name"`
	// Limit is the limit's value.
	Limit float64 `json:"limit"`
	// High: the limit is exceeded above it (else below).
	High bool `json:"high,omitempty"`
}

// AlarmValues resolves the values of an alarm's States (or its Normal
// value, as one element) for tag t: the Go values of the tag's type the
// twin compares its value with. State names of a state machine resolve
// to the state's code on a numeric tag. Errors name the value.
func AlarmValues(t *Tag, vals []any) ([]any, error) {
	typ := t.DataType()
	var sm *StateMachine
	if t.Model != nil {
		sm = t.Model.StateMachine
	}
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		if s, ok := v.(string); ok && sm != nil {
			i := slices.Index(sm.StateNames(), s)
			if i < 0 {
				return nil, &alarmValueError{fmt.Sprintf("unknown state %q", s), didYouMean(s, sm.StateNames())}
			}
			if typ.Numeric() {
				v = sm.StateCode(i)
			}
		}
		x, err := Exact(typ, v)
		if err != nil {
			return nil, &alarmValueError{err.Error(), ""}
		}
		out = append(out, x)
	}
	return out, nil
}

type alarmValueError struct{ msg, hint string }

func (e *alarmValueError) Error() string { return e.msg }

// alarmList checks the alarms section and fills in default severities.
func (v *validator) alarmList() {
	names := map[string]bool{}
	bits := map[string]map[int]string{} // machine → discrete address → what
	for i := range v.s.Alarms {
		a := &v.s.Alarms[i]
		path := fmt.Sprintf("alarms[%d]", i)
		v.name(path+".name", "alarm", a.Name)
		if names[a.Name] && a.Name != "" {
			v.add(v.at(path, "name"), "", "duplicate alarm %q", a.Name)
		}
		names[a.Name] = true
		if v.has(path+".severity") && (a.Severity < 1 || a.Severity > 1000) {
			v.add(v.at(path, "severity"), "1 is the least severe, 1000 the most", "severity %d is outside 1-1000", a.Severity)
		}
		if a.Severity == 0 {
			a.Severity = DefaultAlarmSeverity
		}
		if a.OnDelay < 0 {
			v.add(v.at(path, "on_delay"), "", "on_delay %s is negative", a.OnDelay)
		}
		if a.OffDelay < 0 {
			v.add(v.at(path, "off_delay"), "", "off_delay %s is negative", a.OffDelay)
		}
		kind := a.Kind()
		if kind == "" {
			if !v.bad(path) {
				v.add(v.at(path, "name"), "e.g. limits: {high: 80}, states: [Fault], normal: Running or quality: bad",
					"alarm %q needs exactly one of limits, states, normal, quality", a.Name)
			}
		}
		if kind != AlarmLimit {
			if v.has(path + ".deadband") {
				v.add(v.key(path+".deadband"), "", "deadband applies to limit alarms only")
			}
			if v.has(path + ".exclusive") {
				v.add(v.key(path+".exclusive"), "", "exclusive applies to limit alarms only")
			}
		}
		if v.bad(path+".tag") || a.Tag == "" {
			continue
		}
		rt := v.tagRef(a.Tag, v.at(path, "tag"))
		if rt == nil {
			continue
		}
		v.alarmKind(path, a, kind, rt.tag)
		if a.Modbus != nil {
			v.alarmModbus(path, a, rt, bits)
		}
	}
}

// alarmKind checks the settings of an alarm's kind against its tag.
func (v *validator) alarmKind(path string, a *Alarm, kind AlarmKind, t *Tag) {
	typ := t.DataType()
	switch kind {
	case AlarmLimit:
		if !typ.Numeric() {
			v.add(v.at(path, "limits"), "use states or normal for bool and string tags", "limits need a numeric tag; %s is %s", a.Tag, typ)
			return
		}
		lv := a.Limits.Levels()
		if len(lv) == 0 {
			v.add(v.at(path, "limits"), "e.g. limits: {high: 80, high_high: 90}", "limits give no limit")
		}
		for k, l := range lv {
			if math.IsNaN(l.Limit) || math.IsInf(l.Limit, 0) {
				v.add(v.at(path, "limits."+levelField(l.Name)), "", "limit %s is not a finite number", levelField(l.Name))
			}
			if k > 0 && !(lv[k-1].Limit > l.Limit) {
				v.add(v.at(path, "limits."+levelField(l.Name)), "low_low < low < high < high_high",
					"limit %s %v is not below %s %v", levelField(l.Name), l.Limit, levelField(lv[k-1].Name), lv[k-1].Limit)
			}
		}
		if a.Deadband < 0 || math.IsNaN(a.Deadband) || math.IsInf(a.Deadband, 0) {
			v.add(v.at(path, "deadband"), "", "deadband %v must be a number >= 0", a.Deadband)
		}
	case AlarmDiscrete:
		for k, s := range a.States {
			p := fmt.Sprintf("%s.states[%d]", path, k)
			if text, ok := v.d.lits[p]; ok {
				s = json.Number(text)
			}
			if _, err := AlarmValues(t, []any{s}); err != nil {
				v.alarmValue(p, a, err)
			}
		}
	case AlarmOffNormal:
		n := a.Normal
		if text, ok := v.d.lits[path+".normal"]; ok {
			n = json.Number(text)
		}
		if _, err := AlarmValues(t, []any{n}); err != nil {
			v.alarmValue(path+".normal", a, err)
		}
	case AlarmQuality:
		if a.Quality != QualityBad && a.Quality != QualityNotGood {
			v.add(v.at(path, "quality"), hintOr(didYouMean(a.Quality, []string{QualityBad, QualityNotGood}), "want bad or not_good"),
				"unknown quality %q", a.Quality)
		}
	}
}

// alarmValue reports a state or normal value the tag cannot take.
func (v *validator) alarmValue(p string, a *Alarm, err error) {
	hint := ""
	if e, ok := err.(*alarmValueError); ok {
		hint = e.hint
	}
	v.add(v.at(p, ""), hint, "%s: %v", a.Tag, err)
}

// alarmModbus checks an alarm's discrete input: the machine is served
// over Modbus, and the address is free among its discrete tags and the
// other alarms.
func (v *validator) alarmModbus(path string, a *Alarm, rt *rtag, bits map[string]map[int]string) {
	m := &v.s.Machines[rt.m]
	p := v.at(path, "modbus.discrete")
	if m.Modbus == nil {
		v.add(v.at(path, "modbus"), "give the machine modbus: {port: ...}", "machine %q is not served over Modbus", m.Name)
		return
	}
	addr := a.Modbus.Discrete
	if addr < 0 || addr > 65535 {
		v.add(p, "addresses are 0-based: discrete input 10001 is address 0", "address %d is outside 0-65535", addr)
		return
	}
	used := bits[m.Name]
	if used == nil {
		used = map[int]string{}
		bits[m.Name] = used
		for _, t := range m.Tags {
			if t.Modbus != nil && strings.EqualFold(t.Modbus.Table, "discrete") {
				used[t.Modbus.Address] = "tag " + t.Name
			}
		}
	}
	if other, ok := used[addr]; ok {
		v.add(p, "", "discrete input %d of machine %q is already taken by %s", addr, m.Name, other)
		return
	}
	used[addr] = "alarm " + a.Name
}

// modbusAlarms reports whether an alarm of machine is mapped to a
// discrete input (then the machine's Modbus exposure serves something).
func (v *validator) modbusAlarms(machine string) bool {
	for _, a := range v.s.Alarms {
		if a.Modbus != nil && strings.HasPrefix(a.Tag, machine+"/") {
			return true
		}
	}
	return false
}

// levelField is the file's name of a limit.
func levelField(name string) string {
	switch name {
	case LimitHighHigh:
		return "high_high"
	case LimitHigh:
		return "high"
	case LimitLow:
		return "low"
	}
	return "low_low"
}
