package normalize

import "github.com/otwin/otwin/connectors"

// AlertUncertain is the alert of a tag whose value is Uncertain for a
// reason of the device's (e.g. Uncertain_SensorNotAccurate). The Uncertain
// statuses the normalizer itself gives (out of range, last usable value,
// no communication) have rules of their own.
const AlertUncertain AlertKind = "uncertain_quality"

// uncertainRule raises uncertain_quality on a tag while its readings are
// Uncertain. No settings.
type uncertainRule struct{}

func newUncertainRule() rule                  { return uncertainRule{} }
func (uncertainRule) kind() AlertKind         { return AlertUncertain }
func (uncertainRule) severity() AlertSeverity { return SeverityLow }

func (uncertainRule) judge(c *check, t *tagState, rd *classified) {
	switch rd.masked() {
	case connectors.UncertainEngineeringUnitsExceeded, connectors.UncertainNoCommunicationLastUsableValue,
		connectors.UncertainLastUsableValue:
		c.clear(&t.subject)
		return
	}
	if !rd.status.IsUncertain() {
		c.clear(&t.subject)
		return
	}
	if !c.active(&t.subject) {
		c.raise(&t.subject, "uncertain quality: "+rd.status.Error())
	}
}
