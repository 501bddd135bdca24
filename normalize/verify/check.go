package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/units"
)

// check is one run of Run.
type check struct {
	f      *sources.File
	opts   Options
	tags   []Tag          // static descriptions, from the first truth
	byID   map[string]int // tag id → index in tags
	srcs   []*source
	points []*point
	feed   *feed
}

// source is one source of the file as the check sees it.
type source struct {
	s    *sources.Source
	kind connectors.Kind
	// endpoint is the source's URL or host:port; machines the twin
	// machines served there (nil: not one of the twin's endpoints);
	// units the Modbus unit ids there, by machine.
	endpoint string
	machines []string
	units    map[int]string
	mb       *modbus.Config
	ua       *opcua.Config
	conn     connectors.Connector
	// polled sources deliver a reading per point per poll; the others
	// (subscriptions) only changes, seen within settle of a step.
	polled bool
	settle time.Duration
	points []*point
}

// point is one point of the file.
type point struct {
	src *source
	p   sources.Point
	id  string
	key key
	// reg is the parsed register (Modbus); ns and node the namespace URI
	// and identifier part of the node id (OPC UA).
	reg      modbus.Register
	ns, node string
	// tag is the index of the point's twin tag, -1 while unknown.
	tag int
	// label is the unit the file labels values with; from the unit the
	// file converts from.
	label, from units.Unit
	// obs are the point's readings, one per round of the first pass.
	obs []obs
	res Result
}

// obs is what a point read at one round.
type obs struct {
	has    bool
	sample normalize.Sample
	raw    any
	status error
}

// round is the twin's truth at one round, and what was read then.
type round struct {
	truth Truth
}

func newCheck(f *sources.File, truth Truth, opts Options) (*check, error) {
	c := &check{f: f, opts: opts, tags: truth.Tags, byID: map[string]int{}}
	for i, t := range truth.Tags {
		c.byID[t.ID] = i
	}
	n, err := normalize.New(f.NormalizeConfig())
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	c.feed = newFeed(n)
	for i := range f.Sources {
		s := &f.Sources[i]
		k, ok := s.Kind()
		if !ok {
			return nil, fmt.Errorf("verify: source %s: no connector kind", s.Name)
		}
		src := &source{s: s, kind: k}
		switch cfg := s.Config.(type) {
		case *modbus.Config:
			src.mb, src.endpoint = cfg, cfg.Address
		case *opcua.Config:
			src.ua, src.endpoint = cfg, cfg.URL
		}
		src.polled = s.Config.UpdateInterval() > 0
		src.settle = subscriptionSettle(src.ua)
		c.matchEndpoint(src)
		c.srcs = append(c.srcs, src)
		for j := range s.Points {
			pt := &point{src: src, p: s.Points[j], tag: -1}
			pt.id = pt.p.Asset + "/" + pt.p.Tag
			pt.key = key{s.Name, pt.p.Address}
			pt.label, pt.from = lookupUnit(pt.p.Unit), lookupUnit(pt.p.ConvertFrom)
			pt.res = Result{Source: s.Name, Protocol: k.Name, Address: pt.p.Address, Point: pt.id, Line: pt.p.Line, Col: pt.p.Col}
			switch {
			case src.mb != nil:
				r, err := modbus.ParseRegister(pt.p.Address)
				if err != nil {
					return nil, fmt.Errorf("verify: source %s: %w", s.Name, err)
				}
				pt.reg = r
			case src.ua != nil:
				ns, node, err := opcua.SplitNode(pt.p.Address)
				if err != nil {
					return nil, fmt.Errorf("verify: source %s: %w", s.Name, err)
				}
				pt.ns, pt.node = ns, node
			}
			c.identify(pt)
			src.points = append(src.points, pt)
			c.points = append(c.points, pt)
		}
	}
	if len(c.points) == 0 {
		return nil, errors.New("verify: the sources file has no points")
	}
	return c, nil
}

// subscriptionSettle is how long after a step a subscription surely
// delivered the changes: two sampling and publishing intervals and a
// margin.
func subscriptionSettle(cfg *opcua.Config) time.Duration {
	pub, samp := opcua.DefaultPublishingInterval, time.Duration(0)
	if cfg != nil {
		if cfg.PublishingInterval > 0 {
			pub = cfg.PublishingInterval
		}
		samp = cfg.SamplingInterval
	}
	if samp <= 0 {
		samp = pub / 2
	}
	return 2*(pub+samp) + 300*time.Millisecond
}

// matchEndpoint finds the twin machines served at src's endpoint.
func (c *check) matchEndpoint(src *source) {
	want := hostPort(src.endpoint)
	for _, ep := range c.opts.Endpoints {
		if ep.Protocol != src.kind.Name {
			continue
		}
		at := ep.Address
		if at == "" {
			at = ep.URL
		}
		if hostPort(at) != want {
			continue
		}
		src.machines = append(src.machines, ep.Machine)
		if ep.Protocol == modbus.Name {
			if src.units == nil {
				src.units = map[int]string{}
			}
			src.units[ep.UnitID] = ep.Machine
		}
	}
}

