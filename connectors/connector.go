// Package connectors defines what every protocol connector delivers: raw
// readings from a production endpoint, and the endpoint's health. The
// implementations live in subpackages (opcua, modbus); they are the code
// users point at real PLCs, and they know nothing of the twin.
//
// It is also the registry of connector kinds (Kind, Register, Lookup):
// each kind's package registers itself from init, connectors/all imports
// every kind, and the sources file and the collector know the kinds only
// through the registry. Adding a kind (MQTT, S7, …) is one package —
// its configuration type implementing Config, its address parser, one
// Register call — plus one import line in connectors/all; nothing else
// changes. connectors/isolate runs any kind's connector in a child
// process.
package connectors

import (
	"context"
	"time"
)

// Reading is one raw value read from an endpoint.
//
// Status is nil when the protocol reported the value good; otherwise it is
// the protocol's status as an error: a StatusCode for OPC UA status codes
// and for what the connector itself detects (an exception mapped per
// CONVENTIONS.md, no communication), or the error that prevented the read.
// When Status says the device could not be read, Raw is nil.
type Reading struct {
	// Source is the connector's name (the endpoint's name in the sources
	// file).
	Source string
	// Address is the value's address exactly as the sources file gives it
	// (the normalizer keys on it): "nsu=<uri>;s=<id>" for OPC UA, or
	// "holding:100:float32:CDAB" for Modbus; for OPC UA nodes found by
	// browsing, "nsu=<uri>;<id>".
	Address string
	// Raw is the decoded value: bool, int64, uint64, float64 or string
	// (Modbus values are already decoded from registers, before scaling).
	Raw any
	// Status is nil for a good value, else why it is not (see above).
	Status error
	// SourceTime is the device's timestamp; zero when the protocol has none.
	SourceTime time.Time
	// ServerTime is the server's timestamp (OPC UA); zero otherwise.
	ServerTime time.Time
	// Received is when the connector received the value.
	Received time.Time
	// Info, when non-nil, is what the server says about the point; sent
	// with the first reading of an address after each (re)connect.
	Info *PointInfo
	// LinkDown says the connector has lost its endpoint: the reading
	// reports the endpoint's silence (Status carries Bad_NoCommunication
	// and reads as the cause, see NoCommunication), not a fault of this
	// address. A connector that loses its link sends one such reading per
	// address, so that consumers learn of the outage in order with the
	// values, at once. A no-communication status without LinkDown is the
	// address's own: a gateway's device behind a working endpoint.
	LinkDown bool
	// Mark, on a reading without Address, Raw and Status, is a mark of
	// the endpoint's progress rather than a value: every change the
	// endpoint made before Received has been delivered, so an address
	// without a newer reading still held its last value then. A
	// subscribing connector sends one whenever the server has reported
	// everything it holds (no notification missing or waiting); consumers
	// judge "unchanged for so long" on marks, never on the mere absence of
	// readings, which may only mean the collector fell behind.
	Mark bool
}

// NoCommunication returns the Status of a reading whose endpoint does not
// answer: Bad_NoCommunication reading as its cause (a StatusError), or the
// bare code when cause is nil. The value is immutable, so one may be
// shared by the readings of one outage.
func NoCommunication(cause error) error {
	if cause == nil {
		return BadNoCommunication
	}
	return &StatusError{Code: BadNoCommunication, Err: cause}
}

// Connector reads one endpoint.
type Connector interface {
	// Name is the endpoint's name, as Reading.Source.
	Name() string
	// Run connects and delivers readings into out until ctx is done. It
	// retries transient faults itself (reconnecting with backoff) and
	// reports a lost endpoint as readings with LinkDown set and Status
	// NoCommunication(cause) for every configured address, and in Health.
	// It returns nil when ctx is done and an error only when it cannot go
	// on (e.g. an invalid configuration). Run does not close out.
	Run(ctx context.Context, out chan<- Reading) error
	// Health is a snapshot of the endpoint's state; safe for concurrent use.
	Health() Health
}

// LinkState is the state of the connection to an endpoint.
type LinkState int

// The link states.
const (
	// Connecting: not yet connected, or reconnecting after a failure.
	Connecting LinkState = iota
	// Connected: the endpoint answers.
	Connected
	// Down: the endpoint does not answer; the connector keeps retrying.
	Down
)

// String names the state.
func (s LinkState) String() string {
	switch s {
	case Connected:
		return "connected"
	case Down:
		return "down"
	default:
		return "connecting"
	}
}

// Health is an endpoint's state as one connector sees it.
type Health struct {
	// Source is the connector's name.
	Source string
	// Protocol is "opcua" or "modbus".
	Protocol string
	// Endpoint is the URL or host:port.
	Endpoint string
	// State of the link.
	State LinkState
	// Since is when State was entered.
	Since time.Time
	// LastError is the most recent error, if any.
	LastError error
	// Latency is the last request round trip (Modbus poll, OPC UA read or
	// publish).
	Latency time.Duration
	// Readings counts readings delivered.
	Readings uint64
	// Errors counts failed requests.
	Errors uint64
	// Reconnects counts reconnections.
	Reconnects uint64
	// SequenceGaps counts missing OPC UA notification sequence numbers.
	SequenceGaps uint64
	// Backlog is how far the collector is behind the endpoint: how long
	// the endpoint has had more to send than the connector took (an OPC
	// UA server whose every response says more notifications wait), or
	// how long the readings handled last waited between the connector and
	// the normalizer (filled in by the pipeline), whichever is longer. 0
	// while it keeps up.
	Backlog time.Duration
}
