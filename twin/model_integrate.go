package twin

import "github.com/otwin/otwin/scenarios"

func init() { registerModel(buildIntegrate) }

// integrateModel accumulates its rate (read from the previous tick) over
// time within [min, max]; a write sets the level.
type integrateModel struct {
	k   *scenarios.Integrate
	typ scenarios.DataType
	acc float64
}

func buildIntegrate(b *builder, k *scenarios.Integrate) (model, error) {
	m := newModel[integrateModel](b)
	*m = integrateModel{k: k, typ: b.typ, acc: k.Initial}
	return m, nil
}

func (m *integrateModel) eval(e *Engine, i int, dt float64) out {
	g := m.k
	m.acc += e.rt[i].input * dt
	if g.Min != nil && m.acc < *g.Min {
		m.acc = *g.Min
	}
	if g.Max != nil && m.acc > *g.Max {
		m.acc = *g.Max
	}
	return computed(m.acc)
}

func (m *integrateModel) write(v tval, _ string) { m.acc = v.float(m.typ) }
