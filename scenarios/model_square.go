package scenarios

// Square alternates between Low and High; High for Duty of each Period.
type Square struct {
	Low    float64  `yaml:"low" json:"low"`
	High   float64  `yaml:"high" json:"high"`
	Period Duration `yaml:"period" json:"period"`
	// Duty is the fraction of the period spent high, 0-1. Default 0.5.
	Duty float64 `yaml:"duty,omitempty" json:"duty,omitempty"`
}

// Drives: a square drives numeric and bool tags (low is false).
func (k *Square) Drives(t DataType) bool { return t.Numeric() || t == Bool }

// Check needs a period and wants a duty within 0-1.
func (k *Square) Check(c *ModelCheck) {
	needPeriod(c, k.Period)
	if k.Duty < 0 || k.Duty > 1 {
		c.Want("duty", "", "duty must be between 0 and 1, got %v", k.Duty)
	}
}
