package scenarios

// RandomWalk starts at Start and moves by a uniform step in [-Step, Step]
// each tick, kept within [Min, Max].
type RandomWalk struct {
	Start float64 `yaml:"start" json:"start"`
	Step  float64 `yaml:"step" json:"step"`
	Min   float64 `yaml:"min" json:"min"`
	Max   float64 `yaml:"max" json:"max"`
}

// Drives: a random walk drives numeric tags.
func (k *RandomWalk) Drives(t DataType) bool { return t.Numeric() }

// Check wants min <= max, a step >= 0 and a start within [min, max].
func (k *RandomWalk) Check(c *ModelCheck) {
	switch {
	case k.Min > k.Max:
		c.Want("min", "", "random_walk min %v is above max %v", k.Min, k.Max)
	case k.Step < 0:
		c.Want("step", "", "random_walk step must be >= 0, got %v", k.Step)
	case k.Start < k.Min || k.Start > k.Max:
		c.Want("start", "", "random_walk start %v is outside [%v, %v]", k.Start, k.Min, k.Max)
	}
}
