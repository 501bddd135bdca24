package twin

import "github.com/otwin/otwin/scenarios"

func init() { registerModel(buildRamp) }

// rampModel rises from min to max over the period, then jumps back
// (sawtooth) or falls over the next period (triangle).
type rampModel struct{ k *scenarios.Ramp }

func buildRamp(_ *builder, k *scenarios.Ramp) (model, error) { return rampModel{k}, nil }

func (m rampModel) eval(e *Engine, _ int, _ float64) out {
	r := m.k
	p := r.Period.D()
	if r.Shape == "triangle" {
		frac := float64(e.elapsed%(2*p)) / float64(p)
		if frac > 1 {
			frac = 2 - frac
		}
		return computed(r.Min + (r.Max-r.Min)*frac)
	}
	return computed(r.Min + (r.Max-r.Min)*float64(e.elapsed%p)/float64(p))
}
