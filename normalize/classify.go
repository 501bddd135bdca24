package normalize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/otwin/otwin/connectors"
)

// classified is one reading of a tag after classification: decoded, type
// checked, scaled (and converted), judged against the engineering range
// (clamped with Clamp) and its status mapped. The rules judge this, never
// the raw reading.
type classified struct {
	// The reading's times (see connectors.Reading).
	sourceTime, serverTime, received time.Time
	// orig is the connector's status (MapStatus of Reading.Status);
	// status the sample's, after decoding, range and last-value mapping.
	orig, status connectors.StatusCode
	// errText explains a status that is not good.
	errText string
	// kind, value and text are the sample's value: for a Number the
	// engineering value, clamped with Clamp; under
	// Uncertain_NoCommunicationLastUsableValue the last good value.
	kind  Kind
	value float64
	text  string
	// read is the engineering value as read, before clamping.
	read float64
	// low and high say the value read is outside the engineering range.
	low, high bool
	// lost says the endpoint is lost: the reading is a link-down reading
	// (Reading.LinkDown), or a no-communication status while the
	// endpoint's link is not known to be up. It says nothing of the tag.
	lost bool
}

// masked is the status without its info bits.
func (rd *classified) masked() connectors.StatusCode { return rd.status & 0xFFFF0000 }

// measured says the value is a number measured now: not Bad, and not the
// last good value standing in for a silent device. The rules that compare
// values judge only these.
func (rd *classified) measured() bool {
	return rd.kind == Number && !rd.status.IsBad() && rd.masked() != connectors.UncertainNoCommunicationLastUsableValue
}

// behind says the tag's own device does not answer while its endpoint does
// (a gateway's device, an OPC UA server's PLC): a no-communication status
// of a reading that is not the endpoint's.
func (rd *classified) behind() bool { return !rd.lost && isNoComm(rd.orig) }

// classify classifies r, a reading of t, into rd.
func (n *Normalizer) classify(t *tagState, r *connectors.Reading, rd *classified) {
	*rd = classified{sourceTime: r.SourceTime, serverTime: r.ServerTime, received: r.Received, kind: t.kind}
	rd.orig, rd.errText = MapStatus(r.Status)
	rd.status = rd.orig
	rd.lost = r.LinkDown || isNoComm(rd.orig) && !t.src.linkUp
	if !rd.status.IsBad() {
		n.convert(t, r, rd)
	}
	if rd.status.IsBad() {
		rd.value, rd.read, rd.text = 0, 0, ""
		if rd.masked() == connectors.BadNoCommunication && t.hasGood {
			rd.status = connectors.UncertainNoCommunicationLastUsableValue
			rd.value, rd.text = t.good, t.goodText
		}
	}
}

// convert decodes a reading that is not Bad, checks its type against the
// tag's, scales it and judges it against the range.
func (n *Normalizer) convert(t *tagState, r *connectors.Reading, rd *classified) {
	k, v, txt, st, msg := decode(r.Raw)
	switch {
	case st != connectors.Good:
		rd.status, rd.errText = st, msg
		return
	case t.kindSet && k != t.kind:
		rd.status = connectors.BadTypeMismatch
		rd.errText = fmt.Sprintf("value type changed from %s to %s (%T)", t.kind, k, r.Raw)
		return
	}
	rd.kind, rd.value, rd.text = k, v, txt
	if k != Number {
		return
	}
	rd.value = v*t.scale + t.offset
	rd.read = rd.value
	if !t.hasRange {
		return
	}
	var bit connectors.StatusCode
	switch {
	case rd.value < t.rng.Low:
		rd.low, bit = true, connectors.LimitLow
		if t.clamp {
			rd.value = t.rng.Low
		}
	case rd.value > t.rng.High:
		rd.high, bit = true, connectors.LimitHigh
		if t.clamp {
			rd.value = t.rng.High
		}
	default:
		return
	}
	if rd.status.IsGood() {
		if t.clamp {
			rd.status = connectors.GoodClamped
		} else {
			rd.status = connectors.UncertainEngineeringUnitsExceeded
		}
	}
	rd.status |= bit
}

// MapStatus maps a reading's Status to a StatusCode and an explanation: nil
// is Good; a StatusCode is itself; an error wrapping a StatusCode is that
// code with the error's text; a deadline is Bad_Timeout; any other error
// is Bad_CommunicationError with the error's text.
func MapStatus(err error) (connectors.StatusCode, string) {
	if err == nil {
		return connectors.Good, ""
	}
	if c, ok := err.(connectors.StatusCode); ok {
		return c, ""
	}
	var c connectors.StatusCode
	if errors.As(err, &c) {
		return c, err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return connectors.BadTimeout, err.Error()
	}
	return connectors.BadCommunicationError, err.Error()
}

// isDecodeStatus says c means the value could not be decoded or does not
// fit the point's configuration.
func isDecodeStatus(c connectors.StatusCode) bool {
	switch c & 0xFFFF0000 {
	case connectors.BadDecodingError, connectors.BadTypeMismatch, connectors.BadConfigurationError:
		return true
	}
	return false
}

// isNoComm says c means there is no communication. From a lost endpoint
// (see classified.lost) it starts the endpoint's comm-loss timer instead of
// a per-tag alert. A single failed request (Bad_Timeout,
// Bad_CommunicationError) is a per-tag bad quality.
func isNoComm(c connectors.StatusCode) bool {
	switch c & 0xFFFF0000 {
	case connectors.BadNoCommunication, connectors.BadNotConnected, connectors.BadServerNotConnected,
		connectors.BadConnectionClosed:
		return true
	}
	return false
}

// decode converts a raw value. When it cannot, status and msg say why.
func decode(raw any) (k Kind, v float64, txt string, status connectors.StatusCode, msg string) {
	switch x := raw.(type) {
	case float64:
		v = x
	case float32:
		v = float64(x)
	case int64:
		v = float64(x)
	case uint64:
		v = float64(x)
	case int:
		v = float64(x)
	case int32:
		v = float64(x)
	case uint32:
		v = float64(x)
	case int16:
		v = float64(x)
	case uint16:
		v = float64(x)
	case int8:
		v = float64(x)
	case uint8:
		v = float64(x)
	case bool:
		k = Bool
		if x {
			v = 1
		}
		return
	case string:
		return Text, 0, x, connectors.Good, ""
	case []byte:
		return Text, 0, string(x), connectors.Good, ""
	case nil:
		return Number, 0, "", connectors.BadDecodingError, "no value"
	default:
		return Number, 0, "", connectors.BadTypeMismatch, fmt.Sprintf("unsupported value type %T", raw)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Number, 0, "", connectors.BadDecodingError, fmt.Sprintf("not a finite number (%g)", v)
	}
	return Number, v, "", connectors.Good, ""
}
