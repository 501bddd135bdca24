package isolate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/memlimit"
)

// ChildArg is the argument that makes a program a connector child: the
// parent starts its Command (by default this program with ChildArg) and
// the program calls Serve on its standard input and output. otwin has a
// hidden subcommand of this name; a test binary dispatches on it in
// TestMain.
const ChildArg = "connector-child"

// startMsg is what a parent tells its child, as one JSON object on the
// child's standard input. The input then stays open: its end tells the
// child to stop.
type startMsg struct {
	Kind        string          `json:"kind"`
	Name        string          `json:"name"`
	Points      []string        `json:"points"`
	Config      json.RawMessage `json:"config"`
	DataDir     string          `json:"data_dir"`
	MemoryLimit int64           `json:"memory_limit"`
	LogLevel    slog.Level      `json:"log_level"`
	HealthEvery time.Duration   `json:"health_every"`
	// Alarms asks the child to relay its connector's alarm stream.
	Alarms bool `json:"alarms,omitempty"`
}

// ChildMemory is the soft memory limit a child follows (its Ceiling is
// set from the child's memory limit): its live heap plus a quarter, at
// least 32 MiB, never under 64 MiB. A 100k-item OPC UA session holds
// about 70 MB of heap.
var ChildMemory = memlimit.Policy{Floor: 64 << 20, MinHeadroom: 32 << 20, Fraction: 0.25}

// memoryCheck is how often a child compares the memory its runtime maps
// with its limit.
const memoryCheck = 20 * time.Millisecond

// Serve is the main of a connector child process: it reads what to run
// from in (sent by the parent's Connector), builds the connector through
// its kind, runs it, and writes its readings, health and log to out until
// in ends (then the connector stops and Serve returns nil) or the
// connector returns an error (sent to the parent, which does not restart
// it). It sets the process's memory limit, and a process that maps more
// than the limit ends at once with exit status 3, saying so on standard
// error: Serve owns the process. The end of ctx stops the connector too
// (otwin cancels it on SIGTERM); interrupts are ignored (a terminal's
// Ctrl-C reaches the whole process group, and the parent stops its
// children itself). It returns an error only when it cannot talk to its
// parent.
func Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	signal.Ignore(os.Interrupt)
	var st startMsg
	dec := json.NewDecoder(in)
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("connector child: read the start message: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if st.MemoryLimit > 0 {
		// The soft limit follows the live heap, and never passes 3/4 of
		// the hard limit: the collector works before the hard limit ends
		// the process.
		p := ChildMemory
		p.Ceiling = st.MemoryLimit / 4 * 3
		if !memlimit.Follow(p, ctx.Done()) {
			debug.SetMemoryLimit(min(debug.SetMemoryLimit(-1), p.Ceiling))
		}
		go watchMemory(st.MemoryLimit)
	}
	w := &childWriter{enc: newEncoder(out), cancel: cancel}
	conn, err := st.build(slog.New(&frameHandler{w: w, level: st.LogLevel}))
	if err != nil {
		go func() {
			_, _ = io.Copy(io.Discard, io.MultiReader(dec.Buffered(), in))
		}()
		w.end(err)
		return w.err
	}
	// The input carries the parent's requests; its end stops the child.
	// A new decoder lets go of the buffer the start message grew (8 MB
	// for 100k points) once it has read what is left in it.
	go w.serveRequests(ctx, json.NewDecoder(io.MultiReader(dec.Buffered(), in)), conn, cancel)
	var alarms chan connectors.Alarm
	if r, ok := conn.(connectors.AlarmRelay); ok && st.Alarms {
		alarms = make(chan connectors.Alarm, 256)
		r.RelayAlarms(alarms)
	}
	return w.run(ctx, conn, alarms, max(st.HealthEvery, 10*time.Millisecond))
}

// build decodes the configuration into the kind's type and builds the
// connector.
func (st *startMsg) build(log *slog.Logger) (connectors.Connector, error) {
	k, ok := connectors.Lookup(st.Kind)
	if !ok {
		return nil, fmt.Errorf("source %s: connector kind %q is not in this program", st.Name, st.Kind)
	}
	cfg := k.ZeroConfig()
	if err := json.Unmarshal(st.Config, cfg); err != nil {
		return nil, fmt.Errorf("source %s: decode the %s configuration: %w", st.Name, st.Kind, err)
	}
	return cfg.NewConnector(st.Name, st.Points, connectors.Env{DataDir: st.DataDir, Logger: log})
}

