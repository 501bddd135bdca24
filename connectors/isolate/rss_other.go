//go:build !linux

package isolate

// watchRSS does nothing where the parent cannot read a child's resident
// memory; the child's own limit still holds.
func watchRSS(pid int, limit int64, stopped <-chan struct{}, kill func(rss int64)) {}

var _ = errNoProc
