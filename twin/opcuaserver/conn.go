package opcuaserver

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin"
)

// serveConn serves one connection the front door checked, until it
// closes: it opens the secure channel and passes every request to the
// stack, except the Write requests of an active session, which write runs
// through the stack's own checks so that every refused write is logged
// with its status code. Every request is revised to the caps before the
// stack handles it and followed up after (requests.go).
func (s *Server) serveConn(conn net.Conn) {
	ch := newSecureChannel(s.ua, conn, false)
	// Tracked from the start, so that Close tells a client that has just
	// opened its channel, too.
	if !s.track(ch) {
		_ = channelAbort(ch, ua.BadServerHalted, "server shutting down")
		return
	}
	defer s.untrack(ch)
	if err := channelOpen(ch); err != nil {
		if code, ok := err.(ua.StatusCode); ok {
			_ = channelAbort(ch, code, "")
		}
		return
	}
	defer s.observeConn(conn, ch)()
	// The sessions activated on this channel.
	var sessions []*server.Session
	defer func() { s.orphanRequests(ch, sessions) }()
	warned := false // unsent logged a response the stack could not send
	for {
		req, id, err := channelRead(ch)
		if err != nil {
			return
		}
		if w, ok := req.(*ua.WriteRequest); ok {
			if handled, err := s.write(ch, id, w); handled {
				if err != nil {
					return
				}
				continue
			}
		}
		if !s.handle(ch, req, id, &sessions, &warned) {
			return
		}
	}
}

// handle has the stack handle one request of ch, revised before and
// followed up after, and reports whether the channel is still good;
// sessions collects the sessions activated on ch. The items of the
// subscriptions the request works on stay in the stack's maps meanwhile
// (park.go).
func (s *Server) handle(ch *secureChannel, req ua.ServiceRequest, id uint32, sessions *[]*server.Session, warned *bool) bool {
	first := lastItemID()
	s.limits.reviseRequest(req, s.publishingInterval)
	release := s.sampler.hold(req, func() *server.Session { return s.session(*req.Header()) })
	defer release()
	if err := handleRequest(s.ua, ch, req, id); err != nil {
		return s.unsent(ch, req, id, err, warned)
	}
	s.observeRequest(ch, req)
	if r, ok := req.(*ua.ActivateSessionRequest); ok {
		if sess := s.session(r.RequestHeader); sess != nil && sess.SecureChannelId() == channelID(ch) {
			*sessions = append(*sessions, sess)
		}
	}
	s.after(req, first)
	if r, ok := req.(*ua.CreateMonitoredItemsRequest); ok {
		s.trimNewItems(r.SubscriptionID, first)
	}
	return true
}

// unsent answers a request whose response the stack could not encode, or
// found larger than the client accepts, with a service fault of that
// status, and reports whether the channel is still good. The stack
// encodes a response whole before it sends a byte, so the channel is
// intact; it would otherwise close it, and the client would lose every
// request in flight for one answer it could not have. The first such
// response of a connection is logged: it is a value the twin should never
// serve.
func (s *Server) unsent(ch *secureChannel, req ua.ServiceRequest, id uint32, err error, warned *bool) bool {
	code, ok := err.(ua.StatusCode)
	if !ok || (code != ua.BadEncodingError && code != ua.BadResponseTooLarge) {
		return false
	}
	if !*warned {
		*warned = true
		s.log.Warn("opc ua response not sent", "request", fmt.Sprintf("%T", req), "status", twin.StatusName(uint32(code)))
	}
	return channelWrite(ch, &ua.ServiceFault{ResponseHeader: ua.ResponseHeader{
		Timestamp: time.Now().UTC(), RequestHandle: req.Header().RequestHandle, ServiceResult: code,
	}}, id) == nil
}

func (s *Server) track(ch *secureChannel) bool {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	if s.chClosed {
		return false
	}
	s.channels[ch] = struct{}{}
	return true
}

func (s *Server) untrack(ch *secureChannel) {
	s.chMu.Lock()
	delete(s.channels, ch)
	s.chMu.Unlock()
}

