package twin

import (
	"fmt"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildConstant) }

// constantModel holds its value; a write replaces it for good.
type constantModel struct {
	v tval
	s string
}

func buildConstant(b *builder, k *scenarios.Constant) (model, error) {
	v, s, ok := lenient(b.typ, k.Value)
	if !ok {
		return nil, fmt.Errorf("%v is not a %s", k.Value, b.typ)
	}
	m := newModel[constantModel](b)
	*m = constantModel{v, s}
	return m, nil
}

func (m *constantModel) eval(*Engine, int, float64) out { return exactly(m.v, m.s) }

func (m *constantModel) write(v tval, s string) { m.v, m.s = v, s }
