// Package tuifake is a fake backend for tests of the dashboard: a
// deterministic in-memory plant implementing tui.Backend and
// tui.FaultControl (a small production line with alerts, endpoint health
// and faults) and a workshop class implementing tui.Trainer, both
// recording the actions asked of them. The dashboard's golden views and
// session tests run on it; it is neither the live store nor `otwin demo`
// (which runs the real twin and connectors).
package tuifake

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui"
)

// Epoch is the fixed "now" of the fake plant's data.
var Epoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// Plant is an in-memory backend. All methods are safe for concurrent use.
type Plant struct {
	// User is recorded as the acknowledging and shelving user.
	User string
	// Role is the user's role; Allowed refuses it what otwin's servers
	// refuse it (fault injection but to trainers and engineers, alert
	// actions to trainers and engineers), in the same words.
	Role tui.Role
	// Now is the clock of actions; nil means Epoch.
	Now func() time.Time

	mu     sync.Mutex
	tags   []normalize.Sample
	alerts []normalize.Alert
	hist   map[string][]normalize.AlertEvent
	health []connectors.Health
	faults []tui.Fault
	subs   map[*feed]struct{}
	// Calls records actions in order, e.g. "ack stale:x comment", for
	// tests to inspect.
	calls []string
}

// NewLine returns the small fake production line.
func NewLine() *Plant {
	p := newPlant()
	add := func(asset, tag string, kind normalize.Kind, v float64, text string, unit normalize.Unit, st connectors.StatusCode, src, addr string, age time.Duration) {
		s := normalize.Sample{
			ID: asset + "/" + tag, Asset: asset, Tag: tag, Kind: kind, Value: v, Text: text, Unit: unit,
			Status: st, Source: src, Address: addr,
			SourceTime: Epoch.Add(-age - 40*time.Millisecond), Received: Epoch.Add(-age),
			Seq: uint64(100 + len(p.tags)),
		}
		if src == "press-plc" {
			s.ServerTime = Epoch.Add(-age - 10*time.Millisecond)
		}
		switch kind {
		case normalize.Text:
			s.Raw = text
		case normalize.Bool:
			s.Raw = v != 0
		default:
			s.Raw = v * 10
		}
		if st.IsGood() {
			s.HasLastGood, s.LastGood, s.LastGoodText, s.LastGoodTime = true, v, text, s.SourceTime
		}
		p.tags = append(p.tags, s)
	}
	degC := normalize.Unit{Code: "CEL", UnitID: 4408652, Symbol: "°C"}
	bar := normalize.Unit{Code: "BAR", UnitID: 4342098, Symbol: "bar"}
	rpm := normalize.Unit{Code: "RPM", UnitID: 5394509, Symbol: "rpm"}
	nm := normalize.Unit{Code: "NU", UnitID: 20053, Symbol: "N·m"}
	mps := normalize.Unit{Code: "MTS", UnitID: 5067859, Symbol: "m/s"}
	const ns = "nsu=urn:otwin:line1;s="
	add("acme/berlin/body/line1/press1", "temperature", normalize.Number, 72.5, "", degC, connectors.Good, "press-plc", ns+"press1.temperature", 300*time.Millisecond)
	add("acme/berlin/body/line1/press1", "pressure", normalize.Number, 212.4, "", bar, connectors.UncertainEngineeringUnitsExceeded|connectors.LimitHigh, "press-plc", ns+"press1.pressure", 800*time.Millisecond)
	add("acme/berlin/body/line1/press1", "running", normalize.Bool, 1, "", normalize.Unit{}, connectors.Good, "press-plc", ns+"press1.running", 2*time.Second)
	add("acme/berlin/body/line1/press1", "recipe", normalize.Text, 0, "door-left-v4", normalize.Unit{}, connectors.Good, "press-plc", ns+"press1.recipe", 95*time.Second)
	add("acme/berlin/body/line1/press2", "temperature", normalize.Number, 0, "", degC, connectors.BadNoCommunication, "press2-mb", "holding:100:float32:CDAB@unit=2", 14*time.Second)
	add("acme/berlin/body/line1/robot1", "speed", normalize.Number, 1480, "", rpm, connectors.Good, "robot-mb", "holding:200:uint16:AB:scale=1@unit=1", 500*time.Millisecond)
	add("acme/berlin/body/line1/robot1", "torque", normalize.Number, 31.25, "", nm, connectors.Good, "robot-mb", "input:10:int16:AB:scale=0.25@unit=1", 500*time.Millisecond)
	add("acme/berlin/paint/line2/oven1", "zone1_temp", normalize.Number, 181.2, "", degC, connectors.Good, "oven-plc", "nsu=urn:otwin:paint;s=oven1.z1", 1200*time.Millisecond)
	add("acme/berlin/paint/line2/oven1", "zone2_temp", normalize.Number, 179.8, "", degC, connectors.UncertainLastUsableValue, "oven-plc", "nsu=urn:otwin:paint;s=oven1.z2", 3*time.Minute)
	add("acme/berlin/paint/line2/conveyor", "speed", normalize.Number, 0.42, "", mps, connectors.Good, "oven-plc", "nsu=urn:otwin:paint;s=conveyor.speed", 700*time.Millisecond)
	// the press2 value kept beside its bad status
	p.tags[4].HasLastGood, p.tags[4].LastGood, p.tags[4].LastGoodTime = true, 68.9, Epoch.Add(-14*time.Second)
	p.tags[4].Err = "read holding 100 on press2-mb: dial tcp 10.0.4.12:502: connect: connection refused"
	p.tags[4].Raw = nil
	p.tags[1].Err = "212.4 bar above the engineering range 0..200 bar"
	p.sortTags()

	p.alerts = []normalize.Alert{
		{ID: "comm_loss:press2-mb", Kind: normalize.AlertCommLoss, Target: "press2-mb", Severity: normalize.SeverityCritical, State: normalize.ActiveUnacked,
			Message: "no answer from 10.0.4.12:502 for 14s", FirstActive: Epoch.Add(-14 * time.Second), LastActive: Epoch.Add(-14 * time.Second), Count: 1},
		{ID: "out_of_range:acme/berlin/body/line1/press1/pressure", Kind: normalize.AlertOutOfRange, Target: "acme/berlin/body/line1/press1/pressure", Severity: normalize.SeverityHigh, State: normalize.ActiveUnacked,
			Message: "212.4 bar > high limit 200 bar", FirstActive: Epoch.Add(-5 * time.Minute), LastActive: Epoch.Add(-40 * time.Second), Count: 3},
		{ID: "stale:acme/berlin/paint/line2/oven1/zone2_temp", Kind: normalize.AlertStale, Target: "acme/berlin/paint/line2/oven1/zone2_temp", Severity: normalize.SeverityMedium, State: normalize.ActiveAcked,
			Message: "no update for 3m0s (limit 10s)", FirstActive: Epoch.Add(-3 * time.Minute), LastActive: Epoch.Add(-3 * time.Minute), Count: 1,
			AckedBy: "maria", AckedAt: Epoch.Add(-2 * time.Minute), Comment: "oven gateway restart planned"},
		{ID: "frozen:acme/berlin/body/line1/robot1/torque", Kind: normalize.AlertFrozen, Target: "acme/berlin/body/line1/robot1/torque", Severity: normalize.SeverityLow, State: normalize.RTNUnacked,
			Message: "value unchanged for 60s", FirstActive: Epoch.Add(-20 * time.Minute), LastActive: Epoch.Add(-20 * time.Minute), Cleared: Epoch.Add(-18 * time.Minute), Count: 2},
		{ID: "spike:acme/berlin/paint/line2/conveyor/speed", Kind: normalize.AlertSpike, Target: "acme/berlin/paint/line2/conveyor/speed", Severity: normalize.SeverityMedium, State: normalize.ActiveUnacked,
			Message: "rate of change 2.1 m/s² > 0.5", FirstActive: Epoch.Add(-65 * time.Minute), LastActive: Epoch.Add(-65 * time.Minute), Count: 1,
			ShelvedUntil: Epoch.Add(25 * time.Minute), ShelvedBy: "tom", ShelveReason: "belt test run"},
	}
	for _, a := range p.alerts {
		p.hist[a.ID] = append(p.hist[a.ID], normalize.AlertEvent{At: a.FirstActive, AlertID: a.ID, What: "raised", State: normalize.ActiveUnacked})
		if a.AckedBy != "" {
			p.hist[a.ID] = append(p.hist[a.ID], normalize.AlertEvent{At: a.AckedAt, AlertID: a.ID, What: "acked", State: normalize.ActiveAcked, User: a.AckedBy, Comment: a.Comment})
		}
		if !a.Cleared.IsZero() {
			p.hist[a.ID] = append(p.hist[a.ID], normalize.AlertEvent{At: a.Cleared, AlertID: a.ID, What: "cleared", State: normalize.RTNUnacked})
		}
	}
	p.health = []connectors.Health{
		{Source: "press-plc", Protocol: "opcua", Endpoint: "opc.tcp://10.0.4.10:4840", State: connectors.Connected, Since: Epoch.Add(-2 * time.Hour),
			Latency: 3200 * time.Microsecond, Readings: 184220, Errors: 2, Reconnects: 1},
		{Source: "press2-mb", Protocol: "modbus", Endpoint: "10.0.4.12:502", State: connectors.Down, Since: Epoch.Add(-14 * time.Second),
			LastError: errors.New("dial tcp 10.0.4.12:502: connect: connection refused"), Readings: 5120, Errors: 17, Reconnects: 4},
		{Source: "robot-mb", Protocol: "modbus", Endpoint: "10.0.4.20:502", State: connectors.Connected, Since: Epoch.Add(-3 * time.Hour),
			Latency: 1800 * time.Microsecond, Readings: 99004},
		{Source: "oven-plc", Protocol: "opcua", Endpoint: "opc.tcp://10.0.6.3:4840", State: connectors.Connecting, Since: Epoch.Add(-9 * time.Second),
			LastError: errors.New("secure channel closed: EOF"), Readings: 40211, Errors: 3, Reconnects: 2, SequenceGaps: 5},
	}
	p.faults = []tui.Fault{
		{Name: "press2-unplug", Kind: "comm_loss", Target: "press2-mb", Protocol: "modbus", Active: true, Since: Epoch.Add(-14 * time.Second)},
		{Name: "press1-overpressure", Kind: "drift", Target: "acme/berlin/body/line1/press1/pressure", Protocol: "opcua+modbus", Active: true, Since: Epoch.Add(-5 * time.Minute)},
		{Name: "robot1-torque-stuck", Kind: "stuck", Target: "acme/berlin/body/line1/robot1/torque", Protocol: "modbus"},
		{Name: "oven1-clock-skew", Kind: "clock_skew", Target: "oven-plc", Protocol: "opcua"},
	}
	return p
}

