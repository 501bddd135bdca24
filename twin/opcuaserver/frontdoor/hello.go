// Package frontdoor is the listening side of the twin's OPC UA endpoints:
// it owns the TCP socket (any host, port 0 allowed), checks the first
// message of every connection (the OPC UA TCP Hello) and the framing of
// every later chunk before a byte reaches the OPC UA stack behind it, and
// applies the twin's transport faults (latency, comm loss, disconnects).
//
// Connections hold slots (package twin/connslot): a connection is idle
// until it opens a secure channel (a Hello alone does not count) and again
// after IdleAfter without a message, unless its client waits for a
// response (a subscriber's Publish request) and has heard from the server
// within WaitLimit. When every slot is taken, a new connection closes the
// connection idle the longest; it is refused with an ERR only when every
// connection is live. Refusals, yields and rejected Hellos or chunks are
// logged as a rate, at most a line per 10 s each, never a line per
// connection. A client that reads nothing for SendTimeout is disconnected.
//
// The stack behind the door (github.com/awcullen/opcua v1.4.0) crashes the
// whole process on a Hello with a zero send buffer size and on any chunk
// whose size field is below 8; the door answers such input with an OPC UA
// ERR message and closes the connection instead.
package frontdoor

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/awcullen/opcua/ua"
)

// Limits of the Hello message and of chunks, after OPC UA Part 6 §7.1.
const (
	// HeaderSize is the size of the OPC UA TCP message header.
	HeaderSize = 8
	// MinBufferSize is the smallest receive or send buffer a Hello may
	// announce (Part 6 §7.1.2.3: 8192 bytes).
	MinBufferSize = 8192
	// MaxEndpointURLLength bounds the endpoint URL of a Hello (Part 6: 4096).
	MaxEndpointURLLength = 4096
	// helloFixedSize is the header, five uint32 fields and the URL length.
	helloFixedSize = HeaderSize + 5*4 + 4
	// MaxHelloSize is the largest Hello accepted.
	MaxHelloSize = helloFixedSize + MaxEndpointURLLength
	// minChunkSize is the smallest OPN/MSG/CLO chunk: header, secure
	// channel id and one more uint32 (policy length or token id).
	minChunkSize = HeaderSize + 8
)

// Hello is a decoded OPC UA TCP Hello message.
type Hello struct {
	ProtocolVersion   uint32
	ReceiveBufferSize uint32
	SendBufferSize    uint32
	MaxMessageSize    uint32
	MaxChunkCount     uint32
	EndpointURL       string
}

// HelloError is why a Hello or chunk was refused: the status code sent to
// the peer in an ERR message and a reason for the log.
type HelloError struct {
	// Code is the OPC UA status code sent in the ERR message.
	Code ua.StatusCode
	// Reason says what was wrong.
	Reason string
}

// Error implements error.
func (e *HelloError) Error() string {
	return fmt.Sprintf("%s: %s", e.Reason, e.Code.Error())
}

