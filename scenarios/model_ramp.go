package scenarios

import (
	"slices"
	"strings"
)

// Ramp rises from Min to Max over Period.
type Ramp struct {
	Min    float64  `yaml:"min" json:"min"`
	Max    float64  `yaml:"max" json:"max"`
	Period Duration `yaml:"period" json:"period"`
	// Shape is sawtooth (default: rise, then jump back) or triangle (rise,
	// then fall).
	Shape string `yaml:"shape,omitempty" json:"shape,omitempty"`
}

// RampShapes are the shapes of a ramp; the first is the default.
var RampShapes = []string{"sawtooth", "triangle"}

// Drives: a ramp drives numeric tags.
func (k *Ramp) Drives(t DataType) bool { return t.Numeric() }

// Check needs a period, and wants min <= max and a known shape.
func (k *Ramp) Check(c *ModelCheck) {
	needPeriod(c, k.Period)
	if k.Min > k.Max {
		c.Want("min", "", "ramp min %v is above max %v", k.Min, k.Max)
	}
	if k.Shape != "" && !slices.Contains(RampShapes, k.Shape) {
		c.Want("shape", hintOr(didYouMean(k.Shape, RampShapes), "want "+strings.Join(RampShapes, " or ")), "unknown ramp shape %q", k.Shape)
	}
}
