package widget

import "strings"

// Key is one entry of a footer: the key as shown ("a", "S/z") and what it
// does ("ack").
type Key struct {
	Key, Desc string
	// Prio orders what gives way when the line is too narrow: the entry
	// of lowest Prio goes first (the rightmost of ties).
	Prio int
	// Off marks a key the session may not use: it stays in the footer,
	// drawn in FooterStyle.Off (and followed by FooterStyle.OffMark), so
	// that what is not allowed is seen rather than missing.
	Off bool
}

// FooterStyle paints a footer: its entries, and those of keys the
// session may not use.
type FooterStyle struct {
	On, Off Paint
	// OffMark follows an Off entry, for a terminal without attributes
	// (e.g. "✗"); it counts in the width.
	OffMark string
}

// before says k gives way no later than d, which is left of it: lower
// priority, or the same with an Off key going before an allowed one.
func before(k, d Key) bool {
	if k.Prio != d.Prio {
		return k.Prio < d.Prio
	}
	return k.Off || !d.Off
}

// Footer lays keys out as "key:desc" entries separated by a space, in
// order, leaving out, while the line is wider than w cells, the entry of
// lowest priority (an Off one before an allowed one, the rightmost of
// ties). The result is at most w cells wide (it is not padded).
func Footer(keys []Key, w int, st FooterStyle) string {
	on := make([]bool, len(keys))
	ew := func(k Key) int {
		n := Width(k.Key) + 1 + Width(k.Desc) + 1
		if k.Off {
			n += Width(st.OffMark)
		}
		return n
	}
	width := -1
	for i, k := range keys {
		on[i] = true
		width += ew(k)
	}
	for width > w {
		drop := -1
		for i, k := range keys {
			if on[i] && (drop < 0 || before(k, keys[drop])) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		on[drop] = false
		width -= ew(keys[drop])
	}
	var b, run strings.Builder // run: the entries of the current paint
	runOff, first := false, true
	flush := func() {
		if run.Len() == 0 {
			return
		}
		if runOff {
			b.WriteString(st.Off.Render(run.String()))
		} else {
			b.WriteString(st.On.Render(run.String()))
		}
		run.Reset()
	}
	for i, k := range keys {
		if !on[i] {
			continue
		}
		switch {
		case first:
		case k.Off != runOff:
			flush()
			b.WriteByte(' ') // unpainted: no strike between entries
		default:
			run.WriteByte(' ')
		}
		first, runOff = false, k.Off
		run.WriteString(k.Key)
		run.WriteByte(':')
		run.WriteString(k.Desc)
		if k.Off {
			run.WriteString(st.OffMark)
		}
	}
	flush()
	return b.String()
}
