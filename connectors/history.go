package connectors

import (
	"context"
	"errors"
	"time"
)

// ErrNoHistory says the endpoint keeps no history of a point: a Modbus
// device, an OPC UA node without the HistoryRead access bit. Callers
// show what they kept themselves instead.
var ErrNoHistory = errors.New("the endpoint keeps no history of this point")

// HistoryRequest asks an endpoint for the past values of one point.
type HistoryRequest struct {
	// Address is the point, as the connector's points are written.
	Address string
	// Start and End bound the time span (server timestamps), Start
	// before End.
	Start, End time.Time
	// Intervals > 0 asks for the average of each of that many equal
	// intervals of the span (OPC UA ReadProcessed, Average); 0 asks for
	// the values as recorded (ReadRaw).
	Intervals int
	// MaxValues bounds the raw values returned (the latest are kept);
	// 0 means 10,000.
	MaxValues int
}

// HistoryValue is one value of a history: a recorded value, or an
// interval's average.
type HistoryValue struct {
	// Time is the value's time: the server's timestamp of a recorded
	// value, the start of an interval.
	Time time.Time
	// Raw is the value as Reading.Raw holds it (an average is a float64);
	// nil when Status says there is none.
	Raw any
	// Status is nil for a good value, else its StatusCode (e.g.
	// Bad_NoData for an interval without values).
	Status error
}

// History is an endpoint's answer to a HistoryRequest.
type History struct {
	// Values are in time order, one per interval when averaged.
	Values []HistoryValue
	// Aggregate says how they were made: "Average" (by the server),
	// "Average of raw values" (by the connector, for a server without
	// that aggregate) or "Raw".
	Aggregate string
}

// HistoryReader is implemented by connectors whose endpoint may keep the
// history of its points (OPC UA HistoryRead).
type HistoryReader interface {
	// ReadHistory asks the endpoint for the history of one point. It
	// returns an error wrapping ErrNoHistory when the endpoint keeps none
	// of that point, a StatusCode (StatusOf) when the endpoint refused the
	// read, another error when it could not be asked (not connected).
	// Safe for concurrent use, also while Run runs.
	ReadHistory(ctx context.Context, req HistoryRequest) (History, error)
}
