package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
)

// Event types.
const (
	EventSample    = "sample"
	EventAlert     = "alert"
	EventScorecard = "scorecard"
)

// Event is one published sample or one alert transition.
type Event struct {
	// Type is EventSample, EventAlert or EventScorecard.
	Type string
	// Sample is set for EventSample.
	Sample *normalize.Sample
	// Alert is set for EventAlert, in its state after the transition.
	Alert *normalize.Alert
	// Transition is the alert event: "raised", "cleared", "acked",
	// "shelved", "unshelved", "commented", and for alerts another system
	// owns "confirmed" and "changed".
	Transition string
	// Scorecard is set for EventScorecard.
	Scorecard *score.Report
	// Change is, for EventAlert, the transition as the alert's history
	// shows it: when, by whom, with what comment (What is Transition).
	Change normalize.AlertEvent
}

// SampleJSON is the stable JSON form of a sample event. Times are RFC 3339
// in UTC with nanoseconds, omitted when unknown.
type SampleJSON struct {
	Type         string `json:"type"`                     // "sample"
	ID           string `json:"id"`                       // tag id, "site/area/line/machine/tag"
	Asset        string `json:"asset"`                    // ISA-95 asset path
	Tag          string `json:"tag"`                      // tag name
	Value        any    `json:"value"`                    // number, bool or string; null when the status is Bad
	Unit         string `json:"unit,omitempty"`           // unit symbol, e.g. "°C"
	UnitCode     string `json:"unit_code,omitempty"`      // UNECE Rec 20 code, e.g. "CEL"
	Quality      string `json:"quality"`                  // "Good", "Uncertain" or "Bad"
	Status       string `json:"status"`                   // status name, e.g. "Uncertain_LastUsableValue"
	StatusCode   uint32 `json:"status_code"`              // the full OPC UA StatusCode
	Error        string `json:"error,omitempty"`          // why the status is not good
	LastGood     any    `json:"last_good,omitempty"`      // the last good value, when one exists
	LastGoodTime string `json:"last_good_time,omitempty"` // source time of last_good
	SourceTime   string `json:"source_time,omitempty"`    // device timestamp
	ServerTime   string `json:"server_time,omitempty"`    // OPC UA server timestamp
	Received     string `json:"received,omitempty"`       // when the collector received it
	Source       string `json:"source"`                   // endpoint name
	Address      string `json:"address"`                  // address on the endpoint
	Seq          uint64 `json:"seq"`                      // per-tag sequence number
	// Context is the production context of the tag's asset: work_order,
	// product, batch, recipe, phase, shift (those known) and since;
	// left out when there is none.
	Context *normalize.Context `json:"context,omitempty"`
}

// AlertJSON is the stable JSON form of an alert event: the alert in its
// state after the transition. Times as in SampleJSON.
type AlertJSON struct {
	Type         string `json:"type"`                    // "alert"
	Transition   string `json:"transition"`              // raised, cleared, acked, shelved, unshelved, commented, confirmed, changed
	ID           string `json:"id"`                      // "<kind>:<target>"
	Kind         string `json:"kind"`                    // e.g. "stale", "comm_loss"
	Target       string `json:"target"`                  // tag id or source name
	Severity     string `json:"severity"`                // low, medium, high, critical
	State        string `json:"state"`                   // normal, active_unacked, active_acked, rtn_unacked
	Message      string `json:"message,omitempty"`       // what was detected
	FirstActive  string `json:"first_active,omitempty"`  // first raised
	LastActive   string `json:"last_active,omitempty"`   // last raised
	Cleared      string `json:"cleared,omitempty"`       // last returned to normal
	Count        int    `json:"count"`                   // times raised
	AckedBy      string `json:"acked_by,omitempty"`      // who acknowledged
	AckedAt      string `json:"acked_at,omitempty"`      // when
	Comment      string `json:"comment,omitempty"`       // acknowledgement comment
	Shelved      bool   `json:"shelved,omitempty"`       // shelved now
	ShelvedUntil string `json:"shelved_until,omitempty"` // end of a timed shelve
	ShelvedBy    string `json:"shelved_by,omitempty"`    // who shelved
	ShelveReason string `json:"shelve_reason,omitempty"` // why
	Owner        string `json:"owner,omitempty"`         // who holds the state: a source (its server's condition); empty: this collector
	OwnerRef     string `json:"owner_ref,omitempty"`     // the owner's id of it, e.g. an OPC UA ConditionId
	// Context is the production context when the alert was last raised,
	// as in SampleJSON.
	Context *normalize.Context `json:"context,omitempty"`
}

