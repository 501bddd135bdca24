// Package record records what the connectors deliver into a recording
// (package recording): every reading with its raw value, status code,
// error text and three timestamps, what the server says about each point,
// and each source's link state changes. 'otwin watch --record' runs the
// connectors through a Recorder; 'otwin sim --replay' serves the
// recording again.
//
// A Recorder wraps connectors (Wrap): each reading is written, then passed
// on unchanged. The recording's header holds the sources file's text, so
// that a replay serves the same addresses. The file is flushed every
// FlushEvery (250 ms by default) and on Close; a process that dies leaves
// a recording that reads up to its last whole frame. Its size policy
// (recording.Policy) stops or rotates it at a size or age; the connectors
// run on either way.
package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/recording"
)

// DefaultFlush is how often a Recorder flushes by default.
const DefaultFlush = 250 * time.Millisecond

// healthEvery is how often a wrapped connector's link state is looked at.
const healthEvery = 250 * time.Millisecond

// Options configure a Recorder.
type Options struct {
	// Path is the recording's file; an existing recording is appended to
	// (a new segment).
	Path string
	// SourcesFile is the path of the sources file, Sources its text: the
	// header keeps both.
	SourcesFile string
	Sources     []byte
	// Policy bounds the recording's size (recording.Policy).
	Policy recording.Policy
	// Logger receives the recorder's problems (nil: discarded).
	Logger *slog.Logger
	// FlushEvery is how often buffered frames are written to the file
	// (default DefaultFlush).
	FlushEvery time.Duration
}

// Recorder writes the readings of the connectors it wraps. Safe for
// concurrent use.
type Recorder struct {
	w     *recording.Writer
	log   *slog.Logger
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	mu    sync.Mutex
	said  bool // the stop or a write error was logged
	count uint64
}

// New creates (or appends to) the recording at opt.Path and starts its
// flushing.
func New(opt Options) (*Recorder, error) {
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = DefaultFlush
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := recording.Create(opt.Path, recording.Header{SourcesFile: opt.SourcesFile, Sources: string(opt.Sources), Policy: opt.Policy})
	if err != nil {
		return nil, err
	}
	r := &Recorder{w: w, log: log.With("recording", opt.Path), stop: make(chan struct{}), done: make(chan struct{})}
	go r.flush(opt.FlushEvery)
	return r, nil
}

func (r *Recorder) flush(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			if err := r.w.Flush(); err != nil {
				r.trouble(err)
			}
		}
	}
}

// Close stops the flushing, writes an end frame and closes the file.
func (r *Recorder) Close() error {
	var err error
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		err = r.w.Close("closed")
		r.mu.Lock()
		n := r.count
		r.mu.Unlock()
		r.log.Info("recording closed", "readings", n, "bytes", r.w.Size())
	})
	return err
}

// Readings is the number of readings recorded.
func (r *Recorder) Readings() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// trouble logs the first problem of the recording: the policy stopping
// it, or a write that failed. The connectors run on.
func (r *Recorder) trouble(err error) {
	r.mu.Lock()
	said := r.said
	r.said = true
	r.mu.Unlock()
	if said {
		return
	}
	if errors.Is(err, recording.ErrStopped) {
		r.log.Warn("recording stopped; the connectors run on", "why", r.w.Stopped())
		return
	}
	r.log.Error("recording failed; the connectors run on", "err", err)
}

// Record writes one reading. A progress mark (Reading.Mark) is no value
// of a point and is not written: a replay's server makes its own.
func (r *Recorder) Record(rd connectors.Reading) {
	if rd.Mark {
		return
	}
	if rd.Info != nil {
		if b, err := json.Marshal(rd.Info); err == nil {
			if err := r.w.Info(rd.Source, rd.Address, b); err != nil {
				r.trouble(err)
			}
		}
	}
	rec := recording.Reading{Received: rd.Received, Source: rd.SourceTime, Server: rd.ServerTime, Value: rd.Raw, LinkDown: rd.LinkDown}
	if rd.Status != nil {
		code, ok := connectors.StatusOf(rd.Status)
		if !ok {
			code = connectors.BadUnexpectedError
		}
		rec.Status = uint32(code)
		if c, bare := rd.Status.(connectors.StatusCode); !bare || c != code {
			rec.Err = rd.Status.Error()
		}
	}
	if err := r.w.Write(rd.Source, rd.Address, rec); err != nil {
		r.trouble(err)
		return
	}
	r.mu.Lock()
	r.count++
	r.mu.Unlock()
}

// link writes a link state change.
func (r *Recorder) link(h connectors.Health) {
	l := recording.Link{Source: h.Source, Time: h.Since, State: h.State.String()}
	if l.Time.IsZero() {
		l.Time = time.Now()
	}
	if h.LastError != nil {
		l.Error = h.LastError.Error()
	}
	if err := r.w.Link(l); err != nil {
		r.trouble(err)
	}
}

// Wrap returns c with its readings recorded on their way.
func (r *Recorder) Wrap(c connectors.Connector) connectors.Connector {
	return &wrapped{Connector: c, r: r}
}

// wrapped is a connector whose readings and link changes are recorded.
type wrapped struct {
	connectors.Connector
	r *Recorder
}

// Run runs the wrapped connector, recording each reading before passing
// it on, and each change of its link state.
func (w *wrapped) Run(ctx context.Context, out chan<- connectors.Reading) error {
	in := make(chan connectors.Reading, 256)
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				errc <- fmt.Errorf("connector %s panicked: %v", w.Name(), v)
			}
		}()
		errc <- w.Connector.Run(ctx, in)
	}()
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	var last connectors.LinkState = -1
	look := func() {
		h := w.Health()
		if h.Source == "" {
			h.Source = w.Name()
		}
		if h.State != last {
			last = h.State
			w.r.link(h)
		}
	}
	look()
	pass := func(rd connectors.Reading) {
		w.r.Record(rd)
		out <- rd
	}
	for {
		select {
		case rd := <-in:
			pass(rd)
		case <-t.C:
			if ctx.Err() == nil {
				look()
			}
		case err := <-errc:
			for {
				select {
				case rd := <-in:
					pass(rd)
				default:
					if ctx.Err() == nil {
						look() // stopped by itself: say how it left the link
					}
					return err
				}
			}
		}
	}
}
