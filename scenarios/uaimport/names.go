package uaimport

import (
	"strconv"
	"strings"
)

// name returns s as a scenario name ([a-zA-Z0-9._-]): each run of other
// characters becomes one '_', leading and trailing '_' are dropped, and
// an empty result is fallback.
func name(s, fallback string) string {
	var b strings.Builder
	gap := false
	for _, r := range s {
		if r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			gap = false
			b.WriteRune(r)
			continue
		}
		gap = true
	}
	out := strings.Trim(b.String(), "_")
	if len(out) > maxNameLen {
		out = out[:maxNameLen]
	}
	if out == "" {
		return fallback
	}
	return out
}

// maxNameLen bounds generated names.
const maxNameLen = 120

// names hands out unique names within one scope.
type names map[string]bool

// unique returns n, or n-2, n-3 … when n is taken, and takes it.
func (ns names) unique(n string) string {
	out := n
	for i := 2; ns[out]; i++ {
		out = n + "-" + strconv.Itoa(i)
	}
	ns[out] = true
	return out
}