// hostPort reduces a URL or host:port to "host:port", with localhost as
// 127.0.0.1, for comparing endpoints.
func hostPort(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			s = u.Host
		}
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return s
	}
	if host == "localhost" || host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// onMachine says the twin serves machine m at src's endpoint.
func (src *source) onMachine(m string) bool {
	for _, x := range src.machines {
		if x == m {
			return true
		}
	}
	return false
}

// identify finds the twin tag pt is meant to read: by its id (a tag
// "<tag>.<kind>" is tag "<tag>"), else by its address on its endpoint.
func (c *check) identify(pt *point) {
	if i, ok := c.byID[pt.id]; ok {
		pt.tag = i
		return
	}
	if base, ok := strings.CutSuffix(pt.id, "."+pt.src.kind.Name); ok {
		if i, ok := c.byID[base]; ok {
			pt.tag = i
			return
		}
	}
	for i := range c.tags {
		if c.servesAt(pt, i) {
			pt.tag = i
			return
		}
	}
}

// servesAt says the twin serves tag i at pt's address, exactly.
func (c *check) servesAt(pt *point, i int) bool {
	t := &c.tags[i]
	if !pt.src.onMachine(t.Machine) {
		return false
	}
	switch {
	case pt.src.mb != nil && t.Modbus != nil:
		r := t.Modbus
		return r.UnitID == pt.src.mb.UnitID && r.Table == pt.reg.Table.String() && r.Address == int(pt.reg.Address)
	case pt.src.ua != nil && t.OPCUA != nil:
		return t.OPCUA.Namespace == pt.ns && "s="+t.OPCUA.ID == pt.node
	}
	return false
}

// key names a point's readings: its source and address.
type key struct{ source, address string }

// feed keeps the latest reading of every address the connectors deliver
// and, through the normalizer, its sample. Safe for concurrent use.
type feed struct {
	mu     sync.Mutex
	norm   *normalize.Normalizer // nil: readings only
	latest map[key]*entry
}

// entry is the latest of one address.
type entry struct {
	r      connectors.Reading
	sample normalize.Sample
	has    bool // sample set
	n      int  // readings since the last reset
	info   *connectors.PointInfo
}

func newFeed(n *normalize.Normalizer) *feed {
	return &feed{norm: n, latest: map[key]*entry{}}
}

// run takes readings from in until ctx ends.
func (f *feed) run(ctx context.Context, in <-chan connectors.Reading) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-in:
			f.add(r)
		}
	}
}

func (f *feed) add(r connectors.Reading) {
	var s normalize.Sample
	ok := false
	if f.norm != nil {
		var out normalize.Output
		if f.norm.Apply(r, &out) && len(out.Samples) > 0 {
			s, ok = out.Samples[len(out.Samples)-1], true
		}
	}
	if r.Mark {
		return // the endpoint's progress, no address's value
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key{r.Source, r.Address}
	e := f.latest[k]
	if e == nil {
		e = &entry{}
		f.latest[k] = e
	}
	e.r = r
	e.n++
	if r.Info != nil {
		e.info = r.Info
	}
	if ok {
		e.sample, e.has = s, true
	}
}

// reset zeroes every count of readings.
func (f *feed) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.latest {
		e.n = 0
	}
}

// get returns a copy of the entry of k.
func (f *feed) get(k key) (entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.latest[k]
	if !ok {
		return entry{}, false
	}
	return *e, true
}

// snapshot copies every entry whose key's source is src.
func (f *feed) snapshot(src string) map[string]entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]entry{}
	for k, e := range f.latest {
		if k.source == src {
			out[k.address] = *e
		}
	}
	return out
}

// start runs conns into f until ctx ends; the returned function waits
// for them to stop.
func (f *feed) start(ctx context.Context, conns []connectors.Connector, log func(string, ...any)) (wait func()) {
	ch := make(chan connectors.Reading, 1024)
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := conn.Run(ctx, ch); err != nil {
				log("connector stopped", "source", conn.Name(), "err", err)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.run(ctx, ch)
	}()
	return func() { wg.Wait(); <-done }
}

