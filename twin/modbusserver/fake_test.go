package modbusserver

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// standIn is a minimal engine for unit tests of pure logic: constant and
// sine models, writes, and the transport faults.
type standIn struct {
	tags     []twin.TagInfo
	models   []*scenarios.Model
	machines []twin.MachineInfo

	mu     sync.Mutex
	vals   []any
	step   int
	tick   time.Duration
	faults map[string]scenarios.Fault
	epochs map[string]uint64
}

func newStandIn(sc *scenarios.Scenario) *standIn {
	s := &standIn{tick: time.Duration(sc.Tick), faults: map[string]scenarios.Fault{}, epochs: map[string]uint64{}}
	for _, m := range sc.Machines {
		mi := twin.MachineInfo{Name: m.Name, Modbus: m.Modbus}
		for _, t := range m.Tags {
			i := len(s.tags)
			s.tags = append(s.tags, twin.TagInfo{Index: i, Machine: m.Name, Name: t.Name, Type: t.Type, Writable: t.Writable, Modbus: t.Modbus})
			s.models = append(s.models, t.Model)
			s.vals = append(s.vals, nil)
			mi.Tags = append(mi.Tags, i)
		}
		s.machines = append(s.machines, mi)
	}
	s.Step(0)
	return s
}

func convert(t scenarios.DataType, f float64) any {
	switch t {
	case scenarios.Bool:
		return f != 0
	case scenarios.Int16:
		return int16(f)
	case scenarios.Int32:
		return int32(f)
	case scenarios.Int64:
		return int64(f)
	case scenarios.Uint16:
		return uint16(f)
	case scenarios.Uint32:
		return uint32(f)
	case scenarios.Uint64:
		return uint64(f)
	case scenarios.Float32:
		return float32(f)
	}
	return f
}

func (s *standIn) Step(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.step += n
	tsec := (time.Duration(s.step) * s.tick).Seconds()
	for i, m := range s.models {
		if m == nil || (s.vals[i] != nil && m.Constant != nil) {
			continue
		}
		typ := s.tags[i].Type
		switch {
		case m.Constant != nil:
			switch v := m.Constant.Value.(type) {
			case bool:
				s.vals[i] = v
			case int64:
				switch typ {
				case scenarios.Int64:
					s.vals[i] = v
				case scenarios.Uint64:
					s.vals[i] = uint64(v)
				default:
					s.vals[i] = convert(typ, float64(v))
				}
			case uint64:
				s.vals[i] = v
			case float64:
				s.vals[i] = convert(typ, v)
			}
		case m.Sine != nil:
			p := time.Duration(m.Sine.Period).Seconds()
			s.vals[i] = convert(typ, m.Sine.Offset+m.Sine.Amplitude*math.Sin(2*math.Pi*tsec/p))
		}
	}
}

func (s *standIn) Tags() []twin.TagInfo         { return s.tags }
func (s *standIn) Machines() []twin.MachineInfo { return s.machines }

func (s *standIn) Value(i int) twin.Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	return twin.Value{V: s.vals[i]}
}

func (s *standIn) Write(i int, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tags[i].Writable {
		return fmt.Errorf("tag %s is not writable", s.tags[i].Name)
	}
	s.vals[i] = v
	return nil
}

func (s *standIn) Link(machine, protocol string) twin.Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := twin.Link{Epoch: s.epochs[machine]}
	for _, f := range s.faults {
		if f.Target != machine || (f.Protocol != "" && f.Protocol != protocol) {
			continue
		}
		switch f.Kind {
		case scenarios.CommLoss:
			l.Down = true
		case scenarios.Latency:
			l.Latency = time.Duration(f.Latency)
		case scenarios.ModbusException:
			l.Exception = byte(f.Exception)
		}
	}
	return l
}

func (s *standIn) Inject(f scenarios.Fault) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Kind == scenarios.Disconnect {
		s.epochs[f.Target]++
		return nil
	}
	s.faults[f.Name] = f
	return nil
}

func (s *standIn) Clear(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, name)
	return nil
}
