package opcuaserver

// The client activity hook: what the request loop (conn.go) reports of
// its clients to an observer (package clientlog), when one is set.
// Connections, session activations and ends, each subscription's
// monitored items on tags after every change, reads and writes of tags.
// Everything is read from the request and from the stack's state after
// the stack handled it; nothing here changes how a request is answered.

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin/clientlog"
)

// observer is the state of the hook.
type observer struct {
	o        clientlog.Observer
	machines []string
	sweep    sync.Once

	mu       sync.Mutex
	conns    map[uint32]obsConn     // open connections by secure channel id
	sessions map[string]*obsSession // live sessions by authentication token
}

// obsConn is one open connection.
type obsConn struct {
	id   uint64
	peer string
}

// obsSession is a session the hook saw activated.
type obsSession struct {
	sess *server.Session
	key  string
	id   string
	ch   uint32 // the secure channel it is active on
	conn obsConn
	name string
	user string
	// subs are its subscriptions, with their requested publishing
	// interval; publish is the interval its last CreateSubscription asked
	// for.
	subs    map[uint32]time.Duration
	publish time.Duration
}

// sessionSweep is how often the hook looks for sessions that ended
// without a CloseSession (timed out).
const sessionSweep = time.Second

// SetObserver makes the server report what its clients do to o (see
// package clientlog). Call it before Start.
func (s *Server) SetObserver(o clientlog.Observer) {
	names := make([]string, len(s.machines))
	for i, m := range s.machines {
		names[i] = m.Name
	}
	s.obs = &observer{o: o, machines: names, conns: map[uint32]obsConn{}, sessions: map[string]*obsSession{}}
}

// entry is an entry of this endpoint for a connection and session.
func (s *Server) entry(kind clientlog.Kind, c obsConn, os *obsSession) clientlog.Entry {
	e := clientlog.Entry{Time: time.Now(), Kind: kind, Protocol: "opcua", Endpoint: s.url, Conn: c.id, Peer: c.peer}
	if os != nil {
		e.Session, e.Client, e.User = os.id, os.name, os.user
	}
	return e
}

// observeConn reports a connection whose secure channel ch is open, and
// returns what reports its end.
func (s *Server) observeConn(conn net.Conn, ch *secureChannel) func() {
	ob := s.obs
	if ob == nil {
		return func() {}
	}
	ob.sweep.Do(func() { go s.sweepSessions() })
	c := obsConn{id: clientlog.NextConn(), peer: conn.RemoteAddr().String()}
	id := channelID(ch)
	ob.mu.Lock()
	ob.conns[id] = c
	ob.mu.Unlock()
	e := s.entry(clientlog.Connect, c, nil)
	e.Machines = ob.machines
	ob.o.Observe(e)
	return func() {
		ob.mu.Lock()
		delete(ob.conns, id)
		ob.mu.Unlock()
		ob.o.Observe(s.entry(clientlog.Disconnect, c, nil))
	}
}

// observeRequest reports what req, which the stack has handled on ch,
// did.
func (s *Server) observeRequest(ch *secureChannel, req ua.ServiceRequest) {
	ob := s.obs
	if ob == nil {
		return
	}
	switch r := req.(type) {
	case *ua.ActivateSessionRequest:
		s.observeActivate(ch, r.RequestHeader)
	case *ua.CloseSessionRequest:
		if os := ob.session(r.RequestHeader); os != nil {
			s.endSession(os, "closed by the client")
		}
	case *ua.ReadRequest:
		os := ob.session(r.RequestHeader)
		if os == nil {
			return
		}
		tags := make([]int, 0, len(r.NodesToRead))
		for _, n := range r.NodesToRead {
			if t, ok := s.tagOf(n.NodeID); ok && n.AttributeID == ua.AttributeIDValue {
				tags = append(tags, t.Index)
			}
		}
		e := s.entry(clientlog.Read, os.conn, os)
		e.Tags, e.Count = tags, len(tags)
		ob.o.Observe(e)
	case *ua.CreateSubscriptionRequest:
		// The new subscription's id is in the response only: the hook
		// learns it from the first request that names it (observeItems).
		if os := ob.session(r.RequestHeader); os != nil {
			ob.mu.Lock()
			os.publish = msDuration(r.RequestedPublishingInterval)
			ob.mu.Unlock()
		}
	case *ua.ModifySubscriptionRequest:
		if os := ob.session(r.RequestHeader); os != nil {
			ob.mu.Lock()
			if _, ok := os.subs[r.SubscriptionID]; ok {
				os.subs[r.SubscriptionID] = msDuration(r.RequestedPublishingInterval)
			}
			ob.mu.Unlock()
			s.observeSubscription(os, r.SubscriptionID)
		}
	case *ua.CreateMonitoredItemsRequest:
		s.observeItems(r.RequestHeader, r.SubscriptionID)
	case *ua.ModifyMonitoredItemsRequest:
		s.observeItems(r.RequestHeader, r.SubscriptionID)
	case *ua.DeleteMonitoredItemsRequest:
		s.observeItems(r.RequestHeader, r.SubscriptionID)
	case *ua.SetMonitoringModeRequest:
		s.observeItems(r.RequestHeader, r.SubscriptionID)
	case *ua.DeleteSubscriptionsRequest:
		if os := ob.session(r.RequestHeader); os != nil {
			for _, id := range r.SubscriptionIDs {
				s.observeSubscription(os, id)
			}
		}
	}
}

// session is the live session of a request header, nil when the hook
// knows none.
func (ob *observer) session(h ua.RequestHeader) *obsSession {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.sessions[fmt.Sprint(h.AuthenticationToken)]
}

