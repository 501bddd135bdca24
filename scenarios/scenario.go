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

import "github.com/otwin/otwin/datatype"

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
	// Timeline is the script of events played from the scenario start.
	Timeline []Event `yaml:"timeline,omitempty" json:"timeline,omitempty"`
	// Roles are the workshop roles participants take.
	Roles []Role `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Exercises are scripted workshop exercises.
	Exercises []Exercise `yaml:"exercises,omitempty" json:"exercises,omitempty"`

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
}

// MachineOPCUA exposes a machine on an OPC UA endpoint. Machines that give
// the same non-zero port share one server (one address space).
type MachineOPCUA struct {
	// Port to listen on; 0 picks a free port when the twin starts.
	Port int `yaml:"port" json:"port"`
	// Namespace is the namespace URI of the machine's nodes. Default
	// "urn:otwin:<scenario name>".
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
	// Users may log in with a user name and password.
	Users []User `yaml:"users,omitempty" json:"users,omitempty"`
}

// User is an OPC UA user of the twin.
type User struct {
	// Name is the user name.
	Name string `yaml:"name" json:"name"`
	// Password is the user's password.
	Password string `yaml:"password" json:"password"`
	// Write lets the user write writable tags. Default true.
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

// Model is how a tag's value evolves over simulated time. Exactly one kind
// is set. Noise, when set beside another kind, is added to it.
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
}

// Constant is a fixed value.
type Constant struct {
	// Value of the tag, of the tag's type.
	Value any `yaml:"value" json:"value"`
}

// Sine is offset + amplitude*sin(2π t/period + phase).
type Sine struct {
	Offset    float64  `yaml:"offset,omitempty" json:"offset,omitempty"`
	Amplitude float64  `yaml:"amplitude" json:"amplitude"`
	Period    Duration `yaml:"period" json:"period"`
	// Phase in degrees.
	Phase float64 `yaml:"phase,omitempty" json:"phase,omitempty"`
}

// Ramp rises from Min to Max over Period.
type Ramp struct {
	Min    float64  `yaml:"min" json:"min"`
	Max    float64  `yaml:"max" json:"max"`
	Period Duration `yaml:"period" json:"period"`
	// Shape is sawtooth (default: rise, then jump back) or triangle (rise,
	// then fall).
	Shape string `yaml:"shape,omitempty" json:"shape,omitempty" jsonschema:"enum=sawtooth,enum=triangle"`
}

// Square alternates between Low and High; High for Duty of each Period.
type Square struct {
	Low    float64  `yaml:"low" json:"low"`
	High   float64  `yaml:"high" json:"high"`
	Period Duration `yaml:"period" json:"period"`
	// Duty is the fraction of the period spent high, 0-1. Default 0.5.
	Duty float64 `yaml:"duty,omitempty" json:"duty,omitempty"`
}

// RandomWalk starts at Start and moves by a uniform step in [-Step, Step]
// each tick, kept within [Min, Max].
type RandomWalk struct {
	Start float64 `yaml:"start" json:"start"`
	Step  float64 `yaml:"step" json:"step"`
	Min   float64 `yaml:"min" json:"min"`
	Max   float64 `yaml:"max" json:"max"`
}

// Noise is Gaussian noise with the given mean and standard deviation.
type Noise struct {
	Mean   float64 `yaml:"mean,omitempty" json:"mean,omitempty"`
	StdDev float64 `yaml:"stddev" json:"stddev"`
}

// Counter counts up by Rate per simulated second (fractional counts are
// kept internally), rolling over to Start at Rollover.
type Counter struct {
	Start float64 `yaml:"start,omitempty" json:"start,omitempty"`
	// Rate is counts per simulated second.
	Rate float64 `yaml:"rate" json:"rate"`
	// Rollover is the value at which the counter wraps to Start; 0 means
	// the maximum of the tag's type.
	Rollover float64 `yaml:"rollover,omitempty" json:"rollover,omitempty"`
	// When is an expression over other tags; the counter only counts while
	// it is true (e.g. `state == "Running"` for a production counter).
	When string `yaml:"when,omitempty" json:"when,omitempty"`
}

// Steps is a schedule: the value of the last step whose At has passed.
type Steps struct {
	Steps []Step `yaml:"steps" json:"steps"`
	// Repeat restarts the schedule after the last step's At plus Hold.
	Repeat bool `yaml:"repeat,omitempty" json:"repeat,omitempty"`
	// Hold is how long the last step lasts before a repeat. Default: the
	// first step's At gap.
	Hold Duration `yaml:"hold,omitempty" json:"hold,omitempty"`
}

// Step is one entry of a schedule.
type Step struct {
	At    Duration `yaml:"at" json:"at"`
	Value any      `yaml:"value" json:"value"`
}

// StateMachine moves between states. The tag's value is the state's name
// for string tags and its code for numeric tags.
type StateMachine struct {
	// Initial state's name. Default: the first state.
	Initial string `yaml:"initial,omitempty" json:"initial,omitempty"`
	// States of the machine.
	States []State `yaml:"states" json:"states"`
}

// State is one state of a state machine.
type State struct {
	// Name of the state, e.g. Running.
	Name string `yaml:"name" json:"name"`
	// Code is the state's value for numeric tags. Default: its index.
	Code *int64 `yaml:"code,omitempty" json:"code,omitempty"`
	// Dwell is how long the machine stays in the state: a random time
	// between Min and Max.
	Dwell DwellTime `yaml:"dwell" json:"dwell"`
	// Next maps each successor state to its weight; weights are normalized.
	// An empty Next keeps the machine in this state.
	Next map[string]float64 `yaml:"next,omitempty" json:"next,omitempty"`
}

// DwellTime is a random duration in [Min, Max].
type DwellTime struct {
	Min Duration `yaml:"min" json:"min"`
	Max Duration `yaml:"max" json:"max"`
}

// Expr computes a value from other tags. Names refer to tags of the same
// machine, or "machine.tag" to other machines' tags; `t` is the simulated
// time in seconds. Syntax: github.com/expr-lang/expr.
type Expr struct {
	Expr string `yaml:"expr" json:"expr"`
}

// Integrate accumulates Rate (an expression, units per simulated second)
// from Initial, kept within [Min, Max] when they are set.
type Integrate struct {
	Rate    string   `yaml:"rate" json:"rate"`
	Initial float64  `yaml:"initial,omitempty" json:"initial,omitempty"`
	Min     *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max     *float64 `yaml:"max,omitempty" json:"max,omitempty"`
}

// Lag follows Input (an expression) with time constant Tau:
// dy/dt = (input - y) / tau.
type Lag struct {
	Input   string   `yaml:"input" json:"input"`
	Tau     Duration `yaml:"tau" json:"tau"`
	Initial float64  `yaml:"initial,omitempty" json:"initial,omitempty"`
}

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
	// Exception (1 illegal function, 2 illegal address, 4 device failure,
	// 6 busy, 11 gateway target failed).
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
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty" jsonschema:"enum=opcua,enum=modbus"`
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
	// Name is one of operator, supervisor, maintenance, quality, engineer,
	// trainer.
	Name string `yaml:"name" json:"name" jsonschema:"enum=operator,enum=supervisor,enum=maintenance,enum=quality,enum=engineer,enum=trainer"`
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
	Role string `yaml:"role" json:"role" jsonschema:"enum=operator,enum=supervisor,enum=maintenance,enum=quality,enum=engineer,enum=trainer"`
	// Action is acknowledge, comment, shelve or clear.
	Action string `yaml:"action" json:"action" jsonschema:"enum=acknowledge,enum=comment,enum=shelve,enum=clear"`
	// Within is the time allowed from the injection.
	Within Duration `yaml:"within" json:"within"`
	// Hint is shown in the debrief.
	Hint string `yaml:"hint,omitempty" json:"hint,omitempty"`
}