func newPlant() *Plant {
	return &Plant{hist: map[string][]normalize.AlertEvent{}, subs: map[*feed]struct{}{}}
}

func (p *Plant) sortTags() {
	sort.Slice(p.tags, func(i, j int) bool { return p.tags[i].ID < p.tags[j].ID })
}

func (p *Plant) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return Epoch
}

// Calls returns the actions taken so far ("ack ID comment", "shelve ID
// reason 15m0s false", "inject NAME", "clear NAME").
func (p *Plant) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// Snapshot returns every tag, sorted by ID.
func (p *Plant) Snapshot() []normalize.Sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]normalize.Sample(nil), p.tags...)
}

// Alerts returns the alerts.
func (p *Plant) Alerts() []normalize.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]normalize.Alert(nil), p.alerts...)
}

// AlertHistory returns the transitions of alert id, oldest first.
func (p *Plant) AlertHistory(id string) []normalize.AlertEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]normalize.AlertEvent(nil), p.hist[id]...)
}

// History appends a deterministic wave per tag, ending at its value.
func (p *Plant) History(id string, dst []float64) []float64 {
	const n = 90
	h := fnv.New32a()
	h.Write([]byte(id))
	seed := float64(h.Sum32()%1000) / 1000
	period := 8 + 20*seed
	for i := 0; i < n; i++ {
		x := float64(i)
		dst = append(dst, 50+30*math.Sin(x/period*2*math.Pi+seed*6)+8*math.Sin(x/3.1+seed))
	}
	return dst
}

