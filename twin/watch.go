package twin

import (
	"math/bits"
	"sync"
)

// Watcher tells a server which tags changed. The engine marks changed
// tags in the watcher's set after every tick (and after a write or fault
// change) and signals C without ever blocking; the server drains the set
// with Changed. A slow server loses no change: it sees every tag that
// changed since its last call, once, with Value giving the latest value.
type Watcher struct {
	e    *Engine
	c    chan struct{}
	mu   sync.Mutex
	set  []uint64
	dirt bool
}

// Watch returns a new watcher; Close it when done. It starts with an
// empty set: read every value once, then follow Changed. Safe for
// concurrent use.
func (e *Engine) Watch() *Watcher {
	w := &Watcher{e: e, c: make(chan struct{}, 1), set: make([]uint64, (len(e.tags)+63)/64)}
	e.watchMu.Lock()
	e.watchers[w] = struct{}{}
	e.watchMu.Unlock()
	return w
}

// C is signalled (capacity 1, never blocking the engine) after a tick that
// changed something. It is never closed.
func (w *Watcher) C() <-chan struct{} { return w.c }

// Changed appends the indexes of the tags changed since the last call, in
// increasing order, to dst and resets the set. Safe for concurrent use.
func (w *Watcher) Changed(dst []int) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dirt {
		return dst
	}
	for k, word := range w.set {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			dst = append(dst, k*64+b)
			word &^= 1 << b
		}
		w.set[k] = 0
	}
	w.dirt = false
	return dst
}

// Close stops the notifications. Idempotent.
func (w *Watcher) Close() {
	w.e.watchMu.Lock()
	delete(w.e.watchers, w)
	w.e.watchMu.Unlock()
}

// notify marks changed in every watcher and signals them.
func (e *Engine) notify(changed []int) {
	if len(changed) == 0 {
		return
	}
	e.watchMu.Lock()
	defer e.watchMu.Unlock()
	for w := range e.watchers {
		w.mu.Lock()
		for _, i := range changed {
			w.set[i>>6] |= 1 << (i & 63)
		}
		w.dirt = true
		w.mu.Unlock()
		select {
		case w.c <- struct{}{}:
		default:
		}
	}
}
