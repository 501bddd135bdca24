package alertdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

// FileName is the database's name in the data directory.
const FileName = "alerts.db"

// PIDFileName, next to the database, holds the pid of the process that
// has it open; it names that process when another one is refused.
const PIDFileName = "alerts.pid"

// Defaults of Options.
const (
	DefaultKeepEvents    = 100_000
	DefaultKeepAge       = 90 * 24 * time.Hour
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxQueue      = 1 << 16
)

const (
	// lockWait is how long Open waits for another process's lock (the
	// busy timeout, in milliseconds).
	lockWait = 100
	// ageEvery is how often the writer applies the age limit.
	ageEvery = time.Minute
	// closeWait bounds how long Close waits for the last write and for
	// the file to close.
	closeWait = 5 * time.Second
)

// Options configure a DB.
type Options struct {
	// KeepEvents is how many transitions the file keeps; the oldest go
	// first. Default DefaultKeepEvents (100,000); negative: no count
	// limit.
	KeepEvents int
	// KeepAge drops transitions older than this, and alerts back to
	// normal, not shelved and unchanged for as long. Default
	// DefaultKeepAge (90 days); negative: no age limit.
	KeepAge time.Duration
	// FlushInterval is how often the queued transitions are written, in
	// one transaction: a crash loses at most those of the last interval.
	// Default DefaultFlushInterval (200ms).
	FlushInterval time.Duration
	// MaxQueue bounds the transitions queued between writes. When the
	// disk does not keep up and the queue is full, the oldest half of it
	// is dropped from the history (counted in Stats.Dropped and logged);
	// every alert's latest state is still written. Default
	// DefaultMaxQueue.
	MaxQueue int
	// Load is how many of the latest transitions Restored returns (the
	// store's history). Default store.DefaultAlertHistory.
	Load int
	// Logger reports write failures and drops; nil discards.
	Logger *slog.Logger
	// Now is the clock of the age limit. Default time.Now.
	Now func() time.Time

	// beforeWrite, set by tests, runs on the writer before each write.
	beforeWrite func()
}

