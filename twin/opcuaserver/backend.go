package opcuaserver

import (
	"errors"
	"net"
	"reflect"
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
// (setEndpoints checks the field) or the tests, which exercise each one.

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

// channelClose closes the connection.
//
//go:linkname channelClose github.com/awcullen/opcua/server.(*serverSecureChannel).Close
func channelClose(ch *secureChannel) error

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

// unservedURL is the endpoint URL given to the library. Its port does not
// parse, so ListenAndServe marks the server running and returns at once
// without listening; clients only ever see the front door's URL.
const unservedURL = "opc.tcp://otwin.invalid:unserved"
