package opcuaserver

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/awcullen/opcua/server"
	"github.com/awcullen/opcua/ua"
)

// The stack's internals this package uses, all of
// github.com/awcullen/opcua v1.4.0 and nowhere else: the library offers no
// listener hook (ListenAndServe binds every interface and is crashed by
// one bad Hello), no hook on a request's outcome and no way to limit the
// endpoint descriptions it advertises. With these the library never opens
// a socket (the front door hands it checked connections), the twin sees
// every write and its result (to log refusals with their reason), and
// GetEndpoints lists each enabled mode and policy once. A change of any of
// these in another library version fails the build (link error), New
// (setEndpoints checks the field) or the tests, which exercise each one;
// TestBackendPinned fails when go.mod names another version.
//
// The request loop (conn.go) also revises requests to the caps before the
// stack handles them, and follows some up (requests.go), with these:
//
//   - publishNow runs a subscription's publish cycle at once. The stack
//     sets MoreNotifications when a response could not carry every queued
//     notification, and then waits for the next publishing interval;
//     honourMore uses publishNow to send the rest as soon as the client
//     has queued its next Publish request.
//   - takePublishRequest takes a session's oldest queued Publish request:
//     when a connection closes, the requests queued on it can never be
//     answered, yet the stack would spend one per publishing interval on
//     them before a subscription starts to count down its lifetime (64 of
//     them at 1 s: a minute more of work for nobody).
//   - monitoredItemID is the library's monitored item id counter: the
//     items of one CreateMonitoredItems call get ids above its value
//     before the call, which is how the sampler finds them.
//   - subState reads three unexported fields of a Subscription, and
//     queuedRequests the length of a Session's queue of Publish requests
//     (with reflect, under the object's read lock, never writing them).
//   - takeEverySample clears a DataChangeMonitoredItem's sampling tick
//     (under its lock): the sampler already takes at most one value per
//     sampling interval, and without the tick the stack queues each value
//     the sampler polled at the next publish cycle instead of bucketing
//     them again by interval.
//   - subItems is a Subscription's map of monitored items, which every
//     publish cycle of the stack walks whole, twice (and which a response
//     capped at the client's MaxNotificationsPerPublish does not stop:
//     the stack still asks every remaining item for its notifications).
//     The sampler takes the items of tags with nothing to send out of it
//     and puts them back when it samples them (park.go), so that a cycle
//     costs what there is to send, not the number of items: a 100k-item
//     gopcua subscriber with its 10,000 notifications per response needs
//     ten cycles per second at 1 Hz, and the stack runs its own every
//     publishing interval besides. queuedValues reads the lengths of a
//     DataChangeMonitoredItem's two queues, to tell an item with nothing
//     to send; subID reads a Subscription's id, which it has no method
//     for, and maxPerResponse the client's MaxNotificationsPerPublish.
//
// New also replaces the stack's read handler of a value the stack cannot
// encode (serveDiagnosticsSummary, reading one unexported field).

// secureChannel stands for the stack's unexported *serverSecureChannel;
// values are only ever passed back to the stack.
type secureChannel struct{}

//go:linkname newSecureChannel github.com/awcullen/opcua/server.newServerSecureChannel
func newSecureChannel(srv *server.Server, conn net.Conn, trace bool) *secureChannel

// channelOpen answers the Hello and opens the secure channel.
//
//go:linkname channelOpen github.com/awcullen/opcua/server.(*serverSecureChannel).Open
func channelOpen(ch *secureChannel) error

// channelAbort sends an ERR message with reason and closes the connection.
//
//go:linkname channelAbort github.com/awcullen/opcua/server.(*serverSecureChannel).Abort
func channelAbort(ch *secureChannel, reason ua.StatusCode, message string) error

//go:linkname channelID github.com/awcullen/opcua/server.(*serverSecureChannel).ChannelID
func channelID(ch *secureChannel) uint32

// channelRead returns the next service request and its request id.
//
//go:linkname channelRead github.com/awcullen/opcua/server.(*serverSecureChannel).readRequest
func channelRead(ch *secureChannel) (ua.ServiceRequest, uint32, error)

// channelWrite sends a service response.
//
//go:linkname channelWrite github.com/awcullen/opcua/server.(*serverSecureChannel).Write
func channelWrite(ch *secureChannel, res ua.ServiceResponse, id uint32) error

// handleRequest is the stack's service dispatch for one request.
//
//go:linkname handleRequest github.com/awcullen/opcua/server.(*Server).handleRequest
func handleRequest(srv *server.Server, ch *secureChannel, req ua.ServiceRequest, id uint32) error

