package isolate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwin/otwin/connectors"
)

// Defaults of Options' zero fields.
const (
	// DefaultMemoryLimit is a child's memory limit: far above what one
	// endpoint's client needs (a 100k-item OPC UA session takes a few
	// hundred MiB), far below what a hostile length field asks for.
	DefaultMemoryLimit = 1 << 30
	DefaultMinBackoff  = 200 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
	// DefaultHealthEvery is how often a child checks its connector's
	// health for a change to send (it also checks before every batch of
	// readings).
	DefaultHealthEvery = 25 * time.Millisecond
)

// stopGrace is how long a child may take to stop after its input closed
// before it is killed.
const stopGrace = 5 * time.Second

// Options tune how children are started and supervised. The zero value
// takes every default.
type Options struct {
	// Command is the program and arguments that start a child, a program
	// that calls Serve on its standard input and output; the endpoint's
	// name is added as the last argument (for process listings). Default:
	// this program's executable with the argument ChildArg.
	Command []string
	// MemoryLimit is a child's memory limit in bytes: its runtime's soft
	// limit is 3/4 of it, and a child that maps more ends at once (on
	// Linux the parent also kills a child whose resident memory passes
	// 1.5× the limit). Default DefaultMemoryLimit.
	MemoryLimit int64
	// MinBackoff and MaxBackoff bound the wait before a child that ended
	// is started again: it doubles from MinBackoff to MaxBackoff, and
	// starts over after a child that ran for 10 × MaxBackoff. Defaults
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// HealthEvery is how often a child looks for a change of health to
	// send. Default DefaultHealthEvery.
	HealthEvery time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find this program to start connector processes: %w", err)
		}
		o.Command = []string{exe, ChildArg}
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.HealthEvery <= 0 {
		o.HealthEvery = DefaultHealthEvery
	}
	return o, nil
}

// Connector runs another connector in a child process and delivers what
// it reads. It implements connectors.Connector; create it with New and
// Run it once at a time. Name, Health and Stats are safe for concurrent
// use.
type Connector struct {
	spec  connectors.Spec
	kind  connectors.Kind
	env   connectors.Env
	opts  Options
	log   *slog.Logger
	start startMsg // the start message

	// rq are the requests to the children and their alarm streams
	// (requests.go).
	rq requests

	running atomic.Bool

	mu     sync.Mutex
	health connectors.Health // as the current child last said, plus base
	base   connectors.Health // counters of the children that ended
	stats  Stats
	// known are the addresses read so far, in order: each gets a
	// no-communication reading when a child ends.
	known map[string]struct{}
	order []string
	// downSent says the no-communication readings of the current outage
	// were sent.
	downSent bool
	// connected says the current child has reported Connected.
	connected bool
}

// Stats are what the supervisor counts.
type Stats struct {
	// Starts counts children started.
	Starts uint64
	// Ends counts children that ended without being asked to: crashes,
	// memory limit, killed.
	Ends uint64
	// LastEnd says why the last of them ended.
	LastEnd string
	// PID is the current child's process id; 0 when none runs.
	PID int
}

// New checks spec by building its connector in this process (every
// configuration problem is reported here, as without isolation; the
// connector is not run) and returns a connector that runs it in a child
// process. env.Logger receives the child's log and the supervisor's.
func New(spec connectors.Spec, env connectors.Env, opts Options) (*Connector, error) {
	k, err := spec.Kind()
	if err != nil {
		return nil, err
	}
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	probe, err := spec.New(env)
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(spec.Config)
	if err != nil {
		return nil, fmt.Errorf("source %s: encode the %s configuration for its process: %w", spec.Name, k.Name, err)
	}
	log := env.Logger
	if log == nil {
		log = slog.Default()
	}
	msg := startMsg{
		Kind: k.Name, Name: spec.Name, Points: spec.Points, Config: cfg, DataDir: env.DataDir,
		MemoryLimit: opts.MemoryLimit, LogLevel: minLevel(log), HealthEvery: opts.HealthEvery,
	}
	if _, err := json.Marshal(msg); err != nil {
		return nil, fmt.Errorf("source %s: %w", spec.Name, err)
	}
	c := &Connector{
		spec: spec, kind: k, env: env, opts: opts, start: msg,
		log:    log,
		health: probe.Health(),
		known:  make(map[string]struct{}, len(spec.Points)),
	}
	for _, p := range spec.Points {
		c.remember(p)
	}
	return c, nil
}

// minLevel is the lowest level log enables.
func minLevel(log *slog.Logger) slog.Level {
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if log.Enabled(context.Background(), l) {
			return l
		}
	}
	return slog.LevelError
}

// Name is the endpoint's name.
func (c *Connector) Name() string { return c.spec.Name }

// Health is the endpoint's health as the running child's connector last
// reported it, with the counters of earlier children added; Down with the
// reason as LastError while no child runs after one ended.
func (c *Connector) Health() connectors.Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health
}

