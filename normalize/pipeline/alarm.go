package pipeline

import (
	"slices"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// alarmBuffer is the capacity of the channel the connectors relay their
// endpoints' alarms into.
const alarmBuffer = 256

// relayAlarms asks every connector that can (connectors.AlarmRelay) to
// relay its endpoint's alarms into one channel, and returns it (nil when
// no connector can: a nil channel is never ready).
func (p *Pipeline) relayAlarms() chan connectors.Alarm {
	var ch chan connectors.Alarm
	p.alarmKinds = make(map[string]normalize.AlertKind)
	p.alarmPeers = make(map[string][]string)
	byEndpoint := make(map[string][]string)
	for _, c := range p.Connectors {
		r, ok := c.(connectors.AlarmRelay)
		if !ok {
			continue
		}
		if ch == nil {
			ch = make(chan connectors.Alarm, alarmBuffer)
		}
		proto := c.Health().Protocol
		if proto == "" {
			proto = "endpoint"
		}
		p.alarmKinds[c.Name()] = alarmKind(proto)
		if ep := c.Health().Endpoint; ep != "" {
			byEndpoint[ep] = append(byEndpoint[ep], c.Name())
		}
		r.RelayAlarms(ch)
	}
	for _, names := range byEndpoint {
		slices.Sort(names)
		for _, n := range names {
			p.alarmPeers[n] = names
		}
	}
	return ch
}

// alarm takes one message of a source's alarm stream into the store: a
// condition's state as an alert the source owns, about the tag its source
// node is the point of (else the source); a refresh's start and end; the
// loss of the link.
//
// Sources that read one server (the same endpoint) all receive its
// conditions; each condition becomes one alert: that of the source that
// reads its source node, or, when none does, of the first of them by
// name.
func (p *Pipeline) alarm(a *connectors.Alarm) {
	switch a.What {
	case connectors.AlarmState:
		target, ok := p.Normalizer.Locate(a.Source, a.Address)
		if !ok || a.Address == "" {
			if p.alarmOfPeer(a) {
				return
			}
			target = a.Source
		}
		kind, ok := p.alarmKinds[a.Source]
		if !ok {
			kind = alarmKind("endpoint")
		}
		p.Store.PublishOwned(a.Source, alarmState(kind, target, a))
	case connectors.AlarmRefreshStart:
		p.Store.OwnerRefreshStart(a.Source)
	case connectors.AlarmRefreshEnd:
		p.Store.OwnerRefreshEnd(a.Source, a.Received)
	case connectors.AlarmLost:
		p.Store.OwnerLost(a.Source, a.Received, a.Why)
	}
}

// alarmOfPeer says another source reading a's server owns a's condition:
// it reads the condition's source node, or none does and it comes first.
func (p *Pipeline) alarmOfPeer(a *connectors.Alarm) bool {
	peers := p.alarmPeers[a.Source]
	if a.Address != "" {
		for _, peer := range peers {
			if _, ok := p.Normalizer.Locate(peer, a.Address); ok && peer != a.Source {
				return true
			}
		}
	}
	return len(peers) > 0 && peers[0] != a.Source
}