func (o *Options) defaults() {
	if o.KeepEvents == 0 {
		o.KeepEvents = DefaultKeepEvents
	}
	if o.KeepAge == 0 {
		o.KeepAge = DefaultKeepAge
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.Load <= 0 {
		o.Load = store.DefaultAlertHistory
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// LockedError is Open's error when another process has the database
// open: one data directory serves one otwin at a time.
type LockedError struct {
	// Dir is the data directory, Path the database in it.
	Dir, Path string
	// PID is the other process's, from PIDFileName; 0 when unknown.
	PID int
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s, which has its alert database %s open; stop that process, or use another data directory",
		e.Dir, who, e.Path)
}

// CorruptError is Open's error for a file that is damaged, or is not
// otwin's alert state (another program's, or a newer format). Moving the
// file aside lets otwin start with no saved alert state.
type CorruptError struct {
	// Path is the database file.
	Path string
	// Err says what is wrong.
	Err error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("alert database %s cannot be used: %v; move it aside (mv %s %s.bad) and otwin starts with no saved alert state",
		e.Path, e.Err, e.Path, e.Path)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("alert database closed")

// DB is the alert state of one data directory: the alerts and their
// latest transitions, restored at Open and kept up to date by Record. It
// is safe for concurrent use.
type DB struct {
	dir, path string
	opt       Options
	sql       *sql.DB
	conn      *sql.Conn // the one connection: it holds the lock
	restored  *store.Restored

	mu    sync.Mutex
	queue []store.AlertChange
	// latest are alert states to write that are no longer in queue (its
	// oldest were dropped, or a write failed).
	latest map[string]pending
	// closed: Record drops.
	closed  bool
	dropped uint64
	// base is the last seq in the file at Open: a change numbered at or
	// before it comes from a store that was not restored from this file.
	base uint64

	// the writer's (read by Stats under mu)
	count    int       // transitions in the file
	lastAge  time.Time // last age check
	written  uint64
	batches  uint64
	lastSeq  uint64
	reported uint64    // dropped count last logged
	lastErr  time.Time // last write error logged

	finalErr  error // of the last write, at Close (under mu)
	wake      chan struct{}
	flushReq  chan chan error
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// pending is an alert's latest state waiting to be written, with the time
// of the transition that made it.
type pending struct {
	alert normalize.Alert
	at    time.Time
}

// Open opens, or creates, the alert database of data directory dir
// (FileName, mode 0600; dir is created 0700) and loads its state (see
// Restored). It holds the file's lock until Close: while one process has
// it open, Open in any other (or a second Open in the same one) fails with
// a *LockedError naming the directory and, when known, the pid. A file
// that is damaged or not otwin's fails with a *CorruptError naming the
// file and the way out; SQLite's quick_check reads every page first, so
// damage is found here rather than later.
func Open(dir string, o Options) (*DB, error) {
	o.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("alert database: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Created here so that it is 0600 (SQLite gives its WAL the same mode).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("alert database: %w", err)
	}
	f.Close()
	db := &DB{
		dir: dir, path: path, opt: o,
		latest:   make(map[string]pending),
		wake:     make(chan struct{}, 1),
		flushReq: make(chan chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if err := db.open(); err != nil {
		if db.sql != nil {
			db.sql.Close()
		}
		var se *sqlite.Error
		if errors.As(err, &se) {
			switch se.Code() & 0xff {
			case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
				return nil, &LockedError{Dir: dir, Path: path, PID: readPID(dir)}
			case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
				sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_AUTH:
				// the file may be fine: the disk, the mode or the memory is not
				return nil, fmt.Errorf("alert database %s: %w", path, err)
			}
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, err
		}
		// Any other failure to read our own tables: not a file we can use.
		return nil, &CorruptError{Path: path, Err: err}
	}
	if err := os.WriteFile(filepath.Join(dir, PIDFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		o.Logger.Warn("alert database: cannot write the pid file", "err", err)
	}
	go db.run()
	return db, nil
}

// open takes the lock (exclusive locking mode: the first access locks the
// file until the connection closes), checks the file and loads it.
func (db *DB) open() error {
	var err error
	if db.sql, err = sql.Open("sqlite", "file:"+db.path); err != nil {
		return err
	}
	ctx := context.Background()
	if db.conn, err = db.sql.Conn(ctx); err != nil {
		return err
	}
	for _, p := range []string{
		"pragma busy_timeout = " + strconv.Itoa(lockWait),
		"pragma locking_mode = exclusive",
		"pragma journal_mode = wal", // the first access: locks, or reports the lock or a bad file
		"pragma synchronous = full", // a commit is on disk when it returns
	} {
		if _, err := db.conn.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	var check string
	if err := db.conn.QueryRowContext(ctx, "pragma quick_check(1)").Scan(&check); err != nil {
		return err
	}
	if check != "ok" {
		return &CorruptError{Path: db.path, Err: fmt.Errorf("quick_check: %s", check)}
	}
	return db.load(ctx)
}

// load checks the file's format (creating the tables of a new one) and
// reads the alerts and the latest Load transitions.
func (db *DB) load(ctx context.Context) error {
	var tables []string
	rows, err := db.conn.QueryContext(ctx, "select name from sqlite_schema where type = 'table' order by name")
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(tables) == 0 {
		db.restored = &store.Restored{}
		return db.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, schema); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "insert into meta (key, value) values ('format', ?)", formatV1)
			return err
		})
	}
	var format string
	if !slices.Contains(tables, "meta") {
		return &CorruptError{Path: db.path, Err: fmt.Errorf("not an otwin alert database (its tables: %s)", strings.Join(tables, ", "))}
	}
	if err := db.conn.QueryRowContext(ctx, "select value from meta where key = 'format'").Scan(&format); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if format != formatV1 {
		return &CorruptError{Path: db.path, Err: fmt.Errorf("format %q, this otwin reads %q", format, formatV1)}
	}
	return db.read(ctx)
}

// read fills db.restored from an existing file.
func (db *DB) read(ctx context.Context) error {
	r := &store.Restored{}
	var last sql.NullInt64
	if err := db.conn.QueryRowContext(ctx, "select count(*), max(seq) from events").Scan(&db.count, &last); err != nil {
		return err
	}
	r.Seq = uint64(max(last.Int64, 0))
	rows, err := db.conn.QueryContext(ctx,
		"select seq, at_ns, alert, what, state, user, comment from events order by seq desc limit ?", db.opt.Load)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			c     store.AlertChange
			at    int64
			state string
		)
		e := &c.Event
		if err := rows.Scan(&c.Seq, &at, &e.AlertID, &e.What, &state, &e.User, &e.Comment); err != nil {
			rows.Close()
			return err
		}
		if e.State, err = parseState(state); err != nil {
			rows.Close()
			return &CorruptError{Path: db.path, Err: fmt.Errorf("event %d: %w", c.Seq, err)}
		}
		e.At = fromNanos(at)
		r.History = append(r.History, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	slices.Reverse(r.History)
	rows, err = db.conn.QueryContext(ctx, "select id, body from alerts order by id")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   string
			body []byte
		)
		if err := rows.Scan(&id, &body); err != nil {
			return err
		}
		a, err := decodeAlert(body)
		if err != nil {
			return &CorruptError{Path: db.path, Err: fmt.Errorf("alert %q: %w", id, err)}
		}
		r.Alerts = append(r.Alerts, a)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	db.restored, db.base, db.lastSeq = r, r.Seq, r.Seq
	return nil
}

// tx runs f in a transaction of db's connection.
func (db *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := db.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// readPID returns the pid in dir's PIDFileName, or 0.
func readPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, PIDFileName))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Restored is the state Open loaded, for store.Config.Restored: every
// saved alert, the latest Options.Load transitions and the last
// transition's number. Use it with this DB as the store's journal
// (store.Config{Journal: db, Restored: db.Restored()}), so that the
// store numbers its transitions after those in the file.
func (db *DB) Restored() *store.Restored { return db.restored }

// Stats are a DB's counters.
type Stats struct {
	// Written transitions, in Batches transactions, since Open; LastSeq
	// is the number of the last one in the file.
	Written, Batches, LastSeq uint64
	// Dropped transitions: queued when the queue was full, recorded after
	// Close, or misnumbered.
	Dropped uint64
	// Events is how many transitions the file keeps.
	Events int
}

// Stats returns the counters. Those of the writer (Written, Batches,
// LastSeq, Events) are as of the last Flush or Close.
func (db *DB) Stats() Stats {
	db.mu.Lock()
	defer db.mu.Unlock()
	return Stats{Written: db.written, Batches: db.batches, LastSeq: db.lastSeq, Dropped: db.dropped, Events: db.count}
}

// Close writes what is queued, closes the file and removes the pid file;
// it returns the error of that last write, if any (its transitions are
// then lost). It waits at most
// a few seconds for a disk that does not answer. Later Records are
// dropped. Close is idempotent.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.stop)
		select {
		case <-db.done:
		case <-time.After(closeWait):
			// The process is about to end: leave the write to die with it
			// (an unfinished transaction is rolled back at the next Open).
			db.mu.Lock()
			db.closed = true
			db.mu.Unlock()
			db.closeErr = fmt.Errorf("alert database %s: the last write did not finish within %s", db.path, closeWait)
			return
		}
		var errs []error
		db.mu.Lock()
		db.closed = true
		if db.finalErr != nil {
			errs = append(errs, db.finalErr)
		}
		db.mu.Unlock()
		if err := errors.Join(db.conn.Close(), db.sql.Close()); err != nil {
			errs = append(errs, fmt.Errorf("alert database %s: %w", db.path, err))
		}
		if readPID(db.dir) == os.Getpid() {
			os.Remove(filepath.Join(db.dir, PIDFileName))
		}
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}
