package alertdb

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/otwin/otwin/normalize"
)

// The file's layout, version 1 (an SQLite database; a user may read it
// with sqlite3):
//
//	meta(key, value)            "format" → formatV1
//	events(seq, at_ns, alert, what, state, user, comment)
//	                            one row per transition; at_ns is Unix
//	                            nanoseconds (0: no time)
//	alerts(id, state, shelved, changed_ns, body)
//	                            one row per alert; body is alertRecord as
//	                            JSON; changed_ns is its last transition's
//	                            time (the age limit)
//
// The records are the on-disk format, named apart from the Go types so
// that renaming a field in normalize cannot silently change the file; a
// test fills every field of normalize.Alert and AlertEvent and checks
// that it comes back.
const schema = `
create table meta (key text primary key, value text not null) without rowid;
create table events (
	seq integer primary key,
	at_ns integer not null,
	alert text not null,
	what text not null,
	state text not null,
	user text not null default '',
	comment text not null default ''
);
create table alerts (
	id text primary key,
	state text not null,
	shelved integer not null,
	changed_ns integer not null,
	body text not null
) without rowid;
`

// formatV1 marks a file as otwin's alert state, layout version 1.
const formatV1 = "otwin alert state 1"

// alertRecord is one alert (normalize.Alert) in the file.
type alertRecord struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Target         string    `json:"target"`
	Severity       int       `json:"severity"`
	State          string    `json:"state"`
	Message        string    `json:"message,omitempty"`
	FirstActive    time.Time `json:"first_active,omitzero"`
	LastActive     time.Time `json:"last_active,omitzero"`
	Cleared        time.Time `json:"cleared,omitzero"`
	Count          int       `json:"count"`
	AckedBy        string    `json:"acked_by,omitempty"`
	AckedAt        time.Time `json:"acked_at,omitzero"`
	Comment        string    `json:"comment,omitempty"`
	Shelved        bool      `json:"shelved,omitempty"`
	ShelvedUntil   time.Time `json:"shelved_until,omitzero"`
	ShelvedOneShot bool      `json:"shelved_one_shot,omitempty"`
	ShelvedBy      string    `json:"shelved_by,omitempty"`
	ShelveReason   string    `json:"shelve_reason,omitempty"`
	// Context is the production context of the last raise.
	Context *normalize.Context `json:"context,omitempty"`
	// Owner is normalize.Alert.Owner without what is only true while
	// otwin runs (Current, Lost, Why): a restored owned alert waits for
	// its owner.
	Owner *ownerRecord `json:"owner,omitempty"`
}

// ownerRecord is an alert's owner (normalize.AlertOwner) in the file.
type ownerRecord struct {
	Name        string `json:"name"`
	Ref         string `json:"ref,omitempty"`
	Retain      bool   `json:"retain,omitempty"`
	Confirmable bool   `json:"confirmable,omitempty"`
	Confirmed   bool   `json:"confirmed,omitempty"`
}

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is nanos' inverse, in local time (as time.Now gives).
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// states maps the state names the file uses back to states.
var states = func() map[string]normalize.AlertState {
	m := map[string]normalize.AlertState{}
	for _, s := range []normalize.AlertState{normalize.Normal, normalize.ActiveUnacked, normalize.ActiveAcked, normalize.RTNUnacked} {
		m[s.String()] = s
	}
	return m
}()

func parseState(name string) (normalize.AlertState, error) {
	s, ok := states[name]
	if !ok {
		return 0, fmt.Errorf("unknown alert state %q", name)
	}
	return s, nil
}

func encodeAlert(a *normalize.Alert) ([]byte, error) {
	r := alertRecord{
		ID: a.ID, Kind: string(a.Kind), Target: a.Target, Severity: int(a.Severity), State: a.State.String(),
		Message: a.Message, FirstActive: a.FirstActive, LastActive: a.LastActive, Cleared: a.Cleared, Count: a.Count,
		AckedBy: a.AckedBy, AckedAt: a.AckedAt, Comment: a.Comment,
		Shelved: a.Shelved, ShelvedUntil: a.ShelvedUntil, ShelvedOneShot: a.ShelvedOneShot, ShelvedBy: a.ShelvedBy, ShelveReason: a.ShelveReason,
		Context: a.Context,
	}
	if o := a.Owner; o != nil {
		r.Owner = &ownerRecord{Name: o.Name, Ref: o.Ref, Retain: o.Retain, Confirmable: o.Confirmable, Confirmed: o.Confirmed}
	}
	return json.Marshal(r)
}

func decodeAlert(v []byte) (normalize.Alert, error) {
	var r alertRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return normalize.Alert{}, err
	}
	st, err := parseState(r.State)
	if err != nil {
		return normalize.Alert{}, err
	}
	a := normalize.Alert{
		ID: r.ID, Kind: normalize.AlertKind(r.Kind), Target: r.Target, Severity: normalize.AlertSeverity(r.Severity), State: st,
		Message: r.Message, FirstActive: r.FirstActive, LastActive: r.LastActive, Cleared: r.Cleared, Count: r.Count,
		AckedBy: r.AckedBy, AckedAt: r.AckedAt, Comment: r.Comment,
		Shelved: r.Shelved, ShelvedUntil: r.ShelvedUntil, ShelvedOneShot: r.ShelvedOneShot, ShelvedBy: r.ShelvedBy, ShelveReason: r.ShelveReason,
		Context: r.Context,
	}
	if o := r.Owner; o != nil {
		a.Owner = &normalize.AlertOwner{Name: o.Name, Ref: o.Ref, Retain: o.Retain, Confirmable: o.Confirmable, Confirmed: o.Confirmed}
	}
	return a, nil
}
