// Package twin is the simulation engine: a seeded, deterministic clock that
// evaluates every tag model of a scenario each tick, runs state machines
// and expressions, applies faults on top of the models, plays the timeline
// and accepts writes. The protocol servers (twin/opcuaserver,
// twin/modbusserver) serve its values; the control API (twin/control)
// drives it over HTTP.
//
// # Determinism
//
// Simulated time advances by exactly Tick per step, whatever the wall
// clock does: Run only decides when steps happen. Every random model
// draws from its own stream, derived from the scenario seed and the tag's
// id, and fault noise from the seed, the fault and the tick, so the same
// seed gives the same series, and adding a tag leaves the others' series
// unchanged. Live actions (writes, injections) change the series from the
// tick they happen at, as they would on a real line.
//
// # One tick
//
// At each step the engine: advances simulated time; computes the inputs
// of integrate and lag models from the previous tick's values; ends the
// faults whose duration has passed; plays the timeline entries now due
// (named faults with a start first, then the timeline in file order);
// evaluates every model in dependency order (expressions read the values
// of the same tick, computed before them); applies the faults to each
// tag's model value; and publishes what changed to Value and to the
// watchers. Expressions read model values (with writes), never the values
// with faults: a stuck sensor does not stop the process it measures.
//
// # Models
//
// Where the scenario format leaves a choice, the engine makes these:
// square starts high; a triangle ramp rises over Period and falls over
// the next (a cycle of 2×Period); steps show the first step's value before
// its At, and Hold defaults to the gap between the first two steps; a
// counter without Rollover wraps at its integer type's maximum + 1 (float
// counters never wrap) back to Start; a state machine stays at least one
// tick in a state, makes at most one transition per tick and draws its
// successor from the weights in name order; random_walk is clamped to
// [Min, Max] when Max > Min; lag uses the exact first-order step
// y += (input - y)(1 - e^(-dt/tau)); noise beside another kind is added
// to it. An expression that fails at run time keeps the tag's previous
// value and is logged once per tag.
//
// # History
//
// The engine keeps a journal of its run (the wall time of each tick and
// each live action) and computes a tag's history from it on demand
// (OpenHistory, history.go): what it published, replayed exactly, at 8
// bytes a tick whatever the number of tags.
//
// # Methods
//
// A machine's methods (scenarios.Method) run with Call: argument checks,
// then the state check, then the actions at once, journaled as one live
// action.
//
// # Values
//
// A tag's value is held exactly as its type holds it: int64 and uint64
// over their whole range. Constants, steps, state codes, integer
// expression results and writes are exact (a write of a value the type
// cannot hold is refused, never rounded: scenarios.Exact is the rule, the
// one the validator applies to the file); counters on integer tags count
// in integers (fractions of a count carry over), exactly up to the type's
// maximum. Models that compute (sine, ramp, noise, integrate, lag, …) and
// faults that compute (drift, noise, spike) work in float64; their result
// is converted to the tag's type (integers rounded and clamped to the
// type, float32 rounded, bool true when non-zero, numbers formatted for
// string tags). Expressions see integer tags as int (a uint64 above int's
// maximum as int's maximum). Source
// timestamps are the wall time (Options.Now) of the tick at which the
// value or its status last changed (OPC UA Part 4, 7.7.3), shifted by
// clock_skew faults; they follow the wall clock, not simulated time, so a
// time scale does not read as clock skew. Options.SourceRefresh re-stamps
// unchanged values for consumers that want a sampling device's stamps.
package twin

import (
	"time"

	"github.com/otwin/otwin/scenarios"
)

// TagInfo is the static description of one tag, as the servers expose it.
type TagInfo struct {
	// Index of the tag in Engine.Tags; the handle for Value and Write.
	Index int
	// Machine is the machine's name.
	Machine string
	// Asset is the machine's ISA-95 asset path.
	Asset string
	// Name is the tag's name within its machine.
	Name string
	// ID is Asset + "/" + Name, the tag's stable id.
	ID string
	// Type is the tag's data type.
	Type scenarios.DataType
	// Unit is the resolved engineering unit (zero when the tag has none).
	Unit scenarios.Unit
	// Range is the engineering range, nil when unset.
	Range *scenarios.Range
	// Description of the tag.
	Description string
	// Writable tags accept Write.
	Writable bool
	// NodeID is the OPC UA string identifier (after "s=").
	NodeID string
	// Modbus is the resolved register mapping, nil when not mapped.
	Modbus *scenarios.Register
	// Historizing: the tag's history is served (scenarios.Tag.Historized).
	Historizing bool
}

// MachineInfo is the static description of one machine.
type MachineInfo struct {
	// Name is the machine's name.
	Name string
	// Asset is the machine's ISA-95 asset path.
	Asset string
	// Location is the machine's resolved ISA-95 location.
	Location scenarios.Location
	// OPCUA and Modbus are the machine's protocol exposure (nil: none).
	OPCUA  *scenarios.MachineOPCUA
	Modbus *scenarios.MachineModbus
	// Template is the template the machine is built from, nil when none;
	// machines of one template share it. Its tags come first in Tags.
	Template *TemplateInfo
	// Tags are indexes into Engine.Tags, in scenario order.
	Tags []int
	// Methods are the machine's methods (see Engine.Call), its template's
	// first.
	Methods []MethodInfo
}

// TemplateInfo is the static description of a template, a machine type
// (the OPC UA server serves it as an ObjectType).
type TemplateInfo struct {
	// Name is the template's name.
	Name string
	// Description of the machine type.
	Description string
	// Namespace is the namespace URI of its ObjectType
	// (scenarios.TypesNamespace of the scenario).
	Namespace string
	// Tags are the template's own tags with their defaults applied (type,
	// unit), before any machine overrides them; Index is -1 and Machine,
	// Asset, ID and NodeID are empty.
	Tags []TagInfo
	// Methods are the template's own methods, before any machine
	// replaces them; their outputs' Tag is -1.
	Methods []MethodInfo
}

// Value is a tag's current value as the servers must present it: the
// model's value with faults applied.
type Value struct {
	// V holds the Go value of the tag's type: bool, int16, int32, int64,
	// uint16, uint32, uint64, float32, float64 or string.
	V any
	// Status is the OPC UA StatusCode (0 = Good).
	Status uint32
	// Source is the source timestamp: the wall time of the tick at which
	// the value or its status last changed (or was last re-stamped, see
	// Options.SourceRefresh); clock-skew faults shift it.
	Source time.Time
}

// Link is the state of transport faults on one machine's endpoint for one
// protocol, as the servers must honour it.
type Link struct {
	// Down: the endpoint does not answer (comm_loss).
	Down bool
	// Latency is added before every response.
	Latency time.Duration
	// Exception, when non-zero, answers every Modbus request with this
	// exception code.
	Exception byte
	// Epoch increases each time a disconnect fault fires; servers close
	// connections accepted under an older epoch.
	Epoch uint64
}
