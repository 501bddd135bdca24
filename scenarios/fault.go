package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/otwin/otwin/mbexception"
)

// FaultKind names what a fault does.
type FaultKind string

// The fault kinds. Value faults change a tag's value, quality faults its
// status code, transport faults a machine's endpoint.
const (
	// Stuck freezes the tag at its value when the fault starts.
	Stuck FaultKind = "stuck"
	// Drift adds Rate per simulated second, growing for the fault's length.
	Drift FaultKind = "drift"
	// NoiseBurst adds Gaussian noise of standard deviation Magnitude.
	NoiseBurst FaultKind = "noise"
	// Spike adds Magnitude for one tick at the start (and every Every if set).
	Spike FaultKind = "spike"
	// BadQuality marks the tag Bad (Status, default Bad_SensorFailure).
	BadQuality FaultKind = "bad_quality"
	// UncertainQuality marks the tag Uncertain (Status, default
	// Uncertain_SensorNotAccurate).
	UncertainQuality FaultKind = "uncertain_quality"
	// OutOfRange forces Value, which should lie outside the tag's range.
	OutOfRange FaultKind = "out_of_range"
	// CommLoss makes the machine's endpoints (or only Protocol's) stop
	// answering: OPC UA values go Bad_CommunicationFailure and new
	// connections are refused; Modbus requests get no response.
	CommLoss FaultKind = "comm_loss"
	// Latency delays every response of the machine's endpoints by Latency.
	Latency FaultKind = "latency"
	// Disconnect drops every open connection to the machine's endpoints
	// once at the start; clients may reconnect.
	Disconnect FaultKind = "disconnect"
	// ModbusException answers Modbus requests for the machine with
	// Exception, one of ModbusExceptions.
	ModbusException FaultKind = "modbus_exception"
	// ClockSkew shifts the source timestamps of the tag or machine by Skew.
	ClockSkew FaultKind = "clock_skew"
)

