package uns

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/jsonenc"
	"github.com/otwin/otwin/normalize/pipeline"
)

// AppendSample appends the JSON payload of sample s, published by
// collector node, to dst and returns it:
//
//	{"id":"acme/plant1/bottling/line1/filler1/speed",
//	 "value":1180.5,"unit":"r/min","unit_code":"RPM",
//	 "quality":"Good","status":"Good","status_code":0,
//	 "timestamp_ms":1796551200123,
//	 "source_time":"2026-12-06T10:00:00.123Z","server_time":"2026-12-06T10:00:00.124Z",
//	 "received":"2026-12-06T10:00:00.131Z",
//	 "source":"filler-plc","node":"edge1","seq":42,
//	 "context":{"work_order":"WO-4711","product":"cola-0.5l","since":"2026-12-06T09:58:12.25Z"}}
//
// The fields are those of the collector's JSON lines (`otwin watch
// --headless`), without "type", "asset", "tag" and "address" (the topic
// says them), plus:
//   - node: the collector that published it (its --mqtt-node), which a
//     dashboard reading many collectors shows the tag under;
//   - timestamp_ms: the source time in Unix milliseconds, or the received
//     time when the device gives none (what most unified-namespace
//     consumers read);
//   - context: the production context of the value's asset when it was
//     read (normalize.Context: work_order, product, batch, recipe, phase,
//     shift, those known, and since); an empty object when there is none.
//
// value is a number, true/false or a string, and null when the status is
// Bad (or the number is not finite); next to it, "error" says why a status
// is not good, and "last_good" with "last_good_time" carry the last good
// value. unit, unit_code, error and the times are left out when unknown.
func AppendSample(dst []byte, node string, s *normalize.Sample) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonenc.String(dst, s.ID)
	dst = append(dst, `,"value":`...)
	if s.Status.IsBad() {
		dst = append(dst, "null"...)
	} else {
		dst = jsonenc.Value(dst, s.Kind, s.Value, s.Text)
	}
	if s.Unit.Symbol != "" {
		dst = append(dst, `,"unit":`...)
		dst = jsonenc.String(dst, s.Unit.Symbol)
	}
	if s.Unit.Code != "" {
		dst = append(dst, `,"unit_code":`...)
		dst = jsonenc.String(dst, s.Unit.Code)
	}
	dst = append(dst, `,"quality":"`...)
	dst = append(dst, s.Status.Severity().String()...)
	dst = append(dst, `","status":`...)
	dst = jsonenc.String(dst, s.Status.Name())
	dst = append(dst, `,"status_code":`...)
	dst = strconv.AppendUint(dst, uint64(s.Status), 10)
	if s.Err != "" {
		dst = append(dst, `,"error":`...)
		dst = jsonenc.String(dst, s.Err)
	}
	if s.HasLastGood {
		dst = append(dst, `,"last_good":`...)
		dst = jsonenc.Value(dst, s.Kind, s.LastGood, s.LastGoodText)
		dst = jsonenc.TimeField(dst, "last_good_time", s.LastGoodTime)
	}
	if t := Timestamp(s); !t.IsZero() {
		dst = append(dst, `,"timestamp_ms":`...)
		dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	}
	dst = jsonenc.TimeField(dst, "source_time", s.SourceTime)
	dst = jsonenc.TimeField(dst, "server_time", s.ServerTime)
	dst = jsonenc.TimeField(dst, "received", s.Received)
	dst = append(dst, `,"source":`...)
	dst = jsonenc.String(dst, s.Source)
	dst = append(dst, `,"node":`...)
	dst = jsonenc.String(dst, node)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, s.Seq, 10)
	dst = append(dst, `,"context":`...)
	dst = s.Context.AppendJSON(dst)
	dst = append(dst, '}')
	return dst
}

// Timestamp is the time a sample is about: its source time, or the time
// it was received when the device gives none.
func Timestamp(s *normalize.Sample) time.Time {
	if !s.SourceTime.IsZero() {
		return s.SourceTime
	}
	return s.Received
}

// Alert is the JSON payload of an alert transition: the alert after it,
// as the collector's JSON lines (`otwin watch --headless`) write it, plus
// "node" and "context" (as in AppendSample) and "event", the transition
// as the alert's history shows it:
//
//	{"type":"alert","transition":"acked","id":"stale:acme/plant1/filler1/speed",
//	 "kind":"stale","target":"acme/plant1/filler1/speed","severity":"medium",
//	 "state":"active_acked","message":"no update for 12s (limit 5s)",
//	 "first_active":"…","last_active":"…","count":1,
//	 "acked_by":"olga@central","acked_at":"…","comment":"sensor cleaned",
//	 "node":"edge1","context":{},
//	 "event":{"at":"…","user":"olga@central","comment":"sensor cleaned"}}
//
// The collector that publishes an alert owns it: acknowledgements,
// confirmations, shelves and comments go to it as commands (see
// Command). An alarm the collector relays from its server ("owner": the
// source) also says whether the server retains it, and whether it has a
// confirmation step and is confirmed:
//
//	…,"owner":"filler1-opcua","owner_ref":"nsu=urn:otwin:bottling;s=filler1/speed/HighAlarm",
//	"retain":true,"confirmable":true,…
type Alert struct {
	pipeline.AlertJSON
	Retain      bool            `json:"retain,omitempty"`
	Confirmable bool            `json:"confirmable,omitempty"`
	Confirmed   bool            `json:"confirmed,omitempty"`
	Node        string          `json:"node"`
	Context     json.RawMessage `json:"context"`
	Event       *AlertEvent     `json:"event,omitempty"`
}

