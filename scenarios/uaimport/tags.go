package uaimport

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/units"
)

// maxDescription bounds a description carried into the scenario.
const maxDescription = 500

// tag maps variable v to a tag named nm. ns is the namespace of the
// machine the tag belongs to, "" for a template's declaration (whose node
// id the template does not keep).
func (m *mapper) tag(v *Node, nm, ns string) *tag {
	ti := m.dataType(v.DataType)
	if ti.typ == "" {
		m.report(v, Dropped, "%s", ti.why)
		return nil
	}
	switch v.ValueRank {
	case -1:
	case -2, -3:
		m.report(v, Changed, "ValueRank %d (scalar or array) is served as a scalar", v.ValueRank)
	default:
		m.report(v, Dropped, "arrays are not imported (ValueRank %d)", v.ValueRank)
		return nil
	}
	if ti.why != "" {
		m.report(v, Changed, "%s", ti.why)
	}
	tg := &tag{node: v, t: scenarios.Tag{Name: nm, Type: ti.typ}}
	notes := []string{v.ID.String(), m.dataTypeLabel(v.DataType)}
	if ns != "" {
		switch sid, ok := v.ID.StringID(); {
		case ok && utf8.ValidString(sid):
			tg.t.NodeID = sid
		case ok:
			m.report(v, Changed, "node id %q is not valid UTF-8: the twin serves the tag under its asset path", sid)
		default:
			m.report(v, Changed, "node id %s is not a string id: the twin serves the tag under its asset path", v.ID.ID)
		}
		if v.ID.NS != ns {
			m.report(v, Changed, "in namespace %s, not its machine's (%s): served in the machine's", v.ID.NS, ns)
		}
	}
	tg.t.Description = description(v.Description)
	tg.t.Writable = v.AccessLevel&2 != 0
	if v.AccessLevel&4 == 0 {
		tg.t.Historizing = new(bool) // no HistoryRead bit: the twin serves no history either
	}
	states := ti.states
	enum := ti.enum
	for _, e := range m.children[v.ID] {
		c := m.node(e.node)
		if c == nil {
			m.missing(v.ID, e.node)
			continue
		}
		m.used[c.ID] = true
		if c.Class != ClassVariable || e.kind != kProperty {
			m.report(c, Dropped, "%s %s below a variable is not imported", strings.ToLower(c.Class.String()), c.BrowseName)
			continue
		}
		switch c.BrowseName {
		case "EngineeringUnits", "EURange":
			m.propertyID(v, c, tg.t.NodeID, ns)
		}
		switch c.BrowseName {
		case "EngineeringUnits":
			var symbol string
			tg.t.Unit, symbol = m.unit(c)
			if symbol != "" && symbol != tg.t.Unit {
				notes = append(notes, symbol)
			}
		case "EURange":
			tg.t.Range = m.euRange(c)
		case "EnumStrings", "EnumValues":
			enum = true
			if states == nil {
				states = m.enumProperty(v)
			}
		default:
			m.report(c, Dropped, "property %s of a variable is not imported", c.BrowseName)
		}
	}
	if td := m.typeDefinition(v, tg); td != "" {
		notes = append(notes, td)
	}
	if !enum || !tg.t.Type.Numeric() {
		states = nil
	} else if len(states) == 0 {
		m.report(v, Changed, "an enumeration without named values: served as %s with its codes as states", servedTypeName(tg.t.Type))
	}
	var modelNote string
	tg.t.Model, modelNote = m.model(v, tg.t.Type, enum && tg.t.Type.Numeric(), states)
	if modelNote != "" {
		notes = append(notes, modelNote)
	}
	tg.note = strings.Join(notes, " · ")
	return tg
}