// abortChannels sends every secure channel an ERR message with reason and
// closes its connection, all at once, waiting at most wait for the
// messages to go out (a latency fault holds them, and so does a channel
// still waiting for its client's first messages; closing the connections
// afterwards releases them).
func (s *Server) abortChannels(reason ua.StatusCode, wait time.Duration) {
	s.chMu.Lock()
	s.chClosed = true
	chans := make([]*secureChannel, 0, len(s.channels))
	for ch := range s.channels {
		chans = append(chans, ch)
	}
	s.chMu.Unlock()
	var wg sync.WaitGroup
	for _, ch := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = channelAbort(ch, reason, "server shutting down")
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// write answers a Write request of a session active on ch, node by node
// through the stack's Write service (access level, the session's write
// right, type, then the node's write handler), logging each refusal with
// its status code. It leaves every other request (no or another session,
// nothing to write, too many nodes) to the stack, which answers with the
// service fault, and reports whether it answered.
func (s *Server) write(ch *secureChannel, id uint32, req *ua.WriteRequest) (bool, error) {
	sess, ok := s.ua.SessionManager().Get(req.AuthenticationToken)
	n := len(req.NodesToWrite)
	if !ok || sess.SecureChannelId() != channelID(ch) || n == 0 ||
		n > int(s.ua.ServerCapabilities().OperationLimits.MaxNodesPerWrite) {
		return false, nil
	}
	results := make([]ua.StatusCode, n)
	for i, wv := range req.NodesToWrite {
		results[i] = writeValue(s.ua, sess, wv)
		s.logWrite(sess, wv, results[i])
	}
	return true, channelWrite(ch, &ua.WriteResponse{
		ResponseHeader: ua.ResponseHeader{Timestamp: time.Now().UTC(), RequestHandle: req.RequestHandle},
		Results:        results,
	}, id)
}

// logWrite logs one write: at debug when accepted, at info when refused,
// with the status code's name, who wrote, and the engine's reason when
// the engine refused it.
func (s *Server) logWrite(sess *server.Session, wv ua.WriteValue, code ua.StatusCode) {
	reason, _ := s.writeErrs.LoadAndDelete(sess)
	s.observeWrite(sess, wv, code, reason)
	t, isTag := s.tagOf(wv.NodeID)
	if code == ua.Good {
		if isTag && wv.AttributeID == ua.AttributeIDValue {
			s.log.Debug("opc ua write", "tag", t.ID, "value", wv.Value.Value, "user", userName(sess))
		}
		return
	}
	attrs := []any{"node", s.nodeName(wv.NodeID), "value", wv.Value.Value, "status", twin.StatusName(uint32(code)), "user", userName(sess)}
	if isTag {
		attrs = append(attrs, "tag", t.ID)
	}
	if wv.AttributeID != ua.AttributeIDValue {
		attrs = append(attrs, "attribute", wv.AttributeID)
	}
	if err, ok := reason.(error); ok {
		attrs = append(attrs, "reason", err.Error())
	}
	s.log.Info("opc ua write refused", attrs...)
}

// tagOf returns the served tag whose variable is node n.
func (s *Server) tagOf(n ua.NodeID) (twin.TagInfo, bool) {
	i, ok := s.hist.tags[n]
	if !ok {
		return twin.TagInfo{}, false
	}
	return s.all[i], true
}

// nodeName is a node id as clients persist it: nsu=<namespace URI>;s=<id>
// for the string ids of the twin's namespaces, else the stack's form.
func (s *Server) nodeName(n ua.NodeID) string {
	if id, ok := n.(ua.NodeIDString); ok {
		if uris := s.ua.NamespaceUris(); int(id.NamespaceIndex) < len(uris) {
			return "nsu=" + uris[id.NamespaceIndex] + ";s=" + id.ID
		}
	}
	return fmt.Sprint(n)
}

// userName names a session's user: the user name, or "anonymous".
func userName(sess *server.Session) string {
	if id, ok := sess.UserIdentity().(ua.UserNameIdentity); ok {
		return id.UserName
	}
	return "anonymous"
}
