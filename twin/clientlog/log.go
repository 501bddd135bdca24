package clientlog

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultCapacity = 10000
	DefaultSummary  = 10 * time.Second
	// DefaultBurst log lines per DefaultSummary at most; the lines left
	// out are counted in the next one.
	DefaultBurst = 20
)

// Options configure a Log.
type Options struct {
	// Logger receives the readable log (nil: none).
	Logger *slog.Logger
	// Capacity is how many entries the Log keeps (default 10000).
	Capacity int
	// Summary is the interval of the reads summaries and of the log's
	// rate limit (default 10 s).
	Summary time.Duration
	// Burst is the number of log lines per Summary interval (default 20).
	Burst int
	// Now is the clock of the summaries (default time.Now).
	Now func() time.Time
}

// Log is the client activity log: an Observer that keeps the recent
// entries and a summary per client, writes a rate-limited log, and passes
// every entry to its listeners. Safe for concurrent use.
type Log struct {
	opt       Options
	listeners []func(Entry)

	mu      sync.Mutex
	ring    []Entry
	next    int // Seq of the next entry
	clients map[clientKey]*Client
	conns   map[uint64]*connState
	// sessions maps an OPC UA session id to its client; subs a
	// subscription (endpoint and id) to its client and item count.
	sessions map[string]clientKey
	subs     map[subKey]subState

	logStart   time.Time
	logLines   int
	logDropped int
	lastDue    time.Time // when the summaries were last looked at
}

type clientKey struct{ protocol, endpoint, host string }

type subKey struct {
	endpoint string
	id       uint32
}

type subState struct {
	client clientKey
	items  int
}

// connState is a connection's reads since its last summary.
type connState struct {
	client *Client
	first  Entry // the connection's Connect entry (who)
	since  time.Time
	reads  int
	funcs  map[byte]int
	spans  map[span]int
}

// span is a range of one Modbus table read by a function code (or, with
// fc 0, a number of OPC UA tags).
type span struct {
	unit, fc byte
	from, to int
}

// maxSpans bounds the ranges a summary lists per connection.
const maxSpans = 16

