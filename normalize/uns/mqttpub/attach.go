package mqttpub

import (
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
)

// This file is the publisher's only tie to the pipeline and the store:
// the events it publishes come from the pipeline's OnEvent hook, the
// endpoints' health from the store, and its own alerts go where the
// pipeline's rules put theirs, so that they reach the store, the
// dashboard and OnEvent (hence MQTT) like any other alert.

// Attach makes pub publish pipeline p: every sample, alert transition and
// scorecard report of p's OnEvent hook (after the hook set before, if any), the endpoints'
// health of p's store, and pub's own health and alerts through p's store.
// Call it before p.Run and pub.Start.
func Attach(pub *Publisher, p *pipeline.Pipeline) {
	pub.host = pipelineHost{p}
	prev := p.OnEvent
	p.OnEvent = func(e pipeline.Event) {
		if prev != nil {
			prev(e)
		}
		switch {
		case e.Type == pipeline.EventSample && e.Sample != nil:
			pub.Sample(e.Sample)
		case e.Type == pipeline.EventAlert && e.Alert != nil:
			pub.Alert(e.Alert, e.Change)
		case e.Type == pipeline.EventScorecard && e.Scorecard != nil:
			pub.Scorecard(e.Scorecard)
		}
	}
}

// pipelineHost is the Host of a pipeline.
type pipelineHost struct{ p *pipeline.Pipeline }

func (h pipelineHost) Health() []connectors.Health { return h.p.Store.Health() }

func (h pipelineHost) SetHealth(x connectors.Health) { h.p.Store.SetHealth(x) }

func (h pipelineHost) Snapshot() []normalize.Sample { return h.p.Store.Snapshot() }

func (h pipelineHost) Alerts() []normalize.Alert { return h.p.Store.Alerts() }

func (h pipelineHost) IsTag(id string) bool {
	_, ok := h.p.Store.Latest(id)
	return ok
}

// Raise gives the store a condition, as the pipeline does with the
// rules' conditions: the store owns the alert's lifecycle, and the
// pipeline gives its transitions to OnEvent at its next batch or tick.
func (h pipelineHost) Raise(kind normalize.AlertKind, target string, sev normalize.AlertSeverity, msg string, at time.Time) {
	h.p.Store.PublishConditions(normalize.Condition{Kind: kind, Target: target, Active: true, Severity: sev, Message: msg, At: at})
}

func (h pipelineHost) Clear(kind normalize.AlertKind, target string, at time.Time) {
	h.p.Store.PublishConditions(normalize.Condition{Kind: kind, Target: target, At: at})
}
