package widget

import "strings"

// Key is one entry of a footer: the key as shown ("a", "S/z") and what it
// does ("ack").
type Key struct {
	Key, Desc string
	// Prio orders what gives way when the line is too narrow: the entry
	// of lowest Prio goes first (the rightmost of ties).
	Prio int
	// Disabled marks a key the session may not use; the footer leaves it
	// out.
	Disabled bool
}

// Footer lays keys out as "key:desc" entries separated by a space, in
// order, leaving out disabled ones and, while the line is wider than w
// cells, the entry of lowest priority. The result is at most w cells wide
// (it is not padded).
func Footer(keys []Key, w int) string {
	on := make([]bool, len(keys))
	width := -1
	for i, k := range keys {
		if !k.Disabled {
			on[i] = true
			width += Width(k.Key) + 1 + Width(k.Desc) + 1
		}
	}
	for width > w {
		drop := -1
		for i, k := range keys {
			if on[i] && (drop < 0 || k.Prio <= keys[drop].Prio) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		on[drop] = false
		width -= Width(keys[drop].Key) + 1 + Width(keys[drop].Desc) + 1
	}
	var b strings.Builder
	for i, k := range keys {
		if !on[i] {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k.Key)
		b.WriteByte(':')
		b.WriteString(k.Desc)
	}
	return b.String()
}
