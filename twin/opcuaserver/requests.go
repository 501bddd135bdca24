package opcuaserver

// What the request loop (conn.go) does around the stack's handling of a
// request: the revisions to the caps (revise.go) before, and after it
// MoreNotifications, the sampler's adoption of new monitored items, the
// janitor's look at what went, and the Publish requests a closed
// connection leaves behind.

import (
	"time"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"
)

// orphanRequests drops the Publish requests queued on ch, which has
// closed, by the sessions still bound to it: nobody can answer them, and
// while any is queued the stack does not count down a subscription's
// lifetime. A session that a client activates again on a new channel
// gets new requests from it.
func (s *Server) orphanRequests(ch *secureChannel, sessions []*server.Session) {
	id := channelID(ch)
	for _, sess := range sessions {
		if ended(sess) || sess.SecureChannelId() != id {
			continue
		}
		// The read lock orders the stack's unlocked read of the queue
		// with the session's deletion.
		sess.RLock()
		for {
			_, _, _, _, ok, _ := takePublishRequest(sess)
			if !ok {
				break
			}
		}
		sess.RUnlock()
	}
}

// publishingInterval is the publishing interval (ms) of subscription id,
// 0 when there is none.
func (s *Server) publishingInterval(id uint32) float64 {
	sub, ok := s.ua.SubscriptionManager().Get(id)
	if !ok {
		return 0
	}
	_, _, p := subState(sub)
	return p
}

// after follows up a request the stack has handled; first is the last
// monitored item id before it.
func (s *Server) after(req ua.ServiceRequest, first uint32) {
	switch r := req.(type) {
	case *ua.PublishRequest:
		s.honourMore(r)
	case *ua.CreateMonitoredItemsRequest:
		// The call's items got ids above first, interleaved with the
		// items other connections created meanwhile.
		last := lastItemID()
		if n := last - first; n > 4*uint32(len(r.ItemsToCreate))+1024 {
			s.sampler.adopt(s.session(r.RequestHeader), r.SubscriptionID, nil)
			break
		}
		ids := make([]uint32, 0, last-first)
		for id := first + 1; id != last+1; id++ {
			ids = append(ids, id)
		}
		s.sampler.adopt(s.session(r.RequestHeader), r.SubscriptionID, ids)
	case *ua.ModifyMonitoredItemsRequest:
		ids := make([]uint32, len(r.ItemsToModify))
		for i, it := range r.ItemsToModify {
			ids[i] = it.MonitoredItemID
		}
		s.sampler.adopt(s.session(r.RequestHeader), r.SubscriptionID, ids)
	case *ua.SetMonitoringModeRequest:
		s.sampler.adopt(s.session(r.RequestHeader), r.SubscriptionID, r.MonitoredItemIDs)
	case *ua.DeleteMonitoredItemsRequest:
		s.sampler.forget(r.SubscriptionID, r.MonitoredItemIDs)
		s.janitor.poke()
	case *ua.DeleteSubscriptionsRequest, *ua.CloseSessionRequest:
		s.janitor.poke()
	}
}

// session is the session a request was made on, nil when it has none.
func (s *Server) session(h ua.RequestHeader) *server.Session {
	sess, _ := s.ua.SessionManager().Get(h.AuthenticationToken)
	return sess
}

// maxPublishRequests is how many Publish requests the stack queues per
// session (session.go: a channel of 64).
const maxPublishRequests = 64

// honourMore sends the rest of a subscription's notifications now that
// the client has queued a Publish request, when the last response of the
// subscription said MoreNotifications. The stack itself would wait for
// the next publishing interval, so a client that takes at most N
// notifications per response (gopcua: 10,000 by default, one request in
// flight) would receive at most N per interval. A subscription that is
// already late (no request was queued at its last cycle) is served by the
// stack as the request arrives, and is left alone. The samples the
// sampler keeps parked until a response can carry them (park.go) are sent
// the same way: each queued request takes the next batch.
func (s *Server) honourMore(req *ua.PublishRequest) {
	sess, ok := s.ua.SessionManager().Get(req.AuthenticationToken)
	if !ok {
		return
	}
	s.janitor.publishSeen(sess)
	for _, sub := range s.ua.SubscriptionManager().GetBySession(sess) {
		// The stack may just have answered the request (a late
		// subscription), with a capped response.
		id := subID(sub)
		s.sampler.afterResponse(sub, id)
		// A client with several Publish requests in flight has more
		// queued: each cycle takes one, until the notifications or the
		// requests run out. (A cycle without a request would still walk
		// every item, and leave the subscription late, which the stack
		// then answers as requests arrive.)
		for range maxPublishRequests {
			more, late, _ := subState(sub)
			if late || queuedRequests(sess) == 0 || (!more && s.sampler.backlog(id) == 0) {
				break
			}
			if !more {
				s.sampler.unparkBacklog(sub, id)
			}
			s.moreSent.Add(1)
			if publishNow(sub, time.Now().UTC()) != nil {
				break
			}
			s.sampler.afterResponse(sub, id)
		}
	}
}
