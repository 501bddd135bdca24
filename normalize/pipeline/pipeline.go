// Package pipeline runs otwin's monitoring half: connectors read their
// endpoints into one channel, the normalizer maps each reading and runs the
// data-quality rules, and the live store receives the samples, the rules'
// conditions (it owns the alerts) and health; an optional scorecard board
// (normalize/score) counts them too. An optional hook sees every sample
// and every alert transition once, and the scorecards now and then (the
// headless JSON-lines output of `otwin watch`, see JSONLines).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/store"
)

// Defaults of Pipeline.
const (
	DefaultTickInterval   = time.Second
	DefaultBuffer         = 4096
	DefaultScorecardEvery = time.Minute
	// maxBatch is how many readings are applied before one Publish.
	maxBatch = 512
)

// Pipeline wires connectors, a normalizer and a store. Set the fields, then
// call Run once.
type Pipeline struct {
	// Connectors are run each in its own goroutine.
	Connectors []connectors.Connector
	// Normalizer maps readings; required.
	Normalizer *normalize.Normalizer
	// Store receives samples, conditions and health; required. It owns
	// the alerts: the rules' conditions and the users' actions meet
	// there.
	Store *store.Store
	// Logger logs connector failures; nil discards.
	Logger *slog.Logger
	// TickInterval is how often health is observed and the time-driven
	// rules run. Default 1s.
	TickInterval time.Duration
	// OnEvent, when set, is called from Run's goroutine for every sample
	// published and, once each, for every alert transition the store
	// made (those of users' actions too, after the next batch or tick);
	// it must not block for long.
	OnEvent func(Event)
	// AfterEvents, when set, is called from Run's goroutine after the
	// events of each batch of readings or tick went to OnEvent: the moment
	// to flush what OnEvent buffered (JSONLines.Batched).
	AfterEvents func()
	// Now is the clock of the time-driven rules. Default time.Now.
	Now func() time.Time
	// Buffer is the capacity of the readings channel. Default 4096.
	Buffer int
	// Scorecard, when set, counts every batch of samples and conditions
	// and every tick's health (data-quality scorecards).
	Scorecard *score.Board
	// ScorecardEvery is how often OnEvent gets the Scorecard's report
	// (EventScorecard), at a tick. Default 1m; negative: never.
	ScorecardEvery time.Duration

	log *slog.Logger
	// alarmKinds are the alert kinds of the sources that relay alarms.
	alarmKinds map[string]normalize.AlertKind
	// alarmPeers are, per source relaying alarms, the sources that read
	// the same endpoint (itself included), sorted.
	alarmPeers map[string][]string
	mu         sync.Mutex
	failed     map[string]failure
	// out is the normalizer's output of the batch or tick under way;
	// seen the Seq of the last alert change given to OnEvent, changes
	// the buffer of those to give.
	out     normalize.Output
	seen    uint64
	changes []store.AlertChange
	// scored is when OnEvent last got the scorecards.
	scored time.Time
	// waits is, per source, the longest a reading waited between its
	// connector and the normalizer since the last tick.
	waits map[string]time.Duration
}

// failure is a connector whose Run returned an error.
type failure struct {
	err error
	at  time.Time
}

// Run runs until ctx is done, then waits for the connectors to return and
// returns nil. It returns an error at once only for a missing Normalizer
// or Store. A connector whose Run returns an error (or panics) is logged
// and reported Down in its Health with that error; the others go on.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.Normalizer == nil || p.Store == nil {
		return errors.New("pipeline: Normalizer and Store are required")
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p.log = log
	now := p.clock()
	every := p.TickInterval
	if every <= 0 {
		every = DefaultTickInterval
	}
	buf := p.Buffer
	if buf <= 0 {
		buf = DefaultBuffer
	}
	p.mu.Lock()
	p.failed = make(map[string]failure)
	p.mu.Unlock()
	// A store restored from a previous run numbers its transitions after
	// the restored ones; those were given out by that run.
	p.seen = max(p.seen, p.Store.RestoredSeq())
	p.waits = make(map[string]time.Duration)

	p.Store.Publish(p.Normalizer.Initial()...)

	ch := make(chan connectors.Reading, buf)
	alarms := p.relayAlarms()
	var wg sync.WaitGroup
	for _, c := range p.Connectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := runConnector(ctx, c, ch)
			if err != nil && ctx.Err() == nil {
				log.Error("connector stopped", "source", c.Name(), "err", err)
				at := now()
				p.mu.Lock()
				p.failed[c.Name()] = failure{err: err, at: at}
				p.mu.Unlock()
			}
		}()
	}

	p.out = normalize.Output{Samples: make([]normalize.Sample, 0, maxBatch)}
	p.tick(now())
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			for {
				select {
				case <-ch: // unblock connectors still sending
				case <-alarms:
				case <-done:
					return nil
				}
			}
		case r := <-ch:
			at := time.Now()
			p.out.Reset()
			p.apply(&r, at)
		more:
			for n := 1; n < maxBatch; n++ {
				select {
				case r := <-ch:
					p.apply(&r, at)
				default:
					break more
				}
			}
			p.publish()
		case a := <-alarms:
			p.out.Reset()
			p.alarm(&a)
			p.publish()
		case <-tk.C:
			p.tick(now())
		}
	}
}

