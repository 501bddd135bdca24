package sources

import (
	"encoding/base64"
	"fmt"
	"github.com/otwin/otwin/units"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/normalize"
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// CheckNodeID checks an OPC UA node id as the sources file writes it:
// "nsu=<namespace uri>;<id>" or, for namespace 0, "<id>", where <id> is
// i=<uint32>, s=<string>, g=<guid> or b=<base64>. A bare namespace index
// ("ns=2;…") is refused: indexes can change between server restarts.
func CheckNodeID(s string) error {
	id := s
	if rest, ok := strings.CutPrefix(s, "nsu="); ok {
		uri, after, found := strings.Cut(rest, ";")
		if !found || uri == "" {
			return fmt.Errorf("node id %q: want nsu=<namespace uri>;s=<id>", s)
		}
		id = after
	} else if strings.HasPrefix(s, "ns=") {
		return fmt.Errorf("node id %q: use nsu=<namespace uri> instead of a namespace index (indexes can change)", s)
	}
	kind, v, ok := strings.Cut(id, "=")
	if !ok || v == "" {
		return fmt.Errorf("node id %q: want i=, s=, g= or b= after the namespace", s)
	}
	switch kind {
	case "i":
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return fmt.Errorf("node id %q: numeric id %q is not a uint32", s, v)
		}
	case "s":
	case "g":
		if !guidRE.MatchString(v) {
			return fmt.Errorf("node id %q: %q is not a GUID", s, v)
		}
	case "b":
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			return fmt.Errorf("node id %q: %q is not base64", s, v)
		}
	default:
		return fmt.Errorf("node id %q: unknown id type %q (want i, s, g or b)", s, kind)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %v", s, err)
	}
	if u.Scheme != "opc.tcp" {
		return fmt.Errorf("url %q: scheme must be opc.tcp", s)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url %q: no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("url %q: port %q is not 1-65535", s, p)
		}
	}
	return nil
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("address %q: want host:port (%v)", s, err)
	}
	if host == "" {
		return fmt.Errorf("address %q: no host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q: port %q is not 1-65535", s, port)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (f *File) validate(pf *parsed) {
	if len(f.Sources) == 0 {
		pf.add("sources", "no sources: list at least one endpoint under sources")
	}
	f.Defaults.validate(pf, "defaults")
	names := map[string]int{}
	ids := map[string]string{}
	for i := range f.Sources {
		s := &f.Sources[i]
		sp := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			pf.add(sp, "source %d has no name", i+1)
		case !normalize.ValidSegment(s.Name):
			pf.add(sp+".name", "source name %q: use letters, digits, '.', '_' and '-'", s.Name)
		default:
			if j, dup := names[s.Name]; dup {
				pf.add(sp+".name", "source name %q already used by source %d", s.Name, j+1)
			} else {
				names[s.Name] = i
			}
		}
		switch {
		case s.OPCUA != nil && s.Modbus != nil:
			pf.add(sp, "source %q: set exactly one of opcua and modbus, not both", s.Name)
		case s.OPCUA == nil && s.Modbus == nil:
			pf.add(sp, "source %q: set one of opcua or modbus", s.Name)
		case s.OPCUA != nil:
			s.OPCUA.validate(pf, sp+".opcua", s.Name)
			if len(s.Points) == 0 && s.OPCUA.BrowseRoot == "" {
				pf.add(sp, "source %q: no points (and no browse_root)", s.Name)
			}
		case s.Modbus != nil:
			s.Modbus.validate(pf, sp+".modbus", s.Name)
			if len(s.Points) == 0 {
				pf.add(sp, "source %q: no points", s.Name)
			}
		}
		addrs := map[string]int{}
		for j := range s.Points {
			p := &s.Points[j]
			pp := fmt.Sprintf("%s.points[%d]", sp, j)
			p.validate(pf, pp, s)
			addr := p.Node
			if s.Modbus != nil {
				addr = normalize.CanonicalAddress(p.Register)
			}
			if addr != "" {
				if k, dup := addrs[addr]; dup {
					pf.add(pp, "%s: address already read by point %d of source %q", addr, k+1, s.Name)
				} else {
					addrs[addr] = j
				}
			}
			if p.Asset != "" && p.Tag != "" {
				id := p.Asset + "/" + p.Tag
				if prev, dup := ids[id]; dup {
					pf.add(pp+".tag", "tag id %s already used by %s", id, prev)
				} else {
					ids[id] = fmt.Sprintf("point %d of source %q", j+1, s.Name)
				}
			}
		}
	}
}

