package twin

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/otwin/otwin/units"

	"github.com/expr-lang/expr/vm"

	"github.com/otwin/otwin/scenarios"
)

// Options configure an Engine.
type Options struct {
	// Now is the wall clock (default time.Now); tests inject one. It
	// stamps source timestamps, events and the scenario start. Run paces
	// itself by the real monotonic clock whatever Now is, so a frozen test
	// clock never makes Run spin.
	Now func() time.Time
	// Logger receives the engine's log (default slog.Default()).
	Logger *slog.Logger
	// SourceRefresh, when > 0, re-publishes an unchanged value with a
	// fresh Source (reported to watchers) once its source timestamp is
	// that old, as devices that stamp every sample do. Default 0: Source
	// is the time of the last change of value or status, as OPC UA Part 4
	// (7.7.3) asks of a SourceTimestamp.
	SourceRefresh time.Duration
	// HistoryRetention is how much simulated time of history the engine
	// keeps the tick times of (default DefaultHistoryRetention; see
	// journal.go for the memory it takes).
	HistoryRetention time.Duration
}

// Engine simulates one resolved scenario: a deterministic clock that
// advances simulated time by exactly one Tick per step, evaluates every
// tag's model in dependency order, applies faults and plays the timeline.
// The series of values depends only on the seed and the tick count.
//
// All methods are safe for concurrent use. Value and Link never block on
// a running tick for long (they take a read lock held only while changed
// values are copied in); Write, Inject, Clear and Step wait for the
// current tick to finish.
type Engine struct {
	sc      *scenarios.Scenario
	now     func() time.Time
	refresh time.Duration
	log     *slog.Logger
	tick    time.Duration
	scale   float64
	seed    uint64

	tags       []TagInfo
	machines   []MachineInfo
	machineIdx map[string]int
	lookup     map[string]int
	kick       chan struct{}

	mu       sync.Mutex // simulation state below
	rt       []tagRT
	order    []int // evaluation order (dependencies first)
	inputs   []int // integrate and lag tags, whose inputs read the previous tick
	env      map[string]any
	inEnv    []bool
	vm       vm.VM
	ticks    uint64
	elapsed  time.Duration
	speed    float64
	paused   bool
	slabs    map[reflect.Type]any // chunks of models by type (newModel), while building
	sched    []schedEntry
	schedPos int
	defined  []scenarios.Fault
	defIdx   map[string]int
	active   []*activeFault
	byTag    map[int][]*activeFault
	byMach   map[int][]*activeFault
	epochs   map[linkKey]uint64
	adhocN   int
	stage    []staged
	changed  []int
	started  time.Time

	pubMu sync.RWMutex
	pub   []Value

	linkMu sync.RWMutex
	links  map[linkKey]Link

	evMu   sync.Mutex
	events []Event // ring of at most maxEvents
	evNext int     // Seq of the next event

	watchMu  sync.Mutex
	watchers map[*Watcher]struct{}

	// jr records the run for history (nil in a replay); tap, set in a
	// replay, sees every publication; hist holds idle history cursors.
	jr   *journal
	tap  func(i int, v Value)
	hist historyCache

	hooks []func(TickInfo) // tick hooks (tick.go); guarded by mu
}

const (
	maxEvents  = 10000
	maxCatchUp = 100 // ticks run at once when Run is late
	maxSpeed   = 10000
)

// Status is the state of the engine's clock.
type Status struct {
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Started is the wall time the engine was built (the scenario start).
	Started time.Time `json:"started"`
	// SimTime is Started plus Elapsed.
	SimTime time.Time `json:"sim_time"`
	// Elapsed is the simulated time since the scenario start.
	Elapsed scenarios.Duration `json:"elapsed"`
	// Ticks is the number of ticks run.
	Ticks uint64 `json:"ticks"`
	// Tick is the simulation step.
	Tick scenarios.Duration `json:"tick"`
	// TimeScale is the scenario's time scale.
	TimeScale float64 `json:"time_scale"`
	// Speed is the live multiplier on top of TimeScale (SetSpeed).
	Speed float64 `json:"speed"`
	// Paused reports whether Run is paused.
	Paused bool `json:"paused"`
	// Tags is the number of tags.
	Tags int `json:"tags"`
	// ActiveFaults is the number of active faults.
	ActiveFaults int `json:"active_faults"`
}

