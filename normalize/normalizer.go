package normalize

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/units"
)

type addrKey struct{ source, address string }

// tagState is what the normalizer knows of one tag. The rules keep their
// own state per tag, indexed by idx.
type tagState struct {
	subject                     // id: the tag id
	idx                         int
	asset, tag, source, address string
	src                         *sourceState

	unit       Unit
	unitFixed  bool // configured: the server's unit does not replace it
	rng        Range
	hasRange   bool
	rangeFixed bool
	scale      float64
	offset     float64
	clamp      bool
	deadband   float64 // <= 0: off
	autoMapped bool

	kind            Kind
	kindSet         bool
	seq             uint64
	emitted         bool
	lastStatus      connectors.StatusCode
	lastValue       float64
	lastText        string
	lastSrc         time.Time
	lastServer      time.Time
	lastUpdate      time.Time
	lastReceivedRaw any
	hasGood         bool
	good            float64
	goodText        string
	goodTime        time.Time
	// ctxPoint is set for a context point: where its values go.
	ctxPoint *contextPoint
}

// sourceState is what the normalizer knows of one endpoint's link. The
// rules keep their own state per endpoint, indexed by idx.
type sourceState struct {
	subject // id: the source name
	idx     int
	// linkUp says the endpoint answers: its last reading that was not a
	// link-down one, or its last Health, said so.
	linkUp bool
	// down says the endpoint is lost, since downSince; upSince is when it
	// was last found back.
	down      bool
	downSince time.Time
	upSince   time.Time
	// lastErr is why it is lost.
	lastErr string
	// asset is the asset path every tag of the endpoint lies in (the
	// longest common one): its context is the endpoint conditions'.
	asset    string
	hasAsset bool
	// through is the time of the endpoint's last progress mark
	// (connectors.Reading.Mark): an address without a newer reading held
	// its value until then. Zero when it sends none.
	through time.Time
}

// Stats count what a Normalizer did.
type Stats struct {
	// Readings applied.
	Readings uint64
	// Emitted samples (Apply and Tick).
	Emitted uint64
	// Unknown readings dropped: no point maps their address.
	Unknown uint64
	// AutoMapped points created from browse paths.
	AutoMapped uint64
	// OutOfOrder readings dropped: SourceTime older than the tag's last.
	OutOfOrder uint64
	// Deadband readings dropped: a change within the deadband.
	Deadband uint64
	// Marks are the endpoints' progress marks taken (not readings).
	Marks uint64
}

// Output is what the normalizer produces: samples, and the conditions its
// rules raised and cleared, in order. Apply, Tick and ObserveHealth append
// to it; reuse one Output (Reset) so that the common path does not
// allocate.
type Output struct {
	Samples    []Sample
	Conditions []Condition
}

// Reset empties o, keeping its memory.
func (o *Output) Reset() {
	o.Samples = o.Samples[:0]
	o.Conditions = o.Conditions[:0]
}

// Normalizer maps raw readings to Samples and runs the data-quality rules,
// which return conditions (raised, cleared); it holds no alerts (the store
// does). It is pure: no goroutines, no clock (Tick and the readings carry
// the time), no I/O. All methods are safe for concurrent use (one mutex);
// Apply, Tick and ObserveHealth are meant to be called from one goroutine,
// the pipeline.
type Normalizer struct {
	mu    sync.Mutex
	rules []*ruleEntry
	// judges and freshes are the rules with those hooks, for the hot path.
	judges, freshes []*ruleEntry
	points          map[addrKey]*tagState
	byID            map[string]*tagState
	tags            []*tagState
	sources         map[string]*sourceState
	srcList         []*sourceState // in creation order, for a deterministic Tick
	automap         map[string]string
	defs            Rules
	stats           Stats
	started         time.Time
	lastNow         time.Time
	// clock leaves the held spans out of the time-driven rules' limits.
	clock rulesClock
	// unknownSeen remembers unmapped addresses (bounded), newUnknown the
	// ones not yet taken by TakeUnknown.
	unknownSeen map[addrKey]struct{}
	newUnknown  []string
	// ctx is the production context: scopes, and the context per asset.
	ctx contexts
	// The step under way (under mu): what the rules are given lives here,
	// so that handing it to them through interfaces allocates nothing.
	step check
	rd   classified
}

// maxUnknownSeen bounds the unmapped addresses remembered for
// TakeUnknown.
const maxUnknownSeen = 1000

