package uns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/statuscode"
	"github.com/otwin/otwin/units"
)

// Reading the namespace: a dashboard decodes what collectors publish, and
// whatever else other publishers put on the same broker. Every decoder
// here is total: any bytes give either a value or an error wrapping
// ErrMalformed that names the field and says why, never a panic (the
// fuzz tests hold them to it). Fields a decoder does not know are
// ignored and reported (Extra), so that a newer publisher's additions do
// not blind an older reader.

// ErrMalformed says a payload is not what its topic carries.
var ErrMalformed = errors.New("malformed payload")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// decodeObject decodes the JSON object b into v. extra says b had fields v
// does not know (they are ignored).
func decodeObject(b []byte, v any) (extra bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return false, malformed("not a JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	err = d.Decode(v)
	if err == nil {
		if len(bytes.TrimSpace(b[d.InputOffset():])) > 0 {
			return false, malformed("data after the JSON object")
		}
		return false, nil
	}
	if !strings.HasPrefix(err.Error(), "json: unknown field ") {
		return false, jsonError(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, jsonError(err)
	}
	return true, nil
}

// jsonError words a decoding error: the field and the type it wants.
func jsonError(err error) error {
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &te):
		return malformed("%s: a JSON %s, want %s", te.Field, te.Value, jsonType(te.Type.Kind().String()))
	case errors.As(err, &se):
		return malformed("invalid JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("truncated JSON")
	}
	return malformed("%v", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// samplePayload is AppendSample's object, every field optional but value.
type samplePayload struct {
	ID           string          `json:"id"`
	Node         string          `json:"node"`
	Value        json.RawMessage `json:"value"`
	Unit         string          `json:"unit"`
	UnitCode     string          `json:"unit_code"`
	Quality      string          `json:"quality"`
	Status       string          `json:"status"`
	StatusCode   *uint32         `json:"status_code"`
	Error        string          `json:"error"`
	LastGood     json.RawMessage `json:"last_good"`
	LastGoodTime string          `json:"last_good_time"`
	TimestampMS  *int64          `json:"timestamp_ms"`
	SourceTime   string          `json:"source_time"`
	ServerTime   string          `json:"server_time"`
	Received     string          `json:"received"`
	Source       string          `json:"source"`
	Seq          uint64          `json:"seq"`
	Context      json.RawMessage `json:"context"`
}

// SampleIn is a sample payload as a reader decodes it (DecodeSample).
type SampleIn struct {
	// Sample is the sample, without ID, Asset and Tag (the topic says
	// them) and without Address and Raw (not published).
	Sample normalize.Sample
	// Node is the collector that published it ("" when the payload does
	// not say).
	Node string
	// Context is the payload's context object as published.
	Context json.RawMessage
	// Extra says the payload had fields the decoder does not know.
	Extra bool
}

// DecodeSample decodes a sample payload (AppendSample's object; other
// publishers' objects with at least "value" are read as far as they go:
// a missing status is Good, Bad for a null value, a missing time is
// received). received is when the reader received it.
func DecodeSample(b []byte, received time.Time) (SampleIn, error) {
	var p samplePayload
	extra, err := decodeObject(b, &p)
	if err != nil {
		return SampleIn{}, err
	}
	if p.Value == nil {
		return SampleIn{}, malformed(`no "value"`)
	}
	in := SampleIn{Node: p.Node, Context: p.Context, Extra: extra}
	s := &in.Sample
	null, err := decodeValue(p.Value, s, &s.Value, &s.Text)
	if err != nil {
		return SampleIn{}, malformed("value: %v", err)
	}
	if s.Status, err = decodeStatus(&p, null); err != nil {
		return SampleIn{}, err
	}
	if null && !s.Status.IsBad() {
		s.Value = math.NaN() // a number that is not finite is written null
	}
	if p.LastGood != nil && string(p.LastGood) != "null" {
		var lg normalize.Sample
		if _, err := decodeValue(p.LastGood, &lg, &s.LastGood, &s.LastGoodText); err != nil {
			return SampleIn{}, malformed("last_good: %v", err)
		}
		if null {
			s.Kind = lg.Kind
		}
		s.HasLastGood = true
	}
	s.Unit = unitOf(p.Unit, p.UnitCode)
	s.Err, s.Source, s.Seq = p.Error, p.Source, p.Seq
	for _, f := range []struct {
		name string
		in   string
		out  *time.Time
	}{
		{"last_good_time", p.LastGoodTime, &s.LastGoodTime}, {"source_time", p.SourceTime, &s.SourceTime},
		{"server_time", p.ServerTime, &s.ServerTime}, {"received", p.Received, &s.Received},
	} {
		if *f.out, err = parseTime(f.name, f.in); err != nil {
			return SampleIn{}, err
		}
	}
	if s.SourceTime.IsZero() && p.TimestampMS != nil && p.Received == "" {
		s.SourceTime = time.UnixMilli(*p.TimestampMS).UTC()
	}
	if s.Received.IsZero() {
		s.Received = received
	}
	return in, nil
}

// decodeValue decodes a JSON value into s.Kind and v or text; null says
// it was null. Its errors say why, for the caller to name the field.
func decodeValue(raw json.RawMessage, s *normalize.Sample, v *float64, text *string) (null bool, err error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return false, errors.New("empty")
	case string(raw) == "null":
		return true, nil
	case string(raw) == "true", string(raw) == "false":
		s.Kind = normalize.Bool
		if raw[0] == 't' {
			*v = 1
		}
		return false, nil
	case raw[0] == '"':
		s.Kind = normalize.Text
		if err := json.Unmarshal(raw, text); err != nil {
			return false, fmt.Errorf("string: %v", err)
		}
		return false, nil
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) {
			return false, fmt.Errorf("number %s out of range", raw)
		}
		s.Kind, *v = normalize.Number, f
		return false, nil
	}
	return false, errors.New("an object or array, want a number, true/false, a string or null")
}

// decodeStatus is the sample's status: status_code, else the status
// name, else the quality, else Good (Bad for a null value).
func decodeStatus(p *samplePayload, null bool) (connectors.StatusCode, error) {
	switch {
	case p.StatusCode != nil:
		return connectors.StatusCode(*p.StatusCode), nil
	case p.Status != "":
		if c, ok := statuscode.Parse(p.Status); ok {
			return c, nil
		}
	}
	switch p.Quality {
	case "Good":
		return connectors.Good, nil
	case "Uncertain":
		return connectors.Uncertain, nil
	case "Bad":
		return connectors.Bad, nil
	case "":
		if p.Status != "" {
			return 0, malformed("status %q: not an OPC UA status name, and no quality", p.Status)
		}
		if null {
			return connectors.Bad, nil
		}
		return connectors.Good, nil
	}
	return 0, malformed("quality %q: want Good, Uncertain or Bad", p.Quality)
}

// unitOf is the unit of a payload: the table's, by code or symbol, with
// the publisher's symbol; else what the payload says.
func unitOf(symbol, code string) normalize.Unit {
	if symbol == "" && code == "" {
		return normalize.Unit{}
	}
	for _, s := range []string{code, symbol} {
		if u, ok := units.Lookup(s); ok && s != "" && (code == "" || u.Code == code) {
			if symbol != "" {
				u.Symbol = symbol
			}
			return u
		}
	}
	u := normalize.Unit{Code: code, Symbol: symbol, UnitID: units.NoUnitID}
	if id := units.PackUnitID(code); code != "" && id != 0 {
		u.UnitID = id
	}
	if u.Symbol == "" {
		u.Symbol = code
	}
	return u
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, malformed("%s %q: not an RFC 3339 time", field, s)
	}
	return t, nil
}