// Event is one entry of the engine's event log.
type Event struct {
	// Seq is the event's position in the log (the cursor of Events).
	Seq int `json:"seq"`
	// Elapsed is the simulated time since the scenario start.
	Elapsed scenarios.Duration `json:"elapsed"`
	// Time is the wall time the event was logged.
	Time time.Time `json:"time"`
	// Kind is inject, clear, expire, set, state, note, write or call (a
	// method call: Target is the machine, Value the method).
	Kind string `json:"kind"`
	// Origin is what caused the event: scenario (a fault's start),
	// timeline, api (Inject, InjectNamed, Clear), client (Write, Call) or
	// method (an action of a method call).
	Origin string `json:"origin,omitempty"`
	// Fault is the fault's name (inject, clear, expire).
	Fault string `json:"fault,omitempty"`
	// FaultKind is the fault's kind (inject, clear, expire).
	FaultKind scenarios.FaultKind `json:"fault_kind,omitempty"`
	// Target is the tag ("machine/tag") or machine concerned.
	Target string `json:"target,omitempty"`
	// Value is the written value (set, write) or state name (state).
	Value any `json:"value,omitempty"`
	// Message is the note's text or a description of what happened.
	Message string `json:"message,omitempty"`
}

// Event kinds.
const (
	EventInject = "inject"
	EventClear  = "clear"
	EventExpire = "expire"
	EventSet    = "set"
	EventState  = "state"
	EventNote   = "note"
	EventWrite  = "write"
	EventCall   = "call"
)

// schedEntry is one scheduled action: a timeline event or a fault's start.
type schedEntry struct {
	at     time.Duration
	origin string
	ev     scenarios.Event
}

// staged is a changed value waiting to be published.
type staged struct {
	i int
	v Value
}

// New builds an engine for sc, which must be resolved (see
// scenarios/resolved.go). It compiles every expression, orders the tags
// by their dependencies, and evaluates tick 0 (playing the timeline
// entries at 0), so values are ready before Run. It returns an error
// naming the machine and tag of every model that cannot be built. New
// does not start any goroutine.
func New(sc *scenarios.Scenario, opts Options) (*Engine, error) {
	return build(sc, opts, nil)
}

