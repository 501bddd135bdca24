package mqttsub

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns"
)

// node is one collector as the reader knows it: what it last published,
// kept so that it can be shown lost and brought back.
type node struct {
	name   string
	prefix string // its topics' prefix, "" or ending in "/"; known says it was seen
	known  bool
	// status: online, offline (since, by its will), or not seen yet
	status string
	since  time.Time
	// heard is when a message of it last came; heartbeat how often its
	// online status comes again (0: it does not say)
	heard     time.Time
	heartbeat time.Duration
	samples   uint64
	// lost: shown lost since lostAt, saying why (offline, or the reader
	// lost the broker: lostByReader); commLoss: its comm_loss is raised
	lost, lostByReader, commLoss bool
	lostAt                       time.Time
	why                          string

	health map[string]connectors.Health // by endpoint (qualified), as published
	tags   map[string]normalize.Sample  // by tag id, as published
	alerts map[string]store.RemoteState // by alert id (this store's), as published
	// scorecard is its latest data-quality scorecards (nil: none seen)
	scorecard *score.Report
}

// nodeLocked returns collector name, made when first seen.
func (r *Reader) nodeLocked(name string) *node {
	n := r.nodes[name]
	if n == nil {
		n = &node{name: name, health: map[string]connectors.Health{}, tags: map[string]normalize.Sample{}, alerts: map[string]store.RemoteState{}}
		r.nodes[name] = n
	}
	n.heard = r.msgAt // called for the messages of the collector
	return n
}

// seen records the collector's prefix from one of its own topics.
func (n *node) seen(t *uns.Topic) {
	n.prefix, n.known = t.Prefix, true
}

// row is the collector's own row in the endpoints' health: online
// (connected) or offline (down), the samples received from it.
func (n *node) row() connectors.Health {
	h := connectors.Health{Source: n.name, Protocol: "otwin", Endpoint: n.prefix + uns.CollectorLevel + "/" + n.name, Since: n.since, Readings: n.samples}
	switch {
	case n.lost:
		h.State = connectors.Down
		h.LastError = errors.New(n.why)
		if n.lostByReader {
			h.State = connectors.Connecting
		}
	case n.status == "online":
		h.State = connectors.Connected
	default:
		h.State = connectors.Connecting // heard of, status not seen yet
	}
	return h
}

// rowLocked gives the store collector n's row when it changed.
func (r *Reader) rowLocked(n *node) {
	if row := n.row(); row != r.sentRow[row.Source] {
		r.sentRow[row.Source] = row
		r.st.SetHealth(row)
	}
}

// qualify names an endpoint of collector node: "<endpoint>@<node>".
func qualify(endpoint, node string) string {
	switch {
	case node == "":
		return endpoint
	case endpoint == "":
		return node
	}
	return endpoint + "@" + node
}

// sample takes a sample payload on the topic of tag t.Path.
func (r *Reader) sample(t *uns.Topic, payload []byte, now time.Time) error {
	in, err := uns.DecodeSample(payload, now)
	if err != nil {
		return err
	}
	id := t.Path
	owner, known := r.tagNode[id]
	if !known && len(r.tagNode) >= r.cfg.MaxTags {
		r.skip(&r.stats.OverLimit, id, fmt.Sprintf("more than %d tags", r.cfg.MaxTags))
		return nil
	}
	s := in.Sample
	s.ID = id
	i := len(id) - 1
	for i > 0 && id[i] != '/' {
		i--
	}
	s.Asset, s.Tag = id[:i], id[i+1:]
	if s.Context, err = r.contexts.Decode(s.Asset, in.Context); err != nil {
		return err
	}
	r.stats.Samples++
	if in.Extra {
		r.stats.Extra++
	}
	s.Source = qualify(s.Source, in.Node)
	if known && owner != in.Node {
		if prev := r.nodes[owner]; prev != nil {
			delete(prev.tags, id)
		}
	}
	r.tagNode[id] = in.Node
	if in.Node == "" {
		r.pending = append(r.pending, s)
		return nil
	}
	n := r.nodeLocked(in.Node)
	n.samples++
	if prev, ok := n.tags[id]; ok && prev.Seq == s.Seq && prev.Seq != 0 && prev.Received.Equal(s.Received) {
		return nil // the same sample again (retained, after a reconnection)
	}
	n.tags[id] = s
	if n.lost {
		s = lostSample(s, n.why)
	}
	r.pending = append(r.pending, s)
	return nil
}

