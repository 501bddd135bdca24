package normalize

// AlertDecode is the alert of a tag whose value cannot be decoded or does
// not fit its point (Bad_DecodingError, Bad_TypeMismatch,
// Bad_ConfigurationError, e.g. a Modbus address the device refuses).
const AlertDecode AlertKind = "decode_error"

// decodeRule raises decode_error on a tag while its readings cannot be
// decoded. No settings.
type decodeRule struct{}

func newDecodeRule() rule                  { return decodeRule{} }
func (decodeRule) kind() AlertKind         { return AlertDecode }
func (decodeRule) severity() AlertSeverity { return SeverityHigh }

func (decodeRule) judge(c *check, t *tagState, rd *classified) {
	if !isDecodeStatus(rd.status) {
		c.clear(&t.subject)
		return
	}
	if c.active(&t.subject) {
		return
	}
	if rd.errText != "" {
		c.raise(&t.subject, rd.status.Name()+": "+rd.errText)
	} else {
		c.raise(&t.subject, rd.status.Name())
	}
}
