package scenarios

import "fmt"

// Steps is a schedule: the value of the last step whose At has passed.
type Steps struct {
	Steps []Step `yaml:"steps" json:"steps"`
	// Repeat restarts the schedule after the last step's At plus Hold.
	Repeat bool `yaml:"repeat,omitempty" json:"repeat,omitempty"`
	// Hold is how long the last step lasts before a repeat. Default: the
	// first step's At gap.
	Hold Duration `yaml:"hold,omitempty" json:"hold,omitempty"`
}

// Step is one entry of a schedule.
type Step struct {
	At    Duration `yaml:"at" json:"at"`
	Value any      `yaml:"value" json:"value"`
}

// Drives: steps drive every type.
func (k *Steps) Drives(t DataType) bool { return true }

// Check needs a step; it wants steps in time order from 0, values of the
// tag's type and a hold >= 0.
func (k *Steps) Check(c *ModelCheck) {
	if len(k.Steps) == 0 {
		c.Need("steps", "", "steps has no steps")
	}
	var last Duration
	for i, s := range k.Steps {
		sp := fmt.Sprintf("steps[%d]", i)
		if s.At < 0 {
			c.Want(sp+".at", "", "step at %s is negative", s.At)
		} else if i > 0 && s.At < last {
			c.Want(sp+".at", "", "step at %s comes before the previous step's %s", s.At, last)
		}
		last = s.At
		c.Value(sp+".value", "step value", s.Value)
	}
	if k.Hold < 0 {
		c.Want("hold", "", "hold must be >= 0, got %s", k.Hold)
	}
}