func refuse(code ua.StatusCode, format string, args ...any) *HelloError {
	return &HelloError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// CheckHelloHeader validates the 8-byte header of a Hello and returns the
// message size it announces. The error is a *HelloError.
func CheckHelloHeader(hdr []byte) (int, error) {
	if len(hdr) < HeaderSize {
		return 0, refuse(ua.BadDecodingError, "truncated header (%d bytes)", len(hdr))
	}
	if t := binary.LittleEndian.Uint32(hdr[0:4]); t != ua.MessageTypeHello {
		return 0, refuse(ua.BadTCPMessageTypeInvalid, "first message is %q, not HELF", printable(hdr[0:4]))
	}
	size := binary.LittleEndian.Uint32(hdr[4:8])
	if size < helloFixedSize || size > MaxHelloSize {
		return 0, refuse(ua.BadTCPMessageTooLarge, "hello size %d outside [%d, %d]", size, helloFixedSize, MaxHelloSize)
	}
	return int(size), nil
}

// ParseHello decodes and validates a complete Hello message (header
// included). It never panics; the error is a *HelloError.
func ParseHello(msg []byte) (Hello, error) {
	var h Hello
	size, err := CheckHelloHeader(msg)
	if err != nil {
		return h, err
	}
	if len(msg) != size {
		return h, refuse(ua.BadDecodingError, "hello is %d bytes, header says %d", len(msg), size)
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(msg[HeaderSize+4*i:]) }
	h.ProtocolVersion = u(0)
	h.ReceiveBufferSize = u(1)
	h.SendBufferSize = u(2)
	h.MaxMessageSize = u(3)
	h.MaxChunkCount = u(4)
	urlLen := int32(u(5))
	switch {
	case h.ProtocolVersion != 0:
		return h, refuse(ua.BadProtocolVersionUnsupported, "protocol version %d", h.ProtocolVersion)
	case h.ReceiveBufferSize < MinBufferSize:
		return h, refuse(ua.BadTCPInternalError, "receive buffer size %d below %d", h.ReceiveBufferSize, MinBufferSize)
	case h.SendBufferSize < MinBufferSize:
		return h, refuse(ua.BadTCPInternalError, "send buffer size %d below %d", h.SendBufferSize, MinBufferSize)
	case h.MaxMessageSize != 0 && h.MaxMessageSize < MinBufferSize:
		return h, refuse(ua.BadTCPInternalError, "max message size %d below %d", h.MaxMessageSize, MinBufferSize)
	case urlLen < -1 || urlLen > MaxEndpointURLLength:
		return h, refuse(ua.BadTCPEndpointURLInvalid, "endpoint url length %d", urlLen)
	}
	n := max(int(urlLen), 0)
	if helloFixedSize+n != size {
		return h, refuse(ua.BadDecodingError, "endpoint url length %d does not fill hello of %d bytes", urlLen, size)
	}
	h.EndpointURL = string(msg[helloFixedSize:])
	return h, nil
}

// ReadHello reads one Hello from r within the deadline set by the caller
// and returns it with its raw bytes. The error is a *HelloError for bad
// input, or the read error (io.EOF, timeout) otherwise.
func ReadHello(r io.Reader) (Hello, []byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Hello{}, nil, err
	}
	size, err := CheckHelloHeader(hdr[:])
	if err != nil {
		return Hello{}, nil, err
	}
	msg := make([]byte, size)
	copy(msg, hdr[:])
	if _, err := io.ReadFull(r, msg[HeaderSize:]); err != nil {
		return Hello{}, nil, err
	}
	h, err := ParseHello(msg)
	return h, msg, err
}

// CheckChunkHeader validates the header of a chunk sent after the Hello:
// its type must be OPN, MSG or CLO with chunk type F, C or A, and its size
// within [16, limit]. It returns the size; the error is a *HelloError.
func CheckChunkHeader(hdr []byte, limit int) (int, error) {
	if len(hdr) < HeaderSize {
		return 0, refuse(ua.BadDecodingError, "truncated chunk header (%d bytes)", len(hdr))
	}
	switch string(hdr[0:3]) {
	case "OPN", "MSG", "CLO":
	default:
		return 0, refuse(ua.BadTCPMessageTypeInvalid, "message type %q", printable(hdr[0:3]))
	}
	switch hdr[3] {
	case 'F', 'C', 'A':
	default:
		return 0, refuse(ua.BadTCPMessageTypeInvalid, "chunk type %q", printable(hdr[3:4]))
	}
	size := binary.LittleEndian.Uint32(hdr[4:8])
	if size < minChunkSize || int64(size) > int64(limit) {
		return 0, refuse(ua.BadTCPMessageTooLarge, "chunk size %d outside [%d, %d]", size, minChunkSize, limit)
	}
	return int(size), nil
}

// AppendError appends an OPC UA ERR message with code and reason to b.
func AppendError(b []byte, code ua.StatusCode, reason string) []byte {
	if len(reason) > 4096 {
		reason = reason[:4096]
	}
	b = binary.LittleEndian.AppendUint32(b, ua.MessageTypeError)
	b = binary.LittleEndian.AppendUint32(b, uint32(HeaderSize+8+len(reason)))
	b = binary.LittleEndian.AppendUint32(b, uint32(code))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(reason)))
	return append(b, reason...)
}

// refuseConn sends an ERR message on c and closes it gracefully: it
// shuts down the sending side, then discards what the peer still sends
// for a moment, so that the peer reads the ERR instead of a reset.
func refuseConn(c net.Conn, code ua.StatusCode, reason string) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(AppendError(nil, code, reason))
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
	_ = c.Close()
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
