package normalize

import (
	"context"
	"errors"
	"fmt"
	"github.com/otwin/otwin/units"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
)

// Condition bits of a tag, so that the common path (nothing wrong, nothing
// to clear) never touches Alerts.
const (
	bitStale uint16 = 1 << iota
	bitFrozen
	bitRange
	bitSpike
	bitBad
	bitUncertain
	bitDecode
)

// Default severities of the data-quality alerts.
var kindSeverity = map[AlertKind]AlertSeverity{
	AlertCommLoss:    SeverityCritical,
	AlertBadQuality:  SeverityHigh,
	AlertDecode:      SeverityHigh,
	AlertOutOfRange:  SeverityHigh,
	AlertStale:       SeverityMedium,
	AlertFrozen:      SeverityMedium,
	AlertSpike:       SeverityMedium,
	AlertUncertain:   SeverityLow,
	AlertClockSkew:   SeverityLow,
	AlertSequenceGap: SeverityLow,
}

// SeverityOf returns the severity the rules give alerts of kind.
func SeverityOf(kind AlertKind) AlertSeverity {
	if s, ok := kindSeverity[kind]; ok {
		return s
	}
	return SeverityMedium
}

type addrKey struct{ source, address string }

// effRules are a point's effective rules; a limit <= 0 is off.
type effRules struct {
	stale, frozen, clockSkew, commLoss time.Duration
	spike, deadband                    float64
}

func effective(r Rules, interval time.Duration) effRules {
	e := effRules{
		stale: r.Stale, frozen: r.Frozen, clockSkew: r.ClockSkew, commLoss: r.CommLoss,
		spike: r.Spike, deadband: r.Deadband,
	}
	if e.stale == 0 && interval > 0 {
		e.stale = max(3*interval, MinStale)
	}
	return e
}

type tagState struct {
	id, asset, tag, source, address string
	src                             *sourceState

	unit            Unit
	unitFixed       bool // configured: the server's unit does not replace it
	rng             Range
	hasRange        bool
	rangeFixed      bool
	scale, offset   float64
	clamp           bool
	spikeAbs        bool // the point's own rules set spike: absolute without a range
	rules           effRules
	kind            Kind
	kindSet         bool
	seq             uint64
	emitted         bool
	lastStatus      connectors.StatusCode
	lastValue       float64
	lastText        string
	lastSrc         time.Time
	lastUpdate      time.Time
	hasGood         bool
	good            float64
	goodText        string
	goodTime        time.Time
	frozenSet       bool
	frozenVal       float64
	frozenSince     time.Time
	active          uint16
	stale           bool
	autoMapped      bool
	lastServer      time.Time
	lastReceivedRaw any
	skewed          bool
}

type sourceState struct {
	name       string
	linkUp     bool // the connector's last Health said Connected
	commLoss   time.Duration
	down       bool
	downSince  time.Time
	lastErr    string
	commActive bool
	gaps       uint64
	gapsSeen   bool
	gapActive  bool
	skewActive bool
	skewed     int // tags whose last fresh sample was skewed
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
}

// Normalizer maps raw readings to Samples and runs the data-quality rules,
// raising and clearing conditions in its Alerts. It is pure: no
// goroutines, no clock (Tick and the readings carry the time), no I/O. All
// methods are safe for concurrent use (one mutex); Apply, Tick and
// ObserveHealth are meant to be called from one goroutine, the pipeline.
type Normalizer struct {
	mu      sync.Mutex
	points  map[addrKey]*tagState
	canon   map[addrKey]*tagState
	byID    map[string]*tagState
	tags    []*tagState
	sources map[string]*sourceState
	srcList []*sourceState // in creation order, for a deterministic Tick
	automap map[string]string
	defs    Rules
	alerts  *Alerts
	stats   Stats
	started time.Time
	lastNow time.Time
	// unknownSeen remembers unmapped addresses (bounded), newUnknown the
	// ones not yet taken by TakeUnknown.
	unknownSeen map[addrKey]struct{}
	newUnknown  []string
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
		points:  make(map[addrKey]*tagState, len(cfg.Points)),
		canon:   make(map[addrKey]*tagState, len(cfg.Points)),
		byID:    make(map[string]*tagState, len(cfg.Points)),
		sources: make(map[string]*sourceState),
		automap: make(map[string]string),
		defs:    BuiltinRules.Override(cfg.Defaults),
		alerts:  NewAlerts(cfg.AlertHistory),
	}
	for _, m := range cfg.AutoMap {
		n.automap[m.Source] = m.AssetPrefix
		n.source(m.Source)
	}
	for i := range cfg.Points {
		p := &cfg.Points[i]
		rules := n.defs
		if p.Rules != nil {
			rules = rules.Override(*p.Rules)
		}
		t := &tagState{
			id: p.ID(), asset: p.Asset, tag: p.Tag, source: p.Source, address: p.Address,
			scale: p.Scale, offset: p.Offset, clamp: p.Clamp,
			rules: effective(rules, p.Interval),
		}
		if t.scale == 0 {
			t.scale = 1
		}
		t.spikeAbs = p.Rules != nil && p.Rules.Spike > 0
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
		n.add(t)
	}
	return n, nil
}

