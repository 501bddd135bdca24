// Package score keeps data-quality scorecards: per machine, line and site
// over a rolling window, and per work order, batch and shift of a line
// (a period, closed when the line's context changes). Each card has five
// figures:
//
//   - completeness: samples received ÷ samples expected. A polled point
//     is expected once per poll interval, from the first Tick on;
//     received counts its samples that carry a value read from the device
//     (not a re-emitted last value, not a no-communication status), never
//     more than the polls due so far plus one, so that a point read faster
//     than configured does not hide another's losses. A subscribed point
//     (OPC UA) sends only changes, so its silence is not a loss: it is
//     expected once per sampling interval of the server, and received
//     for every sampling interval the subscription vouched for — the
//     endpoint's link was up, less one publishing interval per
//     notification message lost (a sequence-number gap).
//   - timeliness: the 95th percentile of the age of samples (received −
//     source time), in seconds, rounded up to a bucket bound (1, 2, 5 ms
//     … 60 s); devices without source timestamps (Modbus) have none.
//   - validity: the share of received samples whose status is Good.
//   - availability: the share of time the endpoint links were up, from
//     the health the pipeline observes each tick (a change is placed at
//     its Since), weighted by the number of points each link reads.
//   - alerts raised, by kind (a condition on an endpoint counts for every
//     machine it reads).
//
// A figure that has nothing to go on (nothing expected, no sample, no
// source time, no link observed) is -1.
//
// The rolling window is Window long, in Slices slices: a report covers
// the current slice and the Slices-1 before it. A machine is an asset
// path of the sources file; its line and site are the first LineLevels
// and SiteLevels segments of that path (never the whole of it).
//
// A Board is fed from the pipeline's goroutine (Observe, Tick) and read
// from any (Report); all methods are safe for concurrent use. It is pure:
// no goroutines, no clock.
package score

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
)

// Defaults of Settings and Config.
const (
	DefaultWindow     = 15 * time.Minute
	DefaultSiteLevels = 2
	DefaultLineLevels = 4
	DefaultSlices     = 30
	DefaultKeep       = 20
)

// Settings are the scorecard settings a sources file gives (its
// scorecard: section).
type Settings struct {
	// Window is how far back the rolling figures look. Default 15m.
	Window time.Duration `yaml:"window,omitempty" json:"window,omitempty"`
	// SiteLevels is how many leading segments of an asset path name its
	// site. Default 2 (enterprise/site).
	SiteLevels int `yaml:"site_levels,omitempty" json:"site_levels,omitempty"`
	// LineLevels is how many leading segments of an asset path name its
	// line. Default 4 (enterprise/site/area/line).
	LineLevels int `yaml:"line_levels,omitempty" json:"line_levels,omitempty"`
}

// Source is what the board knows of an endpoint.
type Source struct {
	// Name is the endpoint's name (Sample.Source, Health.Source).
	Name string
	// Poll is the poll interval of a polled endpoint; 0 for a
	// subscription.
	Poll time.Duration
	// Sampling and Publishing are a subscription's intervals: a point is
	// expected once per Sampling, and a lost notification message costs
	// one Publishing interval. Sampling 0 takes 1s, Publishing 0 takes
	// Sampling.
	Sampling, Publishing time.Duration
}

// Point is one configured point: a tag of an asset, read from a source.
type Point struct {
	// ID is the tag id (Sample.ID); Asset its machine.
	ID, Asset string
	// Source is the endpoint that reads it.
	Source string
}

// Config configures a Board.
type Config struct {
	Settings
	// Sources and Points are what is expected. Points first seen in
	// samples (browsed OPC UA points) are added with their source's
	// intervals.
	Sources []Source
	Points  []Point
	// Slices is how many slices the window is kept in. Default 30.
	Slices int
	// Keep is how many closed periods are kept per line and role.
	// Default 20.
	Keep int
}

// periodRoles are the context roles that open periods.
var periodRoles = [...]ctxrole.Role{ctxrole.WorkOrder, ctxrole.Batch, ctxrole.Shift}

// Board keeps the scorecards. See the package doc.
type Board struct {
	mu       sync.Mutex
	cfg      Config
	slice    time.Duration
	sources  map[string]*source
	points   map[string]*point
	machines map[string]*machine
	lines    map[string]*line
	order    []*machine // in creation order

	started    bool
	origin     time.Time // the first Tick
	last       time.Time // the last Tick
	cur        int64     // the current slice, counted from origin
	scratchUps map[*source]linkSpan
}

type source struct {
	Source
	up, known bool
	gaps      uint64
	machines  []*machine
}

type point struct {
	m     *machine
	src   *source
	start time.Time // expected counted from
	seen  float64   // samples counted for completeness
}

type machine struct {
	path, linePath, site string
	line                 *line
	ring                 []tally
	ringAt               []int64 // the slice each ring entry holds
	perSource            map[*source]int
	srcOrder             []*source
}