// Stats returns the supervisor's counters.
func (c *Connector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// remember adds address to the known ones; under mu.
func (c *Connector) remember(address string) {
	if _, ok := c.known[address]; !ok {
		c.known[address] = struct{}{}
		c.order = append(c.order, address)
	}
}

// Run starts the child and delivers its readings into out until ctx ends,
// then stops the child (closing its input; killing it after 5s) and
// returns nil. A child that ends otherwise — a panic, the memory limit, a
// signal, a broken pipe — is started again after a backoff; meanwhile the
// health is Down with why, and every known address gets one link-down
// reading (Reading.LinkDown, Bad_NoCommunication saying why). Run returns an error when it
// cannot start a child, or when the connector in the child gives up (its
// Run returned an error): restarting would not help. Run does not close
// out.
func (c *Connector) Run(ctx context.Context, out chan<- connectors.Reading) error {
	if out == nil {
		return fmt.Errorf("source %s: nil output channel", c.spec.Name)
	}
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("source %s: already running", c.spec.Name)
	}
	defer c.running.Store(false)
	backoff := c.opts.MinBackoff
	for {
		began := time.Now()
		why, fatal, err := c.runChild(ctx, out)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.ended(err)
			return fmt.Errorf("source %s: %w", c.spec.Name, err)
		}
		if fatal != nil {
			c.ended(fatal)
			return fmt.Errorf("source %s: %w", c.spec.Name, fatal)
		}
		cause := fmt.Errorf("%s connector process of %s ended: %s", c.kind.Title, c.spec.Name, why)
		c.log.Warn("connector process ended; restarting", "source", c.spec.Name, "why", why, "backoff", backoff)
		c.ended(cause)
		c.mu.Lock()
		c.stats.Ends++
		c.stats.LastEnd = why
		c.mu.Unlock()
		if !c.emitDown(ctx, out, cause) || !c.alarmsLost(ctx, cause) {
			return nil
		}
		if time.Since(began) >= 10*c.opts.MaxBackoff {
			backoff = c.opts.MinBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, c.opts.MaxBackoff)
	}
}

// ended records that the child is gone, and why.
func (c *Connector) ended(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &c.health
	c.base.Errors = h.Errors + 1
	c.base.Reconnects = h.Reconnects
	c.base.SequenceGaps = h.SequenceGaps
	h.Errors = c.base.Errors
	if h.State != connectors.Down {
		h.State, h.Since = connectors.Down, time.Now()
	}
	h.LastError = cause
}

// emitDown sends a link-down reading (Bad_NoCommunication saying cause)
// for every known address, once per outage; false when ctx ended first.
func (c *Connector) emitDown(ctx context.Context, out chan<- connectors.Reading, cause error) bool {
	c.mu.Lock()
	if c.downSent {
		c.mu.Unlock()
		return true
	}
	c.downSent = true
	addrs := c.order[:len(c.order):len(c.order)]
	c.mu.Unlock()
	status := connectors.NoCommunication(cause)
	now := time.Now()
	for _, a := range addrs {
		r := connectors.Reading{Source: c.spec.Name, Address: a, Status: status, Received: now, LinkDown: true}
		select {
		case out <- r:
			c.mu.Lock()
			c.health.Readings++
			c.mu.Unlock()
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// runChild runs one child until it ends or ctx ends. It returns why the
// child ended when it was not asked to, the error the child's connector
// gave up with (fatal), or an error starting it.
func (c *Connector) runChild(ctx context.Context, out chan<- connectors.Reading) (why string, fatal, err error) {
	args := append(c.opts.Command[1:len(c.opts.Command):len(c.opts.Command)], c.spec.Name)
	cmd := exec.Command(c.opts.Command[0], args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start connector process: %w", err)
	}
	pid := cmd.Process.Pid
	c.mu.Lock()
	c.stats.Starts++
	c.stats.PID = pid
	c.connected = false
	c.mu.Unlock()
	c.log.Debug("connector process started", "source", c.spec.Name, "pid", pid)

	// The child's standard error: a crash's report, kept for the reason.
	tail := &stderrTail{}
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		tail.read(stderr)
	}()
	// Stop the child when ctx ends; watch its memory from outside too.
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			_ = stdin.Close()
			t := time.NewTimer(stopGrace)
			defer t.Stop()
			select {
			case <-t.C:
				_ = cmd.Process.Kill()
			case <-stopped:
			}
		case <-stopped:
		}
	}()
	go watchRSS(pid, c.opts.MemoryLimit/2*3, stopped, func(rss int64) {
		tail.set(fmt.Sprintf("killed: resident memory %d MiB above %d MiB", rss>>20, c.opts.MemoryLimit/2*3>>20))
		_ = cmd.Process.Kill()
	})

	start := c.start
	start.Alarms = c.rq.alarms != nil
	msg, err := json.Marshal(start)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", nil, err
	}
	if _, err := stdin.Write(append(msg, '\n')); err != nil {
		c.log.Debug("connector process did not take its start message", "source", c.spec.Name, "err", err)
	}
	c.rq.attach(stdin)
	fatal, perr := c.pump(ctx, stdout, out)
	c.rq.detach(fmt.Errorf("source %s: its %s connector process ended", c.spec.Name, c.kind.Title))
	if perr != nil {
		// A broken pipe: the child is of no use any more.
		_ = cmd.Process.Kill()
	}
	_, _ = io.Copy(io.Discard, stdout)
	<-errDone
	werr := cmd.Wait()
	_ = stdin.Close()
	c.mu.Lock()
	c.stats.PID = 0
	c.mu.Unlock()
	if ctx.Err() != nil || fatal != nil {
		return "", fatal, nil
	}
	if out := tail.text(); out != "" {
		c.log.Debug("connector process's standard error", "source", c.spec.Name, "pid", pid, "stderr", out)
	}
	switch {
	case tail.reason() != "":
		why = tail.reason()
	case perr != nil:
		why = perr.Error()
	case werr != nil:
		why = werr.Error()
		if first := tail.firstLine(); first != "" {
			why += ": " + first
		}
	default:
		why = "exit status 0"
	}
	return why, nil, nil
}

