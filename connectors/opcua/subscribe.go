package opcua

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

// subscription is one subscription of a session: the items it holds
// (handles lo..hi-1) and the state of its notification messages. It
// belongs to the goroutine that processes Publish responses.
type subscription struct {
	id     uint32
	lo, hi int
	order  inOrder
	// sampling is the longest sampling interval the server granted its
	// items: a change is seen up to that late.
	sampling time.Duration
	// current is when a response left nothing pending (no message missing
	// or held, no more notifications waiting); zero before the first.
	current time.Time
	// moreSince is when the server started answering with more
	// notifications waiting; zero when its last response had none.
	moreSince time.Time
}

// subscriptionParams derives the keep-alive count (a keep-alive every
// timeout/3) and the lifetime count (the server keeps the subscription
// through a minute without Publish requests, e.g. while a slow consumer
// holds the connector back, and at least 4 keep-alive periods).
func (s *session) subscriptionParams() (keepAlive, lifetime uint32) {
	cfg := s.c.cfg
	ka := int64(cfg.Timeout / 3 / cfg.PublishingInterval)
	ka = max(1, min(ka, math.MaxUint32/4))
	lt := max(4*ka, int64(time.Minute/cfg.PublishingInterval))
	return uint32(ka), uint32(min(lt, math.MaxUint32))
}

// subscribe creates the subscriptions (as many as the plan says: see
// Config.MaxItemsPerSubscription) and their monitored items, then runs the
// publish loop.
func (s *session) subscribe(ctx context.Context) error {
	cfg := s.c.cfg
	p := cfg.plan(len(s.items))
	s.c.subs.Store(int32(p.subs))
	subs := make([]*subscription, 0, p.subs)
	defer func() {
		if s.parent.Err() == nil || len(subs) == 0 {
			return // the link failed; the server drops the subscriptions itself
		}
		ids := make([]uint32, len(subs))
		for i, sub := range subs {
			ids[i] = sub.id
		}
		dctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = s.cl.Send(dctx, &ua.DeleteSubscriptionsRequest{SubscriptionIDs: ids}, func(ua.Response) error { return nil })
		cancel()
	}()
	for lo := 0; lo == 0 || lo < len(s.items); lo += p.perSub {
		sub := &subscription{lo: lo, hi: min(lo+p.perSub, len(s.items)), sampling: cfg.SamplingInterval}
		maxNotif := uint64(sub.hi-sub.lo) * uint64(cfg.QueueSize)
		if lo == 0 {
			maxNotif += s.eventQueueSize() // the alarm events come on the first
		}
		if err := s.createSubscription(ctx, sub, uint32(max(1, min(maxNotif, uint64(p.maxNotif))))); err != nil {
			return err
		}
		subs = append(subs, sub)
		if err := s.monitor(ctx, sub); err != nil {
			return err
		}
		if lo == 0 {
			if err := s.watchEvents(ctx, sub.id); err != nil {
				return err
			}
		}
	}
	if p.subs > 1 {
		s.c.log.Info("subscribed", "items", len(s.items), "subscriptions", p.subs, "publish_requests", p.inflight)
	}
	return s.publishLoop(ctx, subs, p.inflight)
}

// createSubscription creates sub on the server.
func (s *session) createSubscription(ctx context.Context, sub *subscription, maxNotif uint32) error {
	cfg := s.c.cfg
	keepAlive, lifetime := s.subscriptionParams()
	creq := &ua.CreateSubscriptionRequest{
		RequestedPublishingInterval: float64(cfg.PublishingInterval) / float64(time.Millisecond),
		RequestedLifetimeCount:      lifetime,
		RequestedMaxKeepAliveCount:  keepAlive,
		MaxNotificationsPerPublish:  maxNotif,
		PublishingEnabled:           true,
	}
	var cres *ua.CreateSubscriptionResponse
	s.begin()
	err := s.cl.Send(ctx, creq, func(r ua.Response) error { return assign(r, &cres) })
	s.end()
	if err != nil {
		return fmt.Errorf("create subscription: %w", err)
	}
	sub.id = cres.SubscriptionID
	s.checkKeepAlive(ctx, sub.id, cres, maxNotif)
	return nil
}