func (n *Normalizer) add(t *tagState) {
	t.src = n.source(t.source)
	if t.rules.commLoss > 0 && (t.src.commLoss <= 0 || t.rules.commLoss < t.src.commLoss) {
		t.src.commLoss = t.rules.commLoss
	}
	n.points[addrKey{t.source, t.address}] = t
	n.canon[addrKey{t.source, CanonicalAddress(t.address)}] = t
	n.byID[t.id] = t
	n.tags = append(n.tags, t)
}

func (n *Normalizer) source(name string) *sourceState {
	s, ok := n.sources[name]
	if !ok {
		s = &sourceState{name: name}
		if n.defs.CommLoss > 0 {
			s.commLoss = n.defs.CommLoss
		}
		n.sources[name] = s
		n.srcList = append(n.srcList, s)
	}
	return s
}

// Alerts returns the alert set the rules feed; users act on it (Ack,
// Shelve) through the store.
func (n *Normalizer) Alerts() *Alerts { return n.alerts }

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

// resolve finds the point of an address not found as written: by its
// canonical form (remembered for next time), or by auto-mapping a browsed
// reading.
func (n *Normalizer) resolve(r *connectors.Reading) *tagState {
	if t := n.canon[addrKey{r.Source, CanonicalAddress(r.Address)}]; t != nil {
		n.points[addrKey{r.Source, r.Address}] = t
		return t
	}
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
		id: asset + "/" + segs[len(segs)-1], asset: asset, tag: segs[len(segs)-1],
		source: r.Source, address: r.Address, scale: 1, autoMapped: true,
		rules: effective(n.defs, 0),
	}
	if _, dup := n.byID[t.id]; dup {
		return nil
	}
	n.add(t)
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

// MapStatus maps a reading's Status to a StatusCode and an explanation: nil
// is Good; a StatusCode is itself; an error wrapping a StatusCode is that
// code with the error's text; a deadline is Bad_Timeout; any other error
// is Bad_CommunicationError with the error's text.
func MapStatus(err error) (connectors.StatusCode, string) {
	if err == nil {
		return connectors.Good, ""
	}
	if c, ok := err.(connectors.StatusCode); ok {
		return c, ""
	}
	var c connectors.StatusCode
	if errors.As(err, &c) {
		return c, err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return connectors.BadTimeout, err.Error()
	}
	return connectors.BadCommunicationError, err.Error()
}

func isDecodeStatus(c connectors.StatusCode) bool {
	switch c & 0xFFFF0000 {
	case connectors.BadDecodingError, connectors.BadTypeMismatch, connectors.BadConfigurationError:
		return true
	}
	return false
}

// isNoComm says c means the endpoint does not answer: it starts the
// endpoint's comm-loss timer instead of raising a per-tag alert. A single
// failed request (Bad_Timeout, Bad_CommunicationError) is a per-tag bad
// quality.
func isNoComm(c connectors.StatusCode) bool {
	switch c & 0xFFFF0000 {
	case connectors.BadNoCommunication, connectors.BadNotConnected, connectors.BadServerNotConnected,
		connectors.BadConnectionClosed:
		return true
	}
	return false
}

