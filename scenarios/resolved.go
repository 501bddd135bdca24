package scenarios

import "strings"

// What Load guarantees about a scenario it returns without error (the
// "resolved" form every consumer, the twin first, relies on):
//
//   - Seed, Tick and TimeScale are set (defaults 1, 100ms, 1).
//   - Every machine's Tags holds its full tag list: its template's tags,
//     with the machine's own tags of the same name overriding them field by
//     field (a non-zero field wins), followed by its own new tags, in file
//     order. Templates are not needed after Load.
//   - Every machine's Location is the scenario Location overridden by the
//     machine's non-empty levels.
//   - Every tag has a Type (default float64); a tag with a Modbus mapping
//     has Modbus.Type (default: the tag type, or bool for coil/discrete),
//     Modbus.Order (default ABCD or ABCDEFGH by width) and Modbus.Scale
//     (default 1) set; Modbus.Table is lower case.
//   - Every tag has Historizing set (default: its machine's, else true).
//   - Every machine's Methods holds its full method list: its template's
//     methods, each replaced by the machine's own of the same name,
//     followed by its own new ones (see methods.go).
//   - MachineModbus.UnitID is set (default 1); MachineOPCUA.Namespace is
//     set (default "urn:otwin:<scenario name>").
//   - OPCUA.Security is set (default none, sign, sign_encrypt) and
//     OPCUA.Anonymous is non-nil.
//   - Every reference (template, tag, fault, role, state) resolves, no
//     expression refers to an unknown tag, and expressions have no cycle
//     among expr and counter-when models (integrate and lag break cycles:
//     they carry their value over from the previous tick).
//   - Tags of machines built from one template share the template's
//     Model and Range values: treat a resolved scenario as read-only
//     (Example returns a fresh one each call).

// Segments returns the non-empty levels of l, from enterprise to cell.
func (l Location) Segments() []string {
	var segs []string
	for _, s := range []string{l.Enterprise, l.Site, l.Area, l.Line, l.Cell} {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

// AssetPath is the machine's ISA-95 path: its location's levels and its
// name, joined by "/" (e.g. "acme/springfield/packaging/line1/filler1").
// Call it on a resolved scenario's machine.
func (m *Machine) AssetPath() string {
	return strings.Join(append(m.Location.Segments(), m.Name), "/")
}
