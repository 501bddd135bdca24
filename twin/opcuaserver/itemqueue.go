package opcuaserver

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"
	"github.com/gammazero/deque"
)

// The stack keeps two queues of values per monitored item (the values
// sampled since the last publish cycle, and those waiting to be
// published), each a github.com/gammazero/deque v1.0.0 whose buffer holds
// at least 16 values of 88 bytes from its first value on and never
// shrinks below that: 2.8 KB per item, 280 MB for a 100k-item
// subscription, of which a queue of size 1 (the default) ever uses one or
// two values. trimItemQueues lets each queue start at one value and grow
// and shrink from there as the library's own resizing does. The fields
// are those of awcullen/opcua v1.4.0 and gammazero/deque v1.0.0; when
// their layout differs, itemQueueErr says how and the queues are left as
// they are (TestItemQueuesPinned fails).

// dequeLayout mirrors deque.Deque[ua.DataValue] field by field.
type dequeLayout struct {
	buf    []ua.DataValue
	head   int
	tail   int
	count  int
	minCap int
}

// Offsets of the monitored item's two queues, resolved once.
var (
	itemQueueOffsets [2]uintptr
	itemQueueErr     error
)

func init() { itemQueueOffsets, itemQueueErr = resolveItemQueues() }

func resolveItemQueues() ([2]uintptr, error) {
	var offs [2]uintptr
	dq := reflect.TypeFor[deque.Deque[ua.DataValue]]()
	mirror := reflect.TypeFor[dequeLayout]()
	if dq.Size() != mirror.Size() || dq.NumField() != mirror.NumField() {
		return offs, fmt.Errorf("gammazero/deque's Deque has %d fields of %d bytes, not the %d of v1.0.0", dq.NumField(), dq.Size(), mirror.NumField())
	}
	for i := range dq.NumField() {
		f, m := dq.Field(i), mirror.Field(i)
		if f.Name != m.Name || f.Type != m.Type || f.Offset != m.Offset {
			return offs, fmt.Errorf("gammazero/deque's Deque field %d is %s %s, not v1.0.0's %s %s", i, f.Name, f.Type, m.Name, m.Type)
		}
	}
	item := reflect.TypeFor[server.DataChangeMonitoredItem]()
	for i, name := range []string{"queue", "prequeue"} {
		f, ok := item.FieldByName(name)
		if !ok || f.Type != dq || len(f.Index) != 1 {
			return offs, fmt.Errorf("awcullen/opcua's DataChangeMonitoredItem has no %s field of type %s", name, dq)
		}
		offs[i] = f.Offset
	}
	return offs, nil
}

// trimItemQueues lets the two queues of mi hold as few values as they
// contain (at least one) and shrink back to one after a burst. It reports
// whether it could.
func trimItemQueues(mi *server.DataChangeMonitoredItem) bool {
	if itemQueueErr != nil || mi == nil {
		return false
	}
	mi.Lock()
	defer mi.Unlock()
	for _, off := range itemQueueOffsets {
		trimQueue((*dequeLayout)(unsafe.Add(unsafe.Pointer(mi), off)))
	}
	return true
}

// trimQueue moves q's values into a buffer of the smallest power of two
// that holds them and sets its smallest capacity to one.
func trimQueue(q *dequeLayout) {
	q.minCap = 1
	n := 1
	for n < q.count {
		n <<= 1
	}
	if len(q.buf) <= n {
		return
	}
	buf := make([]ua.DataValue, n)
	mask := len(q.buf) - 1
	for i := range q.count {
		buf[i] = q.buf[(q.head+i)&mask]
	}
	q.buf, q.head, q.tail = buf, 0, q.count&(n-1)
}

// trimNewItems trims the queues of the monitored items subscription
// subID got in a CreateMonitoredItems call, those with ids above first.
func (s *Server) trimNewItems(subID, first uint32) {
	sub, ok := s.ua.SubscriptionManager().Get(subID)
	if !ok {
		return
	}
	last := lastItemID()
	if last-first > uint32(len(s.nodes))+1024 {
		// Other connections created many items meanwhile: walk the
		// subscription's (trimming a trimmed queue costs nothing).
		for _, it := range sub.Items() {
			if mi, ok := it.(*server.DataChangeMonitoredItem); ok {
				trimItemQueues(mi)
			}
		}
		return
	}
	for id := first + 1; id != last+1; id++ {
		if it, ok := sub.FindItem(id); ok {
			if mi, ok := it.(*server.DataChangeMonitoredItem); ok {
				trimItemQueues(mi)
			}
		}
	}
}