// apply normalizes r, taken at at, noting how long it waited since its
// connector received it.
func (p *Pipeline) apply(r *connectors.Reading, at time.Time) {
	if !r.Mark && !r.Received.IsZero() {
		if w := at.Sub(r.Received); w > p.waits[r.Source] {
			p.waits[r.Source] = w
		}
	}
	p.Normalizer.Apply(*r, &p.out)
}

// clock is Now, or time.Now.
func (p *Pipeline) clock() func() time.Time {
	if p.Now != nil {
		return p.Now
	}
	return time.Now
}

// Hold stops the clock of the time-driven rules (stale, frozen, comm_loss)
// now, until Resume: use it while the sources stand still on purpose (a
// simulator's clock paused), so that a value that does not move then is
// not called frozen or stale. Readings are still applied. Safe to call
// from any goroutine, before or during Run (see Normalizer.Hold).
func (p *Pipeline) Hold() { p.Normalizer.Hold(p.clock()()) }

// Resume lets the rules' clock run again now, the time held left out of
// every limit (see Normalizer.Resume).
func (p *Pipeline) Resume() { p.Normalizer.Resume(p.clock()()) }

// runConnector runs c, turning a panic into an error.
func runConnector(ctx context.Context, c connectors.Connector, ch chan<- connectors.Reading) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("connector %s panicked: %v\n%s", c.Name(), v, debug.Stack())
		}
	}()
	return c.Run(ctx, ch)
}

// tick observes every connector's health — with, as its Backlog, the
// longest wait of its readings since the last tick when the connector's
// own is shorter — and runs the time-driven rules and the store's shelve
// expiry at now.
func (p *Pipeline) tick(now time.Time) {
	hs := make([]connectors.Health, 0, len(p.Connectors))
	p.mu.Lock()
	for _, c := range p.Connectors {
		h := c.Health()
		if h.Source == "" {
			h.Source = c.Name()
		}
		if f, ok := p.failed[c.Name()]; ok {
			h.State, h.Since, h.LastError = connectors.Down, f.at, f.err
		}
		if w := p.waits[h.Source]; w > h.Backlog {
			h.Backlog = w
		}
		hs = append(hs, h)
	}
	p.mu.Unlock()
	clear(p.waits)
	p.out.Reset()
	p.Normalizer.Tick(now, &p.out)
	for _, h := range hs {
		p.Normalizer.ObserveHealth(h, &p.out)
	}
	p.Store.SetHealth(hs...)
	p.Store.Expire(now)
	p.publish()
	if p.Scorecard != nil {
		p.Scorecard.Tick(now, hs)
		p.reportScores(now)
	}
	for _, u := range p.Normalizer.TakeUnknown() {
		p.log.Warn("readings of an unmapped address dropped", "address", u)
	}
}

// publish hands the normalizer's output to the store, and every sample and
// every new alert transition to OnEvent.
func (p *Pipeline) publish() {
	p.Store.Publish(p.out.Samples...)
	p.Store.PublishConditions(p.out.Conditions...)
	if p.Scorecard != nil {
		p.Scorecard.Observe(&p.out)
	}
	if p.OnEvent == nil {
		return
	}
	for i := range p.out.Samples {
		s := p.out.Samples[i]
		p.OnEvent(Event{Type: EventSample, Sample: &s})
	}
	if p.AfterEvents != nil {
		defer p.AfterEvents()
	}
	p.changes = p.Store.AlertChanges(p.seen, p.changes[:0])
	if len(p.changes) == 0 {
		return
	}
	if first := p.changes[0].Seq; first > p.seen+1 {
		p.log.Warn("alert transitions lost: the store's log moved on", "lost", first-p.seen-1)
	}
	for i := range p.changes {
		c := &p.changes[i]
		a := c.Alert
		p.OnEvent(Event{Type: EventAlert, Alert: &a, Transition: c.Event.What, Change: c.Event})
	}
	p.seen = p.changes[len(p.changes)-1].Seq
}

// reportScores gives OnEvent the scorecards when ScorecardEvery has
// passed since it last did (the first tick waits a whole period).
func (p *Pipeline) reportScores(now time.Time) {
	every := p.ScorecardEvery
	if every == 0 {
		every = DefaultScorecardEvery
	}
	if p.OnEvent == nil || every < 0 {
		return
	}
	if p.scored.IsZero() {
		p.scored = now
		return
	}
	if now.Sub(p.scored) < every {
		return
	}
	p.scored = now
	r := p.Scorecard.Report()
	p.OnEvent(Event{Type: EventScorecard, Scorecard: &r})
}
