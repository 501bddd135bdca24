package scenarios

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// CheckKind names what a check asserts about the clients of the twin.
type CheckKind string

// The check kinds.
const (
	// CheckResubscribe: every client that read or subscribed a tag of the
	// fault's machine in the 10 s before the fault started reads or
	// subscribes all those tags again within Within of the fault's end (of
	// its start for a disconnect without duration).
	CheckResubscribe CheckKind = "resubscribe"
	// CheckWriteRange: no client writes a value outside the range of any
	// of Tags (default: every tag with a range), or outside Range.
	CheckWriteRange CheckKind = "write_range"
	// CheckWritten: a client writes Value to Tag within Within of the
	// event: each injection of Fault, or the offset At.
	CheckWritten CheckKind = "written"
	// CheckPolled: every tag of Machine that its endpoints serve is read,
	// or in a subscription that samples it, at least every Every.
	CheckPolled CheckKind = "polled"
	// CheckMaxSessions: no client (a host at one endpoint) holds more
	// than Max OPC UA sessions or Modbus connections at once.
	CheckMaxSessions CheckKind = "max_sessions"
)

// ResubscribeLookback is how long before a fault a client must have read
// or subscribed the machine to be expected back (CheckResubscribe).
const ResubscribeLookback = Duration(10e9)

