package tui

import (
	"sort"
	"strings"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// data is what one session has read from its backend: the latest sample
// of every tag with the asset tree built from them, the alerts worth
// showing, and endpoint health with derived rates and clock skews. Every
// page reads it; only the update loop changes it (apply for a feed update,
// mergeAdded on a frame).
type data struct {
	b   Backend
	now func() time.Time

	tags  []normalize.Sample          // sorted by id
	meta  []tagMeta                   // parallel to tags; replaced, never modified
	dyn   dynStore                    // parallel to tags; shared copy-on-write with filter jobs
	byID  map[string]int              // index into tags
	added map[string]normalize.Sample // new tags, merged on the next frame

	root  *node            // the asset tree
	index map[string]*node // by asset path
	// trunk is the path every tag's asset starts with, down to the first
	// node with more than one child (never a machine): "acme/berlin".
	trunk string

	alerts []normalize.Alert // sorted by sortAlerts

	health []connectors.Health
	rates  map[string]rate
	skew   map[string]skew // per source, of its newest sample
}

// skew is a source's clock skew (received - source time) as of at.
type skew struct {
	at time.Time
	d  time.Duration
}

// rate derives samples/s from Health.Readings deltas.
type rate struct {
	readings uint64
	at       time.Time
	perSec   float64
}

// newData reads b's snapshot.
func newData(b Backend, now func() time.Time) *data {
	d := &data{b: b, now: now, rates: map[string]rate{}, skew: map[string]skew{}}
	tags := b.Snapshot()
	d.tags = append([]normalize.Sample(nil), tags...)
	sort.SliceStable(d.tags, func(i, j int) bool { return d.tags[i].ID < d.tags[j].ID })
	d.reindex()
	for i := range d.tags {
		d.noteSkew(&d.tags[i])
	}
	d.alerts = d.visibleAlerts(d.alerts[:0], b.Alerts())
	d.health = append(d.health, b.Health()...)
	at := now()
	for _, h := range d.health {
		d.rates[h.Source] = rate{readings: h.Readings, at: at}
	}
	return d
}

// reindex rebuilds the id index, the shared metadata and the tree after
// the tag set changed.
func (d *data) reindex() {
	d.byID = make(map[string]int, len(d.tags))
	meta := make([]tagMeta, len(d.tags))
	d.dyn = newDynStore(len(d.tags))
	old := 0
	for i := range d.tags {
		t := &d.tags[i]
		d.byID[t.ID] = i
		d.dyn.set(i, dynOf(t))
		// both lists are sorted by id: reuse the lower-cased names
		for old < len(d.meta) && d.meta[old].id < t.ID {
			old++
		}
		if old < len(d.meta) && d.meta[old].id == t.ID && d.meta[old].rawAsset == t.Asset && d.meta[old].tag == t.Tag {
			meta[i] = d.meta[old]
		} else {
			meta[i] = tagMeta{id: t.ID, asset: cleanPath(t.Asset), rawAsset: t.Asset, tag: t.Tag, idLower: strings.ToLower(t.ID), tagLower: strings.ToLower(t.Tag)}
		}
	}
	d.meta = meta
	d.root, d.index = buildTree(meta)
	d.trunk = ""
	for n := d.root; len(n.children) == 1 && len(n.children[0].children) > 0; n = n.children[0] {
		d.trunk = n.children[0].path
	}
}

func dynOf(t *normalize.Sample) tagDyn {
	return tagDyn{code: t.Status, value: t.Value, text: t.Kind == normalize.Text, recv: t.Received.UnixNano(), ctx: t.Context}
}

// tag returns the tag with id, or nil.
func (d *data) tag(id string) *normalize.Sample {
	if i, ok := d.byID[id]; ok {
		return &d.tags[i]
	}
	return nil
}

// visibleAlerts appends the alerts worth showing: all but those back to
// Normal, not shelved and not retained by their owner.
func (d *data) visibleAlerts(dst, all []normalize.Alert) []normalize.Alert {
	now := d.now().UnixNano()
	for i := range all {
		if all[i].State != normalize.Normal || shelved(&all[i], now) || all[i].Retained() {
			dst = append(dst, all[i])
		}
	}
	return dst
}

// resyncAlerts re-reads the alerts from the backend (after an action,
// before the feed brings the change).
func (d *data) resyncAlerts() {
	d.alerts = d.visibleAlerts(d.alerts[:0], d.b.Alerts())
}

// noteSkew keeps the clock skew of the newest sample of each source.
func (d *data) noteSkew(t *normalize.Sample) {
	if t.SourceTime.IsZero() || t.Source == "" {
		return
	}
	if k, ok := d.skew[t.Source]; ok && k.at.After(t.Received) {
		return
	}
	d.skew[t.Source] = skew{at: t.Received, d: t.Skew()}
}

// apply merges one feed update. Samples of known tags replace them at
// once; new tags wait in added for the next frame.
func (d *data) apply(u Update) {
	for _, smp := range u.Samples {
		d.noteSkew(&smp)
		if i, ok := d.byID[smp.ID]; ok {
			d.tags[i] = smp
			d.dyn.set(i, dynOf(&smp))
		} else {
			if d.added == nil {
				d.added = map[string]normalize.Sample{}
			}
			d.added[smp.ID] = smp // merged on the next frame
		}
	}
	if len(u.Alerts) > 0 {
		d.upsertAlerts(u.Alerts)
	}
	if len(u.Health) > 0 {
		d.upsertHealth(u.Health)
	}
}

// upsertAlerts replaces alerts by id, adds new ones and drops those back
// to Normal, not shelved and not retained by their owner.
func (d *data) upsertAlerts(as []normalize.Alert) {
	pos := make(map[string]int, len(d.alerts))
	for i := range d.alerts {
		pos[d.alerts[i].ID] = i
	}
	now := d.now().UnixNano()
	for _, a := range as {
		remove := a.State == normalize.Normal && !shelved(&a, now) && !a.Retained()
		if i, ok := pos[a.ID]; ok {
			d.alerts[i] = a
			if remove {
				d.alerts[i].ID = "" // dropped below
			}
		} else if !remove {
			pos[a.ID] = len(d.alerts)
			d.alerts = append(d.alerts, a)
		}
	}
	kept := d.alerts[:0]
	for _, a := range d.alerts {
		if a.ID != "" {
			kept = append(kept, a)
		}
	}
	d.alerts = kept
}

// upsertHealth replaces endpoints by source and derives their rates.
func (d *data) upsertHealth(hs []connectors.Health) {
	now := d.now()
	for _, h := range hs {
		found := false
		for i := range d.health {
			if d.health[i].Source == h.Source {
				d.health[i] = h
				found = true
				break
			}
		}
		if !found {
			d.health = append(d.health, h)
		}
		r, ok := d.rates[h.Source]
		if ok && now.After(r.at) && h.Readings >= r.readings {
			dt := now.Sub(r.at).Seconds()
			if dt >= 0.5 {
				r.perSec = float64(h.Readings-r.readings) / dt
				r.readings, r.at = h.Readings, now
			}
		} else {
			r = rate{readings: h.Readings, at: now}
		}
		d.rates[h.Source] = r
	}
}

// mergeAdded merges the tags first seen since the last frame into the
// sorted tag list (one merge per frame however many batches brought them)
// and reports whether there were any.
func (d *data) mergeAdded() bool {
	if len(d.added) == 0 {
		return false
	}
	add := make([]normalize.Sample, 0, len(d.added))
	for _, t := range d.added {
		add = append(add, t)
	}
	clear(d.added)
	sort.Slice(add, func(i, j int) bool { return add[i].ID < add[j].ID })
	merged := make([]normalize.Sample, 0, len(d.tags)+len(add))
	i, j := 0, 0
	for i < len(d.tags) || j < len(add) {
		if j == len(add) || i < len(d.tags) && d.tags[i].ID < add[j].ID {
			merged = append(merged, d.tags[i])
			i++
		} else {
			merged = append(merged, add[j])
			j++
		}
	}
	d.tags = merged
	d.reindex()
	return true
}

// sortAlerts orders the alerts: unshelved first, then unacknowledged,
// then by severity (worst first), then newest first.
func (d *data) sortAlerts() {
	now := d.now().UnixNano()
	sort.SliceStable(d.alerts, func(i, j int) bool {
		a, b := &d.alerts[i], &d.alerts[j]
		sa, sb := shelved(a, now), shelved(b, now)
		if sa != sb {
			return !sa
		}
		ua, ub := a.State == normalize.ActiveUnacked || a.State == normalize.RTNUnacked, b.State == normalize.ActiveUnacked || b.State == normalize.RTNUnacked
		if ua != ub {
			return ua
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if !a.LastActive.Equal(b.LastActive) {
			return a.LastActive.After(b.LastActive)
		}
		return a.ID < b.ID
	})
}

// countAlerts recounts the active alerts on tags per tree node, and each
// node's worst severity.
func (d *data) countAlerts() {
	if d.root == nil {
		return
	}
	now := d.now().UnixNano()
	for _, n := range d.index {
		n.alerts, n.worst = 0, 0
	}
	for i := range d.alerts {
		a := &d.alerts[i]
		if !alertActive(a, now) {
			continue
		}
		ti, ok := d.byID[a.Target]
		if !ok {
			continue
		}
		for n := d.index[d.meta[ti].asset]; n != nil; n = n.parent {
			n.alerts++
			if a.Severity > n.worst {
				n.worst = a.Severity
			}
		}
	}
}

// alertByID returns the alert with id, or nil.
func (d *data) alertByID(id string) *normalize.Alert {
	for i := range d.alerts {
		if d.alerts[i].ID == id {
			return &d.alerts[i]
		}
	}
	return nil
}

// alertCounts counts the alerts by state; shelved ones only as shelved.
func (d *data) alertCounts() (unack, ack, rtn, shelvedN int) {
	now := d.now().UnixNano()
	for i := range d.alerts {
		a := &d.alerts[i]
		if shelved(a, now) {
			shelvedN++
			continue
		}
		switch a.State {
		case normalize.ActiveUnacked:
			unack++
		case normalize.ActiveAcked:
			ack++
		case normalize.RTNUnacked:
			rtn++
		}
	}
	return
}

// endpoint returns the index of the endpoint named source, or -1.
func (d *data) endpoint(source string) int {
	for i := range d.health {
		if d.health[i].Source == source {
			return i
		}
	}
	return -1
}
