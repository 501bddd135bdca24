package normalize

// AlertOutOfRange is the alert of a tag whose value read is outside its
// engineering range (configured, or the server's EURange).
const AlertOutOfRange AlertKind = "out_of_range"

// outOfRangeRule raises out_of_range while a tag's values are outside its
// range; the message names the value read, also when Clamp shows the
// limit instead. It clears at the next measured value inside. Its setting
// is the range itself.
type outOfRangeRule struct{}

func newOutOfRangeRule() rule                  { return outOfRangeRule{} }
func (outOfRangeRule) kind() AlertKind         { return AlertOutOfRange }
func (outOfRangeRule) severity() AlertSeverity { return SeverityHigh }

func (outOfRangeRule) judge(c *check, t *tagState, rd *classified) {
	switch {
	case (rd.low || rd.high) && !c.active(&t.subject):
		if rd.low {
			c.raise(&t.subject, "value "+num(rd.read)+" below low limit "+num(t.rng.Low))
		} else {
			c.raise(&t.subject, "value "+num(rd.read)+" above high limit "+num(t.rng.High))
		}
	case !rd.low && !rd.high && rd.measured():
		c.clear(&t.subject)
	}
}
