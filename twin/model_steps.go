package twin

import (
	"fmt"
	"sort"
	"time"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildSteps) }

// stepsModel shows the value of the last step whose time has passed (the
// first step's before it), repeating its cycle when asked.
type stepsModel struct {
	steps  []step
	repeat bool
	cycle  time.Duration
}

type step struct {
	at time.Duration
	v  tval
	s  string
}

func buildSteps(b *builder, k *scenarios.Steps) (model, error) {
	m := newModel[stepsModel](b)
	m.repeat = k.Repeat
	for n, s := range k.Steps {
		v, str, ok := lenient(b.typ, s.Value)
		if !ok {
			return nil, fmt.Errorf("steps[%d]: %v is not a %s", n, s.Value, b.typ)
		}
		m.steps = append(m.steps, step{at: s.At.D(), v: v, s: str})
	}
	sort.SliceStable(m.steps, func(a, c int) bool { return m.steps[a].at < m.steps[c].at })
	hold := k.Hold.D()
	if hold <= 0 {
		switch {
		case len(m.steps) > 1:
			hold = m.steps[1].at - m.steps[0].at
		case m.steps[0].at > 0:
			hold = m.steps[0].at
		}
	}
	if hold <= 0 {
		hold = b.e.tick
	}
	m.cycle = m.steps[len(m.steps)-1].at + hold
	return m, nil
}

func (m *stepsModel) eval(e *Engine, _ int, _ float64) out {
	at := e.elapsed
	if m.repeat {
		at %= m.cycle
	}
	k := 0
	for k+1 < len(m.steps) && m.steps[k+1].at <= at {
		k++
	}
	return exactly(m.steps[k].v, m.steps[k].s)
}

func (*stepsModel) discrete() {}