// New builds a Normalizer from cfg; it returns every configuration problem
// at once (see Config.Validate).
func New(cfg Config) (*Normalizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("normalizer config: %w", err)
	}
	n := &Normalizer{
		rules:   newRules(),
		points:  make(map[addrKey]*tagState, len(cfg.Points)),
		byID:    make(map[string]*tagState, len(cfg.Points)),
		sources: make(map[string]*sourceState),
		automap: make(map[string]string),
		defs:    BuiltinRules.Override(cfg.Defaults),
	}
	for _, e := range n.rules {
		if e.judge != nil {
			n.judges = append(n.judges, e)
		}
		if e.fresh != nil {
			n.freshes = append(n.freshes, e)
		}
	}
	for _, m := range cfg.AutoMap {
		n.automap[m.Source] = m.AssetPrefix
		n.source(m.Source)
	}
	// The context scopes first: every asset then finds those above it.
	ctxPoints := make(map[int]*contextPoint)
	for i := range cfg.Points {
		if p := &cfg.Points[i]; p.Context != "" {
			ctxPoints[i] = &contextPoint{role: p.Context.Index(), scopes: n.ctx.scopesOf(p)}
		}
	}
	for i := range cfg.Points {
		p := &cfg.Points[i]
		s := tagSettings{eff: n.defs, own: p.Rules, interval: p.Interval}
		if p.Rules != nil {
			s.eff = s.eff.Override(*p.Rules)
		}
		t := &tagState{
			subject: subject{id: p.ID()}, asset: p.Asset, tag: p.Tag, source: p.Source, address: p.Address,
			scale: p.Scale, offset: p.Offset, clamp: p.Clamp, ctxPoint: ctxPoints[i],
		}
		if t.scale == 0 {
			t.scale = 1
		}
		if p.Unit != "" {
			t.unit, _ = units.Lookup(p.Unit)
			t.unitFixed = true
		}
		if p.ConvertFrom != "" {
			// Fold the conversion into scale and offset: one multiply-add
			// per reading whatever the configuration.
			from, _ := units.Lookup(p.ConvertFrom)
			mul, add, _ := units.Conversion(from, t.unit)
			t.scale, t.offset = t.scale*mul, t.offset*mul+add
		}
		if p.Range != nil {
			t.rng, t.hasRange, t.rangeFixed = *p.Range, true, true
		}
		n.add(t, &s)
	}
	return n, nil
}

// add registers a tag with the mapping and with every rule.
func (n *Normalizer) add(t *tagState, s *tagSettings) {
	t.src = n.source(t.source)
	t.idx = len(n.tags)
	t.actx = n.ctx.asset(t.asset)
	n.sourceAsset(t.src, t.asset)
	t.deadband = s.eff.Deadband
	n.points[addrKey{t.source, t.address}] = t
	n.byID[t.id] = t
	n.tags = append(n.tags, t)
	for _, e := range n.rules {
		if e.tagSetup != nil {
			e.tagSetup.addTag(t, s)
		}
	}
}

// source returns the state of endpoint name, creating it.
func (n *Normalizer) source(name string) *sourceState {
	s, ok := n.sources[name]
	if !ok {
		s = &sourceState{subject: subject{id: name}, idx: len(n.srcList)}
		n.sources[name] = s
		n.srcList = append(n.srcList, s)
		for _, e := range n.rules {
			if e.srcSetup != nil {
				e.srcSetup.addSource(s, &n.defs)
			}
		}
	}
	return s
}

// sourceAsset narrows the asset path common to src's tags with asset, and
// gives src the context of that path.
func (n *Normalizer) sourceAsset(src *sourceState, asset string) {
	if !src.hasAsset {
		src.asset, src.hasAsset = asset, true
	} else {
		src.asset = commonPath(src.asset, asset)
	}
	src.actx = nil
	if src.asset != "" {
		src.actx = n.ctx.asset(src.asset)
	}
}

// commonPath is the longest asset path a and b both lie in ("" when
// their first segments differ).
func commonPath(a, b string) string {
	for !under(b, a) {
		i := strings.LastIndexByte(a, '/')
		if i < 0 {
			return ""
		}
		a = a[:i]
	}
	return a
}