// checkKeepAlive makes sure keep-alives come well within the timeout
// after the server revised the subscription: if they would not, it asks
// for a smaller keep-alive count, and warns when the server refuses.
func (s *session) checkKeepAlive(ctx context.Context, subID uint32, res *ua.CreateSubscriptionResponse, maxNotif uint32) {
	cfg := s.c.cfg
	pi := time.Duration(res.RevisedPublishingInterval * float64(time.Millisecond))
	if pi <= 0 || time.Duration(res.RevisedMaxKeepAliveCount)*pi <= cfg.Timeout/2 {
		return
	}
	ka := uint32(max(1, int64(cfg.Timeout/3/pi)))
	req := &ua.ModifySubscriptionRequest{
		SubscriptionID:              subID,
		RequestedPublishingInterval: res.RevisedPublishingInterval,
		RequestedLifetimeCount:      max(res.RevisedLifetimeCount, 4*ka),
		RequestedMaxKeepAliveCount:  ka,
		MaxNotificationsPerPublish:  maxNotif,
	}
	var mres *ua.ModifySubscriptionResponse
	s.begin()
	err := s.cl.Send(ctx, req, func(r ua.Response) error { return assign(r, &mres) })
	s.end()
	if err != nil || time.Duration(mres.RevisedMaxKeepAliveCount)*time.Duration(mres.RevisedPublishingInterval*float64(time.Millisecond)) > cfg.Timeout {
		s.c.log.Warn("server keeps keep-alives further apart than the timeout; raise timeout",
			"publishing_interval", pi, "keep_alive_count", res.RevisedMaxKeepAliveCount, "err", err)
	}
}

// monitor creates the monitored items of sub in batches of the server's
// limit. Items the server refuses get a reading with its status; items
// refused only for their deadband filter are created again without it.
func (s *session) monitor(ctx context.Context, sub *subscription) error {
	cfg := s.c.cfg
	var filter *ua.ExtensionObject
	if cfg.Deadband > 0 {
		filter = ua.NewExtensionObject(&ua.DataChangeFilter{
			Trigger:       ua.DataChangeTriggerStatusValue,
			DeadbandType:  uint32(ua.DeadbandTypeAbsolute),
			DeadbandValue: cfg.Deadband,
		})
	}
	handles := make([]uint32, 0, sub.hi-sub.lo)
	for h := sub.lo; h < sub.hi; h++ {
		handles = append(handles, uint32(h))
	}
	retry, err := s.createItems(ctx, sub, handles, filter)
	if err != nil {
		return err
	}
	if len(retry) > 0 {
		s.c.log.Info("deadband refused for some items; monitoring them without it", "items", len(retry))
		if _, err := s.createItems(ctx, sub, retry, nil); err != nil {
			return err
		}
	}
	return nil
}

// createItems creates monitored items of sub for the handles; it returns
// the handles refused because of the filter (when one was given).
func (s *session) createItems(ctx context.Context, sub *subscription, handles []uint32, filter *ua.ExtensionObject) ([]uint32, error) {
	cfg := s.c.cfg
	var retry []uint32
	for len(handles) > 0 {
		n := min(len(handles), s.maxMonitor)
		batch := handles[:n]
		handles = handles[n:]
		req := &ua.CreateMonitoredItemsRequest{SubscriptionID: sub.id, TimestampsToReturn: ua.TimestampsToReturnBoth}
		for _, h := range batch {
			req.ItemsToCreate = append(req.ItemsToCreate, &ua.MonitoredItemCreateRequest{
				ItemToMonitor:  &ua.ReadValueID{NodeID: s.items[h].id, AttributeID: ua.AttributeIDValue, DataEncoding: &ua.QualifiedName{}},
				MonitoringMode: ua.MonitoringModeReporting,
				RequestedParameters: &ua.MonitoringParameters{
					ClientHandle:     h,
					SamplingInterval: float64(cfg.SamplingInterval) / float64(time.Millisecond),
					Filter:           filter,
					QueueSize:        cfg.QueueSize,
					DiscardOldest:    true,
				},
			})
		}
		var res *ua.CreateMonitoredItemsResponse
		s.begin()
		err := s.cl.Send(ctx, req, func(r ua.Response) error { return assign(r, &res) })
		s.end()
		if err != nil {
			return nil, fmt.Errorf("create monitored items: %w", err)
		}
		if len(res.Results) != len(batch) {
			return nil, fmt.Errorf("create monitored items: %d results for %d items", len(res.Results), len(batch))
		}
		for i, r := range res.Results {
			h := batch[i]
			if r == nil {
				continue
			}
			if r.StatusCode == ua.StatusOK {
				sub.sampling = max(sub.sampling, time.Duration(r.RevisedSamplingInterval*float64(time.Millisecond)))
				continue
			}
			if filter != nil && (r.StatusCode == ua.StatusBadFilterNotAllowed || r.StatusCode == ua.StatusBadMonitoredItemFilterUnsupported) {
				retry = append(retry, h)
				continue
			}
			it := s.items[h]
			it.bad = true
			s.c.log.Warn("server refused monitored item", "node", it.ref, "status", r.StatusCode)
			rd := connectors.Reading{Source: cfg.Name, Address: it.ref, Status: connectors.StatusCode(r.StatusCode), Received: time.Now(), Info: it.info}
			it.info = nil
			if !s.c.emit(ctx, s.out, rd) {
				return nil, ctx.Err()
			}
		}
	}
	return retry, nil
}