// lostSample is s of a collector no longer heard: its last value, no
// longer communicating.
func lostSample(s normalize.Sample, why string) normalize.Sample {
	switch {
	case !s.Status.IsBad():
		s.Status = connectors.UncertainNoCommunicationLastUsableValue
	case s.HasLastGood:
		s.Status = connectors.UncertainNoCommunicationLastUsableValue
		s.Value, s.Text = s.LastGood, s.LastGoodText
	default:
		s.Status = connectors.BadNoCommunication
	}
	s.Err = why
	return s
}

// alert takes an alert payload: the owner's alert, kept under this
// store's id (a tag's alert under the tag's id here, an endpoint's under
// "<endpoint>@<node>").
func (r *Reader) alert(t *uns.Topic, payload []byte) error {
	in, err := uns.DecodeAlert(payload)
	if err != nil {
		return err
	}
	r.stats.Alerts++
	if in.Extra {
		r.stats.Extra++
	}
	owner := in.Node
	a := in.Alert
	ref := a.ID
	if t.Kind == uns.TopicTagAlert {
		a.Target = t.Path
	} else {
		owner = t.Node
		a.Target = qualify(a.Target, owner)
	}
	a.ID = normalize.AlertID(a.Kind, a.Target)
	rs := store.RemoteState{Alert: a, Ref: ref, Event: in.Event, Retain: in.Retain, Confirmable: in.Confirmable, Confirmed: in.Confirmed}
	if in.Event.What == uns.TransitionRefresh {
		// a state published again: new here, it was raised when it last
		// went active; known, it changed while this reader missed it
		rs.Event.What = normalize.EventChanged
		if n := r.nodes[owner]; n == nil || !hasAlert(n, a.ID) {
			rs.Event.What, rs.Event.At = normalize.EventRaised, a.LastActive
		}
	}
	r.flushLocked() // the tag first, then its alert
	if r.cfg.OnEvent != nil {
		r.cfg.OnEvent(pipeline.Event{Type: pipeline.EventAlert, Alert: &rs.Alert, Transition: string(rs.Event.What), Change: rs.Event})
	}
	r.st.PublishRemote(owner, rs)
	if owner == "" {
		return nil
	}
	n := r.nodeLocked(owner)
	if t.Kind == uns.TopicOtherAlert {
		n.seen(t)
	}
	n.alerts[a.ID] = rs
	if n.lost {
		r.st.OwnerLost(owner, n.lostAt, n.why)
	}
	return nil
}

// health takes an endpoint's health.
func (r *Reader) health(t *uns.Topic, payload []byte) error {
	h, extra, err := uns.DecodeHealth(payload)
	if err != nil {
		return err
	}
	r.stats.Health++
	if extra {
		r.stats.Extra++
	}
	n := r.nodeLocked(t.Node)
	n.seen(t)
	h.Source = qualify(h.Source, t.Node)
	n.health[h.Source] = h
	if n.lost {
		h = lostHealth(h, n)
	}
	r.st.SetHealth(h)
	return nil
}

// lostHealth is the health of an endpoint of a collector no longer
// heard: down since then, saying why.
func lostHealth(h connectors.Health, n *node) connectors.Health {
	h.State, h.Since, h.LastError = connectors.Down, n.lostAt, errors.New(n.why)
	return h
}

// status takes a collector's status: online brings back what it last
// published; offline shows it lost and raises its comm_loss.
func (r *Reader) status(t *uns.Topic, payload []byte, now time.Time) error {
	st, since, extra, err := uns.DecodeStatus(payload)
	if err != nil {
		return err
	}
	r.stats.Statuses++
	if extra {
		r.stats.Extra++
	}
	n := r.nodeLocked(t.Node)
	n.seen(t)
	n.status, n.since = st.State, since
	n.heartbeat = time.Duration(st.Heartbeat * float64(time.Second))
	defer r.rowLocked(n)
	if st.State == "online" {
		if n.lost {
			r.restore(n)
			// What it published while lost did not come here: ask for
			// its whole state. On a goroutine of its own: paho's Publish
			// waits while its writer is busy, and a message handler
			// must not block.
			go r.hello()
		}
		if n.commLoss {
			n.commLoss = false
			r.st.PublishConditions(normalize.Condition{Kind: normalize.AlertCommLoss, Target: n.name, At: now})
		}
		return nil
	}
	why := fmt.Sprintf("collector %s offline: its connection to the broker was lost (its will)", n.name)
	if !since.IsZero() {
		why = fmt.Sprintf("collector %s stopped at %s", n.name, since.UTC().Format(time.RFC3339))
	} else {
		n.since = now
	}
	r.gone(n, now, why)
	return nil
}

