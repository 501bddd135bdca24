// Package alarms evaluates a scenario's alarms (scenarios.Alarm) against
// the twin engine's values and keeps their condition state, as OPC UA
// Part 9 (Alarms and Conditions) describes it: active, acknowledged,
// confirmed, latched, retained. The protocol servers serve it (OPC UA
// conditions and events in twin/opcuaserver, Modbus discrete inputs in
// twin/modbusserver) and the control API lets a second operator
// acknowledge, confirm and reset alarms.
//
// # Evaluation
//
// The Set evaluates every alarm after every tick of the engine (a tick
// hook), in simulated time, on the values the servers serve (faults
// applied): the same seed and the same actions give the same alarms, at
// the same ticks, however fast the engine runs. A limit alarm keeps one
// condition per limit: high and high_high are exceeded above their limit
// (value > limit), low and low_low below it (value < limit), and an
// exceeded limit clears once the value is back inside it by the deadband
// (value <= limit − deadband above, value >= limit + deadband below).
// Each condition goes active once it has held for on_delay and inactive
// once it has been gone for off_delay, both counted in simulated time. An
// exclusive alarm's limit state is the most severe limit active
// (HighHigh, then LowLow, High, Low). A discrete alarm is active while
// the value is one of its states, an off-normal alarm while it is not its
// normal value, a quality alarm while the status is Bad (or not Good).
// Limit, discrete and off-normal alarms hold their state while the value
// is Bad: a failed sensor neither raises nor clears them.
//
// # Condition state
//
// Going active makes an alarm unacknowledged; escalating to a more
// severe limit (High to HighHigh, Low to LowLow) while active does too.
// Acknowledging a confirmable alarm makes it unconfirmed until it is
// confirmed. A latching alarm stays latched after it goes inactive until
// it is reset. An alarm is retained while it is active, latched,
// unacknowledged or unconfirmed. Every change is an Event with its own
// EventID; Acknowledge and Confirm accept the EventID of any event of the
// alarm since it last needed acknowledgement (confirmation), as OPC UA's
// Acknowledge and Confirm do.
package alarms

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// Source is what the alarms need of the engine; *twin.Engine implements
// it.
type Source interface {
	// Tags is the static tag list.
	Tags() []twin.TagInfo
	// Lookup maps "machine/tag" to a tag index.
	Lookup(id string) (int, bool)
	// Value is tag i's value with faults applied.
	Value(i int) twin.Value
	// OnTick registers a hook run after every tick (see
	// twin.Engine.OnTick).
	OnTick(func(twin.TickInfo))
}

// Options configure a Set.
type Options struct {
	// Now is the wall clock of acknowledgements, confirmations and resets
	// (default time.Now); ticks carry the engine's own.
	Now func() time.Time
	// Logger receives one line per alarm event at info level (default
	// slog.Default()).
	Logger *slog.Logger
	// LogSize is the number of events the Set keeps (default 10000).
	LogSize int
}

// Errors of Acknowledge, Confirm and Reset (wrapped, naming the alarm).
var (
	// ErrUnknownAlarm: no alarm of that name.
	ErrUnknownAlarm = errors.New("unknown alarm")
	// ErrUnknownEvent: the EventID is not one of the alarm's events.
	ErrUnknownEvent = errors.New("unknown event id")
	// ErrAlreadyAcked: the alarm (or the state the EventID names) needs
	// no acknowledgement.
	ErrAlreadyAcked = errors.New("already acknowledged")
	// ErrAlreadyConfirmed: the alarm (or the state the EventID names)
	// needs no confirmation.
	ErrAlreadyConfirmed = errors.New("already confirmed")
	// ErrNotConfirmable: the alarm is not confirmable (confirm: false).
	ErrNotConfirmable = errors.New("not confirmable (confirm: false)")
	// ErrNotLatching: the alarm does not latch (latch: false).
	ErrNotLatching = errors.New("does not latch (latch: false)")
	// ErrNotLatched: the alarm is not latched, there is nothing to reset.
	ErrNotLatched = errors.New("not latched")
	// ErrStillActive: a reset of an alarm whose condition still holds.
	ErrStillActive = errors.New("still active")
)