// acks are the acknowledgements the next Publish request carries; every
// publisher takes them.
type acks struct {
	mu   sync.Mutex
	list []*ua.SubscriptionAcknowledgement
}

func (a *acks) add(sub, seq uint32) {
	a.mu.Lock()
	a.list = append(a.list, &ua.SubscriptionAcknowledgement{SubscriptionID: sub, SequenceNumber: seq})
	a.mu.Unlock()
}

// take returns the acknowledgements waiting (never nil) and empties the
// list.
func (a *acks) take() []*ua.SubscriptionAcknowledgement {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.list
	a.list = nil
	if out == nil {
		out = []*ua.SubscriptionAcknowledgement{}
	}
	return out
}

// giveBack returns acknowledgements a failed request did not deliver.
func (a *acks) giveBack(l []*ua.SubscriptionAcknowledgement) {
	a.mu.Lock()
	a.list = append(l, a.list...)
	a.mu.Unlock()
}

// publishResult is what one Publish request got.
type publishResult struct {
	res *ua.PublishResponse
	err error
	at  time.Time
}

// publishLoop keeps inflight Publish requests at the server, puts the
// notification messages of each subscription back in order, acknowledges
// them, counts sequence gaps and tries to Republish what is missing, and
// sends a progress mark (Reading.Mark) whenever every subscription is
// current.
func (s *session) publishLoop(ctx context.Context, subs []*subscription, inflight int) error {
	byID := make(map[uint32]*subscription, len(subs))
	for _, sub := range subs {
		byID[sub.id] = sub
	}
	var ack acks
	resps := make(chan publishResult, inflight)
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		s.c.behind.Store(0)
	}()
	s.lastHeard.Store(time.Now().UnixNano())
	s.publishing.Store(true)
	var live atomic.Int32
	live.Store(int32(inflight))
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.publisher(pctx, &ack, &live, resps)
		}()
	}
	hold := s.holdFor()
	tick := time.NewTicker(max(hold/4, 10*time.Millisecond))
	defer tick.Stop()
	p := &publishState{s: s, byID: byID, subs: subs, ack: &ack, republishOK: true, hold: hold}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-resps:
			if r.err != nil {
				return fmt.Errorf("publish: %w", r.err)
			}
			s.lastHeard.Store(r.at.UnixNano())
			if err := p.handle(ctx, r.res, r.at); err != nil {
				return err
			}
		case now := <-tick.C:
			if err := p.resolve(ctx, now); err != nil {
				return err
			}
		}
		if !p.mark(ctx) {
			return ctx.Err()
		}
	}
}

// holdFor is how long a message ahead of a missing one waits for it
// before the missing one counts as lost: the reordering of responses
// handed over at once takes far less; a publishing interval or two, at
// least a second, at most half the timeout.
func (s *session) holdFor() time.Duration {
	cfg := s.c.cfg
	return min(max(2*cfg.PublishingInterval, time.Second), cfg.Timeout/2)
}

