package twin

import (
	"github.com/expr-lang/expr/vm"

	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildExpr) }

// exprModel is its expression's result, converted to the tag's type; a
// failing expression keeps the previous value.
type exprModel struct {
	prog *vm.Program
	typ  scenarios.DataType
}

func buildExpr(b *builder, _ *scenarios.Expr) (model, error) {
	m := newModel[exprModel](b)
	*m = exprModel{b.prog("expr"), b.typ}
	return m, nil
}

func (m *exprModel) eval(e *Engine, i int, _ float64) out {
	if v, ok := e.eval(i, m.prog); ok {
		if n, s, ok := lenient(m.typ, v); ok {
			return exactly(n, s)
		}
	}
	return out{keep: true}
}

func (*exprModel) discrete() {}
