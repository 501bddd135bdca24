package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// fmtNum formats an engineering value compactly.
func fmtNum(v float64) string {
	var buf [32]byte
	return string(appendNum(buf[:0], v))
}

// appendNum appends v as fmtNum formats it.
func appendNum(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(dst, int64(v), 10)
	case math.Abs(v) >= 1e6 || math.Abs(v) < 1e-3:
		return strconv.AppendFloat(dst, v, 'g', 4, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'f', 3, 64)
	for len(dst) > start && dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
	}
	if len(dst) > start && dst[len(dst)-1] == '.' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// fmtValue formats a sample's value with its unit. A bad sample has no
// current value: it shows its last good value in parentheses (never as if
// current), or "—".
func fmtValue(t *normalize.Sample) string {
	if t.Status.IsBad() {
		if t.HasLastGood {
			return "(" + fmtLastGood(t) + ")"
		}
		return "—"
	}
	switch t.Kind {
	case normalize.Bool:
		if t.Value != 0 {
			return "true"
		}
		return "false"
	case normalize.Text:
		return t.Text
	}
	if t.Unit.Symbol != "" {
		return fmtNum(t.Value) + " " + t.Unit.Symbol
	}
	return fmtNum(t.Value)
}

// fitValue is fmtValue fitted into w cells by meaning, never cutting a
// number or a unit ("bottles/min" keeps its tail): fewer decimals with
// the unit first, then the number without its unit (the tag detail has
// it), then the number in fewer digits; "#" fills a cell too narrow for
// any of them.
func fitValue(t *normalize.Sample, w int) string {
	s := fmtValue(t)
	if widget.Width(s) <= w || t.Kind != normalize.Number {
		return s // text is cut by the table like any text
	}
	v, wrap := t.Value, func(s string) string { return s }
	if t.Status.IsBad() {
		v, wrap = t.LastGood, func(s string) string { return "(" + s + ")" }
	}
	base := fmtNum(v)
	nums := []string{base}
	for prec := 2; prec >= 0; prec-- {
		if n := strconv.FormatFloat(v, 'f', prec, 64); len(n) < len(nums[len(nums)-1]) {
			nums = append(nums, n)
		}
	}
	var cands []string
	if t.Unit.Symbol != "" {
		for _, n := range nums {
			cands = append(cands, n+" "+t.Unit.Symbol)
		}
	}
	cands = append(cands, nums...)
	cands = append(cands, strconv.FormatFloat(v, 'g', 3, 64), strconv.FormatFloat(v, 'g', 2, 64))
	for _, c := range cands {
		if c = wrap(c); widget.Width(c) <= w {
			return c
		}
	}
	return strings.Repeat("#", max(w, 0))
}

// valueWidth is the width of fmtValue(t) in cells, computed without
// building the text (buf is scratch space).
func valueWidth(t *normalize.Sample, buf []byte) (int, []byte) {
	v, paren := t.Value, 0
	if t.Status.IsBad() {
		if !t.HasLastGood {
			return 1, buf // "—"
		}
		v, paren = t.LastGood, 2
	}
	switch t.Kind {
	case normalize.Bool:
		if v != 0 {
			return 4 + paren, buf
		}
		return 5 + paren, buf
	case normalize.Text:
		if paren > 0 {
			return widget.Width(t.LastGoodText) + paren, buf
		}
		return widget.Width(t.Text), buf
	}
	buf = appendNum(buf[:0], v)
	n := len(buf) + paren
	if t.Unit.Symbol != "" {
		n += 1 + widget.Width(t.Unit.Symbol)
	}
	return n, buf
}

// fmtLastGood formats the last good value of a sample.
func fmtLastGood(t *normalize.Sample) string {
	if !t.HasLastGood {
		return "—"
	}
	switch t.Kind {
	case normalize.Text:
		return t.LastGoodText
	case normalize.Bool:
		if t.LastGood != 0 {
			return "true"
		}
		return "false"
	}
	if t.Unit.Symbol != "" {
		return fmtNum(t.LastGood) + " " + t.Unit.Symbol
	}
	return fmtNum(t.LastGood)
}

// fmtRaw formats a raw connector value.
func fmtRaw(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		return fmtNum(x)
	case string:
		return strconv.Quote(x)
	default:
		return fmt.Sprint(x)
	}
}

// fmtAge formats a duration compactly: 4.2s, 37s, 5m03s, 2h07m, 3d04h.
func fmtAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// valueTime is when the value a tag shows came: when it was received, or,
// while its endpoint is lost (Uncertain_NoCommunicationLastUsableValue:
// the last good value is shown), the time of that last good value — the
// age of what is on the screen, not of the news that the link is down.
func valueTime(t *normalize.Sample) time.Time {
	if t.HasLastGood && t.Status&0xFFFF0000 == connectors.UncertainNoCommunicationLastUsableValue {
		return t.LastGoodTime
	}
	return t.Received
}