// decode converts a raw value. ok is false when it cannot be; then status
// and msg say why.
func decode(raw any) (k Kind, v float64, txt string, status connectors.StatusCode, msg string) {
	switch x := raw.(type) {
	case float64:
		v = x
	case float32:
		v = float64(x)
	case int64:
		v = float64(x)
	case uint64:
		v = float64(x)
	case int:
		v = float64(x)
	case int32:
		v = float64(x)
	case uint32:
		v = float64(x)
	case int16:
		v = float64(x)
	case uint16:
		v = float64(x)
	case int8:
		v = float64(x)
	case uint8:
		v = float64(x)
	case bool:
		k = Bool
		if x {
			v = 1
		}
		return
	case string:
		return Text, 0, x, connectors.Good, ""
	case []byte:
		return Text, 0, string(x), connectors.Good, ""
	case nil:
		return Number, 0, "", connectors.BadDecodingError, "no value"
	default:
		return Number, 0, "", connectors.BadTypeMismatch, fmt.Sprintf("unsupported value type %T", raw)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Number, 0, "", connectors.BadDecodingError, fmt.Sprintf("not a finite number (%g)", v)
	}
	return Number, v, "", connectors.Good, ""
}

func (n *Normalizer) raise(t *tagState, bit uint16, kind AlertKind, at time.Time, format string, args ...any) {
	if t.active&bit != 0 {
		return
	}
	t.active |= bit
	n.alerts.Raise(kind, t.id, SeverityOf(kind), fmt.Sprintf(format, args...), at)
}

func (n *Normalizer) clear(t *tagState, bit uint16, kind AlertKind, at time.Time) {
	if t.active&bit == 0 {
		return
	}
	t.active &^= bit
	n.alerts.Clear(kind, t.id, at)
}

