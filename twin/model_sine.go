package twin

import (
	"math"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildSine) }

// sineModel is offset + amplitude*sin(2π t/period + phase).
type sineModel struct {
	offset, amplitude, period, phase float64 // period in seconds, phase in degrees
}

func buildSine(b *builder, k *scenarios.Sine) (model, error) {
	m := newModel[sineModel](b)
	*m = sineModel{k.Offset, k.Amplitude, k.Period.D().Seconds(), k.Phase}
	return m, nil
}

func (m *sineModel) eval(e *Engine, _ int, _ float64) out {
	t := e.elapsed.Seconds()
	return computed(m.offset + m.amplitude*math.Sin(2*math.Pi*t/m.period+m.phase*math.Pi/180))
}
