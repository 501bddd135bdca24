package scenarios

// Constant is a fixed value.
type Constant struct {
	// Value of the tag, of the tag's type.
	Value any `yaml:"value" json:"value"`
}

// Drives: a constant drives every type.
func (k *Constant) Drives(t DataType) bool { return true }

// Check checks that the value is one of the tag's type.
func (k *Constant) Check(c *ModelCheck) { c.Value("value", "constant value", k.Value) }