// Apply maps one reading to a Sample and runs the per-sample rules. The
// bool is false when no sample results: the address is unknown (counted;
// browsed OPC UA readings of an AutoMap source are mapped instead), the
// reading's SourceTime is older than the tag's last (counted), or a good
// numeric change lies within the deadband (counted). Status mapping: see
// MapStatus; a value outside the engineering range is
// Uncertain_EngineeringUnitsExceeded with the LimitLow/LimitHigh bit (or,
// with Clamp, clamped and Good_Clamped); Bad_NoCommunication with a last
// good value becomes Uncertain_NoCommunicationLastUsableValue carrying
// that value. The last good value always rides in LastGood*. Apply does not
// allocate for good numeric readings of known points.
func (n *Normalizer) Apply(r connectors.Reading) (Sample, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stats.Readings++
	t := n.points[addrKey{r.Source, r.Address}]
	if t == nil {
		if t = n.resolve(&r); t == nil {
			n.stats.Unknown++
			n.noteUnknown(r.Source, r.Address)
			return Sample{}, false
		}
	}
	if r.Info != nil {
		n.applyInfo(t, r.Info)
	}
	if n.outOfOrder(t, r) {
		n.stats.OutOfOrder++
		return Sample{}, false
	}
	now := r.Received
	if now.IsZero() {
		now = r.SourceTime
		if now.IsZero() {
			now = n.lastNow
		}
	}
	src := t.src

	orig, errText := MapStatus(r.Status)
	status := orig
	kind := t.kind
	var v float64
	var txt string
	var low, high bool
	if !status.IsBad() {
		k, dv, dt, dstatus, msg := decode(r.Raw)
		if dstatus != connectors.Good {
			status, errText = dstatus, msg
		} else if t.kindSet && k != t.kind {
			status, errText = connectors.BadTypeMismatch, fmt.Sprintf("value type changed from %s to %s (%T)", t.kind, k, r.Raw)
		} else {
			kind, v, txt = k, dv, dt
			if kind == Number {
				v = v*t.scale + t.offset
				if t.hasRange {
					if v < t.rng.Low {
						low = true
					} else if v > t.rng.High {
						high = true
					}
				}
				if low || high {
					var bits connectors.StatusCode
					if low {
						bits = connectors.LimitLow
					} else {
						bits = connectors.LimitHigh
					}
					if t.clamp {
						if low {
							v = t.rng.Low
						} else {
							v = t.rng.High
						}
						if status.IsGood() {
							status = connectors.GoodClamped
						}
					} else if status.IsGood() {
						status = connectors.UncertainEngineeringUnitsExceeded
					}
					status |= bits
				}
			}
		}
	}
	if status.IsBad() {
		v, txt = 0, ""
		if status&0xFFFF0000 == connectors.BadNoCommunication && t.hasGood {
			status = connectors.UncertainNoCommunicationLastUsableValue
			v, txt = t.good, t.goodText
		}
	}

	// Deadband: a small good change is not worth a sample.
	if t.rules.deadband > 0 && kind == Number && status == connectors.Good && t.emitted &&
		t.lastStatus == connectors.Good && t.kind == Number && math.Abs(v-t.lastValue) < t.rules.deadband {
		n.stats.Deadband++
		t.lastUpdate = now
		if !r.SourceTime.IsZero() {
			t.lastSrc = r.SourceTime
		}
		if t.stale {
			t.stale = false
			n.clear(t, bitStale, AlertStale, now)
		}
		return Sample{}, false
	}

	// Endpoint-level rules. A no-communication status while the link is
	// up comes from behind the endpoint (a gateway's device, an OPC UA
	// server's PLC): that is a per-tag bad quality, not a silent
	// endpoint.
	tagNoComm := isNoComm(orig) && src.linkUp
	if isNoComm(orig) && !src.linkUp {
		if !src.down {
			src.down, src.downSince = true, now
		}
		if errText != "" {
			src.lastErr = errText
		} else {
			src.lastErr = orig.Name()
		}
	} else if src.down {
		n.sourceUp(src, now)
	}
	n.checkSkew(t, src, r, now)

	// Tag-level rules.
	if t.stale {
		t.stale = false
		n.clear(t, bitStale, AlertStale, now)
	}
	masked := status & 0xFFFF0000
	switch {
	case isDecodeStatus(status):
		if errText != "" {
			n.raise(t, bitDecode, AlertDecode, now, "%s: %s", status.Name(), errText)
		} else {
			n.raise(t, bitDecode, AlertDecode, now, "%s", status.Name())
		}
	default:
		n.clear(t, bitDecode, AlertDecode, now)
	}
	if status.IsBad() && !isDecodeStatus(status) && (!isNoComm(status) || tagNoComm) ||
		tagNoComm && masked == connectors.UncertainNoCommunicationLastUsableValue {
		msg := errText
		if msg == "" {
			msg = status.Error()
		}
		if tagNoComm {
			n.raise(t, bitBad, AlertBadQuality, now, "no communication behind %s: %s", src.name, msg)
		} else {
			n.raise(t, bitBad, AlertBadQuality, now, "bad quality: %s", msg)
		}
	} else {
		n.clear(t, bitBad, AlertBadQuality, now)
	}
	if status.IsUncertain() && masked != connectors.UncertainEngineeringUnitsExceeded &&
		masked != connectors.UncertainNoCommunicationLastUsableValue && masked != connectors.UncertainLastUsableValue {
		n.raise(t, bitUncertain, AlertUncertain, now, "uncertain quality: %s", status.Error())
	} else {
		n.clear(t, bitUncertain, AlertUncertain, now)
	}
	numGood := kind == Number && !status.IsBad() && masked != connectors.UncertainNoCommunicationLastUsableValue
	if low || high {
		if low {
			n.raise(t, bitRange, AlertOutOfRange, now, "value %s below low limit %s", num(v), num(t.rng.Low))
		} else {
			n.raise(t, bitRange, AlertOutOfRange, now, "value %s above high limit %s", num(v), num(t.rng.High))
		}
	} else if numGood {
		n.clear(t, bitRange, AlertOutOfRange, now)
	}
	if numGood && t.rules.spike > 0 && t.hasGood && (t.hasRange || t.spikeAbs) {
		limit := t.rules.spike
		if t.hasRange {
			limit *= t.rng.High - t.rng.Low
		}
		if d := math.Abs(v - t.good); d > limit {
			n.raise(t, bitSpike, AlertSpike, now, "jump of %s from %s to %s (limit %s)", num(d), num(t.good), num(v), num(limit))
		} else {
			n.clear(t, bitSpike, AlertSpike, now)
		}
	}
	if numGood && t.rules.frozen > 0 {
		if t.frozenSet && v == t.frozenVal {
			if now.Sub(t.frozenSince) >= t.rules.frozen {
				n.raise(t, bitFrozen, AlertFrozen, now, "value %s unchanged for %s (limit %s)", num(v), now.Sub(t.frozenSince).Round(time.Millisecond), t.rules.frozen)
			}
		} else {
			t.frozenSet, t.frozenVal, t.frozenSince = true, v, now
			n.clear(t, bitFrozen, AlertFrozen, now)
		}
	}

	// State.
	if status.IsGood() {
		t.hasGood, t.good, t.goodText = true, v, txt
		t.goodTime = r.SourceTime
		if t.goodTime.IsZero() {
			t.goodTime = now
		}
	}
	if !status.IsBad() || masked == connectors.UncertainNoCommunicationLastUsableValue {
		t.kind, t.kindSet = kind, true
	}
	t.seq++
	t.emitted = true
	t.lastStatus, t.lastValue, t.lastText = status, v, txt
	if !r.SourceTime.IsZero() {
		t.lastSrc = r.SourceTime
	}
	t.lastServer = r.ServerTime
	t.lastReceivedRaw = r.Raw
	t.lastUpdate = now
	n.stats.Emitted++

	s := Sample{
		ID: t.id, Asset: t.asset, Tag: t.tag, Kind: t.kind, Value: v, Text: txt, Raw: r.Raw,
		Unit: t.unit, Status: status, SourceTime: r.SourceTime, ServerTime: r.ServerTime,
		Received: r.Received, Source: t.source, Address: t.address, Seq: t.seq,
	}
	s.Err = errText
	n.lastGood(t, &s)
	return s, true
}