// run checks every point: a first pass of rounds through the file's
// connectors, then a diagnosis of the points that read wrong.
func (c *check) run(ctx context.Context, tw Twin) (*Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var conns []connectors.Connector
	for _, src := range c.srcs {
		if src.machines == nil {
			continue // not the twin's: nothing to compare with
		}
		conn, err := src.s.Spec().New(c.opts.Env)
		if err != nil {
			return nil, fmt.Errorf("verify: source %s: %w", src.s.Name, err)
		}
		src.conn = conn
		conns = append(conns, conn)
	}
	wait := c.feed.start(ctx, conns, c.opts.Logger.Debug)
	defer func() { cancel(); wait() }()

	c.warmUp(ctx)
	rounds := make([]round, 0, c.opts.Rounds)
	for range c.opts.Rounds {
		r, err := c.round(ctx, tw)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, r)
	}
	var wrong []*point
	for _, pt := range c.points {
		if !c.judge(pt, rounds) {
			wrong = append(wrong, pt)
		}
	}
	if len(wrong) > 0 {
		if err := c.diagnose(ctx, tw, wrong, rounds); err != nil {
			return nil, err
		}
	}
	rep := &Report{Scenario: rounds[0].truth.Scenario, Rounds: c.opts.Rounds, Ticks: c.opts.StepTicks}
	for _, pt := range c.points {
		rep.Results = append(rep.Results, pt.res)
	}
	rep.Results = append(rep.Results, c.missing()...)
	return rep, nil
}

// warmUp waits until every point of the twin's endpoints was read once,
// or its source is down, or Settle passed.
func (c *check) warmUp(ctx context.Context) {
	deadline := time.Now().Add(c.opts.Settle)
	c.poll(ctx, deadline, func() bool {
		for _, pt := range c.points {
			if pt.src.conn == nil {
				continue
			}
			if _, ok := c.feed.get(pt.key); !ok && pt.src.conn.Health().State != connectors.Down {
				return false
			}
		}
		return true
	})
}

// poll calls cond every 20ms until it is true, deadline passes or ctx
// ends.
func (c *check) poll(ctx context.Context, deadline time.Time, cond func() bool) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round steps the twin, reads its truth, waits until every point's value
// of that tick was read, and records what each point read.
func (c *check) round(ctx context.Context, tw Twin) (round, error) {
	if err := tw.Step(ctx, c.opts.StepTicks); err != nil {
		return round{}, fmt.Errorf("step the twin: %w", err)
	}
	c.feed.reset()
	mark := time.Now()
	truth, err := tw.Truth(ctx)
	if err != nil {
		return round{}, fmt.Errorf("read the twin's truth: %w", err)
	}
	if len(truth.Tags) != len(c.tags) {
		return round{}, fmt.Errorf("the twin's tags changed during the check (%d, then %d)", len(c.tags), len(truth.Tags))
	}
	c.poll(ctx, mark.Add(c.opts.Settle), func() bool {
		for _, pt := range c.points {
			if !c.fresh(pt, truth, mark) {
				return false
			}
		}
		return true
	})
	for _, pt := range c.points {
		e, ok := c.feed.get(pt.key)
		o := obs{has: ok && e.has, sample: e.sample, raw: e.r.Raw, status: e.r.Status}
		pt.obs = append(pt.obs, o)
	}
	return round{truth: truth}, nil
}

// fresh says pt's latest reading is of the tick stepped to at mark: a
// polled point was read twice since (a poll sent before the step may
// answer after it), a subscribed one reads its tag's value or the
// subscription had time to deliver.
func (c *check) fresh(pt *point, truth Truth, mark time.Time) bool {
	if pt.src.conn == nil {
		return true
	}
	e, ok := c.feed.get(pt.key)
	if pt.src.polled {
		return ok && e.n >= 2
	}
	if time.Since(mark) >= pt.src.settle {
		return true
	}
	if !ok || !e.has || pt.tag < 0 {
		return false
	}
	exp := c.expectFor(pt, &truth.Tags[pt.tag], c.labelOf(pt, e.sample))
	v, vok := sampleValue(e.sample)
	return vok && exp.matches(v)
}

// sampleValue is the value of a good or uncertain sample.
func sampleValue(s normalize.Sample) (value, bool) {
	if s.Status.IsBad() {
		return value{}, false
	}
	switch s.Kind {
	case normalize.Text:
		return value{text: s.Text, isText: true}, true
	case normalize.Bool:
		return value{num: s.Value, isBool: true}, true
	}
	return value{num: s.Value}, true
}

// labelOf is the unit pt's values are labelled with: the file's, else the
// server's (OPC UA EngineeringUnits, in the sample).
func (c *check) labelOf(pt *point, s normalize.Sample) units.Unit {
	if !pt.label.IsZero() {
		return pt.label
	}
	return s.Unit
}

// expectFor is what pt must read of t labelled in label: the twin's
// rounding is its register's over Modbus, its type's over OPC UA.
func (c *check) expectFor(pt *point, t *Tag, label units.Unit) expectation {
	typ, scale := t.Type, 0.0
	if pt.src.mb != nil && t.Modbus != nil {
		typ, scale = t.Modbus.Type, t.Modbus.Scale
	}
	return expect(t, label, resolution(typ, scale))
}
