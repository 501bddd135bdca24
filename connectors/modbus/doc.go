// Package modbus is otwin's production Modbus TCP connector: it polls one
// device (a PLC, a gateway, the twin) and delivers every configured point
// as a connectors.Reading, telling the truth about each value, recovering
// by itself and losing nothing silently.
//
// It uses github.com/goburrow/modbus for the protocol data units and the
// MBAP packaging, under a transport of its own: goburrow's TCP transport
// keeps a connection after a timeout (the late reply then answers the
// next request, forever out of step) and dials implicitly inside
// requests. Here every dial and request has a deadline, any error closes
// the connection, redials go through a backoff, and the end of Run's
// context interrupts a request in flight.
//
// # Configuration
//
// Config is one device, and the "modbus" section of a sources file (the
// package registers the connector kind "modbus"; its points' key is
// "register"):
//
//	address:       10.0.0.7:502      # host:port (required)
//	unit_id:       1                 # unit (slave) id, 0-255, sent as is (0 too);
//	                                 # default 1 (DefaultConfig)
//	poll_interval: 1s                # default 1s, min 10ms
//	timeout:       1s                # per dial and per request; default 1s, min 10ms
//	max_gap:       16                # unused registers a merged read may span;
//	                                 # default 16, negative: adjacent only
//
// Name (Reading.Source) and Points (each string verbatim is
// Reading.Address) come from beside the section: the source's name and
// its points' registers. New validates everything up front and reports
// every problem at once, naming the device and each bad point.
//
// # Point syntax
//
// A point is "table:address:type[:order]" (see ParseRegister; spaces and
// case do not matter, Register.String gives the canonical form):
//
//	table    holding (hr), input (ir), coil (co), discrete (di)
//	address  0-based protocol address, decimal or 0x hex
//	type     int16 uint16 int32 uint32 int64 uint64 float32 float64 bool
//	order    32-bit: ABCD (default) DCBA BADC CDAB
//	         64-bit: ABCDEFGH (default) HGFEDCBA BADCFEHG GHEFCDAB
//
// Addresses are 0-based, as on the wire. Manuals often use Modicon
// numbering, 1-based with the table as the leading digit: holding
// register 40001 is "holding:0", 40100 is "holding:99", input register
// 30001 is "input:0", coil 00001 is "coil:0", discrete input 10001 is
// "discrete:0". Off-by-one here reads the neighbouring register and
// looks plausible: check one known value.
//
// The order letters name the value's bytes from most (A) to least
// significant; the order lists them as they arrive, register after
// register. ABCD is big-endian (the Modbus norm), CDAB swaps the two
// registers (common on PLCs with little-endian word order), BADC swaps the
// bytes within each register, DCBA is fully little-endian. Examples:
//
//	holding:100:float32:CDAB   float in holding 100-101, word-swapped
//	ir:0:int16                 signed 16-bit input register 0 (30001)
//	holding:20:uint64:GHEFCDAB 64-bit counter, registers in reverse order
//	coil:7:bool                coil 7 (00008)
//	holding:40:bool            true when holding 40 is not 0
//
// Coils and discrete inputs take only bool; bool on a register reads one
// register and is true when it is not 0. Values are delivered raw, not
// scaled (the normalizer scales): int64 for signed types, uint64 for
// unsigned, float64 for floats, bool for bits.
//
// # Polling
//
// Points of one table are merged into the fewest reads: overlapping and
// adjacent points, and points separated by at most max_gap unused
// registers (16×max_gap bits for coils and discrete inputs), share one
// read of at most 125 registers or 2000 bits. Reads go one at a time, in
// a fixed order (holding, input, coil, discrete; by address).
//
// Polls start every poll_interval on a fixed schedule (no drift). A poll
// that overruns its interval skips the polls it overlapped; they are
// counted (Stats.Skipped), never queued.
//
// Every poll delivers exactly one Reading per point, with Received set
// to when its read completed and SourceTime zero (Modbus has no
// timestamps) — except for points of a read the device answered "busy".
// There are no duplicates, also across reconnects.
//
// # How errors map to quality
//
// Reading.Status is nil for a good value, otherwise an error carrying a
// connectors.StatusCode (get it with connectors.StatusOf or errors.As,
// never by comparing Status to a code). For an exception answer the
// Status is that code with the reason as its text, naming the read, the
// device and the exception, e.g. "read holding 100-101 on press3
// (10.0.0.7:502 unit 1): exception 2 (illegal data address)" (the
// normalizer puts this text in Sample.Err). Otherwise it is the bare
// code, and the error behind it (e.g. "read holding 0-9 on press1
// (10.0.0.7:502 unit 1): i/o timeout") is in Health().LastError and in
// the log.
//
//	no connection, timeout, refused,    a link-down reading (LinkDown set,
//	reset, closed by the device         Bad_NoCommunication saying why) for
//	                                    every point of the poll, and again at
//	                                    every poll while the device stays away;
//	                                    Health.State Down
//	exception 01, 02, 03 (illegal       the read is split (bisected) until the
//	function, address, value)           refused points are found; each reads
//	                                    Bad_ConfigurationError at every poll,
//	                                    the others read normally
//	exception 04 device failure,        Bad_DeviceFailure for the read's points
//	08 memory parity, other codes
//	exception 06 busy, 05 acknowledge   no reading for the read's points (the
//	                                    previous quality stands); retried at the
//	                                    next poll
//	exception 0A, 0B (gateway path,     Bad_NoCommunication for the read's
//	target failed to respond)           points; the link stays Connected
//	response too short or malformed     Bad_DecodingError for the read's points;
//	(byte count, length, transaction)   the connection is closed and redialed
//	float that is NaN or ±Inf           Bad_DecodingError, the value kept in Raw
//
// Bad_NoCommunication is repeated at every poll of an outage so that
// consumers see fresh evidence at the poll rate: the normalizer's stale
// rule does not fire before its comm-loss rule, and the time since the
// first such reading is the outage's length.
//
// Refused points are read again alone every minute, and the whole plan is
// rebuilt after every reconnect that ended an outage (the device may have
// been reprogrammed): a point the device accepts again reads normally.
// A device whose every point is refused is still asked something at
// every poll: the refused point read longest ago is read again alone. An
// exception answer shows the device alive (Connected); a timeout or a
// closed connection is an outage like any other, with
// Bad_NoCommunication for every point. When such a read finds a point
// readable again, every other refused point is read again in the same
// poll. A reread that fails on the transport is no refusal: after the
// device closed an idle connection it is redialed and retried at once,
// otherwise retried at the first poll after the redial.
//
// # Connection
//
// Run dials at once (Health.State Connecting), then polls; the state is
// Connected once the device answers a request (a device that accepts
// connections but never answers stays Down). On a failure it closes the
// connection, marks the device Down and redials with
// exponential backoff from 100ms to 5s (reset by the first answered
// request), between polls as well as at poll time; the first redial after
// the device closed an idle connection is immediate. A successful redial
// counts in Health.Reconnects. Health.Errors counts failed requests and
// dials (exceptions included); Health.Latency is the time the last poll
// spent waiting on the device.
//
// Each Connector is its own goroutine in Run and all its I/O has
// deadlines: one failing device never blocks another. Run returns nil when
// its context ends, within milliseconds, closing the connection and
// leaving no goroutine behind.
package modbus