func (n *Normalizer) lastGood(t *tagState, s *Sample) {
	if t.hasGood {
		s.HasLastGood, s.LastGood, s.LastGoodText, s.LastGoodTime = true, t.good, t.goodText, t.goodTime
	}
}

func (n *Normalizer) sourceUp(src *sourceState, at time.Time) {
	src.down = false
	src.downSince = time.Time{}
	if src.commActive {
		src.commActive = false
		n.alerts.Clear(AlertCommLoss, src.name, at)
	}
}

// ObserveHealth feeds an endpoint's health: a link that is not Connected
// starts the communication-loss timer (raised by Tick once the source's
// CommLoss limit has passed), Connected clears it; an increase of
// SequenceGaps raises a sequence-gap alert on the source, which clears at
// the next observation without new gaps. Times come from h.Since and the
// last Tick.
func (n *Normalizer) ObserveHealth(h connectors.Health) {
	n.mu.Lock()
	defer n.mu.Unlock()
	src := n.source(h.Source)
	at := h.Since
	if at.IsZero() {
		at = n.lastNow
	}
	src.linkUp = h.State == connectors.Connected
	switch h.State {
	case connectors.Connected:
		if src.down {
			n.sourceUp(src, at)
		}
	default:
		if !src.down {
			src.down, src.downSince = true, at
		}
		if h.LastError != nil {
			src.lastErr = h.LastError.Error()
		}
	}
	now := n.lastNow
	if now.IsZero() {
		now = at
	}
	if src.gapsSeen && h.SequenceGaps > src.gaps {
		if src.gapActive {
			// Still missing notifications: keep the alert active.
		} else {
			src.gapActive = true
			n.alerts.Raise(AlertSequenceGap, src.name, SeverityOf(AlertSequenceGap),
				fmt.Sprintf("%d notifications missed (%d in total)", h.SequenceGaps-src.gaps, h.SequenceGaps), now)
		}
	} else if src.gapActive {
		src.gapActive = false
		n.alerts.Clear(AlertSequenceGap, src.name, now)
	}
	src.gaps, src.gapsSeen = h.SequenceGaps, true
}