// publisher sends Publish requests, one at a time, with the
// acknowledgements waiting, and hands each response to the loop. A
// request the server refuses because it holds enough of them ends this
// publisher (one fewer in flight) unless it is the last one; a request it
// timed out is sent again.
func (s *session) publisher(ctx context.Context, ack *acks, live *atomic.Int32, out chan<- publishResult) {
	for {
		req := &ua.PublishRequest{SubscriptionAcknowledgements: ack.take()}
		var res *ua.PublishResponse
		err := s.cl.Send(ctx, req, func(r ua.Response) error { return assign(r, &res) })
		at := time.Now()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			ack.giveBack(req.SubscriptionAcknowledgements)
			switch {
			case errors.Is(err, ua.StatusBadTooManyPublishRequests) && live.Add(-1) > 0:
				s.c.log.Debug("server holds fewer Publish requests", "in_flight", live.Load())
				return
			case errors.Is(err, ua.StatusBadTooManyPublishRequests):
				live.Add(1)
				select {
				case <-ctx.Done():
					return
				case <-time.After(s.c.cfg.PublishingInterval):
				}
				continue
			case errors.Is(err, ua.StatusBadTimeout):
				continue // the watchdog judges the link
			}
		}
		select {
		case out <- publishResult{res: res, err: err, at: at}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// publishState is the publish loop's: the subscriptions, the
// acknowledgements, and the last progress mark sent.
type publishState struct {
	s           *session
	byID        map[uint32]*subscription
	subs        []*subscription
	ack         *acks
	republishOK bool
	hold        time.Duration
	marked      time.Time
}

// handle takes one Publish response received at at.
func (p *publishState) handle(ctx context.Context, res *ua.PublishResponse, at time.Time) error {
	sub := p.byID[res.SubscriptionID]
	msg := res.NotificationMessage
	if sub == nil || msg == nil {
		return nil
	}
	if res.MoreNotifications {
		if sub.moreSince.IsZero() {
			sub.moreSince = at
			p.behind()
		}
	} else if !sub.moreSince.IsZero() {
		sub.moreSince = time.Time{}
		p.behind()
	}
	if len(msg.NotificationData) == 0 {
		p.s.c.keepAlives.Add(1)
		sub.order.keepAlive(msg.SequenceNumber, at)
	} else {
		p.ack.add(sub.id, msg.SequenceNumber)
		for _, m := range sub.order.data(msg, at) {
			if err := p.s.process(ctx, m); err != nil {
				return err
			}
		}
	}
	if !res.MoreNotifications && !sub.order.open() {
		sub.current = at
	}
	return nil
}

// behind keeps the connector's backlog (Health.Backlog): since when a
// subscription's server has had more notifications waiting.
func (p *publishState) behind() {
	var oldest time.Time
	for _, sub := range p.subs {
		if !sub.moreSince.IsZero() && (oldest.IsZero() || sub.moreSince.Before(oldest)) {
			oldest = sub.moreSince
		}
	}
	if oldest.IsZero() {
		p.s.c.behind.Store(0)
	} else {
		p.s.c.behind.Store(oldest.UnixNano())
	}
}

// resolve gives up on messages that stayed missing for the hold: they
// count as a sequence gap, are asked of the server again (Republish,
// up to maxRepublish a gap) and what follows them is processed.
func (p *publishState) resolve(ctx context.Context, now time.Time) error {
	for _, sub := range p.subs {
		fetch := func(seq uint32) *ua.NotificationMessage {
			if !p.republishOK {
				return nil
			}
			m, err := p.s.republish(ctx, sub.id, seq)
			if err != nil {
				if errors.Is(err, ua.StatusBadServiceUnsupported) {
					p.republishOK = false
				}
				p.s.c.log.Debug("republish failed", "seq", seq, "err", err)
				return nil
			}
			p.ack.add(sub.id, seq)
			return m
		}
		ready, missing, lost := sub.order.resolve(now, p.hold, fetch)
		if missing == 0 {
			continue
		}
		p.s.c.update(func(h *connectors.Health) { h.SequenceGaps += uint64(missing) })
		p.s.c.log.Warn("notification sequence gap", "subscription", sub.id, "missing", missing, "lost", lost)
		p.s.c.lost.Add(uint64(lost))
		p.s.c.republished.Add(uint64(missing - lost))
		for _, m := range ready {
			if err := p.s.process(ctx, m); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// mark sends a progress mark when every subscription has been current
// since the last one: every change sampled before the oldest of their
// current times, less the sampling interval, has been delivered. Marks go
// out at most every 100ms. false when ctx ended.
func (p *publishState) mark(ctx context.Context) bool {
	var at time.Time
	for _, sub := range p.subs {
		if sub.current.IsZero() {
			return true
		}
		t := sub.current.Add(-sub.sampling)
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if at.Sub(p.marked) < 100*time.Millisecond {
		return true
	}
	p.marked = at
	return p.s.c.emit(ctx, p.s.out, connectors.Reading{Source: p.s.c.cfg.Name, Received: at, Mark: true})
}

// republish asks the server to send notification message n again.
func (s *session) republish(ctx context.Context, subID, n uint32) (*ua.NotificationMessage, error) {
	var res *ua.RepublishResponse
	s.begin()
	err := s.cl.Send(ctx, &ua.RepublishRequest{SubscriptionID: subID, RetransmitSequenceNumber: n}, func(r ua.Response) error { return assign(r, &res) })
	s.end()
	if err != nil {
		return nil, err
	}
	if res.NotificationMessage == nil {
		return nil, errors.New("empty republish response")
	}
	return res.NotificationMessage, nil
}

// process delivers the data changes of one notification message; a
// status change of the subscription ends the session.
func (s *session) process(ctx context.Context, msg *ua.NotificationMessage) error {
	for _, eo := range msg.NotificationData {
		if eo == nil {
			continue
		}
		switch v := eo.Value.(type) {
		case *ua.DataChangeNotification:
			for _, n := range v.MonitoredItems {
				if n == nil || int(n.ClientHandle) >= len(s.items) {
					continue
				}
				if !s.deliver(ctx, s.items[n.ClientHandle], n.Value) {
					return ctx.Err()
				}
			}
		case *ua.EventNotificationList:
			if err := s.onEvents(ctx, v); err != nil {
				return err
			}
		case *ua.StatusChangeNotification:
			if v.Status != ua.StatusOK {
				return fmt.Errorf("subscription status: %w", v.Status)
			}
		}
	}
	return nil
}