// Info is the static description of one alarm.
type Info struct {
	// Index of the alarm in Set.Alarms.
	Index int `json:"-"`
	// Name is the alarm's name.
	Name string `json:"name"`
	// Machine is the name of the machine of its tag.
	Machine string `json:"machine"`
	// Tag is the engine index of the watched tag.
	Tag int `json:"-"`
	// TagName is "machine/tag".
	TagName string `json:"tag"`
	// Kind is the alarm's kind.
	Kind scenarios.AlarmKind `json:"kind"`
	// Exclusive: a limit alarm with one limit state at a time.
	Exclusive bool `json:"exclusive,omitempty"`
	// Severity is 1-1000.
	Severity uint16 `json:"severity"`
	// Message is the alarm's text.
	Message string `json:"message"`
	// Levels are a limit alarm's limits.
	Levels []scenarios.AlarmLevel `json:"levels,omitempty"`
	// Deadband of a limit alarm.
	Deadband float64 `json:"deadband,omitempty"`
	// OnDelay and OffDelay are in simulated time.
	OnDelay  scenarios.Duration `json:"on_delay,omitempty"`
	OffDelay scenarios.Duration `json:"off_delay,omitempty"`
	// Confirm: confirmable; Latch: latching.
	Confirm bool `json:"confirm,omitempty"`
	Latch   bool `json:"latch,omitempty"`
	// Values are a discrete alarm's states, or an off-normal alarm's
	// normal value, as Go values of the tag's type.
	Values []any `json:"values,omitempty"`
	// Quality is a quality alarm's setting (bad, not_good).
	Quality string `json:"quality,omitempty"`
	// Discrete is the Modbus discrete-input address, -1 when unmapped.
	Discrete int `json:"discrete"`
}

// Set is the alarms of one engine. All methods are safe for concurrent
// use.
type Set struct {
	src   Source
	now   func() time.Time
	log   *slog.Logger
	run   [8]byte
	infos []Info

	mu  sync.Mutex
	st  []alarmState
	evs []Event // ring of at most max
	max int
	seq uint64 // Seq of the next event

	present []atomic.Bool
	version atomic.Uint64

	watchMu  sync.Mutex
	watchers map[*Watcher]struct{}
}

