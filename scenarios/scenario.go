// Package scenarios defines the otwin scenario format: the YAML file that
// describes a production line (its ISA-95 hierarchy, machines, tags, the
// models their values follow, how they are exposed over OPC UA and Modbus
// TCP, faults, a timeline of scripted events, and workshop exercises).
//
// Load reads and validates a file and returns every problem at once, each
// with file:line:col. The types here are the format's documentation: every
// field carries a doc comment and the yaml name users write. The JSON Schema
// in schema.json is generated from them (see TestSchemaUpToDate).
//
// This package is a leaf of the simulator half; nothing in connectors/,
// normalize/ or tui/ may import it.
package scenarios

import (
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/datatype"
)

// Scenario is one scenario file: a line of virtual machines and what
// happens to them.
type Scenario struct {
	// Name identifies the scenario (letters, digits, '.', '_', '-').
	Name string `yaml:"name" json:"name"`
	// Description says what the scenario shows, in a sentence or two.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Seed makes every random model and fault reproducible: the same seed
	// gives the same series. Default 1.
	Seed int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Tick is the simulation step, e.g. "100ms". Default 100ms; at least 1ms.
	Tick Duration `yaml:"tick,omitempty" json:"tick,omitempty"`
	// TimeScale runs simulated time faster (>1) or slower (<1) than the
	// wall clock. Default 1.
	TimeScale float64 `yaml:"time_scale,omitempty" json:"time_scale,omitempty"`
	// Location is the default ISA-95 location of every machine; a machine's
	// own location fields override it level by level.
	Location Location `yaml:"location,omitempty" json:"location,omitempty"`
	// OPCUA holds the settings shared by every OPC UA endpoint: security
	// modes and users.
	OPCUA OPCUASettings `yaml:"opcua,omitempty" json:"opcua,omitempty"`
	// Modbus holds the settings shared by every Modbus TCP port:
	// connection limits.
	Modbus ModbusSettings `yaml:"modbus,omitempty" json:"modbus,omitempty"`
	// Templates are machine types defined once and instantiated by
	// machines, keyed by template name (e.g. "Filler").
	Templates map[string]Template `yaml:"templates,omitempty" json:"templates,omitempty"`
	// Machines are the virtual machines of the line.
	Machines []Machine `yaml:"machines" json:"machines"`
	// Faults are named faults: with a start they fire on their own; without
	// one they wait for the timeline, an exercise or a live injection.
	Faults []Fault `yaml:"faults,omitempty" json:"faults,omitempty"`
	// Alarms are limit, discrete, off-normal and quality alarms on tags,
	// served as OPC UA conditions (see alarms.go).
	Alarms []Alarm `yaml:"alarms,omitempty" json:"alarms,omitempty"`
	// Timeline is the script of events played from the scenario start.
	Timeline []Event `yaml:"timeline,omitempty" json:"timeline,omitempty"`
	// Roles are the workshop roles participants take.
	Roles []Role `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Exercises are scripted workshop exercises.
	Exercises []Exercise `yaml:"exercises,omitempty" json:"exercises,omitempty"`
	// Checks are what the twin's clients must do while the scenario runs,
	// judged by otwin test (see checks.go).
	Checks []Check `yaml:"checks,omitempty" json:"checks,omitempty"`
	// Context are the sources of production context — work orders,
	// batches, shifts — each served by a machine of its own (an MES or
	// line PLC object) as tags that follow the schedule.
	Context []Context `yaml:"context,omitempty" json:"context,omitempty"`

	// File is the path the scenario was loaded from ("" when embedded or
	// built in code). Not part of the format.
	File string `yaml:"-" json:"-"`
}

// Location places a machine in the ISA-95 equipment hierarchy. Levels a
// plant does not use are left empty and skipped in asset paths.
type Location struct {
	// Enterprise is the company.
	Enterprise string `yaml:"enterprise,omitempty" json:"enterprise,omitempty"`
	// Site is the plant.
	Site string `yaml:"site,omitempty" json:"site,omitempty"`
	// Area is a production area within the site.
	Area string `yaml:"area,omitempty" json:"area,omitempty"`
	// Line is the production line or process cell.
	Line string `yaml:"line,omitempty" json:"line,omitempty"`
	// Cell is the work cell or unit within the line.
	Cell string `yaml:"cell,omitempty" json:"cell,omitempty"`
}

// Template is a machine type: its tags and default protocol exposure.
type Template struct {
	// Description of the machine type.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Tags of every machine built from this template.
	Tags []Tag `yaml:"tags" json:"tags"`
	// Methods of every machine built from this template (see methods.go);
	// served on the template's ObjectType too.
	Methods []Method `yaml:"methods,omitempty" json:"methods,omitempty"`
}

// Machine is one virtual machine (ISA-95 equipment), built from a template,
// from its own tags, or both: a tag of the machine with the name of a
// template tag overrides it field by field.
type Machine struct {
	// Name of the machine, unique in the scenario.
	Name string `yaml:"name" json:"name"`
	// Template names the template this machine instantiates.
	Template string `yaml:"template,omitempty" json:"template,omitempty"`
	// Description of the machine.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Location overrides the scenario's default location level by level.
	Location Location `yaml:"location,omitempty" json:"location,omitempty"`
	// Tags are the machine's own tags, and overrides of template tags.
	Tags []Tag `yaml:"tags,omitempty" json:"tags,omitempty"`
	// OPCUA exposes the machine over OPC UA when set.
	OPCUA *MachineOPCUA `yaml:"opcua,omitempty" json:"opcua,omitempty"`
	// Modbus exposes the machine over Modbus TCP when set; only tags with a
	// modbus mapping are served.
	Modbus *MachineModbus `yaml:"modbus,omitempty" json:"modbus,omitempty"`
	// Methods are the machine's commands (see methods.go), after its
	// template's.
	Methods []Method `yaml:"methods,omitempty" json:"methods,omitempty"`
	// Historizing is the default of the machine's tags' historizing
	// setting. Default true.
	Historizing *bool `yaml:"historizing,omitempty" json:"historizing,omitempty"`
}

// MachineOPCUA exposes a machine on an OPC UA endpoint. Machines that give
// the same non-zero port share one server (one address space), each in
// its own namespace (see opcua.go for the node ids).
type MachineOPCUA struct {
	// Port to listen on; 0 picks a free port when the twin starts.
	Port int `yaml:"port" json:"port"`
	// Namespace is the namespace URI of the machine's nodes. Default
	// "urn:otwin:<scenario name>"; "urn:otwin:<scenario name>:types" is
	// taken by the templates' ObjectTypes.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

// MachineModbus exposes a machine on a Modbus TCP port under one unit id.
// Machines on one port with different unit ids form a gateway.
type MachineModbus struct {
	// Port to listen on; 0 picks a free port when the twin starts.
	Port int `yaml:"port" json:"port"`
	// UnitID is the Modbus unit (slave) id, 0-247. Default 1.
	UnitID int `yaml:"unit_id,omitempty" json:"unit_id,omitempty"`
}

// OPCUASettings are the security settings of every OPC UA endpoint.
type OPCUASettings struct {
	// Security lists the accepted security modes: "none", "sign",
	// "sign_encrypt" (Basic256Sha256). Default: all three.
	Security []string `yaml:"security,omitempty" json:"security,omitempty"`
	// Anonymous allows anonymous sessions. Default true.
	Anonymous *bool `yaml:"anonymous,omitempty" json:"anonymous,omitempty"`
	// AnonymousWrite lets anonymous sessions write writable tags. Default
	// false: anonymous sessions read, and their writes are refused with
	// BadUserAccessDenied.
	AnonymousWrite bool `yaml:"anonymous_write,omitempty" json:"anonymous_write,omitempty"`
	// Users may log in with a user name and password.
	Users []User `yaml:"users,omitempty" json:"users,omitempty"`
	// MaxConnections is the number of client connections each endpoint
	// holds at once. When every one is taken, a new connection closes the
	// one idle the longest (see IdleAfter) and is refused only when every
	// connection is live. Default 64; at most 10000.
	MaxConnections int `yaml:"max_connections,omitempty" json:"max_connections,omitempty" jsonschema:"minimum=1,maximum=10000"`
	// IdleAfter is how long a connection may send nothing, while it waits
	// for no response, and still count as live; a connection that has not
	// opened a secure channel yet is idle from the start. Default 10s.
	IdleAfter Duration `yaml:"idle_after,omitempty" json:"idle_after,omitempty"`
	// MaxSessions is the number of sessions each endpoint holds at once.
	// Default 100; at most 10000.
	MaxSessions int `yaml:"max_sessions,omitempty" json:"max_sessions,omitempty" jsonschema:"minimum=1,maximum=10000"`
	// MaxSessionTimeout caps the session timeout a client may ask for: a
	// session nobody uses for that long is closed, and its subscriptions
	// with it. Default 2m; 10s to 1h.
	MaxSessionTimeout Duration `yaml:"max_session_timeout,omitempty" json:"max_session_timeout,omitempty"`
	// MaxSubscriptionLifetime caps how long a subscription outlives a
	// client that stopped asking for its notifications; it is then deleted
	// with its monitored items. Default 2m; 10s to 1h.
	MaxSubscriptionLifetime Duration `yaml:"max_subscription_lifetime,omitempty" json:"max_subscription_lifetime,omitempty"`
}

// User is an OPC UA user of the twin.
type User struct {
	// Name is the user name.
	Name string `yaml:"name" json:"name"`
	// Password is the user's password.
	Password string `yaml:"password" json:"password"`
	// Write lets the user write writable tags. Default true; a user with
	// write: false reads, and their writes are refused with
	// BadUserAccessDenied.
	Write *bool `yaml:"write,omitempty" json:"write,omitempty"`
}

// Tag is one value of a machine.
type Tag struct {
	// Name of the tag, unique within its machine ([a-zA-Z0-9._-]).
	Name string `yaml:"name" json:"name"`
	// Type is the data type: bool, int16, int32, int64, uint16, uint32,
	// uint64, float32, float64 or string. Default float64.
	Type DataType `yaml:"type,omitempty" json:"type,omitempty"`
	// Unit is the engineering unit: a common symbol ("degC", "°C", "bar",
	// "rpm", "%") or a UNECE Rec 20 code ("CEL").
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Range is the engineering range [low, high]; values outside it are
	// out of range.
	Range *Range `yaml:"range,omitempty" json:"range,omitempty"`
	// Description of the tag.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Writable tags accept writes from clients (setpoints); a write
	// replaces the model's value until the model next changes it, or for
	// good when the model is constant.
	Writable bool `yaml:"writable,omitempty" json:"writable,omitempty"`
	// Model is how the value evolves. Default: constant zero value.
	Model *Model `yaml:"model,omitempty" json:"model,omitempty"`
	// NodeID overrides the OPC UA node id identifier (the part after
	// "s="); by default it is the asset path of the tag.
	NodeID string `yaml:"node_id,omitempty" json:"node_id,omitempty"`
	// Modbus maps the tag to Modbus registers or bits.
	Modbus *Register `yaml:"modbus,omitempty" json:"modbus,omitempty"`
	// Historizing serves the tag's history over OPC UA HistoryRead (see
	// history.go). Default: the machine's historizing, else true.
	Historizing *bool `yaml:"historizing,omitempty" json:"historizing,omitempty"`
	// Context marks a tag that tells the production context of its line
	// (the machine's location): work_order, product, batch, recipe,
	// phase or shift. Sources files exported from the twin read it as a
	// context point. The context section marks the tags it makes.
	Context ctxrole.Role `yaml:"context,omitempty" json:"context,omitempty"`
}

// DefaultType is the type of a tag that gives none.
const DefaultType = Float64

// DataType is the tag's type, DefaultType when it gives none.
func (t *Tag) DataType() DataType {
	if t.Type == "" {
		return DefaultType
	}
	return t.Type
}

// Range is an engineering range [low, high].
type Range struct {
	Low  float64 `yaml:"low" json:"low"`
	High float64 `yaml:"high" json:"high"`
}

// Register maps a tag onto Modbus data. The engineering value is
// raw*scale + offset.
type Register struct {
	// Table is holding, input, coil or discrete.
	Table string `yaml:"table" json:"table"`
	// Address is the 0-based protocol address: holding register 40001 in
	// Modicon numbering is address 0.
	Address int `yaml:"address" json:"address"`
	// Type is the encoding in registers when it differs from the tag's
	// type, e.g. an int16 with scale 0.1 for a float64 temperature.
	Type DataType `yaml:"type,omitempty" json:"type,omitempty"`
	// Order is the byte and word order of values wider than one register:
	// ABCD (big-endian, default), DCBA, BADC, CDAB; for 64-bit values the
	// 8-letter forms (ABCDEFGH, HGFEDCBA, BADCFEHG, GHEFCDAB).
	Order string `yaml:"order,omitempty" json:"order,omitempty"`
	// Scale multiplies the raw value. Default 1.
	Scale float64 `yaml:"scale,omitempty" json:"scale,omitempty"`
	// Offset is added after scaling. Default 0.
	Offset float64 `yaml:"offset,omitempty" json:"offset,omitempty"`
}

// DataType is a tag's data type (see package datatype, the one home of
// the types' facts: widths, ranges, register orders).
type DataType = datatype.Type

// The data types of tags.
const (
	Bool    = datatype.Bool
	Int16   = datatype.Int16
	Int32   = datatype.Int32
	Int64   = datatype.Int64
	Uint16  = datatype.Uint16
	Uint32  = datatype.Uint32
	Uint64  = datatype.Uint64
	Float32 = datatype.Float32
	Float64 = datatype.Float64
	String  = datatype.String
)

// Event is one entry of the timeline. Exactly one of Fault, Clear, Set and
// State is given.
type Event struct {
	// At is the offset from the scenario start.
	At Duration `yaml:"at" json:"at"`
	// Fault names a fault of the scenario to inject.
	Fault string `yaml:"fault,omitempty" json:"fault,omitempty"`
	// Clear names a fault to clear.
	Clear string `yaml:"clear,omitempty" json:"clear,omitempty"`
	// Set writes a value to a tag, as a client would (setpoint change).
	Set *SetValue `yaml:"set,omitempty" json:"set,omitempty"`
	// State forces a state machine tag into a state.
	State *SetState `yaml:"state,omitempty" json:"state,omitempty"`
	// Note is shown in the debrief and the TUI's event log.
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
}

// SetValue writes Value to Tag ("machine/tag").
type SetValue struct {
	Tag   string `yaml:"tag" json:"tag"`
	Value any    `yaml:"value" json:"value"`
}

// SetState forces the state machine of Tag ("machine/tag") into State.
type SetState struct {
	Tag   string `yaml:"tag" json:"tag"`
	State string `yaml:"state" json:"state"`
}

// Role is a workshop role.
type Role struct {
	// Name is the role's name (operator, supervisor, …: the list of
	// package role).
	Name string `yaml:"name" json:"name"`
	// Description of what the role does in the workshop.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// Exercise is a scripted workshop exercise: faults on a timeline and what
// each role is expected to do about them.
type Exercise struct {
	// Name of the exercise.
	Name string `yaml:"name" json:"name"`
	// Description briefs the trainer.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Steps of the exercise, by offset from its start.
	Steps []ExerciseStep `yaml:"steps" json:"steps"`
}

// ExerciseStep injects a fault and states the expected responses.
type ExerciseStep struct {
	// At is the offset from the exercise start.
	At Duration `yaml:"at" json:"at"`
	// Fault names a fault of the scenario to inject.
	Fault string `yaml:"fault" json:"fault"`
	// Expect lists what roles are expected to do.
	Expect []Expectation `yaml:"expect,omitempty" json:"expect,omitempty"`
}

// Expectation is what a role is expected to do, and by when.
type Expectation struct {
	// Role that should act.
	Role string `yaml:"role" json:"role"`
	// Action is acknowledge, comment, shelve or clear.
	Action string `yaml:"action" json:"action"`
	// Within is the time allowed from the injection.
	Within Duration `yaml:"within" json:"within"`
	// Hint is shown in the debrief.
	Hint string `yaml:"hint,omitempty" json:"hint,omitempty"`
}
