package twin

import "github.com/otwin/otwin/scenarios"

func init() { registerModel(buildSquare) }

// squareModel is high for duty of each period (starting high), low for
// the rest.
type squareModel struct{ k *scenarios.Square }

func buildSquare(_ *builder, k *scenarios.Square) (model, error) { return squareModel{k}, nil }

func (m squareModel) eval(e *Engine, _ int, _ float64) out {
	s := m.k
	duty := s.Duty
	if duty <= 0 {
		duty = 0.5
	}
	p := s.Period.D()
	if float64(e.elapsed%p) < duty*float64(p) {
		return computed(s.High)
	}
	return computed(s.Low)
}

func (squareModel) discrete() {}
