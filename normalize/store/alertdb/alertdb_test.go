package alertdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// run is one process's store over the alert database of dir.
type run struct {
	db *DB
	st *store.Store
}

// openRun opens dir's database and a store restored from it; both are
// closed when the test ends (if run.close was not called).
func openRun(t testing.TB, dir string, o Options) *run {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return at(2 * time.Hour) } // the test's events are recent
	}
	db, err := Open(dir, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	st := store.New(store.Config{Journal: db, Restored: db.Restored(), Now: func() time.Time { return at(time.Hour) }})
	r := &run{db: db, st: st}
	t.Cleanup(func() { r.close(t) })
	return r
}

func (r *run) close(t testing.TB) {
	t.Helper()
	r.st.Close()
	if err := r.db.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func raise(target string, d time.Duration) normalize.Condition {
	return normalize.Condition{Kind: normalize.AlertOutOfRange, Target: target, Active: true, Severity: normalize.SeverityHigh, Message: "above range", At: at(d)}
}

func clearOf(target string, d time.Duration) normalize.Condition {
	return normalize.Condition{Kind: normalize.AlertOutOfRange, Target: target, At: at(d)}
}

func act(t testing.TB, st *store.Store, x store.Action) {
	t.Helper()
	if _, err := st.Act(x); err != nil {
		t.Fatalf("%s %s: %v", x.Kind, x.AlertID, err)
	}
}

// TestRestartKeepsAlertState: acks, shelves, comments and the history
// written by one run come back in the next, and the numbering goes on.
func TestRestartKeepsAlertState(t *testing.T) {
	dir := t.TempDir()
	r := openRun(t, dir, Options{})
	if r.db.Restored().Seq != 0 || len(r.db.Restored().Alerts) != 0 {
		t.Fatalf("a new file restores %+v", r.db.Restored())
	}
	r.st.PublishConditions(raise("p/temp", 0), raise("p/level", 0), raise("p/speed", 0))
	act(t, r.st, store.Action{Kind: store.ActAck, AlertID: "out_of_range:p/temp", User: "olga", Comment: "called maintenance"})
	act(t, r.st, store.Action{Kind: store.ActShelve, AlertID: "out_of_range:p/level", User: "max", Comment: "sensor swap", Until: at(48 * time.Hour)})
	act(t, r.st, store.Action{Kind: store.ActShelve, AlertID: "out_of_range:p/speed", User: "max", Comment: "known"})
	act(t, r.st, store.Action{Kind: store.ActComment, AlertID: "out_of_range:p/speed", User: "max", Comment: "belt slipping"})
	before := r.st.Alerts()
	hist := r.st.AlertHistory("")
	r.close(t)

	r = openRun(t, dir, Options{})
	if got := r.st.Alerts(); !reflect.DeepEqual(got, before) {
		t.Fatalf("after the restart:\n%+v\nwant\n%+v", got, before)
	}
	if got := r.st.AlertHistory(""); !sameHistory(got, hist) {
		t.Fatalf("history after the restart:\n%+v\nwant\n%+v", got, hist)
	}
	if r.st.RestoredSeq() != 7 {
		t.Fatalf("RestoredSeq %d, want 7", r.st.RestoredSeq())
	}
	// The condition of the acknowledged alert comes back: it stays acked.
	r.st.PublishConditions(raise("p/temp", 2*time.Hour))
	if a, _ := r.st.Alert("out_of_range:p/temp"); a.State != normalize.ActiveAcked || a.AckedBy != "olga" {
		t.Fatalf("raised again after the restart: %+v", a)
	}
	act(t, r.st, store.Action{Kind: store.ActComment, AlertID: "out_of_range:p/temp", User: "sue", Comment: "second shift aware"})
	if ch := r.st.AlertChanges(0, nil); len(ch) != 1 || ch[0].Seq != 8 {
		t.Fatalf("changes of the second run %+v, want one numbered 8", ch)
	}
	r.close(t)

	r = openRun(t, dir, Options{})
	h := r.st.AlertHistory("out_of_range:p/temp")
	if last := h[len(h)-1]; last.What != normalize.EventCommented || last.User != "sue" || len(r.st.AlertHistory("")) != 8 {
		t.Fatalf("history after a second restart: %+v", r.st.AlertHistory(""))
	}
	if st := r.db.Stats(); st.Events != 8 || st.LastSeq != 8 {
		t.Fatalf("stats %+v", st)
	}
}

// fill sets every field of the value v points to to something not zero.
func fill(t *testing.T, v reflect.Value, n *int) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		*n++
		switch f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("s%d", *n))
		case reflect.Int:
			f.SetInt(int64(*n))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer:
			switch f.Type() {
			case reflect.TypeOf(&normalize.Context{}):
				var vals [ctxrole.N]string
				vals[ctxrole.WorkOrder.Index()] = fmt.Sprintf("WO-%d", *n)
				f.Set(reflect.ValueOf(normalize.NewContext(vals, at(time.Duration(*n)*time.Second))))
			case reflect.TypeOf(&normalize.AlertOwner{}):
				f.Set(reflect.New(f.Type().Elem()))
				fill(t, f.Elem(), n)
			default:
				t.Fatalf("field %s: a pointer the test does not fill", v.Type().Field(i).Name)
			}
		case reflect.Struct:
			if f.Type() != reflect.TypeOf(time.Time{}) {
				t.Fatalf("field %s: a kind the test does not fill", v.Type().Field(i).Name)
			}
			f.Set(reflect.ValueOf(at(time.Duration(*n) * time.Second)))
		default:
			t.Fatalf("field %s of kind %s: teach the test and the file format", v.Type().Field(i).Name, f.Kind())
		}
	}
}

