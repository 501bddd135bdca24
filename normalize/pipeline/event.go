package pipeline

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/otwin/otwin/normalize"
)

// Event types.
const (
	EventSample = "sample"
	EventAlert  = "alert"
)

// Event is one published sample or one alert transition.
type Event struct {
	// Type is EventSample or EventAlert.
	Type string
	// Sample is set for EventSample.
	Sample *normalize.Sample
	// Alert is set for EventAlert, in its state after the transition.
	Alert *normalize.Alert
	// Transition is the alert event: "raised", "cleared", "acked",
	// "shelved", "unshelved".
	Transition string
}

// SampleJSON is the stable JSON form of a sample event.
type SampleJSON struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Asset        string `json:"asset"`
	Tag          string `json:"tag"`
	Value        any    `json:"value"`
	Unit         string `json:"unit,omitempty"`
	UnitCode     string `json:"unit_code,omitempty"`
	Quality      string `json:"quality"`
	Status       string `json:"status"`
	StatusCode   uint32 `json:"status_code"`
	Error        string `json:"error,omitempty"`
	LastGood     any    `json:"last_good,omitempty"`
	LastGoodTime string `json:"last_good_time,omitempty"`
	SourceTime   string `json:"source_time,omitempty"`
	ServerTime   string `json:"server_time,omitempty"`
	Received     string `json:"received,omitempty"`
	Source       string `json:"source"`
	Address      string `json:"address"`
	Seq          uint64 `json:"seq"`
}

// AlertJSON is the stable JSON form of an alert event.
type AlertJSON struct {
	Type         string `json:"type"`
	Transition   string `json:"transition"`
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	Target       string `json:"target"`
	Severity     string `json:"severity"`
	State        string `json:"state"`
	Message      string `json:"message,omitempty"`
	FirstActive  string `json:"first_active,omitempty"`
	LastActive   string `json:"last_active,omitempty"`
	Cleared      string `json:"cleared,omitempty"`
	Count        int    `json:"count"`
	AckedBy      string `json:"acked_by,omitempty"`
	AckedAt      string `json:"acked_at,omitempty"`
	Comment      string `json:"comment,omitempty"`
	Shelved      bool   `json:"shelved,omitempty"`
	ShelvedUntil string `json:"shelved_until,omitempty"`
	ShelvedBy    string `json:"shelved_by,omitempty"`
	ShelveReason string `json:"shelve_reason,omitempty"`
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
		Source: s.Source, Address: s.Address, Seq: s.Seq,
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
	return AlertJSON{
		Type: EventAlert, Transition: transition, ID: a.ID, Kind: string(a.Kind), Target: a.Target,
		Severity: a.Severity.String(), State: a.State.String(), Message: a.Message,
		FirstActive: ts(a.FirstActive), LastActive: ts(a.LastActive), Cleared: ts(a.Cleared), Count: a.Count,
		AckedBy: a.AckedBy, AckedAt: ts(a.AckedAt), Comment: a.Comment,
		Shelved: a.Shelved, ShelvedUntil: ts(a.ShelvedUntil), ShelvedBy: a.ShelvedBy, ShelveReason: a.ShelveReason,
	}
}

// MarshalJSON encodes e as SampleJSON or AlertJSON, flat, with a "type"
// field.
func (e Event) MarshalJSON() ([]byte, error) {
	switch {
	case e.Type == EventSample && e.Sample != nil:
		return json.Marshal(SampleRecord(e.Sample))
	case e.Type == EventAlert && e.Alert != nil:
		return json.Marshal(AlertRecord(e.Alert, e.Transition))
	default:
		return json.Marshal(struct {
			Type string `json:"type"`
		}{e.Type})
	}
}

// JSONLines writes events as JSON lines to a writer; its Handle method is
// an OnEvent hook. It is safe for concurrent use; after the first write
// error it writes nothing more and Err returns that error.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewJSONLines returns a JSONLines writing to w.
func NewJSONLines(w io.Writer) *JSONLines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONLines{enc: enc}
}

// Handle writes e as one line.
func (j *JSONLines) Handle(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.enc.Encode(e)
	}
}

// Err returns the first write error.
func (j *JSONLines) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}
