package twin

import (
	"math"
	"math/rand/v2"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildRandomWalk) }

// randomWalkModel moves by a uniform step each tick, clamped to [min, max]
// when max > min; a write moves it.
type randomWalkModel struct {
	step, min, max, at float64
	rng                *rand.Rand
	typ                scenarios.DataType
}

func buildRandomWalk(b *builder, k *scenarios.RandomWalk) (model, error) {
	m := newModel[randomWalkModel](b)
	*m = randomWalkModel{step: k.Step, min: k.Min, max: k.Max, at: k.Start, rng: b.rng(), typ: b.typ}
	return m, nil
}

func (m *randomWalkModel) eval(_ *Engine, _ int, dt float64) out {
	if dt > 0 {
		m.at += (m.rng.Float64()*2 - 1) * m.step
	}
	if m.max > m.min {
		m.at = math.Min(math.Max(m.at, m.min), m.max)
	}
	return computed(m.at)
}

func (m *randomWalkModel) write(v tval, _ string) { m.at = v.float(m.typ) }
