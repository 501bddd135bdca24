package scenarios

// Noise is Gaussian noise with the given mean and standard deviation.
// Alone it is the model (mean + noise); beside another kind it is added
// to that kind's value.
type Noise struct {
	Mean   float64 `yaml:"mean,omitempty" json:"mean,omitempty"`
	StdDev float64 `yaml:"stddev" json:"stddev"`
}

// Drives: noise drives numeric tags.
func (k *Noise) Drives(t DataType) bool { return t.Numeric() }

// Check wants a standard deviation >= 0.
func (k *Noise) Check(c *ModelCheck) {
	if k.StdDev < 0 {
		c.Want("stddev", "", "noise stddev must be >= 0, got %v", k.StdDev)
	}
}