// writeValue is the stack's Write service for one WriteValue: the access,
// user access and type checks, then the node's write handler.
//
//go:linkname writeValue github.com/awcullen/opcua/server.(*Server).writeValue
func writeValue(srv *server.Server, session *server.Session, wv ua.WriteValue) ua.StatusCode

//go:linkname takePublishRequest github.com/awcullen/opcua/server.(*Session).removePublishRequest
func takePublishRequest(sess *server.Session) (*secureChannel, uint32, *ua.PublishRequest, []ua.StatusCode, bool, error)

//go:linkname publishNow github.com/awcullen/opcua/server.(*Subscription).publish
func publishNow(sub *server.Subscription, tn time.Time) error

//go:linkname monitoredItemID github.com/awcullen/opcua/server.monitoredItemID
var monitoredItemID uint32

// lastItemID is the id of the last monitored item the library created.
func lastItemID() uint32 { return atomic.LoadUint32(&monitoredItemID) }

// Field paths of the unexported Subscription and Session fields subState
// and queuedRequests read, resolved once; subFieldsErr says why they
// could not be.
var (
	subMore, subLate, subInterval []int
	sessRequests                  []int
	itemTick                      []int
	subItemsField, subIDField     []int
	subMaxNotifications, subSent  []int
	itemQueue, itemPrequeue       []int
	subFieldsErr                  error
)

func init() {
	field := func(t reflect.Type, name string, kind reflect.Kind) []int {
		f, ok := t.FieldByName(name)
		if !ok || f.Type.Kind() != kind {
			subFieldsErr = fmt.Errorf("awcullen/opcua %s has no %s field %q", t, kind, name)
			return nil
		}
		return f.Index
	}
	sub := reflect.TypeFor[server.Subscription]()
	subMore = field(sub, "moreNotifications", reflect.Bool)
	subLate = field(sub, "isLate", reflect.Bool)
	subInterval = field(sub, "publishingInterval", reflect.Float64)
	sessRequests = field(reflect.TypeFor[server.Session](), "publishRequests", reflect.Chan)
	item := reflect.TypeFor[server.DataChangeMonitoredItem]()
	itemTick = field(item, "ti", reflect.Int64)
	subItemsField = field(sub, "items", reflect.Map)
	subIDField = field(sub, "id", reflect.Uint32)
	subMaxNotifications = field(sub, "maxNotificationsPerPublish", reflect.Uint32)
	subSent = field(sub, "publishRequestCount", reflect.Uint32)
	if subItemsField != nil && sub.FieldByIndex(subItemsField).Type != reflect.TypeFor[map[uint32]server.MonitoredItem]() {
		subFieldsErr = fmt.Errorf("awcullen/opcua %s.items is no map[uint32]MonitoredItem", sub)
	}
	// The queues' length fields (gammazero/deque's count).
	queueCount := func(name string) []int {
		q := field(item, name, reflect.Struct)
		if q == nil {
			return nil
		}
		c := field(item.FieldByIndex(q).Type, "count", reflect.Int)
		if c == nil {
			return nil
		}
		return append(slices.Clone(q), c...)
	}
	itemQueue, itemPrequeue = queueCount("queue"), queueCount("prequeue")
}

// subItems returns sub's map of monitored items; the caller holds sub's
// lock for as long as it uses the map. It is nil once sub is deleted.
func subItems(sub *server.Subscription) *map[uint32]server.MonitoredItem {
	f := reflect.ValueOf(sub).Elem().FieldByIndex(subItemsField)
	return (*map[uint32]server.MonitoredItem)(unsafe.Pointer(f.UnsafeAddr()))
}

// subID is sub's id (set when the stack creates it, never changed).
func subID(sub *server.Subscription) uint32 {
	if subFieldsErr != nil {
		return 0
	}
	return uint32(reflect.ValueOf(sub).Elem().FieldByIndex(subIDField).Uint())
}

// answered reports whether sub has sent a response yet.
func answered(sub *server.Subscription) bool {
	if subFieldsErr != nil {
		return false
	}
	sub.RLock()
	defer sub.RUnlock()
	return reflect.ValueOf(sub).Elem().FieldByIndex(subSent).Uint() > 0
}

// maxPerResponse is the most notifications a response of sub carries
// (the client's MaxNotificationsPerPublish; the stack makes 0 the largest
// int32); the caller holds sub's lock.
func maxPerResponse(sub *server.Subscription) int {
	return int(reflect.ValueOf(sub).Elem().FieldByIndex(subMaxNotifications).Uint())
}

