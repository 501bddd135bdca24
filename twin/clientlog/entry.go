// Package clientlog is the twin's client activity log: what the OPC UA and
// Modbus TCP servers see their clients do — connections, OPC UA sessions,
// subscriptions and monitored items, reads and writes, and per Modbus peer
// the function codes and addresses it reads and writes.
//
// The servers report each step as an Entry to an Observer (the servers'
// hooks, twin/opcuaserver/observe.go and twin/modbusserver/observe.go).
// A Log is the Observer the twin runs: it keeps the recent entries (the
// control API's GET /v1/clients/activity), a summary per client (GET
// /v1/clients), writes a readable, rate-limited log, and hands every entry
// to its listeners (the scenario's checks, package twin/checks).
//
// Reads are many: a poller reads every second, a test client thousands of
// times a second. They reach the listeners one by one, but the entry list
// and the log get one "reads" summary per connection and interval (10 s by
// default) that counts them by function code and address range.
package clientlog

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// Kind is what a client did.
type Kind string

// The kinds of activity.
const (
	// Connect: a connection was accepted (OPC UA: its secure channel is
	// open). Machines lists the machines the endpoint serves.
	Connect Kind = "connect"
	// Disconnect: the connection closed; Reason says why when known.
	Disconnect Kind = "disconnect"
	// Session: an OPC UA session was activated on the connection (Client
	// is its session name, User its user). Reconnect is set when the
	// session was active on another connection before: the client
	// reconnected and kept its session.
	Session Kind = "session"
	// SessionEnd: an OPC UA session ended: closed by its client, or timed
	// out (Reason "timed out").
	SessionEnd Kind = "session_end"
	// Subscription: the monitored items of an OPC UA subscription are now
	// Items (the whole set, after a create, modify, delete or monitoring
	// mode change). A subscription that is gone (deleted by its client,
	// or with its session) has Reason set ("deleted", "session ended").
	Subscription Kind = "subscription"
	// Read: an OPC UA Read or a Modbus read (function 1-4, 23) of Tags.
	// Reads go to the listeners; the entry list and the log get Reads
	// summaries instead.
	Read Kind = "read"
	// Reads: a summary of a connection's reads over an interval: Count
	// requests, Detail by function code and range.
	Reads Kind = "reads"
	// Write: a client wrote Value to Tag. Status (OPC UA) or Exception
	// (Modbus) is non-zero when the twin refused it; Reason says why.
	Write Kind = "write"
)

// Item is one monitored item of a subscription: a tag and how often the
// client gets its value (the larger of the sampling interval and the
// subscription's requested publishing interval).
type Item struct {
	Tag   int
	Every time.Duration
}

// Entry is one thing a client did, as a server saw it.
type Entry struct {
	// Seq is the entry's place in the Log (its cursor); set by the Log.
	Seq int `json:"seq"`
	// Time is the wall time the server saw it.
	Time time.Time `json:"time"`
	// Kind is what happened.
	Kind Kind `json:"kind"`
	// Protocol is "opcua" or "modbus".
	Protocol string `json:"protocol"`
	// Endpoint is the server's URL (OPC UA) or listening address (Modbus).
	Endpoint string `json:"endpoint"`
	// Conn numbers the connection, uniquely within the process.
	Conn uint64 `json:"conn"`
	// Peer is the client's address, host:port.
	Peer string `json:"peer"`
	// Session is the OPC UA session's id; Client its session name; User
	// the user ("anonymous" without one).
	Session string `json:"session,omitempty"`
	Client  string `json:"client,omitempty"`
	User    string `json:"user,omitempty"`
	// Reconnect (Session): the session came back on a new connection.
	Reconnect bool `json:"reconnect,omitempty"`
	// Machines (Connect) are the machines the endpoint serves. Shared:
	// do not modify.
	Machines []string `json:"machines,omitempty"`
	// SubscriptionID is the OPC UA subscription (Subscription).
	SubscriptionID uint32 `json:"subscription_id,omitempty"`
	// Items (Subscription) are the subscription's monitored items on
	// tags, Tags (Read, Write) the engine indexes of the tags concerned.
	// A listener that keeps them must copy them; the entry list keeps
	// only their number.
	Items []Item `json:"-"`
	Tags  []int  `json:"-"`
	// Count is the number of items (Subscription), tags (Read) or
	// requests (Reads).
	Count int `json:"count,omitempty"`
	// Tag is the written tag's id (Write).
	Tag string `json:"tag,omitempty"`
	// Value is the value written (Write), nil when the request's bytes
	// do not decode to a value of the tag.
	Value any `json:"value,omitempty"`
	// Status is the OPC UA status code of a refused write (0: accepted).
	Status uint32 `json:"status,omitempty"`
	// Function, Unit, Address and Quantity are a Modbus request's function
	// code, unit id, first (0-based) address and quantity; Exception its
	// exception code (0: answered normally).
	Function  byte `json:"function,omitempty"`
	Unit      byte `json:"unit,omitempty"`
	Address   int  `json:"address,omitempty"`
	Quantity  int  `json:"quantity,omitempty"`
	Exception byte `json:"exception,omitempty"`
	// Reason says why (a refused write, a closed connection).
	Reason string `json:"reason,omitempty"`
	// Detail is the text of a Reads summary.
	Detail string `json:"detail,omitempty"`
}

// Accepted reports whether a write was accepted.
func (e *Entry) Accepted() bool { return e.Status == 0 && e.Exception == 0 }

// Host is the host part of Peer.
func (e *Entry) Host() string { return Host(e.Peer) }

// Host returns the host of a host:port address (the address itself when
// it has no port).
func Host(peer string) string {
	if h, _, err := net.SplitHostPort(peer); err == nil {
		return h
	}
	return peer
}

// Who names the client of e for people: "127.0.0.1:50312", with the
// session name and user of an OPC UA session when known.
func (e *Entry) Who() string {
	var b strings.Builder
	b.WriteString(e.Peer)
	if e.Client != "" {
		fmt.Fprintf(&b, " %q", e.Client)
	}
	if e.User != "" && e.User != "anonymous" {
		b.WriteString(" user ")
		b.WriteString(e.User)
	}
	return b.String()
}

// Observer receives the servers' entries. Observe is called from the
// servers' connection goroutines, concurrently: it must be safe for
// concurrent use and must not block. The Items and Tags of an entry are
// valid only during the call.
type Observer interface {
	Observe(e Entry)
}

// TableOf names the Modbus table a function code reads or writes:
// coil (1, 5, 15), discrete (2), holding (3, 6, 16, 23) or input (4);
// "" for any other code.
func TableOf(fc byte) string {
	switch fc {
	case 1, 5, 15:
		return "coil"
	case 2:
		return "discrete"
	case 3, 6, 16, 23:
		return "holding"
	case 4:
		return "input"
	}
	return ""
}

// connSeq numbers connections (NextConn).
var connSeq atomic.Uint64

// NextConn returns a new connection number, unique within the process:
// the servers number their connections with it (Entry.Conn).
func NextConn() uint64 { return connSeq.Add(1) }