// gone shows collector n lost from now, saying why, and raises its
// comm_loss: it went offline, or went silent.
func (r *Reader) gone(n *node, now time.Time, why string) {
	if !n.lost || n.lostByReader {
		r.lose(n, now, why)
	}
	if !n.commLoss {
		n.commLoss = true
		r.st.PublishConditions(normalize.Condition{Kind: normalize.AlertCommLoss, Target: n.name, Active: true,
			Severity: normalize.SeverityHigh, Message: why + "; its tags and endpoints are shown as last known", At: now})
	}
}

// silentLocked shows lost the online collectors that published nothing
// for three of their heartbeats (a process or a broker link gone without
// a will that reaches this reader); their next status brings them back.
func (r *Reader) silentLocked(now time.Time) {
	for _, n := range r.nodes {
		if n.status != "online" || n.lost || n.heartbeat <= 0 || now.Sub(n.heard) < 3*n.heartbeat {
			continue
		}
		n.status = "silent"
		r.gone(n, now, fmt.Sprintf("collector %s silent for %s (its heartbeat is %s): its process or its link to this broker is gone",
			n.name, now.Sub(n.heard).Round(time.Second), n.heartbeat))
		r.rowLocked(n)
	}
}

// lose shows collector n lost from at: its endpoints down, its tags no
// longer communicating, its alerts not current.
func (r *Reader) lose(n *node, at time.Time, why string) {
	n.lost, n.lostByReader, n.lostAt, n.why = true, false, at, why
	for _, h := range n.health {
		r.st.SetHealth(lostHealth(h, n))
	}
	for _, s := range n.tags {
		r.pending = append(r.pending, lostSample(s, why))
	}
	r.flushLocked()
	r.st.OwnerLost(n.name, at, why)
}

// restore shows again what collector n last published.
func (r *Reader) restore(n *node) {
	n.lost, n.lostByReader, n.why = false, false, ""
	for _, h := range n.health {
		r.st.SetHealth(h)
	}
	for _, s := range n.tags {
		r.pending = append(r.pending, s)
	}
	r.flushLocked()
	states := make([]store.RemoteState, 0, len(n.alerts))
	for _, rs := range n.alerts {
		states = append(states, rs)
	}
	r.st.PublishRemote(n.name, states...)
}

// scorecard takes a collector's data-quality scorecards.
func (r *Reader) scorecard(t *uns.Topic, payload []byte) error {
	sc, extra, err := uns.DecodeScorecard(payload)
	if err != nil {
		return err
	}
	r.stats.Scorecards++
	if extra {
		r.stats.Extra++
	}
	n := r.nodeLocked(t.Node)
	n.seen(t)
	n.scorecard = &sc.Report
	if r.cfg.OnEvent != nil {
		r.flushLocked()
		rep := r.reportLocked()
		r.cfg.OnEvent(pipeline.Event{Type: pipeline.EventScorecard, Scorecard: &rep})
	}
	return nil
}

// Report returns the data-quality scorecards of every collector heard
// of, side by side (uns.MergeScorecards): what the dashboard's scorecard
// page shows (tui.Scorecards). A collector that went away keeps its last
// report.
func (r *Reader) Report() score.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reportLocked()
}

func (r *Reader) reportLocked() score.Report {
	names := slices.Sorted(maps.Keys(r.nodes)) // the same order every time
	rs := make([]score.Report, 0, len(names))
	for _, name := range names {
		if n := r.nodes[name]; n.scorecard != nil {
			rs = append(rs, *n.scorecard)
		}
	}
	return uns.MergeScorecards(rs...)
}

func hasAlert(n *node, id string) bool {
	_, ok := n.alerts[id]
	return ok
}