// Fault is something wrong with a tag or a machine.
type Fault struct {
	// Name identifies the fault in the timeline, exercises and the control
	// API.
	Name string `yaml:"name" json:"name"`
	// Kind is what the fault does.
	Kind FaultKind `yaml:"kind" json:"kind"`
	// Target is "machine/tag" for tag faults (stuck, drift, noise, spike,
	// quality, out_of_range, clock_skew) or "machine" for machine faults
	// (comm_loss, latency, disconnect, modbus_exception, clock_skew).
	Target string `yaml:"target" json:"target"`
	// Start is when the fault fires by itself, from the scenario start;
	// unset, it fires only from the timeline, an exercise or the API.
	Start *Duration `yaml:"start,omitempty" json:"start,omitempty"`
	// Duration is how long the fault lasts; 0 lasts until cleared.
	Duration Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	// Protocol limits a machine fault to "opcua" or "modbus".
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Rate is the drift per simulated second (drift).
	Rate float64 `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Magnitude is the spike height or noise standard deviation.
	Magnitude float64 `yaml:"magnitude,omitempty" json:"magnitude,omitempty"`
	// Every repeats a spike at this interval.
	Every Duration `yaml:"every,omitempty" json:"every,omitempty"`
	// Value is forced while the fault lasts (out_of_range).
	Value *float64 `yaml:"value,omitempty" json:"value,omitempty"`
	// Status is the OPC UA status code name or number for quality faults,
	// e.g. "Bad_SensorFailure" or 0x808C0000.
	Status string `yaml:"status,omitempty" json:"status,omitempty"`
	// Latency is the added response delay (latency).
	Latency Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
	// Exception is the Modbus exception code (modbus_exception).
	Exception int `yaml:"exception,omitempty" json:"exception,omitempty"`
	// Skew shifts source timestamps (clock_skew); negative is behind.
	Skew Duration `yaml:"skew,omitempty" json:"skew,omitempty"`
}

// faultSpec is everything one fault kind takes: its parameters (besides
// name, kind, target, start, duration and protocol), which of them are
// required, what it may target, the protocols it applies to on a machine
// (none: it takes no protocol), whether it needs a numeric tag, and the
// rules of its parameters' values.
type faultSpec struct {
	kind      FaultKind
	params    []string
	required  []string
	tag       bool // may target "machine/tag"
	machine   bool // may target "machine"
	protocols []string
	numeric   bool
	check     func(c *faultCheck)
}

// faultSpecs is the one table of fault kinds, in documentation order.
var faultSpecs = []faultSpec{
	{kind: Stuck, tag: true},
	{kind: Drift, params: []string{"rate"}, required: []string{"rate"}, tag: true, numeric: true, check: func(c *faultCheck) {
		if c.f.Rate == 0 {
			c.add("rate", "", "drift rate must not be 0")
		}
	}},
	{kind: NoiseBurst, params: []string{"magnitude"}, required: []string{"magnitude"}, tag: true, numeric: true, check: func(c *faultCheck) {
		if !(c.f.Magnitude > 0) {
			c.add("magnitude", "", "noise magnitude (standard deviation) must be > 0")
		}
	}},
	{kind: Spike, params: []string{"magnitude", "every"}, required: []string{"magnitude"}, tag: true, numeric: true, check: func(c *faultCheck) {
		if c.f.Magnitude == 0 {
			c.add("magnitude", "", "spike magnitude must not be 0")
		}
		if c.f.Every < 0 {
			c.add("every", "", "every must be >= 0")
		}
	}},
	{kind: BadQuality, params: []string{"status"}, tag: true, check: checkFaultStatus},
	{kind: UncertainQuality, params: []string{"status"}, tag: true, check: checkFaultStatus},
	{kind: OutOfRange, params: []string{"value"}, required: []string{"value"}, tag: true, numeric: true, check: func(c *faultCheck) {
		if r := c.tag.Range; r != nil && c.f.Value != nil && *c.f.Value >= r.Low && *c.f.Value <= r.High {
			c.add("value", "pick a value outside it", "out_of_range value %v lies inside the range [%v, %v] of %s", *c.f.Value, r.Low, r.High, c.f.Target)
		}
	}},
	{kind: CommLoss, machine: true, protocols: Protocols},
	{kind: Latency, params: []string{"latency"}, required: []string{"latency"}, machine: true, protocols: Protocols, check: func(c *faultCheck) {
		if c.f.Latency <= 0 {
			c.add("latency", "", "latency must be > 0")
		}
	}},
	{kind: Disconnect, machine: true, protocols: Protocols},
	{kind: ModbusException, params: []string{"exception"}, required: []string{"exception"}, machine: true, protocols: []string{ProtocolModbus}, check: func(c *faultCheck) {
		if !slices.Contains(ModbusExceptions, c.f.Exception) {
			c.add("exception", modbusExceptionHint(), "invalid Modbus exception code %d", c.f.Exception)
		}
	}},
	{kind: ClockSkew, params: []string{"skew"}, required: []string{"skew"}, tag: true, machine: true, check: func(c *faultCheck) {
		if c.f.Skew == 0 {
			c.add("skew", "", "skew must not be 0")
		}
	}},
}

// FaultKinds lists every fault kind.
var FaultKinds = func() []FaultKind {
	out := make([]FaultKind, len(faultSpecs))
	for i, s := range faultSpecs {
		out[i] = s.kind
	}
	return out
}()

// specOf returns the spec of kind k.
func specOf(k FaultKind) (*faultSpec, bool) {
	for i := range faultSpecs {
		if faultSpecs[i].kind == k {
			return &faultSpecs[i], true
		}
	}
	return nil, false
}

// faultParams are the parameters of all kinds, in field order.
var faultParams = []string{"protocol", "rate", "magnitude", "every", "value", "status", "latency", "exception", "skew"}

// modbusExceptions are the exception codes a modbus_exception fault may
// answer with (package mbexception names them).
var modbusExceptions = []mbexception.Code{
	mbexception.IllegalFunction, mbexception.IllegalDataAddress, mbexception.IllegalDataValue,
	mbexception.ServerDeviceFailure, mbexception.Acknowledge, mbexception.ServerDeviceBusy,
	mbexception.MemoryParityError, mbexception.GatewayPathUnavailable, mbexception.GatewayTargetDeviceFailedToRespond,
}

// ModbusExceptions are the exception codes a modbus_exception fault may
// answer with.
var ModbusExceptions = func() []int {
	out := make([]int, len(modbusExceptions))
	for i, e := range modbusExceptions {
		out[i] = int(e)
	}
	return out
}()

func modbusExceptionHint() string { return mbexception.Hint(modbusExceptions) }

// FaultScope resolves the targets of faults: the machines of a resolved
// scenario (with their full tag lists) and their tags, by name. The
// validator and the twin each implement it over their own indexes.
type FaultScope interface {
	// FaultMachine returns the machine named name.
	FaultMachine(name string) (*Machine, bool)
	// FaultTag returns the tag named tag of the machine named machine.
	FaultTag(machine, tag string) (*Tag, bool)
	// MachineNames lists the machines' names (for did-you-mean hints).
	MachineNames() []string
}

// faultCheck is the state of one CheckFault.
type faultCheck struct {
	findings
	f       *Fault
	machine *Machine
	tag     *Tag // nil for a machine target
}

// CheckFault checks fault f against the scenario that scope resolves: its
// kind, name, times, parameters (which apply to the kind, which are
// required, their values), its target (a tag or a machine as the kind
// takes, that exists, numeric for the numeric kinds) and its protocol (one
// the kind applies to and the machine is served over). given reports
// whether f sets a parameter; nil means a parameter is set when its value
// is not zero (a fault built in code or read from JSON). It returns every
// problem found, nil for a valid fault. The validator (every fault of a
// file) and the twin (InjectFault, named faults) both call it, so they
// agree on every fault. It is pure and safe for concurrent use.
func CheckFault(f *Fault, scope FaultScope, given func(param string) bool) []Finding {
	c := &faultCheck{f: f}
	if given == nil {
		given = f.nonZero
	}
	spec, ok := specOf(f.Kind)
	switch {
	case f.Kind == "":
		c.fs("kind", true, "", "a fault needs a kind")
		return c.findings
	case !ok:
		kinds := make([]string, len(FaultKinds))
		for i, k := range FaultKinds {
			kinds[i] = string(k)
		}
		c.add("kind", didYouMean(string(f.Kind), kinds), "unknown fault kind %q", f.Kind)
		return c.findings
	}
	if f.Name != "" && !validName(f.Name) {
		c.add("name", "use letters, digits, '.', '_' and '-'", "fault name %q has characters outside [a-zA-Z0-9._-]", f.Name)
	}
	if f.Start != nil && *f.Start < 0 {
		c.add("start", "", "start %s is negative", *f.Start)
	}
	if f.Duration < 0 {
		c.add("duration", "", "duration %s is negative", f.Duration)
	}
	for _, p := range faultParams {
		allowed := slices.Contains(spec.params, p) || p == "protocol" && spec.protocols != nil
		if given(p) && !allowed {
			c.findings = append(c.findings, Finding{Field: p, Key: true, Msg: fmt.Sprintf("%s does not apply to a %s fault", p, f.Kind)})
		}
	}
	for _, p := range [...]struct {
		name string
		v    float64
	}{{"rate", f.Rate}, {"magnitude", f.Magnitude}, {"value", derefOr(f.Value)}} {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			c.add(p.name, "", "%s must be a finite number", p.name)
		}
	}
	missing := false
	for _, p := range spec.required {
		if !given(p) {
			c.fs(p, true, "", "a %s fault needs %s", f.Kind, p)
			missing = true
		}
	}
	if !c.target(spec, scope) || missing {
		return c.findings
	}
	if c.tag != nil && spec.numeric && !c.tag.DataType().Numeric() {
		c.add("kind", "", "a %s fault needs a numeric tag; %s is %s", f.Kind, f.Target, c.tag.DataType())
	}
	if spec.check != nil {
		spec.check(c)
	}
	if c.tag == nil {
		c.protocol(spec)
	}
	return c.findings
}

// fs adds a finding that may be about a missing field.
func (c *faultCheck) fs(field string, missing bool, hint, format string, args ...any) {
	c.findings = append(c.findings, Finding{Field: field, Missing: missing, Hint: hint, Msg: fmt.Sprintf(format, args...)})
}

// target resolves the fault's target; false when it does not resolve.
func (c *faultCheck) target(spec *faultSpec, scope FaultScope) bool {
	f := c.f
	mname, tname, isTag := strings.Cut(f.Target, "/")
	switch {
	case f.Target == "":
		c.fs("target", true, "", "fault target is empty")
		return false
	case isTag && !spec.tag:
		c.add("target", fmt.Sprintf("target the machine: %q", mname), "a %s fault targets a machine, not a tag", f.Kind)
		return false
	case !isTag && !spec.machine:
		c.add("target", "write machine/tag", "a %s fault targets a tag, not a machine", f.Kind)
		return false
	}
	m, ok := scope.FaultMachine(mname)
	if !ok {
		c.add("target", didYouMean(mname, scope.MachineNames()), "fault target: unknown machine %q", mname)
		return false
	}
	c.machine = m
	if isTag {
		t, ok := scope.FaultTag(mname, tname)
		if !ok {
			c.add("target", didYouMean(tname, tagNames(m)), "fault target: unknown tag %q", f.Target)
			return false
		}
		c.tag = t
	}
	return true
}

// protocol checks the protocol of a machine fault against the kind and
// the machine's exposure.
func (c *faultCheck) protocol(spec *faultSpec) {
	f, m := c.f, c.machine
	p := f.Protocol
	if spec.protocols == nil {
		p = "" // a kind without protocols: reported as not applying
	}
	switch {
	case p != "" && !slices.Contains(Protocols, p):
		c.add("protocol", hintOr(didYouMean(p, Protocols), "want "+strings.Join(Protocols, " or ")), "unknown protocol %q", p)
	case p != "" && !slices.Contains(spec.protocols, p):
		c.add("protocol", "", "a %s fault applies to %s only", f.Kind, protocolTitle(spec.protocols[0]))
	case p != "" && !exposed(m, p):
		c.add("protocol", "", "machine %q is not exposed over %s", m.Name, protocolTitle(p))
	case p == "" && len(spec.protocols) == 1 && !exposed(m, spec.protocols[0]):
		c.add("target", "", "machine %q is not exposed over %s", m.Name, protocolTitle(spec.protocols[0]))
	case p == "" && !slices.ContainsFunc(Protocols, func(p string) bool { return exposed(m, p) }):
		c.add("target", "", "machine %q is exposed over no protocol", m.Name)
	}
}

// nonZero reports whether parameter p of f has a value other than zero.
func (f *Fault) nonZero(p string) bool {
	switch p {
	case "protocol":
		return f.Protocol != ""
	case "rate":
		return f.Rate != 0
	case "magnitude":
		return f.Magnitude != 0
	case "every":
		return f.Every != 0
	case "value":
		return f.Value != nil
	case "status":
		return f.Status != ""
	case "latency":
		return f.Latency != 0
	case "exception":
		return f.Exception != 0
	case "skew":
		return f.Skew != 0
	}
	return false
}

func derefOr(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// checkFaultStatus checks the status of a quality fault.
func checkFaultStatus(c *faultCheck) {
	if c.f.Status == "" {
		return
	}
	if _, _, err := FaultStatus(c.f); err != nil {
		c.add("status", "", "%v", err)
	}
}

// FaultStatus returns the status code a quality fault (bad_quality,
// uncertain_quality) sets: its Status, a status name or number of the
// kind's severity, or the kind's default (Bad_SensorFailure,
// Uncertain_SensorNotAccurate). A name without a code here but with the
// kind's prefix ("Bad_Something") is the bare severity code, and generic
// is true. The error says why Status does not fit the kind.
func FaultStatus(f *Fault) (code uint32, generic bool, err error) {
	want, bits, def, example := "Bad", uint32(2), StatusBadSensorFailure, "Bad_SensorFailure or 0x808C0000"
	if f.Kind == UncertainQuality {
		want, bits, def, example = "Uncertain", 1, StatusUncertainSensorNotAccurate, "Uncertain_SensorNotAccurate or 0x40930000"
	}
	s := f.Status
	if s == "" {
		return def, false, nil
	}
	if n, perr := strconv.ParseUint(s, 0, 32); perr == nil {
		if uint32(n)>>30 != bits {
			return 0, false, fmt.Errorf("status %s is not %s %s status code (bits 31-30)", s, article(want), want)
		}
		return uint32(n), false, nil
	}
	code, perr := ParseStatus(s)
	switch {
	case perr == nil && code>>30 == bits:
		return code, false, nil
	case perr != nil && strings.HasPrefix(s, want+"_") && len(s) > len(want)+1:
		return bits << 30, true, nil
	}
	return 0, false, fmt.Errorf("status %q is not %s %s status (e.g. %s)", s, article(want), want, example)
}