// TestRecordsKeepEveryField fails when normalize.Alert or AlertEvent gets
// a field the file does not keep.
func TestRecordsKeepEveryField(t *testing.T) {
	var a normalize.Alert
	n := 0
	fill(t, reflect.ValueOf(&a).Elem(), &n)
	a.State, a.Severity = normalize.RTNUnacked, normalize.SeverityCritical
	v, err := encodeAlert(&a)
	if err != nil {
		t.Fatal(err)
	}
	// The owner's link state is only true while otwin runs: a restored
	// owned alert waits for its owner (not current).
	want, owner := a, *a.Owner
	owner.Current, owner.Lost, owner.Why = false, time.Time{}, ""
	got, err := decodeAlert(v)
	if err != nil || got.Owner == nil || *got.Owner != owner {
		t.Fatalf("owner round trip: %+v, want %+v (%v)", got.Owner, owner, err)
	}
	// the context comes back as a value of its own
	if got.Context.String() != a.Context.String() || !got.Context.Since.Equal(a.Context.Since) {
		t.Fatalf("alert context round trip: %+v, want %+v", got.Context, a.Context)
	}
	got.Owner, want.Owner = nil, nil
	if got.Context = a.Context; got != want {
		t.Fatalf("alert round trip:\n%+v\nwant\n%+v", got, want)
	}
	// An event goes through the file: its columns.
	var e normalize.AlertEvent
	fill(t, reflect.ValueOf(&e).Elem(), &n)
	e.State = normalize.ActiveAcked
	r := openRun(t, t.TempDir(), Options{})
	r.db.Record(store.AlertChange{Seq: 1, Event: e, Alert: a})
	r.close(t)
	r = openRun(t, r.db.dir, Options{})
	h := r.db.Restored().History
	if len(h) != 1 || !sameEvent(h[0].Event, e) {
		t.Fatalf("event round trip:\n%+v\nwant\n%+v", h, e)
	}
}

// sameEvent compares events, times by the instant.
func sameEvent(a, b normalize.AlertEvent) bool {
	t := a.At
	a.At = b.At
	return a == b && t.Equal(b.At)
}

