// Package pipeline runs otwin's monitoring half: connectors read their
// endpoints into one channel, the normalizer maps each reading and runs the
// data-quality rules, and the live store receives samples, alert changes
// and health. An optional hook sees every sample and alert transition (the
// headless JSON-lines output of `otwin watch`).
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
	"github.com/otwin/otwin/normalize/store"
)

// Defaults of Pipeline.
const (
	DefaultTickInterval = time.Second
	DefaultBuffer       = 4096
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
	// Store receives samples, alerts and health; required. Give it the
	// Normalizer's Alerts (store.Config.Alerts) so that user actions and
	// rules act on one alert set.
	Store *store.Store
	// Logger logs connector failures; nil discards.
	Logger *slog.Logger
	// TickInterval is how often health is observed and the time-driven
	// rules run. Default 1s.
	TickInterval time.Duration
	// OnEvent, when set, is called from Run's goroutine for every sample
	// published and every alert transition; it must not block for long.
	OnEvent func(Event)
	// Now is the clock of the time-driven rules. Default time.Now.
	Now func() time.Time
	// Buffer is the capacity of the readings channel. Default 4096.
	Buffer int

	log    *slog.Logger
	mu     sync.Mutex
	failed map[string]failure
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
	now := p.Now
	if now == nil {
		now = time.Now
	}
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

	p.Store.Publish(p.Normalizer.Initial()...)

	ch := make(chan connectors.Reading, buf)
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

	samples := make([]normalize.Sample, 0, maxBatch)
	p.tick(now(), samples)
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
				case <-done:
					return nil
				}
			}
		case r := <-ch:
			samples = samples[:0]
			if s, ok := p.Normalizer.Apply(r); ok {
				samples = append(samples, s)
			}
		more:
			for len(samples) < maxBatch {
				select {
				case r := <-ch:
					if s, ok := p.Normalizer.Apply(r); ok {
						samples = append(samples, s)
					}
				default:
					break more
				}
			}
			p.publish(samples)
		case <-tk.C:
			p.tick(now(), samples[:0])
		}
	}
}

// runConnector runs c, turning a panic into an error.
func runConnector(ctx context.Context, c connectors.Connector, ch chan<- connectors.Reading) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("connector %s panicked: %v\n%s", c.Name(), v, debug.Stack())
		}
	}()
	return c.Run(ctx, ch)
}

func (p *Pipeline) tick(now time.Time, buf []normalize.Sample) {
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
		hs = append(hs, h)
	}
	p.mu.Unlock()
	out := p.Normalizer.Tick(now, buf)
	for _, h := range hs {
		p.Normalizer.ObserveHealth(h)
	}
	p.Store.SetHealth(hs...)
	p.publish(out)
	for _, u := range p.Normalizer.TakeUnknown() {
		p.log.Warn("readings of an unmapped address dropped", "address", u)
	}
}

func (p *Pipeline) publish(samples []normalize.Sample) {
	p.Store.Publish(samples...)
	if p.OnEvent != nil {
		for i := range samples {
			s := samples[i]
			p.OnEvent(Event{Type: EventSample, Sample: &s})
		}
	}
	changes := p.Normalizer.Alerts().Changes()
	if len(changes) == 0 {
		return
	}
	as := make([]normalize.Alert, len(changes))
	for i := range changes {
		as[i] = changes[i].Alert
	}
	p.Store.PublishAlerts(as...)
	if p.OnEvent != nil {
		for i := range changes {
			p.OnEvent(Event{Type: EventAlert, Alert: &as[i], Transition: changes[i].What})
		}
	}
}