// pump reads the child's frames until the pipe ends, delivering readings
// into out (until ctx ends: then the rest is read and dropped), updating
// the health and relaying the log. It returns the connector's final error
// when the child sent one, and an error for a broken pipe.
func (c *Connector) pump(ctx context.Context, stdout io.Reader, out chan<- connectors.Reading) (fatal, err error) {
	d := newDecoder(stdout)
	var r connectors.Reading
	var h connectors.Health
	for {
		t, err := d.next()
		if err == io.EOF {
			return fatal, nil
		}
		if err != nil {
			return fatal, fmt.Errorf("read from the connector process: %w", err)
		}
		switch t {
		case frameReading:
			if err := d.reading(&r); err != nil {
				return fatal, err
			}
			if ctx.Err() != nil {
				continue
			}
			c.delivered(&r)
			select {
			case out <- r:
			case <-ctx.Done():
			}
		case frameHealth:
			if err := d.health(&h); err != nil {
				return fatal, err
			}
			c.childHealth(h)
		case frameLog:
			rec, err := d.log()
			if err != nil {
				return fatal, err
			}
			c.log.Log(ctx, rec.level, rec.msg, rec.args...)
		case frameEnd:
			if fatal, err = d.end(); err != nil {
				return nil, err
			}
		case frameAlarm:
			var a connectors.Alarm
			if err := d.alarm(&a); err != nil {
				return fatal, err
			}
			if ctx.Err() == nil {
				c.relayAlarm(ctx, a)
			}
		case frameReply:
			id, r, err := d.reply()
			if err != nil {
				return fatal, err
			}
			c.rq.answer(id, r)
		default:
			return fatal, fmt.Errorf("unknown frame type %q", t)
		}
	}
}

// delivered records a reading about to be delivered.
func (c *Connector) delivered(r *connectors.Reading) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health.Readings++
	if _, ok := c.known[r.Address]; !ok {
		c.remember(r.Address)
	}
	if c.downSent && !r.LinkDown {
		c.downSent = false
	}
}

// childHealth takes the child's health snapshot: its state and error, and
// its counters on top of those of earlier children. A restarted child
// that connects counts as a reconnect.
func (c *Connector) childHealth(h connectors.Health) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.State == connectors.Connected && !c.connected {
		c.connected = true
		if c.stats.Starts > 1 {
			c.base.Reconnects++
		}
	}
	readings := c.health.Readings
	if h.LastError == nil {
		h.LastError = c.health.LastError
	}
	h.Readings = readings
	h.Errors += c.base.Errors
	h.Reconnects += c.base.Reconnects
	h.SequenceGaps += c.base.SequenceGaps
	c.health = h
}

// stderrLines is how many of a child's last lines of standard error are
// kept for the log.
const stderrLines = 40

// stderrTail keeps what a child said on standard error: the first line of
// a Go panic or fatal error, which explains its end, the first line, and
// the last lines (the goroutine trace) for the log.
type stderrTail struct {
	mu      sync.Mutex
	first   string // the panic or fatal error
	opening string // the first line
	last    []string
}

func (t *stderrTail) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			t.set(line)
		}
		t.mu.Lock()
		if t.opening == "" {
			t.opening = line
		}
		if len(t.last) == stderrLines {
			t.last = t.last[1:]
		}
		t.last = append(t.last, line)
		t.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// firstLine is the first line the child wrote: what a program that ends
// with an error usually says first.
func (t *stderrTail) firstLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.opening
}

// text is the last lines kept.
func (t *stderrTail) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.last, "\n")
}

// set keeps line as the reason unless one is already kept.
func (t *stderrTail) set(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first == "" {
		t.first = line
	}
}

func (t *stderrTail) reason() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.first
}

var _ connectors.Connector = (*Connector)(nil)

// errNoProc says resident memory cannot be read on this system.
var errNoProc = errors.New("no /proc")
