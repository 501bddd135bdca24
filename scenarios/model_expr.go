package scenarios

// Expr computes a value from other tags. Names refer to tags of the same
// machine, or "machine.tag" to other machines' tags; `t` is the simulated
// time in seconds. Syntax: github.com/expr-lang/expr.
type Expr struct {
	Expr string `yaml:"expr" json:"expr"`
}

// Drives: an expression drives every type (its result is converted).
func (k *Expr) Drives(t DataType) bool { return true }

// Check needs an expression; its syntax and references are checked as
// every expression's (see Exprs).
func (k *Expr) Check(c *ModelCheck) { needExpr(c, "expr", k.Expr) }

// needExpr needs a non-empty expression at field (one the file does not
// give at all is the decoder's to report).
func needExpr(c *ModelCheck, field, src string) {
	if src == "" {
		c.Need(field, "", "expression is empty")
		c.fs[len(c.fs)-1].Missing = true
	}
}

// Exprs is the expression, read in the same tick.
func (k *Expr) Exprs() []ModelExpr {
	return []ModelExpr{{Field: "expr", Src: k.Expr, SameTick: true}}
}
