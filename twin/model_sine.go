package twin

import (
	"math"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildSine) }

// sineModel is offset + amplitude*sin(2π t/period + phase).
type sineModel struct{ k *scenarios.Sine }

func buildSine(_ *builder, k *scenarios.Sine) (model, error) { return sineModel{k}, nil }

func (m sineModel) eval(e *Engine, _ int, _ float64) out {
	s := m.k
	t := e.elapsed.Seconds()
	return computed(s.Offset + s.Amplitude*math.Sin(2*math.Pi*t/s.Period.D().Seconds()+s.Phase*math.Pi/180))
}
