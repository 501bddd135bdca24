// Package normalize maps raw connector readings into otwin's unified model
// (Sample), and raises data-quality alerts. It is pure: no goroutines, no
// I/O, no clock (readings and Tick carry the time); the live store
// (normalize/store) holds the state that the TUI and other consumers read,
// and normalize/pipeline runs it all.
//
// Mapping: a Normalizer looks a reading up by (source, address), the
// address as the sources file wrote it (the normalizer does not parse
// addresses: each connector kind owns its syntax). A reading of
// an address no Point names is dropped and counted (Stats.Unknown,
// TakeUnknown for logging) — except for sources listed in Config.AutoMap
// (OPC UA browsing): a reading whose Info carries a BrowsePath is mapped
// to the tag AssetPrefix/<browse path>, with the default rules.
//
// Quality follows CONVENTIONS.md: every Sample carries an OPC UA
// StatusCode, and the last good value rides beside a bad one.
//
// Data-quality rules: a reading is first classified (decoded, type checked,
// scaled and converted, judged against its range and clamped, its status
// mapped), then a list of rules runs on it, one file each (rule_<kind>.go):
// stale, frozen, out of range, spike, bad and uncertain quality and decode
// errors per tag; comm loss, clock skew and subscription sequence gaps per
// endpoint. A rule owns its kind, severity, settings and condition; the
// normalizer returns the conditions raised and cleared (Output), and the
// store (normalize/store) alone turns them into alerts with the ISA-18.2
// lifecycle. A new rule is one file plus one line in ruleSet.
//
// A connector that loses its endpoint says so in its readings
// (connectors.Reading.LinkDown): the endpoint's tags show no communication
// at once, with their last good value, and the endpoint's comm_loss is the
// only alert it raises.
package normalize

import (
	"time"

	"github.com/otwin/otwin/connectors"
)

// Kind is the kind of a sample's value.
type Kind uint8

// The value kinds.
const (
	// Number: Value holds the value (integers that fit a float64 exactly).
	Number Kind = iota
	// Bool: Value is 0 or 1.
	Bool
	// Text: Text holds the value.
	Text
)

// Sample is one normalized value: the only value type the store and the
// TUI see.
type Sample struct {
	// ID is the tag's stable id, its path: "site/area/line/machine/tag".
	ID string
	// Asset is the ISA-95 path of the asset the tag belongs to.
	Asset string
	// Tag is the canonical tag name.
	Tag string
	// Kind says which of Value and Text holds the value.
	Kind Kind
	// Value is the scaled engineering value of Number and Bool samples.
	Value float64
	// Text is the value of Text samples.
	Text string
	// Raw is the value as the connector read it, before scaling.
	Raw any
	// Unit is the engineering unit.
	Unit Unit
	// Status is the quality: an OPC UA StatusCode classified by severity.
	Status connectors.StatusCode
	// Err explains a non-good Status (the error chain from the connector).
	Err string
	// HasLastGood says LastGood and LastGoodTime are set.
	HasLastGood bool
	// LastGood is the last value whose status was Good (Value or Text per
	// Kind), kept beside a bad status rather than re-emitted as current.
	LastGood float64
	// LastGoodText is LastGood for Text samples.
	LastGoodText string
	// LastGoodTime is the source time of LastGood.
	LastGoodTime time.Time
	// SourceTime is the device's timestamp (zero if the protocol has none).
	SourceTime time.Time
	// ServerTime is the OPC UA server's timestamp (zero otherwise).
	ServerTime time.Time
	// Received is when the collector received the value.
	Received time.Time
	// Source is the connector (endpoint) name.
	Source string
	// Address is the source address ("nsu=…;s=…" or
	// "holding:100:float32:CDAB@unit=1").
	Address string
	// Seq increases by one per sample of this tag; consumers use it to
	// detect duplicates and order.
	Seq uint64
	// Context is the production context of the tag's asset when the
	// sample was made (nil: none). Shared and immutable: never modify it.
	Context *Context
}

// Skew is Received - SourceTime, or 0 when the source has no timestamp.
func (s *Sample) Skew() time.Duration {
	if s.SourceTime.IsZero() {
		return 0
	}
	return s.Received.Sub(s.SourceTime)
}