// AlertEvent is the "event" of an alert payload: when the transition was
// made, by whom, and its comment (an acknowledgement's, a shelve's
// reason, a note).
type AlertEvent struct {
	At      string `json:"at,omitempty"`
	User    string `json:"user,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// AlertPayload returns the JSON payload of alert a after transition ev,
// published by collector node.
func AlertPayload(node string, a *normalize.Alert, ev *normalize.AlertEvent) []byte {
	p := Alert{AlertJSON: pipeline.AlertRecord(a, ev.What), Node: node, Context: a.Context.AppendJSON(nil)}
	if o := a.Owner; o != nil {
		p.Retain, p.Confirmable, p.Confirmed = o.Retain, o.Confirmable, o.Confirmed
	}
	if !ev.At.IsZero() || ev.User != "" || ev.Comment != "" {
		p.Event = &AlertEvent{At: rfc3339(ev.At), User: ev.User, Comment: ev.Comment}
	}
	b, _ := json.Marshal(p) // strings and numbers: cannot fail
	return b
}

// Health is the JSON payload of an endpoint's health.
type Health struct {
	Source       string  `json:"source"`               // endpoint name
	Protocol     string  `json:"protocol"`             // opcua, modbus, mqtt
	Endpoint     string  `json:"endpoint"`             // URL or host:port
	State        string  `json:"state"`                // connected, connecting, down
	Since        string  `json:"since,omitempty"`      // when State was entered
	LastError    string  `json:"last_error,omitempty"` // the most recent error
	LatencyMS    float64 `json:"latency_ms"`           // last request round trip
	Readings     uint64  `json:"readings"`             // readings delivered (published, for mqtt)
	Errors       uint64  `json:"errors"`               // failed requests (dropped samples, for mqtt)
	Reconnects   uint64  `json:"reconnects"`           // reconnections
	SequenceGaps uint64  `json:"sequence_gaps"`        // missing OPC UA notifications
}

// HealthPayload returns the JSON payload of health h.
func HealthPayload(h *connectors.Health) []byte {
	p := Health{
		Source: h.Source, Protocol: h.Protocol, Endpoint: h.Endpoint, State: h.State.String(),
		Since: rfc3339(h.Since), LatencyMS: float64(h.Latency) / float64(time.Millisecond),
		Readings: h.Readings, Errors: h.Errors, Reconnects: h.Reconnects, SequenceGaps: h.SequenceGaps,
	}
	if h.LastError != nil {
		p.LastError = h.LastError.Error()
	}
	b, _ := json.Marshal(p) // cannot fail: strings and numbers
	return b
}

// Status is the JSON payload of the collector's status topic. The
// collector publishes "online" when it connects and "offline" when it
// stops; the broker publishes the "offline" will when the collector's
// connection is lost.
type Status struct {
	State string `json:"state"`           // online, offline
	Node  string `json:"node"`            // the collector's name
	Since string `json:"since,omitempty"` // when it went online or offline (empty in the will)
	// Heartbeat is how often, in seconds, an online collector publishes
	// its status again: a reader that hears nothing from it for three
	// heartbeats shows it lost (its process or its broker's link went
	// away without a will reaching the reader). 0: no heartbeat.
	Heartbeat float64 `json:"heartbeat_s,omitempty"`
}

// Heartbeat is how often a collector publishes its online status again.
const Heartbeat = 10 * time.Second

// OnlinePayload returns the payload of the online status of collector
// node, online since since, with its heartbeat.
func OnlinePayload(node string, since time.Time, heartbeat time.Duration) []byte {
	b, _ := json.Marshal(Status{State: "online", Node: node, Since: rfc3339(since), Heartbeat: heartbeat.Seconds()}) // cannot fail
	return b
}

// StatusPayload returns the JSON payload of the collector's status.
func StatusPayload(node string, online bool, since time.Time) []byte {
	st := Status{State: "offline", Node: node, Since: rfc3339(since)}
	if online {
		st.State = "online"
	}
	b, _ := json.Marshal(st) // cannot fail: strings
	return b
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
