package twin

import (
	"math/rand/v2"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildNoise) }

// noiseModel is mean + Gaussian noise (noise alone; beside another kind
// the engine adds it to that kind's output).
type noiseModel struct {
	mean, stddev float64
	rng          *rand.Rand
}

func buildNoise(b *builder, k *scenarios.Noise) (model, error) {
	m := newModel[noiseModel](b)
	*m = noiseModel{k.Mean, k.StdDev, b.rng()}
	return m, nil
}

func (m *noiseModel) eval(*Engine, int, float64) out {
	return computed(m.mean + m.rng.NormFloat64()*m.stddev)
}
