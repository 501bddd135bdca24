package twin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildStateMachine) }

// stateMachineModel stays in a state for a random dwell time, then moves
// to a successor drawn by weight (in name order); its output is the
// state's name for string tags and its code for numeric tags.
type stateMachineModel struct {
	states []smState
	byName map[string]int
	cur    int
	until  time.Duration
	rng    *rand.Rand
}

type smState struct {
	name     string
	code     tval
	min, max time.Duration
	next     []int
	cum      []float64 // cumulative normalized weights
}

func buildStateMachine(b *builder, k *scenarios.StateMachine) (model, error) {
	sm := newModel[stateMachineModel](b)
	*sm = stateMachineModel{byName: map[string]int{}, rng: b.rng()}
	for n, s := range k.States {
		sm.states = append(sm.states, smState{name: s.Name, code: fromInt(b.typ, k.StateCode(n)), min: s.Dwell.Min.D(), max: s.Dwell.Max.D()})
		sm.byName[s.Name] = n
	}
	for n, s := range k.States {
		names := make([]string, 0, len(s.Next))
		for name := range s.Next {
			names = append(names, name)
		}
		slices.Sort(names) // map order must not leak into the series
		total := 0.0
		st := &sm.states[n]
		for _, name := range names {
			j, ok := sm.byName[name]
			if !ok {
				return nil, fmt.Errorf("state %s: unknown next state %q", s.Name, name)
			}
			w := s.Next[name]
			if w <= 0 {
				continue
			}
			total += w
			st.next = append(st.next, j)
			st.cum = append(st.cum, total)
		}
		for c := range st.cum {
			st.cum[c] /= total
		}
	}
	if k.Initial != "" {
		j, ok := sm.byName[k.Initial]
		if !ok {
			return nil, fmt.Errorf("unknown initial state %q", k.Initial)
		}
		sm.cur = j
	}
	sm.until = sm.dwell(b.e.tick, 0)
	return sm, nil
}

// dwell draws the time the machine leaves its current state, entered at
// now; at least one tick.
func (sm *stateMachineModel) dwell(tick, now time.Duration) time.Duration {
	s := &sm.states[sm.cur]
	d := s.min
	if s.max > s.min {
		d += time.Duration(sm.rng.Float64() * float64(s.max-s.min))
	}
	return now + max(d, tick)
}

// enter moves the machine into state j at the engine's current time.
func (sm *stateMachineModel) enter(e *Engine, j int) {
	sm.cur = j
	sm.until = sm.dwell(e.tick, e.elapsed)
}

func (sm *stateMachineModel) eval(e *Engine, _ int, _ float64) out {
	if st := &sm.states[sm.cur]; e.elapsed >= sm.until && len(st.next) > 0 {
		u := sm.rng.Float64()
		j := st.next[len(st.next)-1]
		for c, w := range st.cum {
			if u < w {
				j = st.next[c]
				break
			}
		}
		sm.enter(e, j)
	}
	st := &sm.states[sm.cur]
	return exactly(st.code, st.name)
}

func (*stateMachineModel) discrete() {}
