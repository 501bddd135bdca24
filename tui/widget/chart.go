package widget

import (
	"math"
	"strconv"
	"strings"
)

var blocks = []rune("▁▂▃▄▅▆▇█")

// Spark draws the last w values as a sparkline of w cells, right-aligned;
// NaN is a gap, and a flat series sits at mid height.
func Spark(vals []float64, w int) string {
	if w <= 0 {
		return ""
	}
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	lo, hi := bounds(vals)
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

// bounds is the lowest and highest value, NaN left out.
func bounds(vals []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// Chart draws the last values as a bar chart of w×h cells, a value axis
// on the left labelled with the highest and lowest value (formatted by
// label; nil formats with strconv 'g'). It returns nil when w×h is too
// small for a chart.
func Chart(vals []float64, w, h int, label func(float64) string) []string {
	const axis = 10
	pw := w - axis - 1
	if pw < 4 || h < 2 {
		return nil
	}
	if label == nil {
		label = func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	}
	if len(vals) > pw {
		vals = vals[len(vals)-pw:]
	}
	lo, hi := bounds(vals)
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
		var l string
		switch {
		case len(vals) == 0:
		case r == 0:
			l = label(hi)
		case r == h-1:
			l = label(lo)
		}
		var b strings.Builder
		b.WriteString(FitRight(l, axis-1))
		b.WriteString(" ┤")
		rb := h - 1 - r
		for i := len(vals); i < pw; i++ {
			b.WriteByte(' ')
		}
		for _, lv := range levels {
			switch {
			case lv >= (rb+1)*8:
				b.WriteRune('█')
			case lv > rb*8:
				b.WriteRune(blocks[lv-rb*8-1])
			default:
				b.WriteByte(' ')
			}
		}
		out[r] = b.String()
	}
	return out
}
