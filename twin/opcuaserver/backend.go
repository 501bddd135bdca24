package opcuaserver

import (
	"net"
	"sync"
	_ "unsafe" // go:linkname

	"github.com/awcullen/opcua/server"
)

// serveConn runs awcullen's per-connection loop (secure channel, sessions,
// requests) on conn and returns when conn is closed. It is the unexported
// (*server.Server).handleConnection of github.com/awcullen/opcua v1.4.0,
// the only way to serve a connection the library did not accept itself:
// ListenAndServe binds every interface and offers no listener hook. With
// it the library never opens a socket, so nothing reaches it except
// through the front door. A change of that method's signature in another
// library version fails the build (link error) or the tests.
//
//go:linkname serveConn github.com/awcullen/opcua/server.(*Server).handleConnection
func serveConn(srv *server.Server, conn net.Conn, wg *sync.WaitGroup)

// unservedURL is the endpoint URL given to the library. Its port does not
// parse, so ListenAndServe marks the server running and returns at once
// without listening; clients only ever see the front door's URL.
const unservedURL = "opc.tcp://otwin.invalid:unserved"