type line struct {
	path   string
	open   [len(periodRoles)]*period
	closed [len(periodRoles)][]Card
}

type period struct {
	value string
	from  time.Time
	t     tally
}

// linkSpan is an endpoint's link over the interval of one Tick: seconds
// up, and seconds of notifications lost.
type linkSpan struct{ up, lost float64 }

// New returns a Board for cfg, defaults applied.
func New(cfg Config) *Board {
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.SiteLevels <= 0 {
		cfg.SiteLevels = DefaultSiteLevels
	}
	if cfg.LineLevels <= 0 {
		cfg.LineLevels = DefaultLineLevels
	}
	if cfg.Slices <= 0 {
		cfg.Slices = DefaultSlices
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	b := &Board{
		cfg: cfg, slice: cfg.Window / time.Duration(cfg.Slices),
		sources: map[string]*source{}, points: map[string]*point{},
		machines: map[string]*machine{}, lines: map[string]*line{},
		scratchUps: map[*source]linkSpan{},
	}
	if b.slice <= 0 {
		b.slice = time.Nanosecond
	}
	for _, s := range cfg.Sources {
		b.source(s.Name).Source = s
	}
	for _, p := range cfg.Points {
		b.point(p.ID, p.Asset, p.Source)
	}
	return b
}

// Window is the rolling window's length.
func (b *Board) Window() time.Duration { return b.cfg.Window }

func (b *Board) source(name string) *source {
	s, ok := b.sources[name]
	if !ok {
		s = &source{Source: Source{Name: name}}
		b.sources[name] = s
	}
	return s
}

// point returns the point id, adding it (with its machine and source).
func (b *Board) point(id, asset, src string) *point {
	if p, ok := b.points[id]; ok {
		return p
	}
	m := b.machine(asset)
	s := b.source(src)
	if m.perSource[s] == 0 {
		m.srcOrder = append(m.srcOrder, s)
		s.machines = append(s.machines, m)
	}
	m.perSource[s]++
	p := &point{m: m, src: s, start: b.last}
	b.points[id] = p
	return p
}

func (b *Board) machine(path string) *machine {
	if m, ok := b.machines[path]; ok {
		return m
	}
	lp := levels(path, b.cfg.LineLevels)
	m := &machine{
		path: path, linePath: lp, site: levels(path, b.cfg.SiteLevels),
		ring: make([]tally, b.cfg.Slices), ringAt: make([]int64, b.cfg.Slices),
		perSource: map[*source]int{},
	}
	for i := range m.ringAt {
		m.ringAt[i] = -1
	}
	l, ok := b.lines[lp]
	if !ok {
		l = &line{path: lp}
		b.lines[lp] = l
	}
	m.line = l
	b.machines[path] = m
	b.order = append(b.order, m)
	return m
}

// levels is the first n segments of path, at most all but its last.
func levels(path string, n int) string {
	segs := strings.Split(path, "/")
	n = min(n, len(segs)-1)
	if n < 1 {
		return path
	}
	return strings.Join(segs[:n], "/")
}

// now returns the machine's tally of the current slice.
func (b *Board) now(m *machine) *tally {
	k := int(b.cur % int64(len(m.ring)))
	if m.ringAt[k] != b.cur {
		m.ring[k].reset()
		m.ringAt[k] = b.cur
	}
	return &m.ring[k]
}

// fresh says a sample carries a value read from the device: not a
// re-emitted last value, not a status saying the device was not reached
// or not yet read.
func fresh(st connectors.StatusCode) bool {
	switch st & connectors.CodeMask {
	case connectors.BadNoCommunication, connectors.UncertainNoCommunicationLastUsableValue,
		connectors.UncertainLastUsableValue, connectors.BadWaitingForInitialData:
		return false
	}
	return true
}

// Observe counts one batch of the pipeline's output: its samples, and the
// conditions raised.
func (b *Board) Observe(out *normalize.Output) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range out.Samples {
		b.sample(&out.Samples[i])
	}
	for i := range out.Conditions {
		if c := &out.Conditions[i]; c.Active {
			b.condition(c)
		}
	}
}

func (b *Board) sample(s *normalize.Sample) {
	if !fresh(s.Status) {
		return
	}
	p := b.points[s.ID]
	if p == nil {
		p = b.point(s.ID, s.Asset, s.Source)
	}
	var one tally
	one.samples = 1
	if s.Status.IsGood() {
		one.good = 1
	}
	if !s.SourceTime.IsZero() && !s.Received.IsZero() {
		one.age(s.Received.Sub(s.SourceTime))
	}
	if p.src.Poll > 0 {
		due := 1.0
		if b.started && s.Received.After(p.start) {
			due += float64(s.Received.Sub(p.start)) / float64(p.src.Poll)
		}
		if p.seen < due {
			p.seen++
			one.received = 1
		}
	}
	b.now(p.m).add(&one)
	b.periods(p.m.line, s)
	for _, pr := range p.m.line.open {
		if pr != nil {
			pr.t.add(&one)
		}
	}
}

