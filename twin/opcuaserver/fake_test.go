package opcuaserver

import (
	"fmt"
	"sync"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// fakeSource is a stand-in engine for tests of pure server logic and for
// the large benchmarks: tags set directly, changes signalled at once.
type fakeSource struct {
	mu       sync.Mutex
	tags     []twin.TagInfo
	machines []twin.MachineInfo
	vals     []twin.Value
	links    map[string]twin.Link
	watchers map[*fakeWatcher]bool
	writes   []any
}

func newFakeSource() *fakeSource {
	return &fakeSource{links: map[string]twin.Link{}, watchers: map[*fakeWatcher]bool{}}
}

func (f *fakeSource) addMachine(name string, loc scenarios.Location, tags ...twin.TagInfo) {
	asset := name
	if segs := loc.Segments(); len(segs) > 0 {
		asset = fmt.Sprint(joinPath(segs...), "/", name)
	}
	m := twin.MachineInfo{Name: name, Asset: asset, Location: loc}
	for _, t := range tags {
		t.Index = len(f.tags)
		t.Machine = name
		t.Asset = asset
		t.ID = asset + "/" + t.Name
		if t.Type == "" {
			t.Type = scenarios.Float64
		}
		f.tags = append(f.tags, t)
		f.vals = append(f.vals, twin.Value{V: zeroOf(t.Type), Source: time.Now()})
		m.Tags = append(m.Tags, t.Index)
	}
	f.machines = append(f.machines, m)
}

func joinPath(s ...string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += "/"
		}
		out += p
	}
	return out
}

func zeroOf(t scenarios.DataType) any {
	switch t {
	case scenarios.Bool:
		return false
	case scenarios.Int16:
		return int16(0)
	case scenarios.Int32:
		return int32(0)
	case scenarios.Int64:
		return int64(0)
	case scenarios.Uint16:
		return uint16(0)
	case scenarios.Uint32:
		return uint32(0)
	case scenarios.Uint64:
		return uint64(0)
	case scenarios.Float32:
		return float32(0)
	case scenarios.String:
		return ""
	}
	return float64(0)
}

func (f *fakeSource) Tags() []twin.TagInfo         { return f.tags }
func (f *fakeSource) Machines() []twin.MachineInfo { return f.machines }

func (f *fakeSource) Value(i int) twin.Value {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vals[i]
}

func (f *fakeSource) Write(i int, v any) error {
	f.mu.Lock()
	f.writes = append(f.writes, v)
	f.mu.Unlock()
	if !f.tags[i].Writable {
		return twin.ErrNotWritable
	}
	f.set(map[int]any{i: v})
	return nil
}

// set changes values and signals every watcher.
func (f *fakeSource) set(vals map[int]any) {
	f.mu.Lock()
	now := time.Now()
	for i, v := range vals {
		f.vals[i] = twin.Value{V: v, Source: now}
	}
	ws := make([]*fakeWatcher, 0, len(f.watchers))
	for w := range f.watchers {
		ws = append(ws, w)
	}
	f.mu.Unlock()
	for _, w := range ws {
		w.mark(vals)
	}
}

func (f *fakeSource) Watch() Watcher {
	w := &fakeWatcher{c: make(chan struct{}, 1), src: f, changed: map[int]bool{}}
	f.mu.Lock()
	f.watchers[w] = true
	f.mu.Unlock()
	return w
}

func (f *fakeSource) Link(machine, protocol string) twin.Link {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[machine]
}

type fakeWatcher struct {
	c       chan struct{}
	src     *fakeSource
	mu      sync.Mutex
	changed map[int]bool
}

func (w *fakeWatcher) mark(vals map[int]any) {
	w.mu.Lock()
	for i := range vals {
		w.changed[i] = true
	}
	w.mu.Unlock()
	select {
	case w.c <- struct{}{}:
	default:
	}
}

func (w *fakeWatcher) C() <-chan struct{} { return w.c }

func (w *fakeWatcher) Changed(dst []int) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.changed {
		dst = append(dst, i)
	}
	clear(w.changed)
	return dst
}

func (w *fakeWatcher) Close() {
	w.src.mu.Lock()
	delete(w.src.watchers, w)
	w.src.mu.Unlock()
}
