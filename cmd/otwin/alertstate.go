package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/store/alertdb"
)

// alertStateOptions are the flags of the saved alert state, shared by the
// commands that run a collector (watch, ssh, demo, workshop).
type alertStateOptions struct {
	keepEvents int
	keepAge    time.Duration
	grace      time.Duration
}

func (o *alertStateOptions) register(f *pflag.FlagSet) {
	f.IntVar(&o.keepEvents, "keep-alert-events", alertdb.DefaultKeepEvents,
		"alert transitions kept in <data-dir>/"+alertdb.FileName+", the oldest dropped first (negative: no limit)")
	f.DurationVar(&o.keepAge, "keep-alert-age", alertdb.DefaultKeepAge,
		"drop saved alert transitions older than this, and alerts back to normal and unchanged for as long (negative: no limit)")
	f.DurationVar(&o.grace, "alert-restore-grace", store.DefaultRestoreGrace,
		"a saved active alert whose condition is not raised again within this long of the start returns to normal (negative: never)")
}

// alertState is the data directory's alert database, open for one
// command: the live store starts from it and saves every alert
// transition to it.
type alertState struct {
	db     *alertdb.DB
	grace  time.Duration
	logger *slog.Logger
}

// open opens the alert database of dataDir. Only one otwin may have it
// open: a second one is refused with the directory and the other's pid.
func (o *alertStateOptions) open(dataDir string, logger *slog.Logger) (*alertState, error) {
	logger = logger.With("part", "alertdb")
	db, err := alertdb.Open(dataDir, alertdb.Options{KeepEvents: o.keepEvents, KeepAge: o.keepAge, Logger: logger})
	if err != nil {
		var le *alertdb.LockedError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("%w (--data-dir)", err)
		}
		return nil, err
	}
	r := db.Restored()
	logger.Info("saved alert state loaded", "file", db.Path(), "alerts", len(r.Alerts), "transitions", len(r.History))
	return &alertState{db: db, grace: o.grace, logger: logger}, nil
}

// openRun opens what a command that collects opens first: its log (into
// the data directory's log file when the dashboard owns the terminal and
// no --log-file was given) and, unless alerts is nil, the data
// directory's alert state. done closes both.
func openRun(lf *logOptions, alerts *alertStateOptions, dataDir string, stderr io.Writer, dashboard bool) (logger *slog.Logger, state *alertState, done func(), err error) {
	if dashboard && lf.file == "" {
		lf.file = defaultLogFile(dataDir)
	}
	logger, closeLog, err := lf.logger(stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	if alerts == nil {
		return logger, nil, closeLog, nil
	}
	if state, err = alerts.open(dataDir, logger); err != nil {
		closeLog()
		return nil, nil, nil, err
	}
	return logger, state, func() { state.Close(); closeLog() }, nil
}

// newStore returns the live store keeping history points a tag: restored
// from the database and saving to it, or, for a nil state, in memory only.
func (s *alertState) newStore(history int) *store.Store {
	if s == nil {
		return store.New(store.Config{History: history})
	}
	return store.New(store.Config{History: history, Journal: s.db, Restored: s.db.Restored(), RestoreGrace: s.grace})
}

// Close writes the transitions not yet written and closes the database;
// an error (those transitions lost) is also logged. A nil state closes
// nothing.
func (s *alertState) Close() error {
	if s == nil {
		return nil
	}
	err := s.db.Close()
	if err != nil {
		s.logger.Error("alert state not saved", "err", err)
	}
	return err
}