// AlertIn is an alert payload as a reader decodes it (DecodeAlert).
type AlertIn struct {
	// Alert is the alert as its owner holds it after the transition.
	Alert normalize.Alert
	// Retain, Confirmable and Confirmed are those of an alarm the
	// collector relays from its server (see Alert).
	Retain, Confirmable, Confirmed bool
	// Event is the transition: What, and At, User and Comment when the
	// payload says them (AlertID is the owner's alert id).
	Event normalize.AlertEvent
	// Node is the collector that owns the alert ("" when the payload
	// does not say).
	Node string
	// Extra says the payload had fields the decoder does not know.
	Extra bool
}

// DecodeAlert decodes an alert payload (AlertPayload's object). The id,
// kind, state and severity are required.
func DecodeAlert(b []byte) (AlertIn, error) {
	var p Alert
	extra, err := decodeObject(b, &p)
	if err != nil {
		return AlertIn{}, err
	}
	if p.ID == "" || p.Kind == "" {
		return AlertIn{}, malformed(`an alert needs "id" and "kind"`)
	}
	in := AlertIn{Node: p.Node, Extra: extra, Retain: p.Retain, Confirmable: p.Confirmable, Confirmed: p.Confirmed}
	a := &in.Alert
	a.ID, a.Kind, a.Target, a.Message, a.Count = p.ID, normalize.AlertKind(p.Kind), p.Target, p.Message, p.Count
	a.AckedBy, a.Comment, a.Shelved, a.ShelvedBy, a.ShelveReason = p.AckedBy, p.Comment, p.Shelved, p.ShelvedBy, p.ShelveReason
	var ok bool
	if a.State, ok = parseState(p.State); !ok {
		return AlertIn{}, malformed("state %q: want normal, active_unacked, active_acked or rtn_unacked", p.State)
	}
	if a.Severity, ok = parseSeverity(p.Severity); !ok {
		return AlertIn{}, malformed("severity %q: want low, medium, high or critical", p.Severity)
	}
	for _, f := range []struct {
		name string
		in   string
		out  *time.Time
	}{
		{"first_active", p.FirstActive, &a.FirstActive}, {"last_active", p.LastActive, &a.LastActive},
		{"cleared", p.Cleared, &a.Cleared}, {"acked_at", p.AckedAt, &a.AckedAt}, {"shelved_until", p.ShelvedUntil, &a.ShelvedUntil},
	} {
		if *f.out, err = parseTime(f.name, f.in); err != nil {
			return AlertIn{}, err
		}
	}
	a.ShelvedOneShot = a.Shelved && a.ShelvedUntil.IsZero()
	if a.Context, err = DecodeContext(p.Context); err != nil {
		return AlertIn{}, err
	}
	in.Event = normalize.AlertEvent{AlertID: a.ID, What: p.Transition, State: a.State}
	if p.Event != nil {
		if in.Event.At, err = parseTime("event.at", p.Event.At); err != nil {
			return AlertIn{}, err
		}
		in.Event.User, in.Event.Comment = p.Event.User, p.Event.Comment
	}
	return in, nil
}

