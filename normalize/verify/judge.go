package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/units"
)

// judge decides pt from the first pass. It returns true when pt is
// decided (right, unreadable, not the twin's) and false when it reads
// wrong or its tag is unknown: then diagnose looks closer.
func (c *check) judge(pt *point, rounds []round) bool {
	if pt.src.machines == nil {
		pt.res.Kind = KindNotTwin
		pt.res.Message = fmt.Sprintf("%s is none of the twin's %s endpoints (%s)", pt.src.endpoint, pt.src.kind.Title, strings.Join(c.endpoints(pt.src.kind.Name), ", "))
		return true
	}
	last := len(rounds) - 1
	pt.res.Read = describeObs(pt.obs[last])
	if pt.tag >= 0 {
		t := &rounds[last].truth.Tags[pt.tag]
		pt.res.Tag = t.ID
		pt.res.Want = c.describeWant(pt, t, c.labelOf(pt, pt.obs[last].sample))
	}
	if why, down := c.unreadable(pt); down {
		pt.res.Kind = KindNoData
		pt.res.Message = why
		return true
	}
	if pt.tag < 0 {
		return false
	}
	if !c.matchesAll(pt, rounds) {
		return false
	}
	pt.res.Kind = KindOK
	pt.res.Message = fmt.Sprintf("reads %s in %d rounds", c.tags[pt.tag].ID, len(rounds))
	if tu := lookupUnit(c.tags[pt.tag].Unit); pt.label.IsZero() && !tu.IsZero() && c.labelOf(pt, pt.obs[last].sample).IsZero() {
		pt.res.Message += fmt.Sprintf(" (the file gives no unit; the twin's is %s)", tu.Symbol)
	}
	return true
}

// endpoints lists the twin's endpoints of protocol proto.
func (c *check) endpoints(proto string) []string {
	seen := map[string]bool{}
	var out []string
	for _, ep := range c.opts.Endpoints {
		at := ep.URL
		if at == "" {
			at = ep.Address
		}
		if ep.Protocol == proto && !seen[at] {
			seen[at] = true
			out = append(out, at)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// unreadable says why pt was never read, when its endpoint never
// answered: the connector's last error.
func (c *check) unreadable(pt *point) (string, bool) {
	for _, o := range pt.obs {
		if o.has && !o.sample.Status.IsBad() {
			return "", false
		}
	}
	h := pt.src.conn.Health()
	if h.State == connectors.Connected {
		return "", false // it answers: the point itself is wrong
	}
	why := fmt.Sprintf("%s is %s", pt.src.endpoint, h.State)
	if h.LastError != nil {
		why += ": " + h.LastError.Error()
	}
	return why, true
}

// matchesAll says pt read its tag right in every round where the twin
// had a value.
func (c *check) matchesAll(pt *point, rounds []round) bool {
	n := 0
	for r := range rounds {
		o := pt.obs[r]
		t := &rounds[r].truth.Tags[pt.tag]
		if t.Value == nil {
			continue
		}
		exp := c.expectFor(pt, t, c.labelOf(pt, o.sample))
		if exp.bad && pt.src.ua != nil {
			// The twin serves a bad status: the point must show it.
			if !o.has || uint32(o.sample.Status)&0xFFFF0000 != t.Status&0xFFFF0000 {
				return false
			}
			n++
			continue
		}
		v, ok := sampleValue(o.sample)
		if !o.has || !ok || !exp.matches(v) {
			return false
		}
		n++
	}
	return n > 0
}

// describeObs says what a point read.
func describeObs(o obs) string {
	if !o.has {
		if o.status != nil {
			return statusText(o.status)
		}
		return "nothing"
	}
	s := o.sample
	if s.Status.IsBad() {
		return s.Status.Name()
	}
	v, _ := sampleValue(s)
	out := v.String()
	if s.Unit.Symbol != "" && !v.isText && !v.isBool {
		out += " " + s.Unit.Symbol
	}
	return out
}

// statusText names a reading's status.
func statusText(err error) string {
	code, _ := normalize.MapStatus(err)
	return code.Name()
}

// describeWant says what pt should read of t, in the unit it labels
// values with (label), else in the twin's.
func (c *check) describeWant(pt *point, t *Tag, label units.Unit) string {
	exp := c.expectFor(pt, t, label)
	if !exp.ok || label.IsZero() {
		label = lookupUnit(t.Unit)
		exp = c.expectFor(pt, t, label)
	}
	if !exp.ok {
		return "nothing"
	}
	if exp.bad && pt.src.ua != nil {
		return connectors.StatusCode(t.Status).Name()
	}
	out := exp.want.String()
	if label.Symbol != "" && !exp.want.isText && !exp.want.isBool {
		out += " " + label.Symbol
	}
	return out
}

// missing lists the twin's tags no point reads.
func (c *check) missing() []Result {
	read := map[int]bool{}
	for _, pt := range c.points {
		if pt.tag >= 0 && pt.res.Kind != KindNotTwin {
			read[pt.tag] = true
		}
	}
	// A source that finds its points by browsing reads what its endpoint
	// serves (its values are not checked: the file names no point).
	for _, src := range c.srcs {
		if src.s.Config.Discovery() == nil {
			continue
		}
		for i := range c.tags {
			if c.tags[i].OPCUA != nil && src.onMachine(c.tags[i].Machine) {
				read[i] = true
			}
		}
	}
	var out []Result
	for i := range c.tags {
		if read[i] {
			continue
		}
		t := &c.tags[i]
		r := Result{Tag: t.ID, Kind: KindMissing, Message: "no point of the file reads this twin tag"}
		var fixes []string
		if t.OPCUA != nil {
			addr := "nsu=" + t.OPCUA.Namespace + ";s=" + t.OPCUA.ID
			r.Protocol, r.Address = "opcua", addr
			fixes = append(fixes, "node: "+addr)
		}
		if t.Modbus != nil {
			reg, err := twinRegister(t.Modbus)
			if err == nil {
				fix := fmt.Sprintf("register: %s (unit %d)", reg, t.Modbus.UnitID)
				if t.Modbus.Scale != 1 {
					fix += fmt.Sprintf(", scale: %s", num(t.Modbus.Scale))
				}
				if t.Modbus.Offset != 0 {
					fix += fmt.Sprintf(", offset: %s", num(t.Modbus.Offset))
				}
				fixes = append(fixes, fix)
				if r.Address == "" {
					r.Protocol, r.Address = "modbus", reg.String()
				}
			}
		}
		r.Fix = strings.Join(fixes, "; or ")
		if u := lookupUnit(t.Unit); !u.IsZero() {
			r.Fix += ", unit: " + unitKey(u)
		}
		out = append(out, r)
	}
	return out
}

// twinRegister is the register the twin serves r at, as the Modbus kind
// writes it.
func twinRegister(r *Register) (modbus.Register, error) {
	s := fmt.Sprintf("%s:%d:%s", r.Table, r.Address, r.Type)
	if o := order64(r.Order, r.Type); len(o) >= 4 {
		s += ":" + o
	}
	return modbus.ParseRegister(s)
}

// order64 is the order o of a register of type typ as the Modbus kind
// writes it: the 8-letter form for 64-bit values, "" for one register.
func order64(o, typ string) string {
	switch typ {
	case "int64", "uint64", "float64":
		if len(o) == 4 {
			return map[string]string{"ABCD": "ABCDEFGH", "DCBA": "HGFEDCBA", "BADC": "BADCFEHG", "CDAB": "GHEFCDAB"}[o]
		}
	case "int32", "uint32", "float32":
	default:
		return ""
	}
	return o
}