// queuedValues is the number of values mi holds for its next
// notifications: those queued and those polled but not yet queued.
func queuedValues(mi *server.DataChangeMonitoredItem) int {
	mi.RLock()
	defer mi.RUnlock()
	v := reflect.ValueOf(mi).Elem()
	return int(v.FieldByIndex(itemQueue).Int() + v.FieldByIndex(itemPrequeue).Int())
}

// takeEverySample makes the stack queue every value polled into mi at the
// next publish cycle, instead of walking mi's sampling intervals since the
// last cycle and queueing the last value of each; it reports whether it
// could. The stack's ModifyMonitoredItems sets the tick again.
func takeEverySample(mi *server.DataChangeMonitoredItem) bool {
	if subFieldsErr != nil {
		return false
	}
	mi.Lock()
	defer mi.Unlock()
	f := reflect.ValueOf(mi).Elem().FieldByIndex(itemTick)
	*(*time.Duration)(unsafe.Pointer(f.UnsafeAddr())) = 0
	return true
}

// queuedRequests is the number of Publish requests sess has queued.
func queuedRequests(sess *server.Session) int {
	if subFieldsErr != nil || sess == nil {
		return 0
	}
	sess.RLock()
	defer sess.RUnlock()
	return reflect.ValueOf(sess).Elem().FieldByIndex(sessRequests).Len()
}

// subState returns whether sub's last response left notifications behind
// (more), whether it is waiting for a Publish request to send them at
// once (late), and its publishing interval in milliseconds.
func subState(sub *server.Subscription) (more, late bool, interval float64) {
	if subFieldsErr != nil {
		return false, false, 0
	}
	sub.RLock()
	defer sub.RUnlock()
	v := reflect.ValueOf(sub).Elem()
	return v.FieldByIndex(subMore).Bool(), v.FieldByIndex(subLate).Bool(), v.FieldByIndex(subInterval).Float()
}

// setEndpoints replaces the endpoint descriptions the stack advertises
// (GetEndpoints, CreateSession) and matches secure channels against. Its
// Endpoints method returns its cache but cannot shorten it; the field is
// set before the stack serves anyone, so nothing reads it concurrently.
func setEndpoints(srv *server.Server, eds []ua.EndpointDescription) error {
	srv.Endpoints() // builds the cache
	f := reflect.ValueOf(srv).Elem().FieldByName("endpoints")
	if !f.IsValid() || f.Type() != reflect.TypeFor[[]ua.EndpointDescription]() {
		return errors.New("the OPC UA stack has no endpoint list to restrict (library version changed?)")
	}
	*(*[]ua.EndpointDescription)(unsafe.Pointer(f.UnsafeAddr())) = eds
	return nil
}

// serveDiagnosticsSummary makes the value of
// Server/ServerDiagnostics/ServerDiagnosticsSummary (i=2275) one the stack
// can send. The stack's read handler returns its
// *ua.ServerDiagnosticsSummaryDataType, a pointer, which its own encoder
// refuses (a Variant holds a structure by value): every response carrying
// that value fails to encode. A Read of it then drops the connection, and
// a publish cycle whose message carries it loses the message together
// with the client's Publish request it took, so a client with one request
// in flight (gopcua) never hears from the subscription again, and one
// with several (node-opcua) silently loses that message. Any client that
// browses below the Server object and subscribes to what it finds hits
// this. The replacement handler returns a copy of the same counters.
//
// The stack updates the counters without a lock (its own handlers for the
// summary's components read them the same way); a copy may mix counts of
// a moment apart, never more.
func serveDiagnosticsSummary(srv *server.Server) error {
	n, ok := srv.NamespaceManager().FindVariable(ua.VariableIDServerServerDiagnosticsServerDiagnosticsSummary)
	if !ok {
		return errors.New("the OPC UA stack has no ServerDiagnosticsSummary variable (library version changed?)")
	}
	f := reflect.ValueOf(srv).Elem().FieldByName("serverDiagnosticsSummary")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*ua.ServerDiagnosticsSummaryDataType]() {
		return errors.New("the OPC UA stack has no diagnostics summary to serve (library version changed?)")
	}
	summary := *(**ua.ServerDiagnosticsSummaryDataType)(unsafe.Pointer(f.UnsafeAddr()))
	if summary == nil {
		return errors.New("the OPC UA stack's diagnostics summary is nil (library version changed?)")
	}
	n.SetReadValueHandler(func(*server.Session, ua.ReadValueID) ua.DataValue {
		now := time.Now()
		return ua.NewDataValue(*summary, ua.Good, now, 0, now, 0)
	})
	return nil
}

// unservedURL is the endpoint URL given to the library. Its port does not
// parse, so ListenAndServe marks the server running and returns at once
// without listening; clients only ever see the front door's URL.
const unservedURL = "opc.tcp://otwin.invalid:unserved"