// Client is what one client did at one endpoint: the summary of GET
// /v1/clients. A client is a host at an endpoint over a protocol;
// its connections are counted, not listed.
type Client struct {
	Protocol string `json:"protocol"`
	Endpoint string `json:"endpoint"`
	Host     string `json:"host"`
	// Peer is the address of its last connection.
	Peer string `json:"peer"`
	// Names are the OPC UA session names it used, Users its users.
	Names []string `json:"names,omitempty"`
	Users []string `json:"users,omitempty"`
	// Connections counts the connections it opened; Open those open now;
	// Reconnects the connections after the first and the sessions it
	// took to a new connection.
	Connections int `json:"connections"`
	Open        int `json:"open"`
	Reconnects  int `json:"reconnects"`
	// Sessions are its live OPC UA sessions; Subscriptions their
	// subscriptions and Items their monitored items.
	Sessions      int `json:"sessions,omitempty"`
	Subscriptions int `json:"subscriptions,omitempty"`
	Items         int `json:"items,omitempty"`
	// Reads counts read requests, Writes the tags written, Refused the
	// writes refused.
	Reads   uint64 `json:"reads"`
	Writes  int    `json:"writes"`
	Refused int    `json:"refused"`
	// Functions counts Modbus requests by function code.
	Functions map[string]int `json:"functions,omitempty"`
	funcs     [256]int
	// First and Last are when it was first and last seen.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// New returns an empty Log.
func New(opt Options) *Log {
	if opt.Capacity <= 0 {
		opt.Capacity = DefaultCapacity
	}
	if opt.Summary <= 0 {
		opt.Summary = DefaultSummary
	}
	if opt.Burst <= 0 {
		opt.Burst = DefaultBurst
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Log{
		opt:      opt,
		clients:  map[clientKey]*Client{},
		conns:    map[uint64]*connState{},
		sessions: map[string]clientKey{},
		subs:     map[subKey]subState{},
	}
}

// Listen adds f, which gets every entry (reads too) in the calling
// server's goroutine, as Observe does: it must be safe for concurrent use,
// must not block, and must copy Items and Tags to keep them. Add
// listeners before the servers start.
func (l *Log) Listen(f func(Entry)) { l.listeners = append(l.listeners, f) }

// Observe records e (Observer).
func (l *Log) Observe(e Entry) {
	if e.Time.IsZero() {
		e.Time = l.opt.Now()
	}
	for _, f := range l.listeners {
		f(e)
	}
	l.mu.Lock()
	var out []Entry
	switch e.Kind {
	case Read:
		l.read(&e)
		out = l.due(e.Time, false)
	case Disconnect:
		l.track(&e)
		out = l.due(e.Time, false)
		if cs := l.conns[e.Conn]; cs != nil {
			if cs.reads > 0 {
				out = append(out, l.add(cs.summary(e.Time)))
			}
			delete(l.conns, e.Conn)
		}
		out = append(out, l.add(e))
	default:
		l.track(&e)
		out = append(l.due(e.Time, false), l.add(e))
	}
	l.mu.Unlock()
	for i := range out {
		l.logLine(&out[i])
	}
}

// Flush writes the reads summaries of every connection now.
func (l *Log) Flush() {
	l.mu.Lock()
	out := l.due(l.opt.Now(), true)
	l.mu.Unlock()
	for i := range out {
		l.logLine(&out[i])
	}
}

// add appends e to the ring and returns it with its Seq. Called with mu
// held.
func (l *Log) add(e Entry) Entry {
	e.Seq = l.next
	l.next++
	e.Items, e.Tags = nil, nil
	if len(l.ring) < l.opt.Capacity {
		l.ring = append(l.ring, e)
	} else {
		l.ring[e.Seq%l.opt.Capacity] = e
	}
	return e
}

// Since returns the entries with Seq >= since, oldest first, and the
// cursor for the next call; a cursor older than the entries kept gets the
// oldest kept.
func (l *Log) Since(since int) ([]Entry, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest := l.next - len(l.ring)
	since = max(since, oldest)
	if since >= l.next {
		return nil, l.next
	}
	out := make([]Entry, 0, l.next-since)
	for s := since; s < l.next; s++ {
		out = append(out, l.ring[s%l.opt.Capacity])
	}
	return out, l.next
}

// Clients returns the summary of every client seen, by protocol,
// endpoint and host.
func (l *Log) Clients() []Client {
	l.mu.Lock()
	out := make([]Client, 0, len(l.clients))
	for _, c := range l.clients {
		cp := *c
		cp.Names = append([]string(nil), c.Names...)
		cp.Users = append([]string(nil), c.Users...)
		for fc, n := range c.funcs {
			if n > 0 {
				if cp.Functions == nil {
					cp.Functions = map[string]int{}
				}
				cp.Functions[strconv.Itoa(fc)] = n
			}
		}
		cp.funcs = [256]int{}
		out = append(out, cp)
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Endpoint != b.Endpoint {
			return a.Endpoint < b.Endpoint
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.Host < b.Host
	})
	return out
}

// client returns the summary of e's client. Called with mu held.
func (l *Log) client(e *Entry) *Client {
	k := clientKey{e.Protocol, e.Endpoint, e.Host()}
	c := l.clients[k]
	if c == nil {
		c = &Client{Protocol: k.protocol, Endpoint: k.endpoint, Host: k.host, First: e.Time}
		l.clients[k] = c
	}
	c.Last = e.Time
	if e.Peer != "" {
		c.Peer = e.Peer
	}
	if e.Function != 0 {
		c.funcs[e.Function]++
	}
	return c
}

// track updates the summaries with e (any kind but Read). Called with
// mu held.
func (l *Log) track(e *Entry) {
	c := l.client(e)
	k := clientKey{e.Protocol, e.Endpoint, e.Host()}
	switch e.Kind {
	case Connect:
		c.Connections++
		c.Open++
		if c.Connections > 1 {
			c.Reconnects++
		}
		l.conns[e.Conn] = &connState{client: c, first: *e, since: e.Time}
	case Disconnect:
		if _, ok := l.conns[e.Conn]; ok {
			c.Open--
		}
	case Session:
		addName(&c.Names, e.Client)
		addName(&c.Users, e.User)
		if _, known := l.sessions[e.Session]; !known {
			c.Sessions++
		} else if e.Reconnect {
			c.Reconnects++
		}
		l.sessions[e.Session] = k
	case SessionEnd:
		if _, known := l.sessions[e.Session]; known {
			delete(l.sessions, e.Session)
			c.Sessions--
		}
	case Subscription:
		sk := subKey{e.Endpoint, e.SubscriptionID}
		old, had := l.subs[sk]
		if had {
			if oc := l.clients[old.client]; oc != nil {
				oc.Subscriptions--
				oc.Items -= old.items
			}
		}
		if e.Reason == "" {
			l.subs[sk] = subState{client: k, items: e.Count}
			c.Subscriptions++
			c.Items += e.Count
		} else {
			delete(l.subs, sk)
		}
	case Write:
		c.Writes++
		if !e.Accepted() {
			c.Refused++
		}
	}
}

func addName(list *[]string, s string) {
	if s == "" {
		return
	}
	for _, x := range *list {
		if x == s {
			return
		}
	}
	if len(*list) < 8 {
		*list = append(*list, s)
	}
}

// read counts a read into its connection's summary. Called with mu held.
func (l *Log) read(e *Entry) {
	cs := l.conns[e.Conn]
	if cs == nil {
		cs = &connState{client: l.client(e), first: *e, since: e.Time}
		l.conns[e.Conn] = cs
	}
	c := cs.client
	c.Reads++
	c.Last = e.Time
	c.funcs[e.Function]++
	if cs.reads == 0 {
		cs.since = e.Time
	}
	cs.reads++
	if e.Function != 0 {
		if cs.funcs == nil {
			cs.funcs = map[byte]int{}
		}
		cs.funcs[e.Function]++
	}
	sp := span{unit: e.Unit, fc: e.Function, from: e.Address, to: e.Address + e.Quantity - 1}
	if e.Function == 0 {
		sp = span{from: len(e.Tags)}
	}
	if cs.spans == nil {
		cs.spans = map[span]int{}
	}
	if _, ok := cs.spans[sp]; ok || len(cs.spans) < maxSpans {
		cs.spans[sp]++
	}
}

// due returns the reads summaries due at now (all pending ones when
// all). Called with mu held.
func (l *Log) due(now time.Time, all bool) []Entry {
	if !all && now.Sub(l.lastDue) < time.Second {
		return nil
	}
	l.lastDue = now
	var out []Entry
	for _, cs := range l.conns {
		if cs.reads > 0 && (all || now.Sub(cs.since) >= l.opt.Summary) {
			out = append(out, l.add(cs.summary(now)))
			cs.reads, cs.funcs, cs.spans = 0, nil, nil
		}
	}
	return out
}

// summary is the Reads entry of cs's reads until now.
func (cs *connState) summary(now time.Time) Entry {
	e := cs.first
	e.Kind, e.Time, e.Count = Reads, now, cs.reads
	e.Function, e.Unit, e.Address, e.Quantity, e.Exception = 0, 0, 0, 0, 0
	e.Value, e.Status, e.Reason, e.Tag = nil, 0, "", ""
	var parts []string
	fcs := make([]int, 0, len(cs.funcs))
	for fc := range cs.funcs {
		fcs = append(fcs, int(fc))
	}
	sort.Ints(fcs)
	for _, fc := range fcs {
		parts = append(parts, fmt.Sprintf("fc%d×%d", fc, cs.funcs[byte(fc)]))
	}
	spans := make([]span, 0, len(cs.spans))
	for s := range cs.spans {
		spans = append(spans, s)
	}
	sort.Slice(spans, func(i, j int) bool {
		a, b := spans[i], spans[j]
		if a.unit != b.unit {
			return a.unit < b.unit
		}
		if a.fc != b.fc {
			return a.fc < b.fc
		}
		return a.from < b.from
	})
	for _, s := range spans {
		switch {
		case s.fc == 0 && s.from == 0:
			parts = append(parts, fmt.Sprintf("%d of other nodes", cs.spans[s]))
		case s.fc == 0 && s.from == 1:
			parts = append(parts, fmt.Sprintf("%d of 1 tag", cs.spans[s]))
		case s.fc == 0:
			parts = append(parts, fmt.Sprintf("%d of %d tags", cs.spans[s], s.from))
		case s.from == s.to:
			parts = append(parts, fmt.Sprintf("unit %d %s %d", s.unit, TableOf(s.fc), s.from))
		default:
			parts = append(parts, fmt.Sprintf("unit %d %s %d-%d", s.unit, TableOf(s.fc), s.from, s.to))
		}
	}
	e.Detail = fmt.Sprintf("%d reads in %s: %s", cs.reads, now.Sub(cs.since).Round(time.Millisecond), strings.Join(parts, ", "))
	return e
}

// logLine writes e to the log, at most Burst lines per Summary interval.
func (l *Log) logLine(e *Entry) {
	log := l.opt.Logger
	if log == nil {
		return
	}
	l.mu.Lock()
	if e.Time.Sub(l.logStart) >= l.opt.Summary {
		l.logStart, l.logLines = e.Time, 0
	}
	if l.logLines >= l.opt.Burst {
		l.logDropped++
		l.mu.Unlock()
		return
	}
	l.logLines++
	dropped := l.logDropped
	l.logDropped = 0
	l.mu.Unlock()

	attrs := []any{"protocol", e.Protocol, "endpoint", e.Endpoint, "peer", e.Peer, "conn", e.Conn}
	if e.Client != "" {
		attrs = append(attrs, "session_name", e.Client)
	}
	if e.User != "" {
		attrs = append(attrs, "user", e.User)
	}
	msg := "client " + string(e.Kind)
	switch e.Kind {
	case Connect:
		msg = "client connected"
	case Disconnect:
		msg = "client disconnected"
	case Session:
		msg = "client session activated"
		if e.Reconnect {
			msg = "client session resumed on a new connection"
		}
	case SessionEnd:
		msg = "client session ended"
	case Subscription:
		attrs = append(attrs, "subscription", e.SubscriptionID, "items", e.Count)
	case Reads:
		attrs = append(attrs, "reads", e.Detail)
	case Write:
		msg = "client write"
		attrs = append(attrs, "tag", e.Tag, "value", e.Value)
		if !e.Accepted() {
			msg = "client write refused"
		}
		if e.Function != 0 {
			attrs = append(attrs, "function", e.Function, "unit", e.Unit, "address", e.Address)
		}
	}
	if e.Reason != "" {
		attrs = append(attrs, "reason", e.Reason)
	}
	if dropped > 0 {
		attrs = append(attrs, "activity_lines_not_logged", dropped)
	}
	log.Info(msg, attrs...)
}