// observeActivate reports a session activated on ch: new, or resumed on
// a new connection.
func (s *Server) observeActivate(ch *secureChannel, h ua.RequestHeader) {
	ob := s.obs
	sess, ok := s.ua.SessionManager().Get(h.AuthenticationToken)
	id := channelID(ch)
	if !ok || sess.SecureChannelId() != id {
		return // refused
	}
	key := fmt.Sprint(h.AuthenticationToken)
	ob.mu.Lock()
	c := ob.conns[id]
	os := ob.sessions[key]
	moved := os != nil && os.ch != id
	if os == nil {
		os = &obsSession{sess: sess, key: key, id: fmt.Sprint(sess.SessionId()), name: sess.SessionName(), subs: map[uint32]time.Duration{}}
		ob.sessions[key] = os
	}
	os.ch, os.conn, os.user = id, c, userName(sess)
	ob.mu.Unlock()
	e := s.entry(clientlog.Session, c, os)
	e.Reconnect = moved
	ob.o.Observe(e)
}

// endSession reports the end of session os and of its subscriptions.
func (s *Server) endSession(os *obsSession, why string) {
	ob := s.obs
	ob.mu.Lock()
	if ob.sessions[os.key] != os {
		ob.mu.Unlock()
		return
	}
	delete(ob.sessions, os.key)
	subs := make([]uint32, 0, len(os.subs))
	for id := range os.subs {
		subs = append(subs, id)
	}
	ob.mu.Unlock()
	for _, id := range subs {
		e := s.entry(clientlog.Subscription, os.conn, os)
		e.SubscriptionID, e.Reason = id, "session ended"
		ob.o.Observe(e)
	}
	e := s.entry(clientlog.SessionEnd, os.conn, os)
	e.Reason = why
	ob.o.Observe(e)
}

// observeItems reports the items of subscription id after a change; a
// subscription of the session it does not know yet is adopted.
func (s *Server) observeItems(h ua.RequestHeader, id uint32) {
	ob := s.obs
	os := ob.session(h)
	if os == nil {
		return
	}
	ob.mu.Lock()
	_, known := os.subs[id]
	ob.mu.Unlock()
	if !known {
		sub, ok := s.ua.SubscriptionManager().Get(id)
		if !ok || !slices.Contains(s.ua.SubscriptionManager().GetBySession(os.sess), sub) {
			return
		}
		ob.mu.Lock()
		os.subs[id] = os.publish
		ob.mu.Unlock()
	}
	s.observeSubscription(os, id)
}

// observeSubscription reports subscription id of os as the stack has it
// now: its monitored items on tags, or its end.
func (s *Server) observeSubscription(os *obsSession, id uint32) {
	ob := s.obs
	ob.mu.Lock()
	publish, mine := os.subs[id]
	ob.mu.Unlock()
	if !mine {
		return
	}
	e := s.entry(clientlog.Subscription, os.conn, os)
	e.SubscriptionID = id
	sub, ok := s.ua.SubscriptionManager().Get(id)
	if !ok {
		ob.mu.Lock()
		delete(os.subs, id)
		ob.mu.Unlock()
		e.Reason = "deleted"
		ob.o.Observe(e)
		return
	}
	for _, it := range sub.Items() {
		rv := it.ItemToMonitor()
		t, isTag := s.tagOf(rv.NodeID)
		if !isTag || rv.AttributeID != ua.AttributeIDValue || it.MonitoringMode() != ua.MonitoringModeReporting {
			continue
		}
		e.Items = append(e.Items, clientlog.Item{Tag: t.Index, Every: max(msDuration(it.SamplingInterval()), publish)})
	}
	e.Count = len(e.Items)
	ob.o.Observe(e)
}

// sweepSessions reports the sessions that ended without CloseSession
// (their timeout passed), until the server closes.
func (s *Server) sweepSessions() {
	ob := s.obs
	t := time.NewTicker(sessionSweep)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		ob.mu.Lock()
		var gone []*obsSession
		for _, os := range ob.sessions {
			// Not SessionManager.Get: it counts as the client's access
			// and would keep the session alive. The stack clears the
			// token of a session it deletes.
			if os.sess.AuthenticationToken() == nil || os.sess.IsExpired() {
				gone = append(gone, os)
			}
		}
		ob.mu.Unlock()
		for _, os := range gone {
			s.endSession(os, "timed out")
		}
	}
}

// observeWrite reports one write of a tag's value with its result.
func (s *Server) observeWrite(sess *server.Session, wv ua.WriteValue, code ua.StatusCode, reason any) {
	ob := s.obs
	if ob == nil || wv.AttributeID != ua.AttributeIDValue {
		return
	}
	t, isTag := s.tagOf(wv.NodeID)
	if !isTag {
		return
	}
	ob.mu.Lock()
	os := ob.sessions[fmt.Sprint(sess.AuthenticationToken())]
	c := ob.conns[sess.SecureChannelId()]
	ob.mu.Unlock()
	e := s.entry(clientlog.Write, c, os)
	if os == nil {
		e.Client, e.User = sess.SessionName(), userName(sess)
	}
	e.Tag, e.Tags, e.Value, e.Status = t.ID, []int{t.Index}, wv.Value.Value, uint32(code)
	if err, ok := reason.(error); ok {
		e.Reason = err.Error()
	} else if code != ua.Good {
		e.Reason = code.Error()
	}
	ob.o.Observe(e)
}

// msDuration is an OPC UA interval in milliseconds as a duration.
func msDuration(ms float64) time.Duration {
	if ms <= 0 {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}
