package alertdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

// Record queues a transition for the writer (store.Journal): it takes a
// short lock and appends, never touching the disk, so that the store's
// Publish paths never wait for I/O. Changes numbered at or before the
// file's last one (from a store not restored from this DB), and changes
// recorded after Close, are dropped and counted.
func (db *DB) Record(c store.AlertChange) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed || c.Seq <= db.base {
		db.dropped++
		return
	}
	if len(db.queue) >= db.opt.MaxQueue {
		// The disk has not kept up: the oldest half of the history goes;
		// the alerts' latest states among it are kept for the next write.
		n := len(db.queue) / 2
		for i := range db.queue[:n] {
			keep(db.latest, &db.queue[i])
		}
		db.dropped += uint64(n)
		db.queue = append(db.queue[:0], db.queue[n:]...)
	}
	db.queue = append(db.queue, c)
	if len(db.queue) >= db.opt.MaxQueue/2 {
		select {
		case db.wake <- struct{}{}:
		default:
		}
	}
}

// keep notes c's alert as the latest state of that alert in l.
func keep(l map[string]pending, c *store.AlertChange) {
	l[c.Alert.ID] = pending{alert: c.Alert, at: c.Event.At}
}

var _ store.Journal = (*DB)(nil)

// Flush writes every transition recorded so far and returns once it is
// on disk.
func (db *DB) Flush() error {
	ch := make(chan error, 1)
	select {
	case db.flushReq <- ch:
		return <-ch
	case <-db.done:
		return ErrClosed
	}
}

// run is the writer: every FlushInterval (or sooner when the queue is
// half full, or on Flush) it writes the queued transitions in one
// transaction; on Close it writes the rest and returns.
func (db *DB) run() {
	defer close(db.done)
	t := time.NewTicker(db.opt.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			db.mu.Lock()
			db.closed = true // what is queued now is the last
			db.mu.Unlock()
			err := db.flush()
			db.mu.Lock()
			db.finalErr = err
			db.mu.Unlock()
			return
		case <-t.C:
			db.flush()
		case <-db.wake:
			db.flush()
		case ch := <-db.flushReq:
			ch <- db.flush()
		}
	}
}

// flush writes what is queued. A write that fails (a full disk, an I/O
// error) is queued again for the next interval and logged, at most once a
// minute.
func (db *DB) flush() error {
	db.mu.Lock()
	q, l := db.queue, db.latest
	db.queue, db.latest = make([]store.AlertChange, 0, cap(q)), make(map[string]pending)
	dropped := db.dropped
	db.mu.Unlock()
	for i := range q {
		keep(l, &q[i])
	}

	if dropped > db.reported {
		db.opt.Logger.Warn("alert history dropped: the disk did not keep up", "file", db.path, "dropped", dropped-db.reported, "total", dropped)
		db.reported = dropped
	}
	now := db.opt.Now()
	ageDue := db.opt.KeepAge > 0 && now.Sub(db.lastAge) >= ageEvery
	if len(q) == 0 && len(l) == 0 && !ageDue {
		return nil
	}
	if db.opt.beforeWrite != nil {
		db.opt.beforeWrite()
	}
	count := db.count
	err := db.tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		count, err = db.write(tx, q, l, count, now, ageDue)
		return err
	})
	if err != nil {
		err = fmt.Errorf("write alert database %s: %w", db.path, err)
		if now.Sub(db.lastErr) >= time.Minute {
			db.opt.Logger.Error("alert changes not saved yet; retrying", "err", err)
			db.lastErr = now
		}
		db.requeue(q, l)
		return err
	}
	if ageDue {
		db.lastAge = now
	}
	db.mu.Lock()
	db.count = count
	db.written += uint64(len(q))
	db.batches++
	if len(q) > 0 {
		db.lastSeq = q[len(q)-1].Seq
	}
	db.mu.Unlock()
	return nil
}

// requeue puts a batch that could not be written back in front of what
// was queued since, within MaxQueue; its alerts' states are kept unless
// newer ones were queued since.
func (db *DB) requeue(q []store.AlertChange, l map[string]pending) {
	db.mu.Lock()
	defer db.mu.Unlock()
	for id, p := range l {
		if _, newer := db.latest[id]; !newer {
			db.latest[id] = p
		}
	}
	q = append(q, db.queue...)
	if over := len(q) - db.opt.MaxQueue; over > 0 {
		db.dropped += uint64(over)
		q = q[over:]
	}
	db.queue = q
}

// write puts the batch, applies the count limit (and the age limit when
// due) and returns the number of events in the file.
func (db *DB) write(tx *sql.Tx, q []store.AlertChange, l map[string]pending, count int, now time.Time, ageDue bool) (int, error) {
	ctx := context.Background()
	if len(q) > 0 {
		ins, err := tx.PrepareContext(ctx, "insert into events (seq, at_ns, alert, what, state, user, comment) values (?, ?, ?, ?, ?, ?, ?)")
		if err != nil {
			return count, err
		}
		defer ins.Close()
		for i := range q {
			e := &q[i].Event
			if _, err := ins.ExecContext(ctx, q[i].Seq, nanos(e.At), e.AlertID, e.What, e.State.String(), e.User, e.Comment); err != nil {
				return count, err
			}
			count++
		}
	}
	if len(l) > 0 {
		put, err := tx.PrepareContext(ctx, `insert into alerts (id, state, shelved, changed_ns, body) values (?, ?, ?, ?, ?)
			on conflict (id) do update set state = excluded.state, shelved = excluded.shelved, changed_ns = excluded.changed_ns, body = excluded.body`)
		if err != nil {
			return count, err
		}
		defer put.Close()
		for id, p := range l {
			body, err := encodeAlert(&p.alert)
			if err != nil {
				return count, err
			}
			if _, err := put.ExecContext(ctx, id, p.alert.State.String(), p.alert.Shelved, nanos(p.at), body); err != nil {
				return count, err
			}
		}
	}
	if keep := db.opt.KeepEvents; keep > 0 && count > keep {
		res, err := tx.ExecContext(ctx, "delete from events where seq <= (select seq from events order by seq desc limit 1 offset ?)", keep)
		if err != nil {
			return count, err
		}
		n, _ := res.RowsAffected()
		count -= int(n)
	}
	if !ageDue {
		return count, nil
	}
	cutoff := nanos(now.Add(-db.opt.KeepAge))
	res, err := tx.ExecContext(ctx, "delete from events where at_ns < ?", cutoff)
	if err != nil {
		return count, err
	}
	n, _ := res.RowsAffected()
	count -= int(n)
	_, err = tx.ExecContext(ctx, "delete from alerts where state = ? and not shelved and changed_ns < ?", normalize.Normal.String(), cutoff)
	return count, err
}