// Health returns the endpoints' health.
func (p *Plant) Health() []connectors.Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]connectors.Health(nil), p.health...)
}

// Ack acknowledges alert id as User.
func (p *Plant) Ack(id, comment string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fmt.Sprintf("ack %s %s", id, comment))
	if err := p.allowedLocked(tui.PermAck); err != nil {
		return err
	}
	for i := range p.alerts {
		a := &p.alerts[i]
		if a.ID != id {
			continue
		}
		switch a.State {
		case normalize.ActiveUnacked:
			a.State = normalize.ActiveAcked
		case normalize.RTNUnacked:
			a.State = normalize.Normal
		default:
			return errors.New("already acknowledged")
		}
		a.AckedBy, a.AckedAt, a.Comment = p.User, p.now(), comment
		p.hist[id] = append(p.hist[id], normalize.AlertEvent{At: p.now(), AlertID: id, What: "acked", State: a.State, User: p.User, Comment: comment})
		p.publishLocked(tui.Update{Alerts: []normalize.Alert{*a}})
		return nil
	}
	return fmt.Errorf("no alert %s", id)
}

// Shelve shelves alert id as User.
func (p *Plant) Shelve(id, reason string, d time.Duration, oneShot bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fmt.Sprintf("shelve %s %s %s %t", id, reason, d, oneShot))
	if err := p.allowedLocked(tui.PermShelve); err != nil {
		return err
	}
	for i := range p.alerts {
		a := &p.alerts[i]
		if a.ID != id {
			continue
		}
		a.ShelvedOneShot, a.ShelvedUntil = oneShot, time.Time{}
		if !oneShot {
			a.ShelvedUntil = p.now().Add(d)
		}
		a.ShelvedBy, a.ShelveReason = p.User, reason
		p.hist[id] = append(p.hist[id], normalize.AlertEvent{At: p.now(), AlertID: id, What: "shelved", State: a.State, User: p.User, Comment: reason})
		p.publishLocked(tui.Update{Alerts: []normalize.Alert{*a}})
		return nil
	}
	return fmt.Errorf("no alert %s", id)
}

