package scenarios

// Sine is offset + amplitude*sin(2π t/period + phase).
type Sine struct {
	Offset    float64  `yaml:"offset,omitempty" json:"offset,omitempty"`
	Amplitude float64  `yaml:"amplitude" json:"amplitude"`
	Period    Duration `yaml:"period" json:"period"`
	// Phase in degrees.
	Phase float64 `yaml:"phase,omitempty" json:"phase,omitempty"`
}

// Drives: a sine drives numeric tags.
func (k *Sine) Drives(t DataType) bool { return t.Numeric() }

// Check needs a period.
func (k *Sine) Check(c *ModelCheck) { needPeriod(c, k.Period) }

// needPeriod needs a period > 0 (the models divide by it).
func needPeriod(c *ModelCheck, d Duration) {
	if d <= 0 {
		c.Need("period", "e.g. period: 60s", "period must be > 0, got %s", d)
	}
}