// watchMemory ends the process once its runtime maps more than limit
// bytes. The runtime never unmaps its heap, so one huge allocation (a
// length read from a hostile message) shows here even when it is freed
// at once.
func watchMemory(limit int64) {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	t := time.NewTicker(memoryCheck)
	defer t.Stop()
	for range t.C {
		metrics.Read(s)
		if v := s[0].Value.Uint64(); v > uint64(limit) {
			fmt.Fprintf(os.Stderr, "fatal error: connector process memory limit exceeded: %d MiB mapped, limit %d MiB\n", v>>20, limit>>20)
			os.Exit(3)
		}
	}
}

// childWriter owns the pipe to the parent: the run loop and the log
// handler share it.
type childWriter struct {
	mu     sync.Mutex
	enc    *encoder
	err    error // the first write error: the parent is gone
	cancel context.CancelFunc
}

// fail records a write error and stops the connector.
func (w *childWriter) fail(err error) {
	if w.err == nil && err != nil {
		w.err = fmt.Errorf("connector child: write to the parent: %w", err)
		w.cancel()
	}
}

// end sends the connector's final error.
func (w *childWriter) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fail(w.enc.end(err))
	w.fail(w.enc.flush())
}

// run runs conn until ctx ends or conn gives up, forwarding its readings
// as they come (flushed whenever none is waiting) and its health when it
// changes, checked before each batch of readings and every healthEvery.
func (w *childWriter) run(ctx context.Context, conn connectors.Connector, alarms <-chan connectors.Alarm, healthEvery time.Duration) error {
	ch := make(chan connectors.Reading, 1024)
	runErr := make(chan error, 1)
	go func() { runErr <- conn.Run(ctx, ch) }()
	tick := time.NewTicker(healthEvery)
	defer tick.Stop()
	var last connectors.Health
	sendHealth := func(force bool) {
		h := conn.Health()
		if !force && sameHealth(h, last) {
			return
		}
		last = h
		w.mu.Lock()
		w.fail(w.enc.health(&h))
		w.fail(w.enc.flush())
		w.mu.Unlock()
	}
	sendHealth(true)
	for {
		select {
		case r := <-ch:
			// A change of state goes out before the readings that follow
			// it (the connectors set Down before their no-communication
			// readings).
			sendHealth(false)
			w.readings(r, ch)
		case a := <-alarms:
			sendHealth(false)
			w.alarm(&a)
		case <-tick.C:
			sendHealth(false)
		case err := <-runErr:
			for len(ch) > 0 {
				w.readings(<-ch, ch)
			}
			for len(alarms) > 0 {
				a := <-alarms
				w.alarm(&a)
			}
			sendHealth(true)
			if err != nil {
				w.end(err)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.err
		}
	}
}

// readings sends r and every reading already waiting in ch, then flushes.
func (w *childWriter) readings(r connectors.Reading, ch <-chan connectors.Reading) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if err := w.enc.reading(&r); errors.Is(err, errUnsupported) {
			// Outside the connectors' contract: say so instead.
			r.Raw, r.Status = nil, &connectors.StatusError{Code: connectors.BadTypeMismatch, Err: err}
			w.fail(w.enc.reading(&r))
		} else {
			w.fail(err)
		}
		select {
		case r = <-ch:
			continue
		default:
		}
		w.fail(w.enc.flush())
		return
	}
}

// alarm sends an alarm message and flushes.
func (w *childWriter) alarm(a *connectors.Alarm) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fail(w.enc.alarm(a))
	w.fail(w.enc.flush())
}

// sameHealth reports whether two snapshots say the same.
func sameHealth(a, b connectors.Health) bool {
	ae, be := a.LastError, b.LastError
	a.LastError, b.LastError = nil, nil
	if a != b || (ae == nil) != (be == nil) {
		return false
	}
	return ae == nil || ae.Error() == be.Error()
}

// frameHandler is the child's slog handler: records go to the parent,
// which logs them with its own logger.
type frameHandler struct {
	w      *childWriter
	level  slog.Level
	attrs  []slog.Attr
	prefix string // group prefix of attribute keys
}

func (h *frameHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *frameHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := make([]slog.Attr, 0, len(h.attrs)+r.NumAttrs())
	attrs = append(attrs, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, h.flatten(h.prefix, a)...)
		return true
	})
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.fail(h.w.enc.log(r.Level, r.Message, attrs))
	h.w.fail(h.w.enc.flush())
	return nil
}

// flatten writes group attributes as "group.key".
func (h *frameHandler) flatten(prefix string, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() != slog.KindGroup {
		a.Key = prefix + a.Key
		return []slog.Attr{a}
	}
	if a.Key != "" {
		prefix += a.Key + "."
	}
	var out []slog.Attr
	for _, g := range a.Value.Group() {
		out = append(out, h.flatten(prefix, g)...)
	}
	return out
}

func (h *frameHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		c.attrs = append(c.attrs, h.flatten(h.prefix, a)...)
	}
	return &c
}

func (h *frameHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}
