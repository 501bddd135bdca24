package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// width is the display width of s (ANSI sequences count zero); plain
// ASCII, the common case, skips grapheme segmentation.
func width(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c < 0x20 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// fit truncates plain s to w cells (with an ellipsis) and pads it to w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := width(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = width(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// fitTail is fit keeping the end of s: "…line1/press1/pressure".
func fitTail(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := width(s)
	if sw <= w {
		return s + strings.Repeat(" ", w-sw)
	}
	return fit(ansi.TruncateLeft(s, sw-w+1, "…"), w)
}

// fitR is fit, aligned right.
func fitR(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := width(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-sw) + s
}

// fmtNum formats an engineering value compactly.
func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	case math.Abs(v) >= 1e6 || math.Abs(v) < 1e-3:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
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

func stateName(s normalize.AlertState) string {
	switch s {
	case normalize.ActiveUnacked:
		return "UNACK"
	case normalize.ActiveAcked:
		return "ACK"
	case normalize.RTNUnacked:
		return "RTN"
	}
	return "OK"
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

var blocks = []rune("▁▂▃▄▅▆▇█")

// spark draws the last w values as a sparkline, right-aligned.
func spark(vals []float64, w int) string {
	if w <= 0 {
		return ""
	}
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	buf := make([]rune, 0, w)
	for i := len(vals); i < w; i++ {
		buf = append(buf, ' ')
	}
	for _, v := range vals {
		switch {
		case math.IsNaN(v):
			buf = append(buf, ' ')
		case hi == lo:
			buf = append(buf, blocks[3])
		default:
			buf = append(buf, blocks[int((v-lo)/(hi-lo)*7+0.5)])
		}
	}
	return string(buf)
}

// chart draws vals as a bar chart of w×h cells with a value axis.
func chart(vals []float64, w, h int) []string {
	const axis = 10
	pw := w - axis - 1
	if pw < 4 || h < 2 {
		return nil
	}
	if len(vals) > pw {
		vals = vals[len(vals)-pw:]
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	levels := make([]int, len(vals))
	for i, v := range vals {
		switch {
		case math.IsNaN(v):
			levels[i] = 0
		case hi == lo:
			levels[i] = h * 4
		default:
			levels[i] = 1 + int((v-lo)/(hi-lo)*float64(h*8-1))
		}
	}
	out := make([]string, h)
	for r := 0; r < h; r++ {
		var label string
		switch {
		case len(vals) == 0:
		case r == 0:
			label = fmtNum(hi)
		case r == h-1:
			label = fmtNum(lo)
		}
		var b strings.Builder
		b.WriteString(fitR(label, axis-1))
		b.WriteString(" ┤")
		rb := h - 1 - r
		for i := len(vals); i < pw; i++ {
			b.WriteByte(' ')
		}
		for _, l := range levels {
			switch {
			case l >= (rb+1)*8:
				b.WriteRune('█')
			case l > rb*8:
				b.WriteRune(blocks[l-rb*8-1])
			default:
				b.WriteByte(' ')
			}
		}
		out[r] = b.String()
	}
	return out
}
