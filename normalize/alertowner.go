package normalize

import "time"

// AlertOwner is the system that holds an alert's state when it is not
// this collector's rules (Alert.Owner): an OPC UA server whose condition
// the source's connector relays, or another collector. Its fields are
// what the owner last said, and whether that is current.
type AlertOwner struct {
	// Name is the owner: the source whose endpoint holds the condition
	// (or a remote collector). Actions on the alert go to it.
	Name string
	// Ref is the owner's id of the alert: an OPC UA condition's node id,
	// "nsu=<uri>;<id>" (ConditionId).
	Ref string
	// Retain: the owner wants the alert shown (OPC UA Retain): it is
	// active, or waits for an acknowledgement or a confirmation.
	Retain bool
	// Confirmable says the owner's condition has a confirmation step
	// after the acknowledgement; Confirmed that nothing waits for it.
	Confirmable, Confirmed bool
	// Current says the state is the owner's latest: false from the loss
	// of the link to the owner (Lost, Why) until it sends its state
	// again (for OPC UA, the ConditionRefresh after the reconnect). An
	// alert that is not current is kept as it was, not cleared.
	Current bool
	// Lost is when the state stopped being current (zero while it is,
	// and for a state restored from a previous run).
	Lost time.Time
	// Why the state is not current: the link's error, or a restart.
	Why string
}

// Retained says the alert's owner wants it shown (Owner.Retain), whatever
// its state: an acknowledged condition that waits for its confirmation
// is Normal in the lifecycle, yet listed.
func (a *Alert) Retained() bool { return a.Owner != nil && a.Owner.Retain }

// AwaitsConfirm says the owner waits for the acknowledged alert to be
// confirmed.
func (a *Alert) AwaitsConfirm() bool {
	return a.Owner != nil && a.Owner.Confirmable && !a.Owner.Confirmed && !a.Unacked()
}

// NotCurrent says the owner's latest state is not known (see
// AlertOwner.Current).
func (a *Alert) NotCurrent() bool { return a.Owner != nil && !a.Owner.Current }
