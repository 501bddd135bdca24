package scenarios

// History: every tag of a machine served over OPC UA has a history a
// client reads with HistoryRead (raw and processed), unless its
// historizing setting, or its machine's, is false. The twin computes the
// history from the run itself (see package twin), so the setting costs no
// memory per tag; it decides what the OPC UA server offers (the
// Historizing attribute and the HistoryRead access bit).

// Historized reports whether the tag's history is served: its Historizing
// setting, true when unset.
func (t *Tag) Historized() bool { return t.Historizing == nil || *t.Historizing }

// resolveHistorizing gives every tag of m its historizing setting: its
// own, else the machine's, else true. Tags of machines built from one
// template share their settings' values, so a tag gets a pointer to its
// own copy.
func resolveHistorizing(m *Machine) {
	def := m.Historizing == nil || *m.Historizing
	for k := range m.Tags {
		h := def
		if m.Tags[k].Historizing != nil {
			h = *m.Tags[k].Historizing
		}
		m.Tags[k].Historizing = &h
	}
}