// Tick runs the time-driven rules at now: stale tags (no update for their
// limit; the first Tick starts the clock of tags never read) raise a stale
// alert and get a sample appended to dst with status
// Uncertain_LastUsableValue; frozen values raise; endpoints down longer
// than their CommLoss limit raise comm_loss; timed shelves expire. It is
// deterministic given now and returns dst.
func (n *Normalizer) Tick(now time.Time, dst []Sample) []Sample {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started.IsZero() {
		n.started = now
	}
	n.lastNow = now
	for _, t := range n.tags {
		if t.rules.stale > 0 && !t.stale {
			last := t.lastUpdate
			if last.IsZero() {
				last = n.started
			}
			if age := now.Sub(last); age > t.rules.stale {
				t.stale = true
				if t.emitted {
					n.raise(t, bitStale, AlertStale, now, "no update for %s (limit %s)", age.Round(time.Millisecond), t.rules.stale)
				} else {
					n.raise(t, bitStale, AlertStale, now, "no reading since start %s ago (limit %s)", age.Round(time.Millisecond), t.rules.stale)
				}
				if t.emitted && !t.lastStatus.IsBad() && t.lastStatus&0xFFFF0000 != connectors.UncertainNoCommunicationLastUsableValue {
					t.seq++
					t.lastStatus = connectors.UncertainLastUsableValue
					s := Sample{
						ID: t.id, Asset: t.asset, Tag: t.tag, Kind: t.kind, Value: t.lastValue, Text: t.lastText,
						Raw: t.lastReceivedRaw, Unit: t.unit, Status: connectors.UncertainLastUsableValue,
						Err:        fmt.Sprintf("no update for %s (limit %s)", age.Round(time.Millisecond), t.rules.stale),
						SourceTime: t.lastSrc, ServerTime: t.lastServer, Received: now,
						Source: t.source, Address: t.address, Seq: t.seq,
					}
					n.lastGood(t, &s)
					dst = append(dst, s)
					n.stats.Emitted++
				}
			}
		}
		if t.rules.frozen > 0 && t.frozenSet && t.active&bitFrozen == 0 && t.lastStatus.IsGood() &&
			t.lastValue == t.frozenVal && now.Sub(t.frozenSince) >= t.rules.frozen {
			n.raise(t, bitFrozen, AlertFrozen, now, "value %s unchanged for %s (limit %s)", num(t.frozenVal), now.Sub(t.frozenSince).Round(time.Millisecond), t.rules.frozen)
		}
	}
	for _, src := range n.srcList {
		if src.down && !src.commActive && src.commLoss > 0 && now.Sub(src.downSince) >= src.commLoss {
			src.commActive = true
			msg := fmt.Sprintf("no answer for %s (limit %s)", now.Sub(src.downSince).Round(time.Millisecond), src.commLoss)
			if src.lastErr != "" {
				msg += ": " + src.lastErr
			}
			n.alerts.Raise(AlertCommLoss, src.name, SeverityOf(AlertCommLoss), msg, now)
		}
	}
	n.alerts.Expire(now)
	return dst
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
func (n *Normalizer) outOfOrder(t *tagState, r connectors.Reading) bool {
	if !r.ServerTime.IsZero() && !t.lastServer.IsZero() {
		return r.ServerTime.Before(t.lastServer)
	}
	return !r.SourceTime.IsZero() && r.SourceTime.Before(t.lastSrc)
}

// checkSkew runs the clock-skew rule on one reading, before t.lastSrc is
// updated. Only a value whose source time moved is judged: an
// unchanged value (the first notification of a subscription, a re-read, a
// constant) carries the time it last changed, which says how old it is,
// not how wrong the source clock is. Skew is then the source time against
// the server's timestamp when the reading has one (stamped when the server
// took the change), else against the time received. The endpoint's alert
// is active while any of its tags is skewed.
func (n *Normalizer) checkSkew(t *tagState, src *sourceState, r connectors.Reading, now time.Time) {
	if t.rules.clockSkew <= 0 || r.SourceTime.IsZero() || t.lastSrc.IsZero() || r.SourceTime.Equal(t.lastSrc) {
		return
	}
	ref := r.ServerTime
	if ref.IsZero() {
		ref = r.Received
	}
	if ref.IsZero() {
		return
	}
	skew := ref.Sub(r.SourceTime)
	dir := "behind"
	if skew < 0 {
		skew, dir = -skew, "ahead"
	}
	switch over := skew > t.rules.clockSkew; {
	case over && !t.skewed:
		t.skewed = true
		src.skewed++
		if !src.skewActive {
			src.skewActive = true
			n.alerts.Raise(AlertClockSkew, src.name, SeverityOf(AlertClockSkew),
				fmt.Sprintf("clock skew: source clock %s %s on %s (limit %s)", skew.Round(time.Millisecond), dir, t.id, t.rules.clockSkew), now)
		}
	case !over && t.skewed:
		t.skewed = false
		src.skewed--
		if src.skewed == 0 && src.skewActive {
			src.skewActive = false
			n.alerts.Clear(AlertClockSkew, src.name, now)
		}
	}
}

// num formats a value for an alert message: six significant digits, so
// that 20.400000000000002 reads 20.4.
func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
