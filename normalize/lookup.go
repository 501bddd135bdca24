package normalize

// Locate returns the tag id of the point at address of source (as a
// reading names it), and false when no point maps it. Safe for
// concurrent use.
func (n *Normalizer) Locate(source, address string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.points[addrKey{source, address}]
	if t == nil {
		return "", false
	}
	return t.id, true
}

// Engineering converts a raw value of tag id as Apply converts a
// reading's (decoded, scaled and offset, units converted), without
// judging it: for values the tag's endpoint reports about its past
// (history). It returns false for an unknown tag and for a raw value
// that is not a number or a bool. Safe for concurrent use.
func (n *Normalizer) Engineering(id string, raw any) (float64, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.byID[id]
	if t == nil {
		return 0, false
	}
	k, v, _, st, _ := decode(raw)
	switch {
	case st.IsBad() || k == Text:
		return 0, false
	case k == Bool:
		return v, true
	}
	return v*t.scale + t.offset, true
}