// build builds an engine; a replay (tap non-nil) keeps no journal and
// hands every publication to tap.
func build(sc *scenarios.Scenario, opts Options, tap func(int, Value)) (*Engine, error) {
	if sc == nil {
		return nil, errors.New("twin: nil scenario")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{
		sc:         sc,
		now:        opts.Now,
		refresh:    opts.SourceRefresh,
		log:        opts.Logger.With("scenario", sc.Name),
		tick:       sc.Tick.D(),
		scale:      sc.TimeScale,
		seed:       uint64(sc.Seed),
		machineIdx: map[string]int{},
		lookup:     map[string]int{},
		kick:       make(chan struct{}, 1),
		speed:      1,
		env:        map[string]any{"t": 0.0},
		defIdx:     map[string]int{},
		byTag:      map[int][]*activeFault{},
		byMach:     map[int][]*activeFault{},
		epochs:     map[linkKey]uint64{},
		links:      map[linkKey]Link{},
		watchers:   map[*Watcher]struct{}{},
		slabs:      map[reflect.Type]any{},
	}
	if e.tick <= 0 {
		e.tick = 100 * time.Millisecond
	}
	if e.scale <= 0 || math.IsNaN(e.scale) || math.IsInf(e.scale, 0) {
		e.scale = 1
	}
	if tap == nil {
		e.jr = newJournal(e.tick, e.scale, opts.HistoryRetention)
	}
	e.tap = tap
	e.buildStatic()
	var errs []error
	e.rt = make([]tagRT, len(e.tags))
	e.inEnv = make([]bool, len(e.tags))
	deps := make([][]int, len(e.tags))
	for mi := range sc.Machines {
		m := &sc.Machines[mi]
		for ti := range m.Tags {
			i := e.machines[mi].Tags[ti]
			refs, err := e.buildTag(i, mi, &m.Tags[ti])
			if err != nil {
				errs = append(errs, fmt.Errorf("machine %s tag %s: %w", m.Name, m.Tags[ti].Name, err))
			}
			deps[i] = refs
		}
	}
	for i := range e.rt {
		for _, r := range e.rt[i].reads {
			e.inEnv[r] = true
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("twin: scenario %s: %w", sc.Name, errors.Join(errs...))
	}
	e.slabs = nil // the models keep their chunks
	order, err := e.topo(deps)
	if err != nil {
		return nil, fmt.Errorf("twin: scenario %s: %w", sc.Name, err)
	}
	e.order = order
	for i := range e.rt {
		if e.rt[i].prog != nil {
			e.inputs = append(e.inputs, i)
		}
	}
	for i, f := range sc.Faults {
		e.defined = append(e.defined, f)
		e.defIdx[f.Name] = i
		if f.Start != nil {
			e.sched = append(e.sched, schedEntry{at: f.Start.D(), origin: "scenario", ev: scenarios.Event{At: *f.Start, Fault: f.Name}})
		}
	}
	for _, ev := range sc.Timeline {
		e.sched = append(e.sched, schedEntry{at: ev.At.D(), origin: "timeline", ev: ev})
	}
	sort.SliceStable(e.sched, func(a, b int) bool { return e.sched[a].at < e.sched[b].at })

	e.pub = make([]Value, len(e.tags))
	e.started = e.now()
	e.mu.Lock()
	e.runTick(true)
	e.mu.Unlock()
	return e, nil
}

// buildStatic fills tags, machines and the lookup tables.
func (e *Engine) buildStatic() {
	templates := map[string]*TemplateInfo{}
	for mi := range e.sc.Machines {
		m := &e.sc.Machines[mi]
		asset := m.AssetPath()
		mInfo := MachineInfo{Name: m.Name, Asset: asset, Location: m.Location, OPCUA: m.OPCUA, Modbus: m.Modbus}
		if m.Template != "" {
			if templates[m.Template] == nil {
				templates[m.Template] = e.templateInfo(m.Template)
			}
			mInfo.Template = templates[m.Template]
		}
		e.machineIdx[m.Name] = mi
		for ti := range m.Tags {
			t := &m.Tags[ti]
			i := len(e.tags)
			typ := t.DataType()
			info := TagInfo{
				Index:       i,
				Machine:     m.Name,
				Asset:       asset,
				Name:        t.Name,
				ID:          asset + "/" + t.Name,
				Type:        typ,
				Unit:        resolveUnit(t.Unit),
				Range:       t.Range,
				Description: t.Description,
				Writable:    t.Writable,
				NodeID:      t.NodeID,
				Modbus:      t.Modbus,
				Historizing: t.Historized(),
			}
			if info.NodeID == "" {
				info.NodeID = info.ID
			}
			e.tags = append(e.tags, info)
			e.lookup[info.ID] = i
			e.lookup[m.Name+"/"+t.Name] = i
			mInfo.Tags = append(mInfo.Tags, i)
		}
		mInfo.Methods = e.methodInfos(m.Methods, m.Tags, mInfo.Tags)
		e.machines = append(e.machines, mInfo)
	}
}

// templateInfo describes template name of the scenario.
func (e *Engine) templateInfo(name string) *TemplateInfo {
	t := e.sc.Templates[name]
	ti := &TemplateInfo{Name: name, Description: t.Description, Namespace: scenarios.TypesNamespace(e.sc.Name)}
	for _, tag := range t.Tags {
		typ := tag.Type
		if typ == "" {
			typ = scenarios.Float64
		}
		ti.Tags = append(ti.Tags, TagInfo{
			Index:       -1,
			Name:        tag.Name,
			Type:        typ,
			Unit:        resolveUnit(tag.Unit),
			Range:       tag.Range,
			Description: tag.Description,
			Writable:    tag.Writable,
			Historizing: tag.Historized(),
		})
	}
	ti.Methods = e.methodInfos(t.Methods, t.Tags, nil)
	return ti
}

// topo orders the tags so that every tag comes after the tags its
// expressions read in the same tick.
func (e *Engine) topo(deps [][]int) ([]int, error) {
	n := len(deps)
	state := make([]uint8, n) // 0 new, 1 visiting, 2 done
	order := make([]int, 0, n)
	type frame struct{ i, next int }
	for root := 0; root < n; root++ {
		if state[root] != 0 {
			continue
		}
		stack := []frame{{root, 0}}
		state[root] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next < len(deps[f.i]) {
				d := deps[f.i][f.next]
				f.next++
				switch state[d] {
				case 0:
					state[d] = 1
					stack = append(stack, frame{d, 0})
				case 1:
					return nil, fmt.Errorf("expression cycle through %s and %s", e.tags[f.i].ID, e.tags[d].ID)
				}
				continue
			}
			state[f.i] = 2
			order = append(order, f.i)
			stack = stack[:len(stack)-1]
		}
	}
	return order, nil
}

// rngFor derives an independent random stream from the seed and a name,
// so adding a tag or fault does not change the others' series.
func (e *Engine) rngFor(name string) *rand.Rand {
	return rand.New(rand.NewPCG(e.seed, hash64(name)))
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Run advances simulated time in real time × time scale × speed until ctx
// is done, firing one step every Tick/(scale×speed) of wall time. When it
// falls behind it catches up by at most 100 ticks at once and drops the
// rest of the backlog (logged at most every 10 s), so the series stays
// the same but simulated time may lag the wall clock. Pause, Resume and SetSpeed take
// effect at once. Run returns nil when ctx is done; call it once.
func (e *Engine) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var (
		warned  time.Time // last warning about running late
		skipped uint64    // ticks skipped since
	)
	for {
		e.mu.Lock()
		paused, rate := e.paused, e.scale*e.speed
		e.mu.Unlock()
		if paused {
			select {
			case <-ctx.Done():
				return nil
			case <-e.kick:
				continue
			}
		}
		base := time.Now()
		fired := 0
	schedule:
		for {
			next := base.Add(time.Duration(float64(fired+1) * float64(e.tick) / rate))
			if d := time.Until(next); d > 0 {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					return nil
				case <-e.kick:
					// Since Go 1.23 a stopped timer delivers no stale value.
					timer.Stop()
					break schedule
				case <-timer.C:
				}
			}
			if ctx.Err() != nil {
				return nil
			}
			due := int(float64(time.Since(base))*rate/float64(e.tick)) - fired
			if due < 1 {
				due = 1
			}
			if due > maxCatchUp {
				skipped += uint64(due - maxCatchUp)
				if time.Since(warned) > 10*time.Second {
					e.log.Warn("twin running late; simulated time falls behind the wall clock", "skipped_ticks", skipped, "tags", len(e.tags))
					warned, skipped = time.Now(), 0
				}
				fired += due - maxCatchUp
				due = maxCatchUp
			}
			e.Step(due)
			fired += due
		}
	}
}

