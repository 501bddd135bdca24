package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns/mqttsub"
	"github.com/otwin/otwin/tui"
)

// collector is the monitoring half running: connectors, normalizer and the
// live store, fed by one pipeline.
type collector struct {
	Sources    *sources.File
	Connectors []connectors.Connector
	Normalizer *normalize.Normalizer
	Store      *store.Store
	// Board keeps the data-quality scorecards (the pipeline feeds it).
	Board    *score.Board
	Pipeline *pipeline.Pipeline
	// Route takes actions on alerts to their owners; History reads tags'
	// history from their endpoints.
	Route   *alertRoute
	History *historyRoute
	// Remote, for a dashboard that reads collectors from a broker
	// instead of endpoints (no connectors, no pipeline), is its reader:
	// it fills Store, and Route takes actions on the collectors' alerts
	// to them through it.
	Remote *mqttsub.Reader
	// paused, when set, says whether the sources stand still on purpose
	// (the in-process twin's clock is paused): Run holds the rules' clock
	// meanwhile, so that the values stopped by the pause are not called
	// frozen or stale.
	paused func() bool
}

// newCollector builds the connectors of every source and the pipeline that
// normalizes their readings into a new store, restored from and saving to
// the alert state (in memory when nil). Sources whose kind or sources-file
// entry asks for it run in child processes of this program.
func newCollector(f *sources.File, dataDir string, state *alertState, logger *slog.Logger) (*collector, error) {
	return newCollectorWith(f, connectors.Env{DataDir: dataDir, Logger: logger}, isolate.Options{}, state)
}

// newCollectorWith is newCollector with the supervision of isolated
// connectors tuned by iso.
func newCollectorWith(f *sources.File, env connectors.Env, iso isolate.Options, state *alertState) (*collector, error) {
	conns, err := buildConnectors(f, env, iso)
	if err != nil {
		return nil, err
	}
	n, err := normalize.New(f.NormalizeConfig())
	if err != nil {
		return nil, err
	}
	// The store owns the alerts: the rules' conditions (through the
	// pipeline) and the users' actions meet there.
	points := 0
	for _, s := range f.Sources {
		points += len(s.Points)
	}
	st := state.newStore(historyPerTag(points))
	board := score.New(f.ScoreConfig())
	return &collector{
		Sources:    f,
		Connectors: conns,
		Normalizer: n,
		Store:      st,
		Board:      board,
		Pipeline: &pipeline.Pipeline{
			Connectors: conns,
			Normalizer: n,
			Store:      st,
			Scorecard:  board,
			Logger:     env.Logger,
		},
		Route:   newAlertRoute(st, conns),
		History: newHistoryRoute(st, n, conns),
	}, nil
}

// scorecards is the board as the dashboard's Scorecards (a dashboard
// reading a broker: every collector's): nil (no page) without one.
func (c *collector) scorecards() tui.Scorecards {
	switch {
	case c.Remote != nil:
		return c.Remote // every collector's
	case c.Board == nil:
		return nil
	}
	return c.Board
}

// backend is the dashboard's backend for one session of this collector.
func (c *collector) backend(sess *session) *storeBackend {
	return &storeBackend{st: c.Store, sess: sess, route: c.Route, hist: c.History}
}

// historyBudget bounds the history points the store keeps over all tags
// (24 bytes each: about 100 MB): the default 300 a tag for up to 14,000
// tags, fewer for larger files, at least 30.
const historyBudget = 4 << 20

// historyPerTag is the history kept per tag for a file of tags tags.
func historyPerTag(tags int) int {
	if tags <= 0 {
		return store.DefaultHistory
	}
	return max(30, min(store.DefaultHistory, historyBudget/tags))
}

// Run runs the pipeline until ctx is done, following paused when set (a
// dashboard reading a broker has none: its reader runs by itself).
func (c *collector) Run(ctx context.Context) error {
	if c.Pipeline == nil {
		<-ctx.Done()
		return nil
	}
	if c.paused == nil {
		return c.Pipeline.Run(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.followPause(ctx)
	}()
	err := c.Pipeline.Run(ctx)
	cancel()
	<-done
	return err
}

// pauseCheck is how often Run asks whether the sources are paused.
const pauseCheck = 100 * time.Millisecond

// followPause holds the pipeline's rules clock while c.paused() says so
// and resumes it when not, at once and then every pauseCheck, until ctx is
// done.
func (c *collector) followPause(ctx context.Context) {
	t := time.NewTicker(pauseCheck)
	defer t.Stop()
	held := false
	for {
		if p := c.paused(); p != held {
			if held = p; held {
				c.Pipeline.Hold()
			} else {
				c.Pipeline.Resume()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// buildConnectors makes one connector per source of f: its kind builds
// it, in this process or, when the source is isolated, in a child process
// (see connectors/isolate).
func buildConnectors(f *sources.File, env connectors.Env, iso isolate.Options) ([]connectors.Connector, error) {
	var (
		conns []connectors.Connector
		errs  []error
	)
	for i := range f.Sources {
		s := &f.Sources[i]
		var (
			c   connectors.Connector
			err error
		)
		if s.Isolated() {
			c, err = isolate.New(s.Spec(), env, iso)
		} else {
			c, err = s.Spec().New(env)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", s.Name, err))
			continue
		}
		conns = append(conns, c)
	}
	return conns, errors.Join(errs...)
}
