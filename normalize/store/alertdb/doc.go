// Package alertdb keeps the live store's alert state in the data
// directory, so that acknowledgements, shelves, comments and the alert
// history survive a restart: the file alerts.db, an SQLite database
// (modernc.org/sqlite, pure Go), with alerts.pid next to it while a
// process has it open.
//
// # Use
//
//	db, err := alertdb.Open(dataDir, alertdb.Options{})  // *LockedError, *CorruptError
//	defer db.Close()                                      // writes what is queued
//	st := store.New(store.Config{Journal: db, Restored: db.Restored()})
//
// Open restores every saved alert (state, acknowledgement, shelve) and the
// latest transitions (Options.Load, the store's history); the store then
// hands DB every transition (store.Journal) and numbers its own after the
// restored ones. What the store does with a restored alert whose condition
// does or does not come back is the store's (see its package doc).
//
// # Writes off the hot path
//
// Record, called by the store under its lock for every transition, only
// appends to a queue. One writer goroutine writes the queue every
// FlushInterval (200ms), or as soon as it is half full, in one
// transaction, committed with synchronous=FULL in WAL mode (the
// transaction is on disk when the commit returns). The queue is bounded
// (MaxQueue): a disk that does not keep up costs the oldest part of the
// history (counted, logged) but never an alert's latest state, and never
// a wait in the store. A write that fails (full disk) is retried at the
// next interval.
//
// Crash between a transition and its write: the transition is lost with
// the others of the interval under way, at most FlushInterval of them
// (kill -9, power loss); the file is left whole (SQLite's transactions),
// holding the state as of the last write. A clean shutdown (Close) writes
// everything queued and loses nothing.
//
// # One process per data directory
//
// The database is opened in exclusive locking mode and its lock is held
// until Close: a second process (or a second Open in one process) gets a
// *LockedError naming the directory and the pid of the one holding it
// (from alerts.pid). The lock dies with its process: after a crash the
// next Open succeeds.
//
// # Retention
//
// KeepEvents (100,000) and KeepAge (90 days) bound the history: past the
// count the oldest transitions go at each write; once a minute the ones
// older than the age go, and so do alerts back to normal, not shelved and
// unchanged for as long. Either limit can be switched off (negative).
// Alerts still active, unacknowledged or shelved are never dropped.
//
// # Damaged or foreign files
//
// Open runs SQLite's quick_check (it reads every page) and checks the
// format mark, so a damaged file, another program's database, or a newer
// otwin's, is refused at once with a *CorruptError naming the file and
// the way out: move it aside (mv alerts.db alerts.db.bad) and otwin
// starts with no saved alert state. Open never panics on a bad file.
//
// # Why SQLite and not bbolt
//
// Both were measured with the same records on the same machine (2-core
// AMD EPYC, shared, load average 13-16 during the runs), SQLite in WAL
// mode with synchronous=FULL, bbolt with its default fsync per commit:
//
//	                                       bbolt v1.5.0    SQLite (modernc v1.62.0)
//	commit of 1 transition                 2.39 ms         0.58 ms
//	per transition, batches of 100         53 µs           28 µs
//	file, 100k transitions + 1000 alerts   33.8 MB         20.1 MB (15.1 MB as stored here)
//	open + alerts + last 2000 transitions  22.5 ms         40 ms (without quick_check)
//	randomly damaged files                 fault, panics,  an error or a clean
//	                                       a hang          open, each of 60
//	binary size added                      0.7 MB          7.3 MB
//	cold compile added                     8 s             137 s
//
// bbolt's lock would have given the one-process rule for free, but it
// memory-maps the file and trusts it: a truncated file faulted with
// SIGBUS (fatal unless debug.SetPanicOnFault), damaged page headers hit
// its assertions (panics), and one damaged page sent a cursor into an
// endless descent (a hang with memory growing) that no recover can stop.
// A damaged file must give an error and a way out, never a crash or a
// hang, so SQLite it is; its costs are the binary size and the compile
// time. The writes are batched, so its commit cost hardly matters either
// way.
//
// With this package (BenchmarkTransition, BenchmarkWrite, BenchmarkOpen;
// same machine, three runs at load 8-12, so ranges): a transition on the
// store's hot path takes 0.6-1.9 µs journaled against 0.11-0.21 µs in
// memory (the anchor; the difference is a queued copy); the writer spends
// 0.45-0.54 ms on a batch of one transition and 39-55 µs per transition
// in batches of 100 (an fsync'd append to a plain file, the anchor:
// 0.25-0.31 ms and 3-6 µs); Open of 100,000 transitions on 1,000 alerts
// (a 15.1 MB file) takes 44-55 ms, quick_check included (reading the file
// whole, the anchor: 5-8 ms).
package alertdb