// Step advances n ticks synchronously, whether or not Run is running or
// paused, and returns when they are done and published. Tests use it
// instead of sleeping.
func (e *Engine) Step(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for range n {
		e.ticks++
		e.elapsed = time.Duration(e.ticks) * e.tick
		e.runTick(false)
	}
}

// Pause stops Run from advancing time; Step still works.
func (e *Engine) Pause() {
	e.mu.Lock()
	e.paused = true
	e.mu.Unlock()
	e.wake()
	e.log.Info("clock paused")
}

// Resume lets Run advance time again, from the current simulated time
// (paused time is not caught up).
func (e *Engine) Resume() {
	e.mu.Lock()
	e.paused = false
	e.mu.Unlock()
	e.wake()
	e.log.Info("clock resumed")
}

// SetSpeed sets the live speed multiplier on top of the scenario's time
// scale; f must be in (0, 10000]. It never changes the series, only how
// fast Run plays it.
func (e *Engine) SetSpeed(f float64) error {
	if !(f > 0 && f <= maxSpeed) {
		return fmt.Errorf("speed %v: must be > 0 and <= %d", f, maxSpeed)
	}
	e.mu.Lock()
	e.speed = f
	e.mu.Unlock()
	e.wake()
	e.log.Info("clock speed set", "speed", f)
	return nil
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Status reports the clock. Safe for concurrent use.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Status{
		Scenario:     e.sc.Name,
		Started:      e.started,
		SimTime:      e.started.Add(e.elapsed),
		Elapsed:      scenarios.Duration(e.elapsed),
		Ticks:        e.ticks,
		Tick:         scenarios.Duration(e.tick),
		TimeScale:    e.scale,
		Speed:        e.speed,
		Paused:       e.paused,
		Tags:         len(e.tags),
		ActiveFaults: len(e.active),
	}
}

// Tags returns the static tag list; index = TagInfo.Index. The slice is
// shared: do not modify it.
func (e *Engine) Tags() []TagInfo { return e.tags }