// propertyID reports an EngineeringUnits or EURange property p of v that
// the twin serves with another node id: "<tag node id>#<browse name>" in
// the machine's namespace.
func (m *mapper) propertyID(v, p *Node, tagID, ns string) {
	if ns == "" || tagID == "" {
		return // a declaration, or a tag without its node id: reported already
	}
	suffix := scenarios.EngineeringUnitsSuffix
	if p.BrowseName == "EURange" {
		suffix = scenarios.EURangeSuffix
	}
	if served := (NodeID{NS: ns, ID: "s=" + tagID + suffix}); p.ID != served {
		m.report(p, Changed, "served as %s", served)
	}
}

// dataTypeLabel names data type id for a tag's comment.
func (m *mapper) dataTypeLabel(id NodeID) string {
	if u, ok := m.uaType(id); ok {
		return u.name
	}
	if n := m.node(id); n != nil {
		return typeName(n)
	}
	return id.String()
}

// typeDefinition checks the type definition of v against what the twin
// serves for tg (AnalogItemType with a range, BaseDataVariableType
// otherwise), reports a difference, and returns the label for the tag's
// comment.
func (m *mapper) typeDefinition(v *Node, tg *tag) string {
	td := m.typeDef[v.ID]
	served, label := BaseDataVariableType, "BaseDataVariableType"
	if tg.t.Range != nil {
		served, label = AnalogItemType, "AnalogItemType"
	}
	if td == served || td.IsZero() && served == BaseDataVariableType {
		return label
	}
	why := ""
	switch {
	case td == AnalogItemType && tg.t.Range == nil:
		why = " (it has no EURange)"
	case td == MultiStateDiscreteType || td == MultiStateValueDiscreteType:
		why = " (its EnumStrings or EnumValues are the states of a state machine)"
	case td == PropertyType:
		why = " (a property of an object becomes a tag)"
	}
	m.report(v, Changed, "type definition %s is served as %s%s", m.typeLabel(td), label, why)
	return label
}

// unit maps an EngineeringUnits property to a unit the scenario accepts
// (a UNECE code, or a symbol for units without one) and its symbol; ""
// when otwin's unit table has none (reported).
func (m *mapper) unit(p *Node) (unit, symbol string) {
	eu, ok := p.Value.(EUInformation)
	if !ok {
		m.report(p, Dropped, "EngineeringUnits without an EUInformation value")
		return "", ""
	}
	if eu.NamespaceURI == units.Namespace || eu.NamespaceURI == "" {
		if code := units.UnpackUnitID(eu.UnitID); code != "" {
			if u, ok := units.Lookup(code); ok && u.Code == code {
				return code, u.Symbol
			}
		}
	}
	if u, ok := units.Lookup(eu.DisplayName); ok {
		if u.UnitID != eu.UnitID {
			m.report(p, Changed, "unit %q (UnitId %d) is served as %q (UnitId %d)", eu.DisplayName, eu.UnitID, u.Symbol, u.UnitID)
		}
		if u.Code != "" {
			return u.Code, u.Symbol
		}
		return u.Symbol, u.Symbol
	}
	code := units.UnpackUnitID(eu.UnitID)
	if code != "" {
		code = ", code " + code
	}
	m.report(p, Dropped, "unit %q (UnitId %d%s) is not in otwin's unit table", eu.DisplayName, eu.UnitID, code)
	return "", ""
}

// euRange maps an EURange property; nil when it holds no valid range
// (reported).
func (m *mapper) euRange(p *Node) *scenarios.Range {
	r, ok := p.Value.(Range)
	if !ok {
		m.report(p, Dropped, "EURange without a Range value")
		return nil
	}
	if math.IsNaN(r.Low) || math.IsNaN(r.High) || math.IsInf(r.Low, 0) || math.IsInf(r.High, 0) || r.Low > r.High {
		m.report(p, Dropped, "EURange [%v, %v] is not a range", r.Low, r.High)
		return nil
	}
	return &scenarios.Range{Low: r.Low, High: r.High}
}

// description trims a description to one bounded paragraph.
func description(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxDescription {
		cut := maxDescription
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