func parseState(s string) (normalize.AlertState, bool) {
	for _, st := range []normalize.AlertState{normalize.Normal, normalize.ActiveUnacked, normalize.ActiveAcked, normalize.RTNUnacked} {
		if st.String() == s {
			return st, true
		}
	}
	return 0, false
}

func parseSeverity(s string) (normalize.AlertSeverity, bool) {
	for sev := normalize.SeverityLow; sev <= normalize.SeverityCritical; sev++ {
		if sev.String() == s {
			return sev, true
		}
	}
	return 0, false
}

// DecodeHealth decodes an endpoint's health payload (HealthPayload's
// object); source and state are required. extra says it had fields the
// decoder does not know.
func DecodeHealth(b []byte) (h connectors.Health, extra bool, err error) {
	var p Health
	if extra, err = decodeObject(b, &p); err != nil {
		return h, false, err
	}
	if p.Source == "" {
		return h, false, malformed(`no "source"`)
	}
	h = connectors.Health{
		Source: p.Source, Protocol: p.Protocol, Endpoint: p.Endpoint,
		Readings: p.Readings, Errors: p.Errors, Reconnects: p.Reconnects, SequenceGaps: p.SequenceGaps,
	}
	switch p.State {
	case "connected":
		h.State = connectors.Connected
	case "down":
		h.State = connectors.Down
	case "connecting":
		h.State = connectors.Connecting
	default:
		return h, false, malformed("state %q: want connected, connecting or down", p.State)
	}
	if p.LatencyMS < 0 || p.LatencyMS > float64(math.MaxInt64/int64(time.Millisecond)) || math.IsNaN(p.LatencyMS) {
		return h, false, malformed("latency_ms %v out of range", p.LatencyMS)
	}
	h.Latency = time.Duration(p.LatencyMS * float64(time.Millisecond))
	if h.Since, err = parseTime("since", p.Since); err != nil {
		return h, false, err
	}
	if p.LastError != "" {
		h.LastError = errors.New(p.LastError)
	}
	return h, extra, nil
}

// DecodeStatus decodes a collector's status payload (StatusPayload's
// object): state online or offline.
func DecodeStatus(b []byte) (st Status, since time.Time, extra bool, err error) {
	if extra, err = decodeObject(b, &st); err != nil {
		return st, since, false, err
	}
	if st.State != "online" && st.State != "offline" {
		return st, since, false, malformed("state %q: want online or offline", st.State)
	}
	if since, err = parseTime("since", st.Since); err != nil {
		return st, since, false, err
	}
	if st.Heartbeat < 0 || st.Heartbeat > 86400 || math.IsNaN(st.Heartbeat) {
		return st, since, false, malformed("heartbeat_s %v: want 0 to 86400", st.Heartbeat)
	}
	return st, since, extra, nil
}