// periods opens and closes the periods of line l on the context of s: a
// sample with a context whose work order, batch or shift differs from
// the line's open period of that role closes it and opens the next (when
// the new value is not empty). Samples without a context change nothing.
func (b *Board) periods(l *line, s *normalize.Sample) {
	c := s.Context
	if c == nil {
		return
	}
	for i, r := range periodRoles {
		v := c.Value(r)
		open := l.open[i]
		if open != nil && open.value == v {
			continue
		}
		at := s.Received
		if c.Since.After(b.origin) && !c.Since.After(at) && (open == nil || c.Since.After(open.from)) {
			at = c.Since
		}
		if open != nil {
			card := Card{Level: string(r), Asset: l.path, Value: open.value, From: open.from, To: at}
			open.t.card(&card)
			l.closed[i] = append(l.closed[i], card)
			if n := len(l.closed[i]) - b.cfg.Keep; n > 0 {
				l.closed[i] = slices.Delete(l.closed[i], 0, n)
			}
			l.open[i] = nil
		}
		if v != "" {
			l.open[i] = &period{value: v, from: at}
		}
	}
}

func (b *Board) condition(c *normalize.Condition) {
	if p, ok := b.points[c.Target]; ok {
		b.alertOn(p.m, c.Kind)
		return
	}
	if s, ok := b.sources[c.Target]; ok {
		for _, m := range s.machines {
			b.alertOn(m, c.Kind)
		}
	}
}

func (b *Board) alertOn(m *machine, k normalize.AlertKind) {
	b.now(m).alert(k, 1)
	for _, pr := range m.line.open {
		if pr != nil {
			pr.t.alert(k, 1)
		}
	}
}

// Tick accounts for the time since the previous Tick with the endpoints'
// health hs (as the pipeline observed it at now): what was expected, the
// links' up time and the sampling intervals a subscription vouched for;
// then it moves the window on to now. The first Tick starts the board.
func (b *Board) Tick(now time.Time, hs []connectors.Health) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.started {
		b.started, b.origin, b.last = true, now, now
		for _, p := range b.points {
			p.start = now
		}
		for _, h := range hs {
			s := b.source(h.Source)
			s.up, s.known, s.gaps = h.State == connectors.Connected, true, h.SequenceGaps
		}
		return
	}
	if !now.After(b.last) {
		return
	}
	dt := now.Sub(b.last).Seconds()
	spans := b.scratchUps
	clear(spans)
	for _, h := range hs {
		s := b.source(h.Source)
		spans[s] = b.span(s, &h, now, dt)
	}
	for _, m := range b.order {
		var t tally
		for _, s := range m.srcOrder {
			n := float64(m.perSource[s])
			sp, observed := spans[s]
			if observed {
				t.obsW += n * dt
				t.upW += n * sp.up
			}
			if s.Poll > 0 {
				t.expected += n * dt / s.Poll.Seconds()
				continue
			}
			samp := s.Sampling
			if samp <= 0 {
				samp = time.Second
			}
			t.expected += n * dt / samp.Seconds()
			if observed {
				t.received += n * max(sp.up-sp.lost, 0) / samp.Seconds()
			}
		}
		b.now(m).add(&t)
		for _, pr := range m.line.open {
			if pr != nil {
				pr.t.add(&t)
			}
		}
	}
	b.last = now
	b.cur = int64(now.Sub(b.origin) / b.slice)
}

// span is source s's link over the dt seconds before now, from its health
// h: the seconds it was up (a change of state placed at h.Since), and the
// seconds of notifications lost since the previous Tick.
func (b *Board) span(s *source, h *connectors.Health, now time.Time, dt float64) linkSpan {
	up := h.State == connectors.Connected
	var sp linkSpan
	switch {
	case !s.known || up == s.up:
		if up {
			sp.up = dt
		}
	case h.Since.After(b.last) && h.Since.Before(now):
		// up before the change, or up since it
		if s.up {
			sp.up = h.Since.Sub(b.last).Seconds()
		} else {
			sp.up = now.Sub(h.Since).Seconds()
		}
	case up:
		sp.up = dt
	}
	if h.SequenceGaps > s.gaps {
		pub := s.Publishing
		if pub <= 0 {
			pub = s.Sampling
		}
		if pub <= 0 {
			pub = time.Second
		}
		sp.lost = min(float64(h.SequenceGaps-s.gaps)*pub.Seconds(), sp.up)
	}
	s.up, s.known, s.gaps = up, true, max(s.gaps, h.SequenceGaps)
	return sp
}