// sameHistory compares histories, times by the instant.
func sameHistory(a, b []normalize.AlertEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameEvent(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestCleanCloseLosesNothing: with writes far apart, everything recorded
// before Close is in the file after it.
func TestCleanCloseLosesNothing(t *testing.T) {
	dir := t.TempDir()
	r := openRun(t, dir, Options{FlushInterval: time.Hour})
	const n = 5000
	for i := 0; i < n; i++ {
		target := fmt.Sprintf("m%d/t", i%50)
		if (i/50)%2 == 0 {
			r.st.PublishConditions(raise(target, time.Duration(i)*time.Millisecond))
		} else {
			r.st.PublishConditions(clearOf(target, time.Duration(i)*time.Millisecond))
		}
	}
	act(t, r.st, store.Action{Kind: store.ActAck, AlertID: "out_of_range:m7/t", User: "olga"})
	if st := r.db.Stats(); st.Written != 0 {
		t.Fatalf("written before Close: %+v", st)
	}
	want := r.st.Alerts()
	r.close(t)
	if st := r.db.Stats(); st.Written != n+1 || st.Batches != 1 || st.Dropped != 0 {
		t.Fatalf("stats after Close %+v, want %d written in one batch", st, n+1)
	}
	r = openRun(t, dir, Options{})
	if got := r.st.Alerts(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the restart %d alerts, want %d", len(got), len(want))
	}
	if st := r.db.Stats(); st.Events != n+1 || r.db.Restored().Seq != n+1 {
		t.Fatalf("the file keeps %d events (last %d), want %d", st.Events, r.db.Restored().Seq, n+1)
	}
	// Records after Close are dropped, not written, and counted.
	r.close(t)
	before := r.db.Stats().Dropped
	r.db.Record(store.AlertChange{Seq: 1 << 40, Alert: normalize.Alert{ID: "x"}})
	if r.db.Stats().Dropped != before+1 {
		t.Fatal("a Record after Close was not counted as dropped")
	}
	if err := r.db.Flush(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
}

// TestTransitionsNeverWaitForTheDisk: while the writer is stuck in a
// write, the store goes on making transitions at full speed; the queue
// stays bounded (the oldest history goes, counted) and every alert's
// latest state is still written once the disk answers.
func TestTransitionsNeverWaitForTheDisk(t *testing.T) {
	dir := t.TempDir()
	stuck, release := make(chan struct{}), make(chan struct{})
	first := true
	db, err := Open(dir, Options{FlushInterval: time.Millisecond, MaxQueue: 1000, beforeWrite: func() {
		if first { // the writer's first write blocks until released
			first = false
			close(stuck)
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(store.Config{Journal: db, Restored: db.Restored()})
	st.PublishConditions(raise("warmup", 0))
	<-stuck // the writer is now blocked inside a write
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20000; i++ {
			target := fmt.Sprintf("m%d/t", i%100)
			if i%200 < 100 {
				st.PublishConditions(raise(target, time.Duration(i)*time.Millisecond))
			} else {
				st.PublishConditions(clearOf(target, time.Duration(i)*time.Millisecond))
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		close(release)
		t.Fatal("PublishConditions waited for the blocked writer")
	}
	want := st.Alerts()
	close(release)
	st.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := db.Stats()
	if s.Dropped == 0 || s.Written+s.Dropped != 20001 {
		t.Fatalf("stats %+v: want some of the 20001 transitions dropped from the history, the rest written", s)
	}
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	st2 := store.New(store.Config{Restored: db2.Restored()})
	defer st2.Close()
	if got := st2.Alerts(); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored alerts differ from the last state: %d vs %d", len(got), len(want))
	}
	if len(db2.Restored().Alerts) != 101 {
		t.Fatalf("%d alerts restored, want 101", len(db2.Restored().Alerts))
	}
}

func TestRetention(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		dir := t.TempDir()
		r := openRun(t, dir, Options{KeepEvents: 100, KeepAge: -1})
		for i := 0; i < 250; i++ {
			r.st.PublishConditions(raise("a", time.Duration(i)), clearOf("a", time.Duration(i)))
			if i%60 == 0 {
				if err := r.db.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		r.close(t)
		r = openRun(t, dir, Options{Load: 1000})
		h := r.db.Restored().History
		if len(h) != 100 || h[0].Seq != 401 || h[99].Seq != 500 || r.db.Stats().Events != 100 {
			t.Fatalf("kept %d events (%d..%d), want 100 (401..500)", len(h), h[0].Seq, h[len(h)-1].Seq)
		}
	})
	t.Run("age", func(t *testing.T) {
		dir := t.TempDir()
		now := at(0)
		o := Options{KeepAge: 24 * time.Hour, Now: func() time.Time { return now }}
		r := openRun(t, dir, o) // its store acts at +1h
		// Transitions are dropped oldest first while older than the limit:
		// here their times grow with their numbers, as on a live line.
		r.st.PublishConditions(raise("old", -50*time.Hour), clearOf("old", -49*time.Hour))
		r.st.PublishConditions(raise("active", -49*time.Hour)) // active since -49h
		r.st.PublishConditions(raise("shelved", -49*time.Hour), clearOf("shelved", -49*time.Hour))
		act(t, r.st, store.Action{Kind: store.ActAck, AlertID: "out_of_range:old", User: "u"}) // normal since +1h
		act(t, r.st, store.Action{Kind: store.ActAck, AlertID: "out_of_range:shelved", User: "u"})
		act(t, r.st, store.Action{Kind: store.ActShelve, AlertID: "out_of_range:shelved", User: "u", Until: at(100 * time.Hour)})
		r.close(t)
		kept := func(now time.Time) (alerts []string, events []normalize.AlertEvent) {
			t.Helper()
			r := openRun(t, dir, Options{KeepAge: 24 * time.Hour, Now: func() time.Time { return now }})
			if err := r.db.Flush(); err != nil { // the first write applies the age limit
				t.Fatal(err)
			}
			r.close(t)
			r = openRun(t, dir, Options{KeepAge: -1})
			for _, a := range r.db.Restored().Alerts {
				alerts = append(alerts, a.ID)
			}
			for _, c := range r.db.Restored().History {
				events = append(events, c.Event)
			}
			r.close(t)
			return alerts, events
		}
		// A day before +20h is -4h: the raises and clears go, the acks and
		// the shelve stay, and so does every alert.
		alerts, events := kept(at(20 * time.Hour))
		if len(alerts) != 3 || len(events) != 3 {
			t.Fatalf("at +20h: alerts %v, events %+v; want 3 alerts and the 3 user actions", alerts, events)
		}
		for _, e := range events {
			if e.User != "u" {
				t.Errorf("event %+v kept past the age limit", e)
			}
		}
		// A day before +30h is +6h: every event goes, and the alert back
		// to normal since +1h; the active and the shelved alert stay.
		alerts, events = kept(at(30 * time.Hour))
		if strings.Join(alerts, " ") != "out_of_range:active out_of_range:shelved" || len(events) != 0 {
			t.Fatalf("at +30h: alerts %v, events %+v", alerts, events)
		}
	})
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Dir != dir {
		t.Fatalf("second open: %v, want a LockedError naming %s and pid %d", err, dir, os.Getpid())
	}
	msg := err.Error()
	for _, want := range []string{dir, fmt.Sprintf("pid %d", os.Getpid()), filepath.Join(dir, FileName)} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, PIDFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after Close: %v", err)
	}
	db, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	db.Close()
}