// Comment adds a note to alert id's history as User.
func (p *Plant) Comment(id, text string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fmt.Sprintf("comment %s %s", id, text))
	if err := p.allowedLocked(tui.PermComment); err != nil {
		return err
	}
	for i := range p.alerts {
		a := &p.alerts[i]
		if a.ID != id {
			continue
		}
		p.hist[id] = append(p.hist[id], normalize.AlertEvent{At: p.now(), AlertID: id, What: "commented", State: a.State, User: p.User, Comment: text})
		p.publishLocked(tui.Update{Alerts: []normalize.Alert{*a}})
		return nil
	}
	return fmt.Errorf("no alert %s", id)
}

// Allowed refuses the alert actions to trainers and engineers, and
// faults to the other roles: "refused: <role>s cannot <permission>".
func (p *Plant) Allowed(perm tui.Permission) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.allowedLocked(perm)
}

func (p *Plant) allowedLocked(perm tui.Permission) error {
	faults := p.Role == tui.RoleTrainer || p.Role == tui.RoleEngineer
	if (perm == tui.PermFaults) != faults {
		return fmt.Errorf("refused: %ss cannot %s", p.Role, perm)
	}
	return nil
}

// Faults lists the faults.
func (p *Plant) Faults() ([]tui.Fault, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]tui.Fault(nil), p.faults...), nil
}

