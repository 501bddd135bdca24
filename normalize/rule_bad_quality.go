package normalize

// AlertBadQuality is the alert of a tag whose value is Bad for a reason
// of its own (a sensor failure, a failed request, its device not
// answering behind a working endpoint). A lost endpoint raises comm_loss
// instead; a value that cannot be decoded raises decode_error.
const AlertBadQuality AlertKind = "bad_quality"

// badQualityRule raises bad_quality on a tag while its readings are Bad.
// No settings.
type badQualityRule struct{}

func newBadQualityRule() rule                  { return badQualityRule{} }
func (badQualityRule) kind() AlertKind         { return AlertBadQuality }
func (badQualityRule) severity() AlertSeverity { return SeverityHigh }

func (badQualityRule) judge(c *check, t *tagState, rd *classified) {
	behind := rd.behind()
	if !(rd.status.IsBad() && !isDecodeStatus(rd.status) || behind) {
		c.clear(&t.subject)
		return
	}
	if c.active(&t.subject) {
		return
	}
	why := rd.errText
	if why == "" {
		why = rd.status.Error()
	}
	if behind {
		c.raise(&t.subject, "no communication behind "+t.src.id+": "+why)
	} else {
		c.raise(&t.subject, "bad quality: "+why)
	}
}