// Machines returns the static machine list, in scenario order. The slice
// is shared: do not modify it.
func (e *Engine) Machines() []MachineInfo { return e.machines }

// Lookup maps "machine/tag" or a full tag ID to its index.
func (e *Engine) Lookup(id string) (int, bool) {
	i, ok := e.lookup[id]
	return i, ok
}

// Value returns tag i's current value with faults applied. It does not
// allocate and is safe for concurrent use; an index out of range gives a
// Bad_NodeIdUnknown value.
func (e *Engine) Value(i int) Value {
	if i < 0 || i >= len(e.tags) {
		return Value{Status: StatusBadNodeIDUnknown}
	}
	e.pubMu.RLock()
	v := e.pub[i]
	e.pubMu.RUnlock()
	return v
}

// Write writes v to tag i as a client would (a setpoint change). v must
// be exactly a value of the tag's type (scenarios.Exact): any Go number or
// a json.Number (read by its text) for numeric tags — integer tags take
// only integral values within the type, int64 and uint64 exactly over
// their whole range —, a bool for bool tags, a string for string tags;
// and within the tag's range when it has one (compared exactly). The
// written value is visible to Value at once and to
// expressions from the next tick. What a write does depends on the model:
//   - constant (or no model): the value replaces the constant for good;
//   - counter, integrate, lag, random_walk: the value becomes the model's
//     state, which evolves from there (writing 0 resets a counter);
//   - steps, square, state_machine, expr: the value holds until the
//     model's own output next changes (next step, edge, transition or
//     expression result);
//   - sine, ramp, noise: the value holds until the next write.
//
// Errors: ErrUnknownTag, ErrNotWritable, ErrType, ErrOutOfRange (wrapped,
// naming the tag).
func (e *Engine) Write(i int, v any) error {
	return e.write(i, v, "client")
}

func (e *Engine) write(i int, v any, origin string) error {
	if i < 0 || i >= len(e.tags) {
		return fmt.Errorf("write tag %d: %w", i, ErrUnknownTag)
	}
	info := &e.tags[i]
	if !info.Writable && origin == "client" {
		return fmt.Errorf("write %s: %w", info.ID, ErrNotWritable)
	}
	num, str, err := coerce(info.Type, info.Range, v)
	if err != nil {
		return fmt.Errorf("write %s: %w", info.ID, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.writeNow(i, num, str, origin)
	return nil
}

// writeNow writes an exact value to tag i, publishes it and journals the
// write. Called with e.mu held.
func (e *Engine) writeNow(i int, num tval, str, origin string) {
	e.setTag(i, num, str, origin)
	now := e.stamp()
	e.changed = e.changed[:0]
	e.stage = e.stage[:0]
	e.publishTag(i, now)
	e.flush()
	e.record(input{kind: inWrite, tag: int32(i), num: num, str: str}, now)
}

// setTag makes an exact value tag i's model value (as Write describes)
// and logs it, without publishing. Called with e.mu held.
func (e *Engine) setTag(i int, num tval, str, origin string) {
	info := &e.tags[i]
	e.applyWrite(i, num, str)
	if e.inEnv[i] {
		e.setEnv(i)
	}
	kind := EventWrite
	if origin == "timeline" {
		kind = EventSet
	}
	e.logEvent(Event{Kind: kind, Origin: origin, Target: info.Machine + "/" + info.Name, Value: box(info.Type, num, str)})
}

// stamp returns the wall time of a publication: now, never earlier than
// the previous one. Called with e.mu held.
func (e *Engine) stamp() time.Time {
	if e.jr == nil {
		return e.now()
	}
	return e.jr.stamp(e.now())
}

// record journals a live action published at now. Called with e.mu held.
func (e *Engine) record(in input, now time.Time) {
	if e.jr == nil {
		return
	}
	in.tick, in.wall = e.ticks, now.UnixNano()
	if !e.jr.input(in) {
		e.log.Warn("history journal full: history ends here", "tick", e.ticks, "actions", maxJournalInputs)
	}
}

// resolveUnit resolves a scenario unit; an unknown one (the loader
// rejects those) keeps its spelling as the symbol.
func resolveUnit(s string) scenarios.Unit {
	if s == "" {
		return units.Unit{}
	}
	if u, ok := units.Lookup(s); ok {
		return u
	}
	return units.Unit{Symbol: s, Name: s, UnitID: units.NoUnitID}
}
