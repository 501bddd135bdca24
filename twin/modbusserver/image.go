package modbusserver

import (
	"reflect"
	"sync"

	"github.com/otwin/otwin/twin"
)

// The register image: every unit keeps its tables as they are sent on the
// wire (two bytes per register in the tag's byte order, one byte per bit),
// so a read is a copy instead of an encoding of every value it covers.
//
// The image follows the engine through a twin.Watcher, lazily: a request
// first calls hub.sync, which does nothing unless the watcher has been
// signalled; then, holding the image's write lock, it takes the signal,
// drains the changed tags and re-encodes them from Source.Value. The
// engine signals before Write (or a tick) returns, and the signal is only
// ever taken under the write lock, so a request that starts after a write
// has completed sees it: either the signal is still pending and the request
// syncs, or another request took it and holds the lock until the image is
// up to date. No goroutine runs while no client asks.
//
// Servers of one engine share one hub (one watcher, one lock), so the
// engine's work per change does not grow with the number of Modbus ports.

// hub is the image state shared by the servers of one Source.
type hub struct {
	src Source
	key any // registry key; nil when private
	w   *twin.Watcher

	mu sync.RWMutex // guards every attached unit's image and byTag
	// byTag[i] is the first of the slots showing tag i (chained by
	// slot.next: the same machine may be served by several servers).
	byTag   []*slot
	changed []int
	refs    int
}

// hubs shares one hub per engine: Sources that are pointers (the engine
// itself) are keyed by identity; any other Source gets a hub of its own.
var hubs = struct {
	sync.Mutex
	m map[any]*hub
}{m: map[any]*hub{}}

// attach returns the hub of src with units added to it, their images
// encoded from the current values.
func attach(src Source, units []*unit) *hub {
	var key any
	if reflect.ValueOf(src).Kind() == reflect.Pointer {
		key = src
	}
	hubs.Lock()
	h := hubs.m[key]
	if h == nil || key == nil {
		h = &hub{src: src, key: key, w: src.Watch(), byTag: make([]*slot, len(src.Tags()))}
		if key != nil {
			hubs.m[key] = h
		}
	}
	h.refs++
	hubs.Unlock()

	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range units {
		for t := range u.tables {
			for _, sl := range u.tables[t] {
				if sl.tag >= 0 && sl.tag < len(h.byTag) {
					sl.next = h.byTag[sl.tag]
					h.byTag[sl.tag] = sl
				}
				sl.store(src.Value(sl.tag).V)
			}
		}
	}
	return h
}

// detach removes units from h and releases the hub when no server uses it.
func (h *hub) detach(units []*unit) {
	h.mu.Lock()
	for _, u := range units {
		for t := range u.tables {
			for _, sl := range u.tables[t] {
				if sl.tag < 0 || sl.tag >= len(h.byTag) {
					continue
				}
				for p := &h.byTag[sl.tag]; *p != nil; p = &(*p).next {
					if *p == sl {
						*p = sl.next
						break
					}
				}
			}
		}
	}
	h.mu.Unlock()

	hubs.Lock()
	h.refs--
	last := h.refs == 0
	if last && h.key != nil {
		delete(hubs.m, h.key)
	}
	hubs.Unlock()
	if last {
		h.w.Close()
	}
}

// sync brings the image up to date with the engine. It is one channel
// length check when nothing changed.
func (h *hub) sync() {
	if len(h.w.C()) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.w.C():
	default:
		return // another request synced meanwhile
	}
	h.changed = h.w.Changed(h.changed[:0])
	for _, i := range h.changed {
		if i < 0 || i >= len(h.byTag) || h.byTag[i] == nil {
			continue
		}
		v := h.src.Value(i).V
		for sl := h.byTag[i]; sl != nil; sl = sl.next {
			sl.store(v)
		}
	}
}
