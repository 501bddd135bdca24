package twin

import (
	"time"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildSquare) }

// squareModel is high for duty of each period (starting high), low for
// the rest; duty 0 is 0.5.
type squareModel struct {
	low, high, duty float64
	period          time.Duration
}

func buildSquare(b *builder, k *scenarios.Square) (model, error) {
	m := newModel[squareModel](b)
	*m = squareModel{k.Low, k.High, k.Duty, k.Period.D()}
	if m.duty <= 0 {
		m.duty = 0.5
	}
	return m, nil
}

func (m *squareModel) eval(e *Engine, _ int, _ float64) out {
	if float64(e.elapsed%m.period) < m.duty*float64(m.period) {
		return computed(m.high)
	}
	return computed(m.low)
}

func (*squareModel) discrete() {}