// New builds the alarms of the resolved scenario sc on src, evaluates
// them on the current values and registers their tick hook. Errors name
// the alarm (the validator reports the same problems with file:line).
func New(src Source, sc *scenarios.Scenario, opts Options) (*Set, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LogSize <= 0 {
		opts.LogSize = 10000
	}
	s := &Set{src: src, now: opts.Now, log: opts.Logger.With("component", "alarms"), max: opts.LogSize,
		watchers: map[*Watcher]struct{}{}}
	h := fnv.New64a()
	h.Write([]byte(sc.Name))
	binary.BigEndian.PutUint64(s.run[:], h.Sum64()^uint64(opts.Now().UnixNano()))
	var errs []error
	for i := range sc.Alarms {
		info, err := s.info(sc, &sc.Alarms[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("alarm %s: %w", sc.Alarms[i].Name, err))
			continue
		}
		info.Index = len(s.infos)
		s.infos = append(s.infos, info)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	s.st = make([]alarmState, len(s.infos))
	s.present = make([]atomic.Bool, len(s.infos))
	for i := range s.infos {
		s.st[i].init(&s.infos[i])
	}
	src.OnTick(s.tick)
	return s, nil
}

// info resolves one alarm of sc.
func (s *Set) info(sc *scenarios.Scenario, a *scenarios.Alarm) (Info, error) {
	i, ok := s.src.Lookup(a.Tag)
	if !ok {
		return Info{}, fmt.Errorf("unknown tag %q", a.Tag)
	}
	t := s.src.Tags()[i]
	info := Info{
		Name: a.Name, Machine: t.Machine, Tag: i, TagName: t.Machine + "/" + t.Name, Kind: a.Kind(),
		Severity: uint16(min(max(a.Severity, 1), 1000)), Message: a.Message, Deadband: a.Deadband,
		OnDelay: a.OnDelay, OffDelay: a.OffDelay, Confirm: a.Confirm, Latch: a.Latch,
		Quality: a.Quality, Discrete: -1,
	}
	if a.Severity == 0 {
		info.Severity = scenarios.DefaultAlarmSeverity
	}
	if a.Modbus != nil {
		info.Discrete = a.Modbus.Discrete
	}
	tag := scenarioTag(sc, t.Machine, t.Name)
	switch info.Kind {
	case scenarios.AlarmLimit:
		info.Exclusive = a.IsExclusive()
		info.Levels = a.Limits.Levels()
		if len(info.Levels) == 0 {
			return Info{}, errors.New("limits give no limit")
		}
	case scenarios.AlarmDiscrete, scenarios.AlarmOffNormal:
		vals := a.States
		if info.Kind == scenarios.AlarmOffNormal {
			vals = []any{a.Normal}
		}
		if tag == nil {
			return Info{}, fmt.Errorf("tag %q not in the scenario", a.Tag)
		}
		v, err := scenarios.AlarmValues(tag, vals)
		if err != nil {
			return Info{}, err
		}
		info.Values = v
	case scenarios.AlarmQuality:
		if a.Quality != scenarios.QualityBad && a.Quality != scenarios.QualityNotGood {
			return Info{}, fmt.Errorf("unknown quality %q", a.Quality)
		}
	default:
		return Info{}, errors.New("needs exactly one of limits, states, normal, quality")
	}
	if info.Message == "" {
		info.Message = defaultMessage(info)
	}
	return info, nil
}

// scenarioTag finds a resolved machine's tag.
func scenarioTag(sc *scenarios.Scenario, machine, tag string) *scenarios.Tag {
	for i := range sc.Machines {
		if sc.Machines[i].Name != machine {
			continue
		}
		for k := range sc.Machines[i].Tags {
			if sc.Machines[i].Tags[k].Name == tag {
				return &sc.Machines[i].Tags[k]
			}
		}
	}
	return nil
}

// defaultMessage is the text of an alarm that gives none.
func defaultMessage(in Info) string {
	switch in.Kind {
	case scenarios.AlarmLimit:
		return in.TagName + " out of limits"
	case scenarios.AlarmDiscrete:
		parts := make([]string, len(in.Values))
		for i, v := range in.Values {
			parts[i] = fmt.Sprint(v)
		}
		return in.TagName + " is " + strings.Join(parts, " or ")
	case scenarios.AlarmOffNormal:
		return fmt.Sprintf("%s is not %v", in.TagName, in.Values[0])
	}
	return in.TagName + " quality " + strings.ReplaceAll(in.Quality, "_", " ")
}

// Alarms returns the static alarm list; the slice is shared: do not
// modify it.
func (s *Set) Alarms() []Info { return s.infos }

// Lookup returns the index of the alarm name.
func (s *Set) Lookup(name string) (int, bool) {
	for i := range s.infos {
		if s.infos[i].Name == name {
			return i, true
		}
	}
	return 0, false
}

// State returns alarm i's current state (zero for an index out of
// range).
func (s *Set) State(i int) State {
	if i < 0 || i >= len(s.infos) {
		return State{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st[i].State.clone()
}

// Present reports whether alarm i is active or latched (its Modbus
// discrete input), without locking.
func (s *Set) Present(i int) bool {
	if i < 0 || i >= len(s.present) {
		return false
	}
	return s.present[i].Load()
}

// Version increases whenever Present changes for any alarm.
func (s *Set) Version() uint64 { return s.version.Load() }

// EventID identifies one event of one alarm: 16 bytes, the run (8), the
// alarm's index (4) and the event's number among the alarm's (4). It is
// the OPC UA EventId of the event; as JSON and text it is hexadecimal.
type EventID []byte

// MarshalText writes the id in hexadecimal.
func (id EventID) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(id)), nil }

// UnmarshalText reads a hexadecimal id.
func (id *EventID) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("event id %q: not hexadecimal", b)
	}
	*id = v
	return nil
}

// String is the id in hexadecimal.
func (id EventID) String() string { return hex.EncodeToString(id) }

func (s *Set) eventID(alarm int, seq uint32) EventID {
	id := make(EventID, 16)
	copy(id, s.run[:])
	binary.BigEndian.PutUint32(id[8:], uint32(alarm))
	binary.BigEndian.PutUint32(id[12:], seq)
	return id
}

// parseEventID returns the alarm and per-alarm number of an id of this
// run.
func (s *Set) parseEventID(id []byte) (alarm int, seq uint32, ok bool) {
	if len(id) != 16 || string(id[:8]) != string(s.run[:]) {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(id[8:])), binary.BigEndian.Uint32(id[12:]), true
}

// AlarmOf returns the index of the alarm an event id of this run belongs
// to.
func (s *Set) AlarmOf(id []byte) (int, bool) {
	a, _, ok := s.parseEventID(id)
	return a, ok && a < len(s.infos)
}
