package checks

import (
	"slices"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/twin/clientlog"
)

// world is what the entries so far say of the clients: their
// connections, sessions and subscriptions, and which subscriptions are
// delivered (their session active on an open connection). It tells the
// judges when an item starts or stops being delivered (judge.cover).
type world struct {
	sc     *scenarios.Scenario
	tags   []twin.TagInfo
	byName map[string]*twin.MachineInfo
	tick   time.Duration
	judges []judge
	end    time.Duration

	clients   map[clientID]*client
	endpoints map[string][]string // endpoint → the machines it serves
	conns     map[uint64]*conn
	sessions  map[string]*session
	subs      map[subKey]*sub
}

// client is a host over a protocol: what checks follow across
// reconnections (a client's port changes with each connection).
type client struct {
	protocol, host string
}

type clientID struct{ protocol, host string }

// name is how reports name the client.
func (c *client) name() string {
	p := "OPC UA"
	if c.protocol == scenarios.ProtocolModbus {
		p = "Modbus"
	}
	return p + " client " + c.host
}

type conn struct {
	id       uint64
	client   *client
	endpoint string
	open     bool
	connect  clientlog.Entry // who: peer, and later session name and user
}

type session struct {
	id   string
	conn *conn
	subs map[uint32]*sub
}

type subKey struct {
	endpoint string
	id       uint32
}

type sub struct {
	key     subKey
	session *session
	items   []clientlog.Item
}

// live reports whether s's items are delivered: its session is active
// on an open connection.
func (s *sub) live() bool { return s.session != nil && s.session.conn != nil && s.session.conn.open }

func newWorld(sc *scenarios.Scenario, eng Engine) *world {
	w := &world{
		sc:        sc,
		tags:      eng.Tags(),
		byName:    map[string]*twin.MachineInfo{},
		tick:      eng.Status().Tick.D(),
		clients:   map[clientID]*client{},
		endpoints: map[string][]string{},
		conns:     map[uint64]*conn{},
		sessions:  map[string]*session{},
		subs:      map[subKey]*sub{},
	}
	ms := eng.Machines()
	for i := range ms {
		w.byName[ms[i].Name] = &ms[i]
	}
	return w
}

// entry updates the world with a and passes it to the judges.
func (w *world) entry(a *act) {
	c := w.conns[a.Conn]
	if c == nil {
		id := clientID{a.Protocol, a.Host()}
		cl := w.clients[id]
		if cl == nil {
			cl = &client{protocol: id.protocol, host: id.host}
			w.clients[id] = cl
		}
		c = &conn{id: a.Conn, client: cl, endpoint: a.Endpoint, open: true, connect: a.Entry}
		w.conns[a.Conn] = c
	}
	a.client = c.client
	switch a.Kind {
	case clientlog.Connect:
		if len(a.Machines) > 0 {
			w.endpoints[a.Endpoint] = a.Machines
		}
	case clientlog.Disconnect:
		var live []*session
		for _, s := range w.sessions {
			if s.conn == c && c.open {
				live = append(live, s)
			}
		}
		c.open = false
		for _, s := range live {
			w.coverAll(s, c.client, -1, a.at)
		}
	case clientlog.Session:
		c.connect.Client, c.connect.User = a.Client, a.User
		s := w.sessions[a.Session]
		if s == nil {
			s = &session{id: a.Session, subs: map[uint32]*sub{}}
			w.sessions[a.Session] = s
		}
		w.setLive(s, func() { s.conn = c }, a.at)
	case clientlog.SessionEnd:
		if s := w.sessions[a.Session]; s != nil {
			w.setLive(s, func() { s.conn = nil }, a.at)
			for _, sb := range s.subs {
				delete(w.subs, sb.key)
			}
			delete(w.sessions, a.Session)
		}
	case clientlog.Subscription:
		w.subscription(a)
	}
	for _, j := range w.judges {
		j.entry(w, a)
	}
}

// setLive applies change to session s and reports the items of its
// subscriptions that start or stop being delivered.
func (w *world) setLive(s *session, change func(), at time.Duration) {
	was, before := s.conn != nil && s.conn.open, s.conn
	change()
	now := s.conn != nil && s.conn.open
	switch {
	case was && !now:
		w.coverAll(s, before.client, -1, at)
	case !was && now:
		w.coverAll(s, s.conn.client, 1, at)
	}
}

