//go:build !linux

package modbusserver

import (
	"io"
	"net"
)

// connIO returns the reader and the writer a connection is served
// through: the connection itself (see rawio_linux.go).
func connIO(nc net.Conn) (io.Reader, io.Writer) { return nc, nc }
