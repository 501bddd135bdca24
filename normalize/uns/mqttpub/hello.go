package mqttpub

import (
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns"
)

// Hellos: a dashboard that starts reading says hello (uns.Topics.Hello),
// and the collectors under its prefix publish their whole state again —
// status, endpoints' health, scorecards, every tag's latest sample and
// the listed alerts — because the retained messages of a collector are
// in the broker it publishes to, which need not be the dashboard's (a
// site's embedded broker linked to a central one as a leaf node). At most
// once per refreshEvery: hellos that come sooner are answered together
// when it has passed.

// refreshEvery bounds how often the whole state is published again.
const refreshEvery = 5 * time.Second

// subscribeHello subscribes to the dashboards' hellos; called on every
// connection of the JSON client.
func (p *Publisher) subscribeHello(c mqtt.Client) {
	if p.host == nil {
		return
	}
	filters := make(map[string]byte)
	for _, f := range p.topics.HelloFilters() {
		filters[f] = 0
	}
	tok := c.SubscribeMultiple(filters, p.onHello)
	if !tok.WaitTimeout(p.cfg.ConnectTimeout) || tok.Error() != nil {
		p.log.Error("mqtt: cannot subscribe to the dashboards' hellos; dashboards on other brokers see only what changes", "err", tok.Error())
	}
}

func (p *Publisher) onHello(mqtt.Client, mqtt.Message) {
	p.hellos.Add(1)
	p.refresh.Store(true)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// sendStatus publishes the online status; tick publishes it again every
// Config.Heartbeat.
func (p *Publisher) sendStatus() {
	p.mu.Lock()
	since := p.since
	p.mu.Unlock()
	p.lastStatus = p.cfg.Now()
	p.send(p.topics.Status(), 1, uns.OnlinePayload(p.topics.Node(), since, p.cfg.Heartbeat))
}

// maybeRefresh publishes the whole state again when a dashboard asked
// for it, refreshEvery has passed since the last time, and the broker is
// reachable; else it stays asked for.
func (p *Publisher) maybeRefresh() {
	if !p.refresh.Load() || p.json == nil || p.host == nil || !p.isConnected() {
		return
	}
	now := p.cfg.Now()
	if now.Sub(p.lastRefresh) < refreshEvery {
		return
	}
	p.refresh.Store(false)
	p.lastRefresh = now
	p.refreshes++
	p.sendStatus()
	for _, h := range p.host.Health() {
		if p.send(p.topics.Health(h.Source), 1, uns.HealthPayload(&h)) {
			p.sentHealth[h.Source] = h
		}
	}
	if p.lastCard != nil {
		p.send(p.topics.Scorecard(), 1, p.lastCard)
	}
	for _, s := range p.host.Snapshot() {
		p.publishSample(&s)
	}
	for _, a := range p.host.Alerts() {
		p.publishAlert(&a, &normalize.AlertEvent{AlertID: a.ID, What: uns.TransitionRefresh, State: a.State})
	}
}
