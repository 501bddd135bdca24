package scenarios

// The names the format gives protocols, security modes, Modbus tables and
// exercise actions: the one list of each, which the validator, the twin
// and the JSON Schema (schema_test.go) read.

// The protocols a machine is served over; the names of Fault.Protocol and
// of the twin's links.
const (
	ProtocolOPCUA  = "opcua"
	ProtocolModbus = "modbus"
)

// Protocols lists every protocol.
var Protocols = []string{ProtocolOPCUA, ProtocolModbus}

// protocolTitle is a protocol's name in messages.
func protocolTitle(p string) string {
	switch p {
	case ProtocolOPCUA:
		return "OPC UA"
	case ProtocolModbus:
		return "Modbus"
	}
	return p
}

// exposed reports whether machine m is served over protocol p.
func exposed(m *Machine, p string) bool {
	switch p {
	case ProtocolOPCUA:
		return m.OPCUA != nil
	case ProtocolModbus:
		return m.Modbus != nil
	}
	return false
}

// The OPC UA security modes of OPCUASettings.Security. The signed modes
// use Basic256Sha256.
const (
	SecurityNone        = "none"
	SecuritySign        = "sign"
	SecuritySignEncrypt = "sign_encrypt"
)

// SecurityModes lists the accepted OPC UA security modes (the default:
// all of them).
var SecurityModes = []string{SecurityNone, SecuritySign, SecuritySignEncrypt}

// Tables are the Modbus tables a tag may be mapped to.
var Tables = []string{"holding", "input", "coil", "discrete"}

// Actions are what an exercise may expect a role to do.
var Actions = []string{"acknowledge", "comment", "shelve", "clear"}