// Stats returns the counters.
func (n *Normalizer) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Initial returns one sample per configured tag, sorted by id, with status
// Bad_WaitingForInitialData: what a consumer shows before the first
// reading.
func (n *Normalizer) Initial() []Sample {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Sample, 0, len(n.tags))
	for _, t := range n.tags {
		out = append(out, Sample{
			ID: t.id, Asset: t.asset, Tag: t.tag, Unit: t.unit, Source: t.source, Address: t.address,
			Status: connectors.BadWaitingForInitialData,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// resolve maps a reading of an address no point names: a browsed
// reading of an AutoMap source becomes a new point.
func (n *Normalizer) resolve(r *connectors.Reading) *tagState {
	prefix, ok := n.automap[r.Source]
	if !ok || r.Info == nil || r.Info.BrowsePath == "" {
		return nil
	}
	var segs []string
	for _, s := range strings.Split(strings.Trim(r.Info.BrowsePath, "/"), "/") {
		if s != "" {
			segs = append(segs, sanitizeSegment(s))
		}
	}
	if len(segs) == 0 {
		return nil
	}
	asset := strings.Join(segs[:len(segs)-1], "/")
	if prefix != "" {
		if asset == "" {
			asset = prefix
		} else {
			asset = prefix + "/" + asset
		}
	}
	if asset == "" {
		asset = sanitizeSegment(r.Source)
	}
	t := &tagState{
		subject: subject{id: asset + "/" + segs[len(segs)-1]}, asset: asset, tag: segs[len(segs)-1],
		source: r.Source, address: r.Address, scale: 1, autoMapped: true,
	}
	if _, dup := n.byID[t.id]; dup {
		return nil
	}
	n.add(t, &tagSettings{eff: n.defs})
	n.stats.AutoMapped++
	return t
}

func (n *Normalizer) noteUnknown(source, address string) {
	k := addrKey{source, address}
	if _, seen := n.unknownSeen[k]; seen || len(n.unknownSeen) >= maxUnknownSeen {
		return
	}
	if n.unknownSeen == nil {
		n.unknownSeen = make(map[addrKey]struct{})
	}
	n.unknownSeen[k] = struct{}{}
	n.newUnknown = append(n.newUnknown, source+" "+address)
}

// TakeUnknown returns the unmapped addresses ("source address") seen for
// the first time since the previous call, so that the caller can log each
// once (at most 1000 distinct addresses are remembered).
func (n *Normalizer) TakeUnknown() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.newUnknown
	n.newUnknown = nil
	return out
}

func (n *Normalizer) applyInfo(t *tagState, in *connectors.PointInfo) {
	if !t.unitFixed && in.HasUnit {
		if u, ok := units.FromID(in.UnitID); ok {
			if in.UnitSymbol != "" {
				u.Symbol = in.UnitSymbol
			}
			t.unit = u
		} else if in.UnitSymbol != "" {
			t.unit = Unit{UnitID: in.UnitID, Symbol: in.UnitSymbol}
		}
	}
	if !t.rangeFixed && in.HasRange && in.Low < in.High {
		t.rng, t.hasRange = Range{Low: in.Low, High: in.High}, true
	}
}

// Apply maps one reading to a Sample, appended to out with the conditions
// the rules raised or cleared; it reports whether a sample resulted. None
// does when the address is unknown (counted; browsed OPC UA readings of an
// AutoMap source are mapped instead), the reading's time is older than the
// tag's last (counted), or a good numeric change lies within the deadband
// (counted).
//
// Status mapping: see MapStatus; a value outside the engineering range is
// Uncertain_EngineeringUnitsExceeded with the LimitLow/LimitHigh bit (or,
// with Clamp, clamped and Good_Clamped); Bad_NoCommunication with a last
// good value becomes Uncertain_NoCommunicationLastUsableValue carrying
// that value. The last good value always rides in LastGood*.
//
// A progress mark (connectors.Reading.Mark) is no value: it tells how far
// the endpoint has reported (see frozen).
//
// A link-down reading (connectors.Reading.LinkDown) tells that the
// endpoint is lost, at once: its tags show no communication, and the
// endpoint's comm_loss alone speaks for them (no per-tag condition is
// raised or cleared while it is lost). Apply does not allocate for good
// numeric readings of known points.
func (n *Normalizer) Apply(r connectors.Reading, out *Output) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r.Mark {
		n.progress(&r)
		return false
	}
	n.stats.Readings++
	t := n.points[addrKey{r.Source, r.Address}]
	if t == nil {
		if t = n.resolve(&r); t == nil {
			n.stats.Unknown++
			n.noteUnknown(r.Source, r.Address)
			return false
		}
	}
	if r.Info != nil {
		n.applyInfo(t, r.Info)
	}
	if n.outOfOrder(t, &r) {
		n.stats.OutOfOrder++
		return false
	}
	rd := &n.rd
	n.classify(t, &r, rd)
	c := n.begin(out, r.Received)
	if c.now.IsZero() {
		c.now = r.SourceTime
		if c.now.IsZero() {
			c.now = n.lastNow
		}
	}
	defer n.end()

	// The endpoint's link, from the same channel as the values: a reading
	// still queued when the link changed is older than that change and
	// does not undo it.
	src := t.src
	switch {
	case rd.lost && !c.now.Before(src.upSince):
		why := rd.errText
		if why == "" {
			why = rd.orig.Name()
		}
		n.linkLost(c, src, why)
	case !rd.lost && !(src.down && c.now.Before(src.downSince)):
		n.linkAnswered(c, src)
	}

	if n.deadbanded(t, rd) {
		n.stats.Deadband++
		t.lastUpdate = c.now
		if !r.SourceTime.IsZero() {
			t.lastSrc = r.SourceTime
		}
		n.runFresh(c, t)
		return false
	}
	if !rd.lost {
		n.runFresh(c, t)
		for _, e := range n.judges {
			c.cur = e
			e.judge.judge(c, t, rd)
		}
	}
	out.Samples = slices.Grow(out.Samples, 1)
	out.Samples = out.Samples[:len(out.Samples)+1]
	n.record(t, &r, rd, c.now, &out.Samples[len(out.Samples)-1])
	return true
}

// progress records an endpoint's progress mark: its addresses without a
// newer reading held their values until r.Received.
func (n *Normalizer) progress(r *connectors.Reading) {
	n.stats.Marks++
	if src, ok := n.sources[r.Source]; ok && r.Received.After(src.through) {
		src.through = r.Received
	}
}

// begin starts a step of the rules at now, reporting to out.
func (n *Normalizer) begin(out *Output, now time.Time) *check {
	n.step = check{n: n, out: out, now: now}
	return &n.step
}

// end ends the step: nothing of the caller's is kept.
func (n *Normalizer) end() { n.step.out = nil }

// deadbanded says rd is a good numeric change within the tag's deadband:
// not worth a sample.
func (n *Normalizer) deadbanded(t *tagState, rd *classified) bool {
	return t.deadband > 0 && rd.kind == Number && rd.status == connectors.Good && t.emitted &&
		t.lastStatus == connectors.Good && t.kind == Number && math.Abs(rd.value-t.lastValue) < t.deadband
}

func (n *Normalizer) runFresh(c *check, t *tagState) {
	for _, e := range n.freshes {
		c.cur = e
		e.fresh.fresh(c, t)
	}
}

// record updates t with r, classified as rd, and writes its sample to s.
func (n *Normalizer) record(t *tagState, r *connectors.Reading, rd *classified, now time.Time, s *Sample) {
	if rd.status.IsGood() {
		t.hasGood, t.good, t.goodText = true, rd.value, rd.text
		t.goodTime = r.SourceTime
		if t.goodTime.IsZero() {
			t.goodTime = now
		}
	}
	if !rd.status.IsBad() || rd.masked() == connectors.UncertainNoCommunicationLastUsableValue {
		t.kind, t.kindSet = rd.kind, true
	}
	t.seq++
	t.emitted = true
	t.lastStatus, t.lastValue, t.lastText = rd.status, rd.value, rd.text
	if !r.SourceTime.IsZero() {
		t.lastSrc = r.SourceTime
	}
	t.lastServer = r.ServerTime
	t.lastReceivedRaw = r.Raw
	t.lastUpdate = now
	n.stats.Emitted++
	*s = Sample{
		ID: t.id, Asset: t.asset, Tag: t.tag, Kind: t.kind, Value: rd.value, Text: rd.text, Raw: r.Raw,
		Unit: t.unit, Status: rd.status, Err: rd.errText, SourceTime: r.SourceTime, ServerTime: r.ServerTime,
		Received: r.Received, Source: t.source, Address: t.address, Seq: t.seq,
	}
	n.lastGood(t, s)
	if t.ctxPoint != nil {
		t.ctxPoint.file(s)
	}
	s.Context = t.actx.current()
}

func (n *Normalizer) lastGood(t *tagState, s *Sample) {
	if t.hasGood {
		s.HasLastGood, s.LastGood, s.LastGoodText, s.LastGoodTime = true, t.good, t.goodText, t.goodTime
	}
}

// lastUsable re-emits t's last value as Uncertain_LastUsableValue with
// why, unless its last sample already says it is not current (Bad, or the
// last good value of a silent device) or it never had one.
func (n *Normalizer) lastUsable(c *check, t *tagState, why string) {
	if !t.emitted || t.lastStatus.IsBad() || t.lastStatus&0xFFFF0000 == connectors.UncertainNoCommunicationLastUsableValue {
		return
	}
	t.seq++
	t.lastStatus = connectors.UncertainLastUsableValue
	s := Sample{
		ID: t.id, Asset: t.asset, Tag: t.tag, Kind: t.kind, Value: t.lastValue, Text: t.lastText,
		Raw: t.lastReceivedRaw, Unit: t.unit, Status: connectors.UncertainLastUsableValue, Err: why,
		SourceTime: t.lastSrc, ServerTime: t.lastServer, Received: c.now,
		Source: t.source, Address: t.address, Seq: t.seq, Context: t.actx.current(),
	}
	n.lastGood(t, &s)
	c.out.Samples = append(c.out.Samples, s)
	n.stats.Emitted++
}

// linkLost records that src is lost, saying why.
func (n *Normalizer) linkLost(c *check, src *sourceState, why string) {
	src.linkUp = false
	src.lastErr = why
	if src.down {
		return
	}
	src.down, src.downSince = true, c.now
	n.runLink(c, src)
}

// linkAnswered records that src answered: it is back if it was lost.
func (n *Normalizer) linkAnswered(c *check, src *sourceState) {
	src.linkUp = true
	if !src.down {
		return
	}
	src.down, src.downSince, src.upSince = false, time.Time{}, c.now
	n.runLink(c, src)
}

func (n *Normalizer) runLink(c *check, src *sourceState) {
	for _, e := range n.rules {
		if e.link != nil {
			c.cur = e
			e.link.link(c, src)
		}
	}
}

// ObserveHealth feeds an endpoint's health, appending to out the
// conditions that result: a link that is not Connected is lost (comm_loss
// is raised by Tick once the source's CommLoss limit has passed),
// Connected is back; health rules (sequence gaps) judge it. Times come from
// h.Since and the last Tick.
func (n *Normalizer) ObserveHealth(h connectors.Health, out *Output) {
	n.mu.Lock()
	defer n.mu.Unlock()
	src := n.source(h.Source)
	c := n.begin(out, h.Since)
	defer n.end()
	if c.now.IsZero() {
		c.now = n.lastNow
	}
	if h.State == connectors.Connected {
		n.linkAnswered(c, src)
	} else {
		why := src.lastErr
		if h.LastError != nil {
			why = h.LastError.Error()
		}
		n.linkLost(c, src, why)
	}
	if !n.lastNow.IsZero() {
		c.now = n.lastNow
	}
	for _, e := range n.rules {
		if e.health != nil {
			c.cur = e
			e.health.health(c, src, &h)
		}
	}
}

// Tick runs the time-driven rules at now, appending to out their
// conditions and the samples they re-emit: stale tags (no update for their
// limit; the first Tick starts the clock of tags never read) get a sample
// with status Uncertain_LastUsableValue; frozen values; endpoints lost
// longer than their CommLoss limit. It is deterministic given now.
func (n *Normalizer) Tick(now time.Time, out *Output) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started.IsZero() {
		n.started = now
	}
	n.lastNow = now
	c := n.begin(out, now)
	defer n.end()
	for _, e := range n.rules {
		if e.tick != nil {
			c.cur = e
			e.tick.tick(c)
		}
	}
}

// String names the kind: "number", "bool", "text".
func (k Kind) String() string {
	switch k {
	case Bool:
		return "bool"
	case Text:
		return "text"
	default:
		return "number"
	}
}

// outOfOrder reports whether r is older than the tag's last sample: by the
// server's timestamp when both have one (a device clock may step back while
// its values are new), else by the source timestamp.
func (n *Normalizer) outOfOrder(t *tagState, r *connectors.Reading) bool {
	if !r.ServerTime.IsZero() && !t.lastServer.IsZero() {
		return r.ServerTime.Before(t.lastServer)
	}
	return !r.SourceTime.IsZero() && r.SourceTime.Before(t.lastSrc)
}

// num formats a value for an alert message: six significant digits, so
// that 20.400000000000002 reads 20.4.
func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
