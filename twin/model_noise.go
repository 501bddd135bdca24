package twin

import (
	"math/rand/v2"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildNoise) }

// noiseModel is mean + Gaussian noise (noise alone; beside another kind
// the engine adds it to that kind's output).
type noiseModel struct {
	k   *scenarios.Noise
	rng *rand.Rand
}

func buildNoise(b *builder, k *scenarios.Noise) (model, error) {
	return noiseModel{k, b.rng()}, nil
}

func (m noiseModel) eval(*Engine, int, float64) out {
	return computed(m.k.Mean + m.rng.NormFloat64()*m.k.StdDev)
}
