package scenarios

// Integrate accumulates Rate (an expression, units per simulated second)
// from Initial, kept within [Min, Max] when they are set.
type Integrate struct {
	Rate    string   `yaml:"rate" json:"rate"`
	Initial float64  `yaml:"initial,omitempty" json:"initial,omitempty"`
	Min     *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max     *float64 `yaml:"max,omitempty" json:"max,omitempty"`
}

// Drives: integrate drives numeric tags.
func (k *Integrate) Drives(t DataType) bool { return t.Numeric() }

// Check needs a rate and wants min <= max.
func (k *Integrate) Check(c *ModelCheck) {
	needExpr(c, "rate", k.Rate)
	if k.Min != nil && k.Max != nil && *k.Min > *k.Max {
		c.Want("min", "", "integrate min %v is above max %v", *k.Min, *k.Max)
	}
}

// Exprs is the rate, read from the previous tick.
func (k *Integrate) Exprs() []ModelExpr {
	return []ModelExpr{{Field: "rate", Src: k.Rate}}
}