// Check is an assertion about what the clients of the twin do, judged at
// the twin's servers while the scenario runs (otwin test). Each kind takes
// the fields its description names.
type Check struct {
	// Name identifies the check in reports.
	Name string `yaml:"name" json:"name"`
	// Kind is what the check asserts.
	Kind CheckKind `yaml:"kind" json:"kind"`
	// Description says what the check is for; shown in reports.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Client limits the check to the clients that match it: a glob
	// (path.Match syntax) matched against the client's host, host:port,
	// OPC UA session name and user. Default: every client.
	Client string `yaml:"client,omitempty" json:"client,omitempty"`
	// Fault names the fault of the scenario the check is about
	// (resubscribe: a comm_loss or disconnect; written: the event is each
	// injection of it).
	Fault string `yaml:"fault,omitempty" json:"fault,omitempty"`
	// At is the event's offset from the scenario start (written, instead
	// of a fault).
	At *Duration `yaml:"at,omitempty" json:"at,omitempty"`
	// Machine is the machine whose tags are polled (polled), or the
	// machine whose endpoints count (max_sessions; default every
	// endpoint).
	Machine string `yaml:"machine,omitempty" json:"machine,omitempty"`
	// Tag is the tag written, "machine/tag" (written).
	Tag string `yaml:"tag,omitempty" json:"tag,omitempty"`
	// Tags are the tags watched, "machine/tag" (write_range; default every
	// tag with a range).
	Tags []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Value is the value the tag must be written to (written).
	Value any `yaml:"value,omitempty" json:"value,omitempty"`
	// Tolerance lets a written number differ from Value by this much
	// (written; default 0: exactly).
	Tolerance float64 `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
	// Range replaces each tag's own range (write_range).
	Range *Range `yaml:"range,omitempty" json:"range,omitempty"`
	// Within is the time allowed (resubscribe, written), simulated time.
	Within Duration `yaml:"within,omitempty" json:"within,omitempty"`
	// Every is the longest time a tag may go unread (polled).
	Every Duration `yaml:"every,omitempty" json:"every,omitempty"`
	// From is when polling is checked from (polled); default: Every after
	// the first client connects to the machine's endpoints.
	From *Duration `yaml:"from,omitempty" json:"from,omitempty"`
	// Grace forgives gaps for this long after a comm_loss or disconnect
	// fault of the machine ends (polled); the time the fault is active is
	// never counted.
	Grace Duration `yaml:"grace,omitempty" json:"grace,omitempty"`
	// Max is the most sessions or connections a client may hold at once
	// (max_sessions).
	Max int `yaml:"max,omitempty" json:"max,omitempty"`
	// Protocol limits the check to clients of one protocol, opcua or
	// modbus (polled, max_sessions).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
}

// checkSpec is what one check kind takes: its fields besides name, kind,
// description and client, which of them it requires, and the rules of
// their values.
type checkSpec struct {
	kind     CheckKind
	params   []string
	required []string
	check    func(v *validator, c *Check, path string)
}

// checkSpecs is the one table of check kinds, in documentation order.
var checkSpecs = []checkSpec{
	{kind: CheckResubscribe, params: []string{"fault", "within"}, required: []string{"fault", "within"}, check: checkResubscribe},
	{kind: CheckWriteRange, params: []string{"tags", "range"}, check: checkWriteRange},
	{kind: CheckWritten, params: []string{"tag", "value", "tolerance", "fault", "at", "within"}, required: []string{"tag", "value", "within"}, check: checkWritten},
	{kind: CheckPolled, params: []string{"machine", "every", "from", "grace", "protocol"}, required: []string{"machine", "every"}, check: checkPolled},
	{kind: CheckMaxSessions, params: []string{"max", "machine", "protocol"}, required: []string{"max"}, check: checkMaxSessions},
}

// CheckKinds lists every check kind.
var CheckKinds = func() []CheckKind {
	out := make([]CheckKind, len(checkSpecs))
	for i, s := range checkSpecs {
		out[i] = s.kind
	}
	return out
}()

// checkParams are the fields a kind may take, in field order.
var checkParams = []string{"fault", "at", "machine", "tag", "tags", "value", "tolerance", "range", "within", "every", "from", "grace", "max", "protocol"}

// checkList checks the scenario's checks.
func (v *validator) checkList() {
	names := map[string]bool{}
	kinds := make([]string, len(CheckKinds))
	for i, k := range CheckKinds {
		kinds[i] = string(k)
	}
	for i := range v.s.Checks {
		c := &v.s.Checks[i]
		p := fmt.Sprintf("checks[%d]", i)
		switch {
		case c.Name == "" && !v.bad(p+".name"):
			v.add(v.at(p, "name"), "", "a check needs a name")
		case names[c.Name]:
			v.add(v.at(p, "name"), "", "duplicate check %q", c.Name)
		default:
			v.name(p+".name", "check", c.Name)
		}
		names[c.Name] = true
		i := slices.IndexFunc(checkSpecs, func(s checkSpec) bool { return s.kind == c.Kind })
		if i < 0 {
			if c.Kind == "" {
				v.add(v.at(p, ""), "want one of "+orList(kinds), "a check needs a kind")
			} else {
				v.add(v.at(p, "kind"), didYouMean(string(c.Kind), kinds), "unknown check kind %q", c.Kind)
			}
			continue
		}
		spec := &checkSpecs[i]
		missing := false
		for _, f := range checkParams {
			given := v.has(p + "." + f)
			switch {
			case given && !slices.Contains(spec.params, f):
				v.add(v.key(p+"."+f), "", "%s does not apply to a %s check", f, c.Kind)
			case !given && slices.Contains(spec.required, f):
				v.add(v.at(p, "kind"), "", "a %s check needs %s", c.Kind, f)
				missing = true
			}
		}
		if c.Client != "" {
			if _, err := path.Match(c.Client, ""); err != nil {
				v.add(v.at(p, "client"), "a host, host:port, session name or user; * and ? match any text", "client pattern %q: %v", c.Client, err)
			}
		}
		if !missing {
			spec.check(v, c, p)
		}
	}
}

func checkResubscribe(v *validator, c *Check, p string) {
	if c.Within <= 0 {
		v.add(v.at(p, "within"), "", "within must be > 0")
	}
	f, ok := v.faults[c.Fault]
	if !ok {
		v.faultRef(c.Fault, v.at(p, "fault"))
		return
	}
	if f.Kind != CommLoss && f.Kind != Disconnect {
		v.add(v.at(p, "fault"), "resubscribe follows a comm_loss or disconnect fault", "fault %q is a %s fault; its clients keep their connection", c.Fault, f.Kind)
	}
}

func checkWriteRange(v *validator, c *Check, p string) {
	if r := c.Range; r != nil && r.Low > r.High {
		v.add(v.at(p, "range"), "", "range low %v is above high %v", r.Low, r.High)
	}
	for k, ref := range c.Tags {
		tp := fmt.Sprintf("%s.tags[%d]", p, k)
		rt := v.tagRef(ref, v.at(tp, ""))
		switch {
		case rt == nil:
		case !rt.tag.DataType().Numeric():
			v.add(v.at(tp, ""), "", "tag %q is %s: it has no range", ref, rt.tag.DataType())
		case rt.tag.Range == nil && c.Range == nil:
			v.add(v.at(tp, ""), "give the tag a range, or the check one", "tag %q has no range", ref)
		}
	}
	if len(c.Tags) == 0 && c.Range != nil {
		v.add(v.at(p, "range"), "list the tags it applies to", "a range for every tag needs tags")
	}
}

func checkWritten(v *validator, c *Check, p string) {
	if c.Within <= 0 {
		v.add(v.at(p, "within"), "", "within must be > 0")
	}
	switch {
	case c.Fault != "" && c.At != nil:
		v.add(v.at(p, "at"), "", "give fault or at, not both")
	case c.Fault == "" && c.At == nil:
		v.add(v.at(p, "kind"), "the event: fault: <name> (each injection) or at: <offset>", "a written check needs fault or at")
	case c.Fault != "":
		v.faultRef(c.Fault, v.at(p, "fault"))
	case *c.At < 0:
		v.add(v.at(p, "at"), "", "at %s is negative", *c.At)
	}
	if c.Tolerance < 0 {
		v.add(v.at(p, "tolerance"), "", "tolerance must be >= 0")
	}
	rt := v.tagRef(c.Tag, v.at(p, "tag"))
	if rt == nil {
		return
	}
	if !rt.tag.Writable {
		v.add(v.at(p, "tag"), "mark it writable: true", "tag %q is not writable: no client can write it", c.Tag)
	}
	val := c.Value
	if text, ok := v.d.lits[p+".value"]; ok {
		val = json.Number(text)
	}
	if _, err := Exact(rt.tag.DataType(), val); err != nil {
		v.add(v.at(p, "value"), "", "value %v", err)
	}
}

func checkPolled(v *validator, c *Check, p string) {
	if c.Every <= 0 {
		v.add(v.at(p, "every"), "", "every must be > 0")
	}
	if c.From != nil && *c.From < 0 {
		v.add(v.at(p, "from"), "", "from %s is negative", *c.From)
	}
	if c.Grace < 0 {
		v.add(v.at(p, "grace"), "", "grace must be >= 0")
	}
	v.checkMachineProtocol(c, p)
}

func checkMaxSessions(v *validator, c *Check, p string) {
	if c.Max < 1 {
		v.add(v.at(p, "max"), "", "max must be >= 1")
	}
	if c.Machine != "" || c.Protocol != "" {
		v.checkMachineProtocol(c, p)
	}
}

// checkMachineProtocol checks a check's machine (when given) and
// protocol: known, and the machine served over the protocol.
func (v *validator) checkMachineProtocol(c *Check, p string) {
	if c.Protocol != "" && !slices.Contains(Protocols, c.Protocol) {
		v.add(v.at(p, "protocol"), hintOr(didYouMean(c.Protocol, Protocols), "want "+strings.Join(Protocols, " or ")), "unknown protocol %q", c.Protocol)
		return
	}
	if c.Machine == "" {
		return
	}
	i, ok := v.machines[c.Machine]
	if !ok {
		v.add(v.at(p, "machine"), didYouMean(c.Machine, mapKeys(v.machines)), "unknown machine %q", c.Machine)
		return
	}
	m := &v.s.Machines[i]
	switch {
	case c.Protocol != "" && !exposed(m, c.Protocol):
		v.add(v.at(p, "protocol"), "", "machine %q is not exposed over %s", m.Name, protocolTitle(c.Protocol))
	case !slices.ContainsFunc(Protocols, func(pr string) bool { return exposed(m, pr) }):
		v.add(v.at(p, "machine"), "", "machine %q is exposed over no protocol: no client can reach it", m.Name)
	}
}
