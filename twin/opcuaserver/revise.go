package opcuaserver

import (
	"math"
	"time"

	"github.com/awcullen/opcua/ua"
)

// SamplingIntervals are the sampling intervals the server grants, in
// milliseconds. A requested interval is revised up to the next one in the
// list (0, "as fast as possible", to the first; anything above the last to
// the last; -1, "the publishing interval", is resolved first), so however
// many distinct intervals clients ask for, the server keeps at most this
// many samplers.
var SamplingIntervals = []float64{100, 250, 500, 1000, 2000, 5000, 10000, 60000}

// The OPC UA stack's own bounds, which the revisions below respect.
const (
	stackMinPublishing     = 125.0       // ms
	stackMaxPublishing     = 60 * 1000.0 // ms
	stackMinSessionTimeout = 10 * time.Second
	stackMinLifetime       = 10 * time.Second
)

// reviseSampling returns the granted sampling interval for a request of
// ms milliseconds on a subscription publishing every publishing ms.
func reviseSampling(ms, publishing float64) float64 {
	if ms < 0 {
		ms = publishing
	}
	if math.IsNaN(ms) {
		ms = 0
	}
	for _, v := range SamplingIntervals {
		if ms <= v {
			return v
		}
	}
	return SamplingIntervals[len(SamplingIntervals)-1]
}

// revisePublishing is the publishing interval the stack grants for a
// request of ms milliseconds.
func revisePublishing(ms float64) float64 {
	if math.IsNaN(ms) || ms < stackMinPublishing {
		return stackMinPublishing
	}
	return min(ms, stackMaxPublishing)
}

// reviseSessionTimeout caps a requested session timeout (milliseconds)
// at limit.
func reviseSessionTimeout(ms float64, limit time.Duration) float64 {
	if math.IsNaN(ms) {
		return ms // the stack grants its minimum
	}
	return min(ms, float64(limit.Milliseconds()))
}

// reviseSubscription caps how long a subscription outlives its client at
// limit. The stack deletes a subscription after lifetime count publishing
// intervals without a Publish request, but starts counting only after a
// keep-alive interval without one, so the keep-alive count plus the
// lifetime count must fit in limit: the keep-alive count is held to a
// quarter of that (the stack makes the lifetime at least three
// keep-alives) and leaves room for the stack's minimum lifetime of 10 s;
// the publishing interval is held to a quarter of limit. It returns the
// revised publishing interval (ms), lifetime count and keep-alive count.
func reviseSubscription(publishing float64, lifetime, keepAlive uint32, limit time.Duration) (float64, uint32, uint32) {
	capMs := float64(limit.Milliseconds())
	p := revisePublishing(publishing)
	if p > capMs/4 {
		p = max(stackMinPublishing, math.Floor(capMs/4))
	}
	total := uint32(max(4, math.Floor(capMs/p)))
	minLife := uint32(math.Ceil(float64(stackMinLifetime.Milliseconds()) / p))
	if keepAlive == 0 {
		keepAlive = 3 // the stack's default
	}
	keepAlive = min(keepAlive, total/4)
	if total > minLife {
		keepAlive = min(keepAlive, total-minLife)
	} else {
		keepAlive = 1
	}
	if lifetime == 0 || lifetime > total-keepAlive {
		lifetime = total - keepAlive
	}
	return p, lifetime, keepAlive
}

// limits are the caps a Server revises what clients ask for to.
type limits struct {
	sessionTimeout time.Duration
	lifetime       time.Duration
}

// reviseRequest rewrites the parameters of req that the limits revise;
// publishing looks up the publishing interval (ms) of a subscription, 0
// when unknown.
func (l limits) reviseRequest(req ua.ServiceRequest, publishing func(id uint32) float64) {
	switch r := req.(type) {
	case *ua.CreateSessionRequest:
		r.RequestedSessionTimeout = reviseSessionTimeout(r.RequestedSessionTimeout, l.sessionTimeout)
	case *ua.CreateSubscriptionRequest:
		r.RequestedPublishingInterval, r.RequestedLifetimeCount, r.RequestedMaxKeepAliveCount =
			reviseSubscription(r.RequestedPublishingInterval, r.RequestedLifetimeCount, r.RequestedMaxKeepAliveCount, l.lifetime)
	case *ua.ModifySubscriptionRequest:
		r.RequestedPublishingInterval, r.RequestedLifetimeCount, r.RequestedMaxKeepAliveCount =
			reviseSubscription(r.RequestedPublishingInterval, r.RequestedLifetimeCount, r.RequestedMaxKeepAliveCount, l.lifetime)
	case *ua.CreateMonitoredItemsRequest:
		p := stackMinPublishing
		if hasNegative(r.ItemsToCreate) {
			p = publishing(r.SubscriptionID)
		}
		for i := range r.ItemsToCreate {
			sp := &r.ItemsToCreate[i].RequestedParameters
			sp.SamplingInterval = reviseSampling(sp.SamplingInterval, p)
		}
	case *ua.ModifyMonitoredItemsRequest:
		p := stackMinPublishing
		for _, it := range r.ItemsToModify {
			if it.RequestedParameters.SamplingInterval < 0 {
				p = publishing(r.SubscriptionID)
				break
			}
		}
		for i := range r.ItemsToModify {
			sp := &r.ItemsToModify[i].RequestedParameters
			sp.SamplingInterval = reviseSampling(sp.SamplingInterval, p)
		}
	}
}

func hasNegative(items []ua.MonitoredItemCreateRequest) bool {
	for _, it := range items {
		if it.RequestedParameters.SamplingInterval < 0 {
			return true
		}
	}
	return false
}
