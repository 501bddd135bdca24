package mqttpub

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// bufferStore wraps the client library's message store (where the client
// keeps every QoS 1 message until the broker acknowledges it, and from
// where it sends them again after a reconnect) for what the library does
// not offer:
//
//   - a count of the messages in it, the outage buffer's fill, so that the
//     publisher can raise an alert before it is full and drop, counting,
//     when it is;
//   - the order of a retained topic's values across a reconnect: the
//     library resends the stored messages while new ones go out beside
//     them, so a new value could reach the broker before an older one of
//     the same tag and the broker would retain the older. From the moment
//     the library reads the store to resend it (All) until the broker has
//     acknowledged every message read, hold() returns a channel the
//     publisher waits on before its next publish;
//   - a data race: the library marks a stored message as a duplicate when
//     it resends it, which can be while it writes it the first time; Put
//     stores a copy;
//   - the file store's panics on I/O errors (chkerr): caught here, logged
//     and counted; the message is then only in flight, not on disk.
//
// The messages themselves stay in the library's store (memory or files).
type bufferStore struct {
	inner   mqtt.Store
	onErr   func(error)
	idOrder bool // list in message id order (see All)

	mu       sync.Mutex
	out      map[string]struct{} // outbound keys ("o.<id>") in the store
	resume   map[string]struct{} // keys read by the last resend, not yet acknowledged
	released chan struct{}       // closed when resume empties; nil when not holding
	failures uint64
}

func newBufferStore(inner mqtt.Store, onErr func(error)) *bufferStore {
	return &bufferStore{inner: inner, onErr: onErr, out: make(map[string]struct{})}
}

// guard runs f, turning a panic of the inner store into a counted error.
func (b *bufferStore) guard(op, key string, f func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			b.mu.Lock()
			b.failures++
			b.mu.Unlock()
			if b.onErr != nil {
				b.onErr(fmt.Errorf("message store %s %s: %v", op, key, v))
			}
			ok = false
		}
	}()
	f()
	return true
}

// Open implements mqtt.Store; it counts the messages a file store kept
// from a previous run.
func (b *bufferStore) Open() {
	if !b.guard("open", "", b.inner.Open) {
		return
	}
	var keys []string
	b.guard("list", "", func() { keys = b.inner.All() })
	b.mu.Lock()
	for _, k := range keys {
		if outbound(k) {
			b.out[k] = struct{}{}
		}
	}
	b.mu.Unlock()
}

// Put implements mqtt.Store. It stores a copy of a publish packet: the
// library writes the packet it publishes (and sets fields of it while
// writing) while its resend after a reconnection may read and mark the
// stored one as a duplicate; Put runs before the first write, so the copy
// is taken safely and the two never share a packet.
func (b *bufferStore) Put(key string, m packets.ControlPacket) {
	if p, ok := m.(*packets.PublishPacket); ok {
		c := *p
		m = &c
	}
	if !b.guard("put", key, func() { b.inner.Put(key, m) }) {
		return
	}
	if outbound(key) {
		b.mu.Lock()
		b.out[key] = struct{}{}
		b.mu.Unlock()
	}
}

// Get implements mqtt.Store.
func (b *bufferStore) Get(key string) (m packets.ControlPacket) {
	b.guard("get", key, func() { m = b.inner.Get(key) })
	return m
}

// All implements mqtt.Store. The library calls it to resend the stored
// messages after a reconnect: the publisher holds until they are
// acknowledged. The file store lists its messages by file time, which
// does not tell apart messages written in the same tick; with idOrder
// they are listed in the order of their message ids instead.
func (b *bufferStore) All() (keys []string) {
	b.guard("list", "", func() { keys = b.inner.All() })
	if b.idOrder {
		sortByID(keys)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resume = make(map[string]struct{})
	for _, k := range keys {
		if outbound(k) {
			b.resume[k] = struct{}{}
		}
	}
	if len(b.resume) > 0 && b.released == nil {
		b.released = make(chan struct{})
	}
	b.releaseIfDoneLocked()
	return keys
}

// Del implements mqtt.Store.
func (b *bufferStore) Del(key string) {
	b.guard("delete", key, func() { b.inner.Del(key) })
	b.mu.Lock()
	delete(b.out, key)
	if b.released != nil {
		delete(b.resume, key)
		b.releaseIfDoneLocked()
	}
	b.mu.Unlock()
}

// Close implements mqtt.Store.
func (b *bufferStore) Close() { b.guard("close", "", b.inner.Close) }

// Reset implements mqtt.Store (a clean session starts empty).
func (b *bufferStore) Reset() {
	b.guard("reset", "", b.inner.Reset)
	b.mu.Lock()
	clear(b.out)
	clear(b.resume)
	b.releaseIfDoneLocked()
	b.mu.Unlock()
}

func (b *bufferStore) releaseIfDoneLocked() {
	if b.released != nil && len(b.resume) == 0 {
		close(b.released)
		b.released = nil
	}
}

// release ends a hold (the connection was lost again: what is published
// now is stored and resent after the older messages).
func (b *bufferStore) release() {
	b.mu.Lock()
	clear(b.resume)
	b.releaseIfDoneLocked()
	b.mu.Unlock()
}

// hold returns a channel closed when the messages being resent are all
// acknowledged, or nil when nothing is being resent.
func (b *bufferStore) hold() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.released == nil {
		return nil
	}
	return b.released
}

// count returns how many outbound messages wait for an acknowledgement.
func (b *bufferStore) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.out)
}

// failed returns how many store operations failed.
func (b *bufferStore) failed() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures
}

func outbound(key string) bool { return strings.HasPrefix(key, "o.") }

// sortByID orders keys ("o.<id>", "i.<id>") by message id in the order
// the client gave the ids: increasing, wrapping after 65535. The oldest is
// the one after the widest gap between used ids on that circle.
func sortByID(keys []string) {
	id := func(k string) int {
		n, err := strconv.Atoi(k[min(2, len(k)):])
		if err != nil {
			return 0
		}
		return n
	}
	sort.SliceStable(keys, func(i, j int) bool { return id(keys[i]) < id(keys[j]) })
	if len(keys) < 2 {
		return
	}
	start, gap := 0, id(keys[0])+65536-id(keys[len(keys)-1])
	for i := 1; i < len(keys); i++ {
		if g := id(keys[i]) - id(keys[i-1]); g > gap {
			start, gap = i, g
		}
	}
	rot := append(append([]string(nil), keys[start:]...), keys[:start]...)
	copy(keys, rot)
}