// ScorecardJSON is the JSON form of a scorecard event: the report (see
// score.Report and score.Card) with a "type" field.
type ScorecardJSON struct {
	Type string `json:"type"` // "scorecard"
	*score.Report
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func value(k normalize.Kind, v float64, text string) any {
	switch k {
	case normalize.Bool:
		return v != 0
	case normalize.Text:
		return text
	default:
		return v
	}
}

// SampleRecord returns the JSON form of s.
func SampleRecord(s *normalize.Sample) SampleJSON {
	r := SampleJSON{
		Type: EventSample, ID: s.ID, Asset: s.Asset, Tag: s.Tag,
		Unit: s.Unit.Symbol, UnitCode: s.Unit.Code,
		Quality: s.Status.Severity().String(), Status: s.Status.Name(), StatusCode: uint32(s.Status),
		Error: s.Err, SourceTime: ts(s.SourceTime), ServerTime: ts(s.ServerTime), Received: ts(s.Received),
		Source: s.Source, Address: s.Address, Seq: s.Seq, Context: nonEmpty(s.Context),
	}
	if !s.Status.IsBad() {
		r.Value = value(s.Kind, s.Value, s.Text)
	}
	if s.HasLastGood {
		r.LastGood = value(s.Kind, s.LastGood, s.LastGoodText)
		r.LastGoodTime = ts(s.LastGoodTime)
	}
	return r
}

// AlertRecord returns the JSON form of a with its transition.
func AlertRecord(a *normalize.Alert, transition string) AlertJSON {
	r := AlertJSON{
		Type: EventAlert, Transition: transition, ID: a.ID, Kind: string(a.Kind), Target: a.Target,
		Severity: a.Severity.String(), State: a.State.String(), Message: a.Message,
		FirstActive: ts(a.FirstActive), LastActive: ts(a.LastActive), Cleared: ts(a.Cleared), Count: a.Count,
		AckedBy: a.AckedBy, AckedAt: ts(a.AckedAt), Comment: a.Comment,
		Shelved: a.Shelved, ShelvedUntil: ts(a.ShelvedUntil), ShelvedBy: a.ShelvedBy, ShelveReason: a.ShelveReason,
		Context: nonEmpty(a.Context),
	}
	if a.Owner != nil {
		r.Owner, r.OwnerRef = a.Owner.Name, a.Owner.Ref
	}
	return r
}

// nonEmpty is c, or nil when it holds no value.
func nonEmpty(c *normalize.Context) *normalize.Context {
	if c.Empty() {
		return nil
	}
	return c
}

// MarshalJSON encodes e as SampleJSON or AlertJSON, flat, with a "type"
// field.
func (e Event) MarshalJSON() ([]byte, error) {
	switch {
	case e.Type == EventSample && e.Sample != nil:
		return json.Marshal(SampleRecord(e.Sample))
	case e.Type == EventAlert && e.Alert != nil:
		return json.Marshal(AlertRecord(e.Alert, e.Transition))
	case e.Type == EventScorecard && e.Scorecard != nil:
		return json.Marshal(ScorecardJSON{Type: EventScorecard, Report: e.Scorecard})
	default:
		return json.Marshal(struct {
			Type string `json:"type"`
		}{e.Type})
	}
}

// JSONLines writes events as JSON lines to a writer; its Handle method is
// an OnEvent hook. Each event is one Write of one line, unless it is
// batched (Batched): then lines are written together at Flush (and
// whenever 64 KB wait). It is safe for concurrent use; after the first
// write error it writes nothing more and Err returns that error.
type JSONLines struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	batched bool
	last    string // the type of the last event buffered
	err     error
}

// NewJSONLines returns a JSONLines writing to w.
func NewJSONLines(w io.Writer) *JSONLines {
	return &JSONLines{w: w}
}

// Batched makes j keep its lines until Flush (Pipeline.AfterEvents is
// the moment: after each batch), or until 64 KB wait, and returns j.
func (j *JSONLines) Batched() *JSONLines {
	j.mu.Lock()
	j.batched = true
	j.mu.Unlock()
	return j
}

// batchLimit is how much a batched JSONLines keeps before it writes.
const batchLimit = 64 << 10

// Handle writes e as one line, unless a write failed before.
func (j *JSONLines) Handle(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	j.last = e.Type
	if e.Type == EventSample && e.Sample != nil {
		j.buf = appendSample(j.buf, e.Sample)
	} else {
		b, err := json.Marshal(e)
		if err != nil {
			j.err = fmt.Errorf("write %s event: %w", e.Type, err)
			return
		}
		j.buf = append(j.buf, b...)
	}
	j.buf = append(j.buf, '\n')
	if !j.batched || len(j.buf) >= batchLimit {
		j.write()
	}
}

// write writes what is buffered; a failure names the last event.
func (j *JSONLines) write() {
	if len(j.buf) == 0 {
		return
	}
	if _, err := j.w.Write(j.buf); err != nil {
		j.err = fmt.Errorf("write %s event: %w", j.last, err)
	}
	j.buf = j.buf[:0]
}

// Flush writes the lines a batched JSONLines keeps.
func (j *JSONLines) Flush() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.write()
	}
}

// Err returns the first write error, naming the event it could not write.
func (j *JSONLines) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}
