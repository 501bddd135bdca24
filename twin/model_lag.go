package twin

import (
	"math"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildLag) }

// lagModel follows its input (read from the previous tick) with the exact
// first-order step y += (input - y)(1 - e^(-dt/tau)); tau 0 follows the
// input itself. A write sets the output.
type lagModel struct {
	tau float64 // seconds
	typ scenarios.DataType
	y   float64
}

func buildLag(b *builder, k *scenarios.Lag) (model, error) {
	m := newModel[lagModel](b)
	*m = lagModel{tau: k.Tau.D().Seconds(), typ: b.typ, y: k.Initial}
	return m, nil
}

func (m *lagModel) eval(e *Engine, i int, dt float64) out {
	in := e.rt[i].input
	if m.tau <= 0 {
		m.y = in
	} else if dt > 0 {
		m.y += (in - m.y) * (1 - math.Exp(-dt/m.tau))
	}
	return computed(m.y)
}

func (m *lagModel) write(v tval, _ string) { m.y = v.float(m.typ) }