func (o *OPCUA) validate(pf *parsed, path, name string) {
	if o.URL == "" {
		pf.add(path, "source %q: opcua needs a url (opc.tcp://host:4840)", name)
	} else if err := checkURL(o.URL); err != nil {
		pf.add(path+".url", "source %q: %v", name, err)
	}
	switch o.SecurityMode {
	case "", "None", "Sign", "SignAndEncrypt":
	default:
		pf.add(path+".security_mode", "source %q: security_mode %q: want None, Sign or SignAndEncrypt", name, o.SecurityMode)
	}
	switch o.SecurityPolicy {
	case "", "None", "Basic256Sha256":
	default:
		pf.add(path+".security_policy", "source %q: security_policy %q: want None or Basic256Sha256", name, o.SecurityPolicy)
	}
	secure := o.SecurityMode == "Sign" || o.SecurityMode == "SignAndEncrypt"
	if secure && (o.SecurityPolicy == "" || o.SecurityPolicy == "None") {
		pf.add(path+".security_policy", "source %q: security_mode %s needs security_policy Basic256Sha256", name, o.SecurityMode)
	}
	if !secure && o.SecurityPolicy == "Basic256Sha256" {
		pf.add(path+".security_mode", "source %q: security_policy Basic256Sha256 needs security_mode Sign or SignAndEncrypt", name)
	}
	if (o.Certificate == "") != (o.Key == "") {
		pf.add(path, "source %q: certificate and key go together", name)
	}
	if o.Password != "" && o.Username == "" {
		pf.add(path+".password", "source %q: password without username", name)
	}
	for _, d := range []struct {
		field string
		v     int64
	}{
		{"publishing_interval", int64(o.PublishingInterval)}, {"sampling_interval", int64(o.SamplingInterval)},
		{"poll_interval", int64(o.PollInterval)}, {"timeout", int64(o.Timeout)},
	} {
		if d.v < 0 {
			pf.add(path+"."+d.field, "source %q: %s must not be negative", name, d.field)
		}
	}
	if o.Deadband < 0 || !finite(o.Deadband) {
		pf.add(path+".deadband", "source %q: deadband must be a number >= 0", name)
	}
	if o.BrowseRoot != "" {
		if err := CheckNodeID(o.BrowseRoot); err != nil {
			pf.add(path+".browse_root", "source %q: browse_root: %v", name, err)
		}
	}
	if o.AssetPrefix != "" {
		if o.BrowseRoot == "" {
			pf.add(path+".asset_prefix", "source %q: asset_prefix needs browse_root", name)
		}
		if !normalize.ValidPath(o.AssetPrefix) {
			pf.add(path+".asset_prefix", "source %q: asset_prefix %q: segments must match [a-zA-Z0-9._-]+", name, o.AssetPrefix)
		}
	}
}

func (m *Modbus) validate(pf *parsed, path, name string) {
	if m.Address == "" {
		pf.add(path, "source %q: modbus needs an address (host:502)", name)
	} else if err := checkHostPort(m.Address); err != nil {
		pf.add(path+".address", "source %q: %v", name, err)
	}
	if m.UnitID < 0 || m.UnitID > 255 {
		pf.add(path+".unit_id", "source %q: unit_id %d is not 0-255", name, m.UnitID)
	}
	if m.PollInterval < 0 {
		pf.add(path+".poll_interval", "source %q: poll_interval must not be negative", name)
	}
	if m.Timeout < 0 {
		pf.add(path+".timeout", "source %q: timeout must not be negative", name)
	}
}

func (p *Point) validate(pf *parsed, path string, s *Source) {
	switch {
	case s.OPCUA != nil:
		if p.Register != "" {
			pf.add(path+".register", "register is for Modbus sources; %q is OPC UA (use node)", s.Name)
		}
		if p.Node == "" {
			pf.add(path, "point needs a node (nsu=<namespace uri>;s=<id>)")
		} else if err := CheckNodeID(p.Node); err != nil {
			pf.add(path+".node", "%v", err)
		}
	case s.Modbus != nil:
		if p.Node != "" {
			pf.add(path+".node", "node is for OPC UA sources; %q is Modbus (use register)", s.Name)
		}
		if p.Register == "" {
			pf.add(path, "point needs a register (table:address:type[:order], e.g. holding:100:float32)")
		} else if _, err := modbus.ParseRegister(p.Register); err != nil {
			pf.add(path+".register", "%v", err)
		}
		if p.Clamp && p.Range == nil {
			pf.add(path+".clamp", "clamp needs a range")
		}
	}
	if p.Asset == "" {
		pf.add(path, "point needs an asset (site/area/line/machine)")
	} else if !normalize.ValidPath(p.Asset) {
		pf.add(path+".asset", "asset %q: every segment must match [a-zA-Z0-9._-]+", p.Asset)
	}
	if p.Tag == "" {
		pf.add(path, "point needs a tag")
	} else if !normalize.ValidSegment(p.Tag) {
		pf.add(path+".tag", "tag %q must match [a-zA-Z0-9._-]+", p.Tag)
	}
	if p.Unit != "" {
		if _, ok := units.Lookup(p.Unit); !ok {
			msg := fmt.Sprintf("unknown unit %q", p.Unit)
			if hint := suggest(p.Unit, units.Names()); hint != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", hint)
			}
			pf.add(path+".unit", "%s", msg)
		}
	}
	if p.ConvertFrom != "" {
		from, ok := units.Lookup(p.ConvertFrom)
		to, okTo := units.Lookup(p.Unit)
		switch {
		case !ok:
			pf.add(path+".convert_from", "unknown unit %q to convert from", p.ConvertFrom)
		case p.Unit == "":
			pf.add(path+".convert_from", "convert_from needs a unit to convert to")
		case okTo && !units.Convertible(from, to):
			pf.add(path+".convert_from", "cannot convert %s to %s", from.Symbol, to.Symbol)
		}
	}
	if p.Range != nil {
		if !finite(p.Range.Low) || !finite(p.Range.High) || !(p.Range.Low < p.Range.High) {
			pf.add(path+".range", "range: low %g must be below high %g", p.Range.Low, p.Range.High)
		}
	}
	if !finite(p.Scale) || !finite(p.Offset) {
		pf.add(path, "scale and offset must be finite numbers")
	}
	if p.Rules != nil {
		p.Rules.validate(pf, path+".rules")
	}
}

func (r *Rules) validate(pf *parsed, path string) {
	if !finite(r.Spike) {
		pf.add(path+".spike", "spike must be a number")
	}
	if !finite(r.Deadband) {
		pf.add(path+".deadband", "deadband must be a number")
	}
}
