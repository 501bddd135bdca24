package scenarios

// Counter counts up by Rate per simulated second, rolling over to Start
// at Rollover. On an integer tag it counts in integers, exactly over the
// whole range of the type (fractions of a count are carried from tick to
// tick); on a float tag it counts in float64.
type Counter struct {
	Start float64 `yaml:"start,omitempty" json:"start,omitempty"`
	// Rate is counts per simulated second.
	Rate float64 `yaml:"rate" json:"rate"`
	// Rollover is the value at which the counter wraps to Start; 0 means
	// the maximum of the tag's type + 1 (a float counter never wraps).
	Rollover float64 `yaml:"rollover,omitempty" json:"rollover,omitempty"`
	// When is an expression over other tags; the counter only counts while
	// it is true (e.g. `state == "Running"` for a production counter).
	When string `yaml:"when,omitempty" json:"when,omitempty"`
}

// Drives: a counter drives numeric tags.
func (k *Counter) Drives(t DataType) bool { return t.Numeric() }

// Check needs a rate >= 0 and a rollover above start; on an integer tag it
// wants start and rollover to be integers of the type, held exactly.
func (k *Counter) Check(c *ModelCheck) {
	if k.Rate < 0 {
		c.Need("rate", "", "counter rate must be >= 0, got %v", k.Rate)
	}
	if k.Rollover != 0 && k.Rollover <= k.Start {
		c.Need("rollover", "", "counter rollover %v must be above start %v", k.Rollover, k.Start)
	}
	c.Integer("start", "counter start", k.Start, false)
	if k.Rollover != 0 {
		c.Integer("rollover", "counter rollover", k.Rollover, true)
	}
}

// Exprs is the when condition, read in the same tick.
func (k *Counter) Exprs() []ModelExpr {
	return []ModelExpr{{Field: "when", Src: k.When, SameTick: true}}
}
