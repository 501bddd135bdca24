package twin

import (
	"time"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildRamp) }

// rampModel rises from min to max over the period, then jumps back
// (sawtooth) or falls over the next period (triangle).
type rampModel struct {
	min, max float64
	period   time.Duration
	triangle bool
}

func buildRamp(b *builder, k *scenarios.Ramp) (model, error) {
	m := newModel[rampModel](b)
	*m = rampModel{k.Min, k.Max, k.Period.D(), k.Shape == "triangle"}
	return m, nil
}

func (m *rampModel) eval(e *Engine, _ int, _ float64) out {
	p := m.period
	if m.triangle {
		frac := float64(e.elapsed%(2*p)) / float64(p)
		if frac > 1 {
			frac = 2 - frac
		}
		return computed(m.min + (m.max-m.min)*frac)
	}
	return computed(m.min + (m.max-m.min)*float64(e.elapsed%p)/float64(p))
}