// coverAll tells the judges that every item of s's subscriptions starts
// (n = 1) or stops (n = -1) being delivered to cl.
func (w *world) coverAll(s *session, cl *client, n int, at time.Duration) {
	for _, sb := range s.subs {
		for _, it := range sb.items {
			for _, j := range w.judges {
				j.cover(w, cl, it, n, at)
			}
		}
	}
}

// subscription applies a Subscription entry: the subscription's items
// now, or its end.
func (w *world) subscription(a *act) {
	k := subKey{a.Endpoint, a.SubscriptionID}
	sb := w.subs[k]
	if sb == nil {
		s := w.sessions[a.Session]
		if s == nil || a.Reason != "" {
			return
		}
		sb = &sub{key: k, session: s}
		w.subs[k] = sb
		s.subs[k.id] = sb
	}
	old := sb.items
	var now []clientlog.Item
	if a.Reason == "" {
		now = a.Items
	}
	if sb.live() {
		for _, it := range old {
			if !slices.Contains(now, it) {
				w.cover(sb, it, -1, a.at)
			}
		}
		for _, it := range now {
			if !slices.Contains(old, it) {
				w.cover(sb, it, 1, a.at)
			}
		}
	}
	sb.items = now
	if a.Reason != "" {
		delete(w.subs, k)
		if sb.session != nil {
			delete(sb.session.subs, k.id)
		}
	}
}

// cover tells the judges that item it of sb starts (n = 1) or stops
// (n = -1) being delivered.
func (w *world) cover(sb *sub, it clientlog.Item, n int, at time.Duration) {
	c := sb.session.conn
	if c == nil {
		return
	}
	for _, j := range w.judges {
		j.cover(w, c.client, it, n, at)
	}
}

// event passes a fault event to the judges.
func (w *world) event(ev *twin.Event) {
	for _, j := range w.judges {
		j.event(w, ev)
	}
}

// who is the connection of entry a, for matching and reports.
func (w *world) who(a *act) *clientlog.Entry {
	if c := w.conns[a.Conn]; c != nil {
		e := c.connect
		if a.Client != "" {
			e.Client, e.User = a.Client, a.User
		}
		return &e
	}
	return &a.Entry
}

// served lists the tags of machine m its endpoints serve over protocol
// p ("" for either).
func (w *world) served(m, p string) []int {
	mi := w.byName[m]
	if mi == nil {
		return nil
	}
	var out []int
	for _, i := range mi.Tags {
		opc := mi.OPCUA != nil && (p == "" || p == scenarios.ProtocolOPCUA)
		mb := mi.Modbus != nil && w.tags[i].Modbus != nil && (p == "" || p == scenarios.ProtocolModbus)
		if opc || mb {
			out = append(out, i)
		}
	}
	return out
}

// serves reports whether endpoint serves machine m.
func (w *world) serves(endpoint, m string) bool {
	return slices.Contains(w.endpoints[endpoint], m)
}

// fault returns the scenario's fault named name.
func (w *world) fault(name string) *scenarios.Fault {
	for i := range w.sc.Faults {
		if w.sc.Faults[i].Name == name {
			return &w.sc.Faults[i]
		}
	}
	return nil
}

// faultProtocols lists the protocols fault f acts on: its protocol, or
// every protocol its machine is served over.
func (w *world) faultProtocols(f *scenarios.Fault) []string {
	if f.Protocol != "" {
		return []string{f.Protocol}
	}
	mi := w.byName[machineOf(f.Target)]
	var out []string
	if mi != nil && mi.OPCUA != nil {
		out = append(out, scenarios.ProtocolOPCUA)
	}
	if mi != nil && mi.Modbus != nil {
		out = append(out, scenarios.ProtocolModbus)
	}
	return out
}

// machineOf is the machine of a "machine" or "machine/tag" target.
func machineOf(target string) string {
	for i := 0; i < len(target); i++ {
		if target[i] == '/' {
			return target[:i]
		}
	}
	return target
}

// tagName is a tag's "machine/tag".
func (w *world) tagName(i int) string {
	if i < 0 || i >= len(w.tags) {
		return "?"
	}
	return w.tags[i].Machine + "/" + w.tags[i].Name
}
