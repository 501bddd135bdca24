package scenarios

// Counter counts up by Rate per simulated second, or by one at each event
// On, rolling over to Start at Rollover. On an integer tag it counts in
// integers, exactly over the whole range of the type (fractions of a count
// are carried from tick to tick); on a float tag it counts in float64.
type Counter struct {
	Start float64 `yaml:"start,omitempty" json:"start,omitempty"`
	// Rate is counts per simulated second.
	Rate float64 `yaml:"rate,omitempty" json:"rate,omitempty"`
	// On is an expression over other tags: the counter adds one at each
	// tick it becomes true (e.g. `phase == "fill"` counts batches), in
	// place of a rate.
	On string `yaml:"on,omitempty" json:"on,omitempty"`
	// Rollover is the value at which the counter wraps to Start; 0 means
	// the maximum of the tag's type + 1 (a float counter never wraps).
	Rollover float64 `yaml:"rollover,omitempty" json:"rollover,omitempty"`
	// When is an expression over other tags; the counter only counts while
	// it is true (e.g. `state == "Running"` for a production counter).
	When string `yaml:"when,omitempty" json:"when,omitempty"`
}

// Drives: a counter drives numeric tags.
func (k *Counter) Drives(t DataType) bool { return t.Numeric() }

// Check needs a rate >= 0 and a rollover above start, and wants a rate or
// an event, not both; on an integer tag it
// wants start and rollover to be integers of the type, held exactly.
func (k *Counter) Check(c *ModelCheck) {
	if k.Rate < 0 {
		c.Need("rate", "", "counter rate must be >= 0, got %v", k.Rate)
	}
	switch {
	case k.On != "" && k.Rate != 0:
		c.Want("on", "leave out rate", "a counter counts at a rate or on an event, not both")
	case k.On == "" && k.Rate == 0:
		c.Want("rate", "e.g. rate: 1 (per second), or on: 'state == \"Fill\"'", "a counter needs a rate or an event to count (on)")
	}
	if k.Rollover != 0 && k.Rollover <= k.Start {
		c.Need("rollover", "", "counter rollover %v must be above start %v", k.Rollover, k.Start)
	}
	c.Integer("start", "counter start", k.Start, false)
	if k.Rollover != 0 {
		c.Integer("rollover", "counter rollover", k.Rollover, true)
	}
}

// Exprs are the when condition and the on event, read in the same tick.
func (k *Counter) Exprs() []ModelExpr {
	return []ModelExpr{{Field: "when", Src: k.When, SameTick: true}, {Field: "on", Src: k.On, SameTick: true}}
}