// Inject activates fault name; operators are refused.
func (p *Plant) Inject(name string) error { return p.setFault("inject", name, true) }

// Clear deactivates fault name; operators are refused.
func (p *Plant) Clear(name string) error { return p.setFault("clear", name, false) }

func (p *Plant) setFault(verb, name string, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, verb+" "+name)
	if err := p.allowedLocked(tui.PermFaults); err != nil {
		return err
	}
	for i := range p.faults {
		if p.faults[i].Name == name {
			p.faults[i].Active, p.faults[i].Since = on, p.now()
			return nil
		}
	}
	return fmt.Errorf("no fault %q", name)
}

// Publish applies u to the plant (samples, health, alerts upserted by
// id) and sends it to every subscriber
// without blocking; a subscriber whose buffer is full loses it (counted).
func (p *Plant) Publish(u tui.Update) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range u.Samples {
		i := sort.Search(len(p.tags), func(i int) bool { return p.tags[i].ID >= s.ID })
		if i < len(p.tags) && p.tags[i].ID == s.ID {
			p.tags[i] = s
		} else {
			p.tags = append(p.tags, s)
			p.sortTags()
		}
	}
	for _, h := range u.Health {
		for i := range p.health {
			if p.health[i].Source == h.Source {
				p.health[i] = h
			}
		}
	}
	for _, a := range u.Alerts {
		i := slices.IndexFunc(p.alerts, func(x normalize.Alert) bool { return x.ID == a.ID })
		if i < 0 {
			p.alerts = append(p.alerts, a)
			p.hist[a.ID] = append(p.hist[a.ID], normalize.AlertEvent{At: a.LastActive, AlertID: a.ID, What: "raised", State: a.State, Comment: a.Message})
		} else {
			p.alerts[i] = a
		}
	}
	p.publishLocked(u)
}

func (p *Plant) publishLocked(u tui.Update) {
	for f := range p.subs {
		select {
		case f.ch <- u:
		default:
			f.dropped++
		}
	}
}

// Subscribe returns a feed buffered for 16 updates.
func (p *Plant) Subscribe() tui.Feed {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &feed{p: p, ch: make(chan tui.Update, 16)}
	p.subs[f] = struct{}{}
	return f
}

// Subscribers counts open feeds.
func (p *Plant) Subscribers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

type feed struct {
	p       *Plant
	ch      chan tui.Update
	dropped uint64 // guarded by p.mu
}

func (f *feed) C() <-chan tui.Update { return f.ch }

func (f *feed) Close() {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	if _, ok := f.p.subs[f]; ok {
		delete(f.p.subs, f)
		close(f.ch)
	}
}

func (f *feed) Dropped() uint64 {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	return f.dropped
}

// Tick advances the plant by one step at t: every numeric tag moves along
// its wave and the update is published, as live data would.
func (p *Plant) Tick(step int, t time.Time) {
	p.mu.Lock()
	var changed []normalize.Sample
	for i := range p.tags {
		s := p.tags[i]
		if s.Kind != normalize.Number || !s.Status.IsGood() {
			continue
		}
		s.Value = math.Round((s.Value+math.Sin(float64(step+i)/5)*s.Value*0.01)*100) / 100
		s.Raw = s.Value * 10
		s.SourceTime, s.Received = t.Add(-20*time.Millisecond), t
		s.Seq++
		changed = append(changed, s)
	}
	var health []connectors.Health
	for _, h := range p.health {
		if h.State == connectors.Connected {
			h.Readings += uint64(5 + step%3)
			health = append(health, h)
		}
	}
	p.mu.Unlock()
	p.Publish(tui.Update{Samples: changed, Health: health})
}
