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
	k   *scenarios.RandomWalk
	rng *rand.Rand
	typ scenarios.DataType
	at  float64
}

func buildRandomWalk(b *builder, k *scenarios.RandomWalk) (model, error) {
	return &randomWalkModel{k: k, rng: b.rng(), typ: b.typ, at: k.Start}, nil
}

func (m *randomWalkModel) eval(_ *Engine, _ int, dt float64) out {
	w := m.k
	if dt > 0 {
		m.at += (m.rng.Float64()*2 - 1) * w.Step
	}
	if w.Max > w.Min {
		m.at = math.Min(math.Max(m.at, w.Min), w.Max)
	}
	return computed(m.at)
}

func (m *randomWalkModel) write(v tval, _ string) { m.at = v.float(m.typ) }
