package scenarios

// Lag follows Input (an expression) with time constant Tau:
// dy/dt = (input - y) / tau.
type Lag struct {
	Input   string   `yaml:"input" json:"input"`
	Tau     Duration `yaml:"tau" json:"tau"`
	Initial float64  `yaml:"initial,omitempty" json:"initial,omitempty"`
}

// Drives: a lag drives numeric tags.
func (k *Lag) Drives(t DataType) bool { return t.Numeric() }

// Check needs an input and tau >= 0 and wants tau > 0 (with tau 0 the twin follows the
// input of the previous tick).
func (k *Lag) Check(c *ModelCheck) {
	needExpr(c, "input", k.Input)
	switch {
	case k.Tau < 0:
		c.Need("tau", "e.g. tau: 30s", "lag tau must be > 0, got %s", k.Tau)
	case k.Tau == 0:
		c.Want("tau", "e.g. tau: 30s", "lag tau must be > 0, got %s", k.Tau)
	}
}

// Exprs is the input, read from the previous tick.
func (k *Lag) Exprs() []ModelExpr {
	return []ModelExpr{{Field: "input", Src: k.Input}}
}
