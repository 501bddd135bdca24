package normalize

import "time"

// AlertKind is what a data-quality or process alert is about. The
// data-quality kinds are declared each with its rule (rule_*.go).
type AlertKind string

// AlertSeverity orders alerts; higher is worse.
type AlertSeverity int

// The alert severities.
const (
	SeverityLow AlertSeverity = iota + 1
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

// AlertState is where an alert is in its ISA-18.2 lifecycle.
type AlertState int

// The alert states.
const (
	// Normal: the condition is not active and nothing is pending.
	Normal AlertState = iota
	// ActiveUnacked: the condition is active and nobody acknowledged it.
	ActiveUnacked
	// ActiveAcked: active and acknowledged.
	ActiveAcked
	// RTNUnacked: the condition returned to normal before anyone
	// acknowledged it.
	RTNUnacked
)

// Alert is one alert: a condition of one kind on one tag or source.
type Alert struct {
	// ID is stable for the same kind on the same target: "<kind>:<target>".
	ID string
	// Kind of condition.
	Kind AlertKind
	// Target is the tag id, or the source name for endpoint alerts.
	Target string
	// Severity of the alert.
	Severity AlertSeverity
	// State in the lifecycle.
	State AlertState
	// Message says what was detected, e.g. "no update for 12s (limit 5s)".
	Message string
	// FirstActive and LastActive: when the condition was first and most
	// recently raised.
	FirstActive, LastActive time.Time
	// Cleared is when the condition last returned to normal.
	Cleared time.Time
	// Count is how many times the condition became active.
	Count int
	// AckedBy is who acknowledged the alert, AckedAt when, and Comment
	// what they noted.
	AckedBy string
	AckedAt time.Time // see AckedBy
	Comment string    // see AckedBy
	// Owner, when non-nil, says another system holds the alert's state:
	// an OPC UA server's condition, relayed by the source's connector.
	// The store follows what the owner says, and an acknowledgement goes
	// to the owner. Nil for this collector's own alerts (its rules).
	// Shared and immutable: a change replaces it.
	Owner *AlertOwner
	// ShelvedUntil hides the alert until then (zero: not shelved); a
	// one-shot shelve lasts until the condition next clears.
	ShelvedUntil   time.Time
	ShelvedOneShot bool   // shelved until the condition next clears
	ShelvedBy      string // who shelved it
	ShelveReason   string // why
	// Shelved says the alert is shelved (timed until ShelvedUntil, or
	// one-shot): still tracked, but hidden from the operator's attention.
	Shelved bool
	// Context is the production context of the target's asset when the
	// condition was last raised (nil: none); shared and immutable.
	Context *Context
}

// Active says the condition is active (ActiveUnacked or ActiveAcked).
func (a *Alert) Active() bool { return a.State == ActiveUnacked || a.State == ActiveAcked }

// Unacked says the alert waits for an acknowledgement.
func (a *Alert) Unacked() bool { return a.State == ActiveUnacked || a.State == RTNUnacked }

// String names the state: "normal", "active_unacked", "active_acked",
// "rtn_unacked".
func (s AlertState) String() string {
	switch s {
	case ActiveUnacked:
		return "active_unacked"
	case ActiveAcked:
		return "active_acked"
	case RTNUnacked:
		return "rtn_unacked"
	default:
		return "normal"
	}
}

// String names the severity: "low", "medium", "high", "critical".
func (s AlertSeverity) String() string {
	switch s {
	case SeverityLow:
		return "low"
	case SeverityMedium:
		return "medium"
	case SeverityHigh:
		return "high"
	case SeverityCritical:
		return "critical"
	default:
		return "none"
	}
}

// The alert event names (AlertEvent.What).
const (
	EventRaised    = "raised"
	EventCleared   = "cleared"
	EventAcked     = "acked"
	EventShelved   = "shelved"
	EventUnshelved = "unshelved"
	EventCommented = "commented" // a note without acknowledging
	EventConfirmed = "confirmed" // the owner's condition was confirmed (Alert.Owner)
	EventChanged   = "changed"   // the owner changed severity or message while active
)

// AlertID is the stable id of the alert of kind on target.
func AlertID(kind AlertKind, target string) string { return string(kind) + ":" + target }

// Condition is a rule's verdict on one target: its condition became active
// (raised) or ended (cleared). The normalizer returns conditions; the
// store (normalize/store) alone turns them into alert transitions.
type Condition struct {
	// Kind of condition.
	Kind AlertKind
	// Target is the tag id, or the source name for endpoint conditions.
	Target string
	// Active is true for a raise, false for a clear.
	Active bool
	// Severity is the rule's severity (set on a raise).
	Severity AlertSeverity
	// Message says what was detected (set on a raise), e.g. "no update for
	// 12s (limit 5s)".
	Message string
	// At is when the condition was raised or cleared.
	At time.Time
	// Context is the production context of the target's asset at that
	// time (nil: none); shared and immutable.
	Context *Context
}

// ID is the id of the alert the condition is about (see AlertID).
func (c *Condition) ID() string { return AlertID(c.Kind, c.Target) }

// AlertEvent is one transition in an alert's history.
type AlertEvent struct {
	At      time.Time // when it happened
	AlertID string    // the alert's ID
	// What: one of the Event* names.
	What    string
	State   AlertState // the state after it
	User    string     // who, for user actions
	Comment string     // the ack comment, shelve reason, note or raise message
}
