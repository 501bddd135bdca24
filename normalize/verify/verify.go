// Package verify checks a sources file against a twin that knows the
// truth: it reads every point through the production connectors while the
// twin runs, compares each value with the twin's ground truth over several
// ticks, and names the mistake of every point that reads wrong — off by
// one, a Modicon number written as an address, word or byte order
// swapped, wrong type or width, scale or offset off by a power of ten,
// unit mislabelled, wrong table, wrong unit id, unknown or wrong-namespace
// node id (with the nearest match) — and every twin tag no point reads.
//
// It belongs to the monitoring half: it knows the twin only through the
// Twin interface (the caller adapts the twin's control API to it), and
// the endpoints only through the connectors. How it works:
//
//   - The twin's clock is paused while verify compares (resumed at the
//     end when it was running) and stepped between rounds, so that every
//     value read belongs to one known tick.
//   - Round by round, the file's connectors (built by their kinds from
//     the file, as the collector builds them) read every point and the
//     normalizer maps each reading as production does; each value is
//     compared with the twin's value of its tag, converted into the
//     point's unit.
//   - Points that read wrong are diagnosed over further rounds: for
//     Modbus, raw registers around the configured address (and in the
//     other tables and unit ids of the endpoint when needed) are read with
//     the connector's own client, and every nearby interpretation —
//     address, table, unit id, type, byte order, scale, offset, unit — is
//     tested against the truth of every round; the closest one that fits
//     them all names the mistake. For OPC UA, the server is browsed with
//     the connector to find the right namespace or the nearest node id.
//
// A point's twin tag is the tag whose id is the point's asset/tag (a tag
// named "<tag>.<kind>", e.g. "speed.modbus", is tag "speed" read over
// that kind); else the tag served at the point's address; else the tag
// whose values the point's registers turn out to hold.
package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize/sources"
)

// Truth is what the twin serves at one tick: every tag with its address
// on each protocol and its value.
type Truth struct {
	// Scenario is the twin's scenario name.
	Scenario string
	// Ticks is the tick the values are of.
	Ticks uint64
	// Tags are every tag of the twin.
	Tags []Tag
}

// Tag is one tag of the twin.
type Tag struct {
	// ID is the tag's id, "<asset path>/<tag>".
	ID string
	// Machine is the machine serving it.
	Machine string
	// Type is its data type ("float32", "bool", "string", …).
	Type string
	// Unit is its unit's UNECE code or symbol; "" when it has none.
	Unit string
	// OPCUA is its node; nil when not served over OPC UA.
	OPCUA *Node
	// Modbus is its register; nil when not served over Modbus.
	Modbus *Register
	// Value is its value: bool, int64, uint64, float64, string, or nil
	// when it has none (NaN).
	Value any
	// Status is its OPC UA StatusCode.
	Status uint32
}

// Node is an OPC UA node: nsu=<Namespace>;s=<ID>.
type Node struct {
	Namespace, ID string
}

// Register is a Modbus register as the twin serves it.
type Register struct {
	UnitID  int
	Table   string // holding, input, coil, discrete
	Address int    // 0-based
	Type    string // int16 … float64, bool
	Order   string // ABCD …; "" for 16-bit values and bits
	Scale   float64
	Offset  float64
}

// Endpoint is one server of the twin for one machine.
type Endpoint struct {
	Machine  string
	Protocol string // "opcua" or "modbus"
	// URL (OPC UA) or Address (Modbus, host:port) where it listens.
	URL, Address string
	// UnitID is the machine's Modbus unit id.
	UnitID int
}

// Twin is the twin being checked against: its clock and its truth.
type Twin interface {
	// Truth returns every tag's description and value at the current
	// tick.
	Truth(ctx context.Context) (Truth, error)
	// Pause pauses the clock and says whether it was paused already.
	Pause(ctx context.Context) (wasPaused bool, err error)
	// Resume resumes the clock.
	Resume(ctx context.Context) error
	// Step runs n ticks and returns when their values are served.
	Step(ctx context.Context, n int) error
}

// Options tune a check. The zero value takes every default.
type Options struct {
	// Endpoints are the twin's servers: which machines each source of
	// the file reads, and the other unit ids of a Modbus endpoint.
	Endpoints []Endpoint
	// Rounds is the number of ticks compared; default 4, at least 2.
	Rounds int
	// StepTicks is how many ticks the twin runs between rounds; default
	// 10.
	StepTicks int
	// Env is what the connectors get (data directory, logger).
	Env connectors.Env
	// Settle bounds the wait for fresh values after each step; default
	// 15s (a value not read by then counts as not read).
	Settle time.Duration
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Rounds < 2 {
		o.Rounds = 4
	}
	if o.StepTicks <= 0 {
		o.StepTicks = 10
	}
	if o.Settle <= 0 {
		o.Settle = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Env.Logger == nil {
		o.Env.Logger = o.Logger
	}
	return o
}

// Run checks every point of f against tw and returns the report: one
// Result per point, in file order, then one per twin tag no point reads.
// It pauses the twin's clock while it runs and resumes it at the end when
// it was running. It returns an error only when it cannot check at all
// (the twin unreachable, f without points); what a point reads wrong is
// in its Result.
func Run(ctx context.Context, f *sources.File, tw Twin, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	if f == nil || len(f.Sources) == 0 {
		return nil, errors.New("verify: the sources file has no sources")
	}
	wasPaused, err := tw.Pause(ctx)
	if err != nil {
		return nil, fmt.Errorf("pause the twin: %w", err)
	}
	defer func() {
		if !wasPaused {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := tw.Resume(rctx); err != nil {
				opts.Logger.Warn("could not resume the twin's clock", "err", err)
			}
		}
	}()
	first, err := tw.Truth(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the twin's truth: %w", err)
	}
	c, err := newCheck(f, first, opts)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, tw)
}
