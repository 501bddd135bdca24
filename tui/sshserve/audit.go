package sshserve

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	Time time.Time `json:"time"`
	// Event is login, logout, refused, or an action: ack, shelve, inject,
	// clear, clock.
	Event  string `json:"event"`
	User   string `json:"user,omitempty"`
	Role   string `json:"role,omitempty"`
	Remote string `json:"remote,omitempty"`
	// Method is the authentication method of a login or refusal.
	Method string `json:"method,omitempty"`
	// Key is the SHA256 fingerprint of the key offered.
	Key string `json:"key,omitempty"`
	// Target is what an action was about (alert id, fault name).
	Target  string `json:"target,omitempty"`
	Comment string `json:"comment,omitempty"`
	// Result is "ok" or why it was refused or failed.
	Result string `json:"result,omitempty"`
}

// AuditLog writes audit events as JSON lines. Safe for concurrent use; a
// nil *AuditLog discards.
type AuditLog struct {
	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
	// subscribers see every event (the workshop scoreboard uses this).
	subs []func(AuditEvent)
}

// NewAuditLog writes to w.
func NewAuditLog(w io.Writer) *AuditLog {
	return &AuditLog{enc: json.NewEncoder(w), now: time.Now}
}

// Record writes e, stamping its time when zero.
func (a *AuditLog) Record(e AuditEvent) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	if a.enc != nil {
		_ = a.enc.Encode(e)
	}
	for _, f := range a.subs {
		f(e)
	}
}

// Subscribe calls f for every later event, under the log's lock: f must be
// quick and must not call Record.
func (a *AuditLog) Subscribe(f func(AuditEvent)) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.subs = append(a.subs, f)
	a.mu.Unlock()
}