func ageSince(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmtAge(now.Sub(t))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04:05.000")
}

func fmtLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return strconv.Itoa(int(d/time.Microsecond)) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}

// fmtSkew formats a clock skew, signed: the source clock may be ahead.
func fmtSkew(d time.Duration) string {
	if d < 0 {
		return "-" + fmtLatency(-d)
	}
	if d == 0 {
		return "0"
	}
	return fmtLatency(d)
}

// badge is the short quality badge.
func badge(c connectors.StatusCode) string {
	switch c.Severity() {
	case connectors.SeverityGood:
		return "GOOD"
	case connectors.SeverityUncertain:
		return "UNCR"
	}
	return "BAD"
}

func sevName(v normalize.AlertSeverity) string {
	switch v {
	case normalize.SeverityLow:
		return "LOW"
	case normalize.SeverityMedium:
		return "MED"
	case normalize.SeverityHigh:
		return "HIGH"
	case normalize.SeverityCritical:
		return "CRIT"
	}
	return "—"
}

// alertStates names the alert states but Normal: as the tables show them
// and in words (the alert detail, help's legend).
var alertStates = []struct {
	state       normalize.AlertState
	name, words string
}{
	{normalize.ActiveUnacked, "UNACK", "active, not acknowledged"},
	{normalize.ActiveAcked, "ACK", "active, acknowledged"},
	{normalize.RTNUnacked, "RTN", "back to normal, not acknowledged yet"},
}

// confirmName is the state column of an alarm its owner keeps until it
// is confirmed; notCurrentMark marks an alarm whose owner's state is not
// current (normalize.Alert.NotCurrent).
const (
	confirmName    = "CONF"
	notCurrentMark = "?"
)

// stateName names a state as the tables show it.
func stateName(s normalize.AlertState) string {
	for i := range alertStates {
		if alertStates[i].state == s {
			return alertStates[i].name
		}
	}
	return "OK"
}

// stateText names a state in words, for the alert detail.
func stateText(s normalize.AlertState) string {
	for i := range alertStates {
		if alertStates[i].state == s {
			return alertStates[i].name + ": " + alertStates[i].words
		}
	}
	return "normal"
}

// limitBits names the limit bits of a status code.
func limitBits(c connectors.StatusCode) string {
	switch c & (connectors.LimitLow | connectors.LimitHigh) {
	case connectors.LimitLow:
		return "Low"
	case connectors.LimitHigh:
		return "High"
	case connectors.LimitLow | connectors.LimitHigh:
		return "Constant"
	}
	return "none"
}

// fmtSpeed formats a speed multiplier: "0.25×", "2×".
func fmtSpeed(f float64) string {
	return strconv.FormatFloat(f, 'g', 4, 64) + "×"
}

// fmtElapsed formats simulated elapsed time as h:mm:ss.
func fmtElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60)
}

// shortAddress is an address for a table cell: an OPC UA node id without
// its namespace URI ("nsu=urn:plant;s=line1/press1/temp" reads
// "s=line1/press1/temp"; the source column and the tag detail name the
// rest); Modbus addresses are short already.
func shortAddress(a string) string {
	if strings.HasPrefix(a, "nsu=") {
		if _, id, ok := strings.Cut(a, ";"); ok {
			return id
		}
	}
	return a
}

// shortAlert fits an alert id ("kind:target") into w cells by meaning:
// the kind stays, and the target's leading path segments fold into "…"
// ("out_of_range:…/press1/temp"); only when even that does not fit does
// the kind go too. An id that fits is returned whole.
func shortAlert(id string, w int) string {
	if widget.Width(id) <= w {
		return id
	}
	kind, target, ok := strings.Cut(id, ":")
	if ok {
		if room := w - widget.Width(kind) - 1; room >= 12 {
			return kind + ":" + widget.TrimPath(target, room)
		}
		return widget.TrimPath(target, w)
	}
	return widget.TrimPath(id, w)
}

// contextLine names the values of a production context: "work order
// WO-4711 · product cola-0.5l · shift early".
func contextLine(c *normalize.Context) string {
	var parts []string
	for _, r := range ctxrole.All {
		if v := c.Value(r); v != "" {
			parts = append(parts, strings.ReplaceAll(string(r), "_", " ")+" "+v)
		}
	}
	return strings.Join(parts, " · ")
}
