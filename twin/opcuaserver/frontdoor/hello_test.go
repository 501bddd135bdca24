package frontdoor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/twin/connslot"
)

func hello(version, recv, send, maxMsg, chunks uint32, url string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, ua.MessageTypeHello)
	b = binary.LittleEndian.AppendUint32(b, uint32(helloFixedSize+len(url)))
	for _, v := range []uint32{version, recv, send, maxMsg, chunks, uint32(len(url))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return append(b, url...)
}

func withSize(b []byte, size uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[4:], size)
	return b
}

func withURLLen(b []byte, n int32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[28:], uint32(n))
	return b
}

func TestParseHello(t *testing.T) {
	good := hello(0, 65535, 65535, 0, 0, "opc.tcp://127.0.0.1:4840")
	null := withURLLen(hello(0, 8192, 8192, 1<<20, 16, ""), -1)
	tests := []struct {
		name string
		msg  []byte
		code ua.StatusCode // 0: accepted
	}{
		{"gopcua defaults", good, 0},
		{"minimum buffers, null url", null, 0},
		{"empty", nil, ua.BadDecodingError},
		{"not a hello", append([]byte("OPNF"), good[4:]...), ua.BadTCPMessageTypeInvalid},
		{"reverse hello", append([]byte("RHEF"), good[4:]...), ua.BadTCPMessageTypeInvalid},
		{"size below fixed part", withSize(good, 20), ua.BadTCPMessageTooLarge},
		{"size too large", withSize(good, 1<<31), ua.BadTCPMessageTooLarge},
		{"size disagrees with bytes", withSize(good, uint32(len(good)+1)), ua.BadDecodingError},
		{"protocol version 1", hello(1, 65535, 65535, 0, 0, "x"), ua.BadProtocolVersionUnsupported},
		{"zero receive buffer", hello(0, 0, 65535, 0, 0, "x"), ua.BadTCPInternalError},
		{"zero send buffer", hello(0, 65535, 0, 0, 0, "x"), ua.BadTCPInternalError},
		{"send buffer 8191", hello(0, 65535, 8191, 0, 0, "x"), ua.BadTCPInternalError},
		{"max message size 1", hello(0, 65535, 65535, 1, 0, "x"), ua.BadTCPInternalError},
		{"url length -2", withURLLen(good, -2), ua.BadTCPEndpointURLInvalid},
		{"url length 5000", withURLLen(good, 5000), ua.BadTCPEndpointURLInvalid},
		{"url length short of size", withURLLen(good, 3), ua.BadDecodingError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHello(tt.msg)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if h.SendBufferSize < MinBufferSize || h.ReceiveBufferSize < MinBufferSize {
					t.Errorf("accepted %+v", h)
				}
				return
			}
			var he *HelloError
			if !errors.As(err, &he) {
				t.Fatalf("error %v, want a *HelloError", err)
			}
			if he.Code != tt.code {
				t.Errorf("code %v, want %v (%v)", he.Code, tt.code, err)
			}
		})
	}
	if h, _ := ParseHello(good); h.EndpointURL != "opc.tcp://127.0.0.1:4840" || h.ReceiveBufferSize != 65535 {
		t.Errorf("decoded %+v", h)
	}
}

func TestCheckChunkHeader(t *testing.T) {
	tests := []struct {
		hdr  string
		size uint32
		ok   bool
	}{
		{"OPNF", 132, true},
		{"MSGF", 16, true},
		{"MSGC", 65536, true},
		{"MSGA", 100, true},
		{"CLOF", 57, true},
		{"MSGF", 3, false},
		{"MSGF", 0, false},
		{"MSGF", 15, false},
		{"MSGF", 65537, false},
		{"HELF", 40, false},
		{"ERRF", 40, false},
		{"MSGX", 40, false},
		{"msgf", 40, false},
	}
	for _, tt := range tests {
		hdr := binary.LittleEndian.AppendUint32([]byte(tt.hdr), tt.size)
		_, err := CheckChunkHeader(hdr, 65536)
		if (err == nil) != tt.ok {
			t.Errorf("%s size %d: err %v, want ok=%v", tt.hdr, tt.size, err, tt.ok)
		}
	}
}

func TestAppendError(t *testing.T) {
	b := AppendError(nil, ua.BadTCPMessageTypeInvalid, "bad")
	if string(b[:4]) != "ERRF" || binary.LittleEndian.Uint32(b[4:]) != uint32(len(b)) ||
		binary.LittleEndian.Uint32(b[8:]) != uint32(ua.BadTCPMessageTypeInvalid) || string(b[16:]) != "bad" {
		t.Errorf("ERR message % x", b)
	}
}

// FuzzParseHello: no input panics, and an accepted Hello satisfies every
// limit the stack behind the door relies on.
func FuzzParseHello(f *testing.F) {
	f.Add(hello(0, 65535, 65535, 0, 0, "opc.tcp://h:1"))
	f.Add(hello(0, 0, 0, 0, 0, ""))
	f.Add([]byte("HELF\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := ParseHello(msg)
		if err != nil {
			var he *HelloError
			if !errors.As(err, &he) || he.Code == 0 {
				t.Fatalf("error %v is not a *HelloError with a code", err)
			}
			return
		}
		if h.SendBufferSize < MinBufferSize || h.ReceiveBufferSize < MinBufferSize || len(h.EndpointURL) > MaxEndpointURLLength ||
			(h.MaxMessageSize != 0 && h.MaxMessageSize < MinBufferSize) || len(msg) > MaxHelloSize {
			t.Fatalf("accepted %+v", h)
		}
	})
}

// memConn is a net.Conn reading from a buffer and recording writes.
type memConn struct {
	r io.Reader
	w bytes.Buffer
}

func newMemConn(b []byte) *memConn { return &memConn{r: bytes.NewReader(b)} }

func (c *memConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

func newTestConn(mc *memConn, limit int) *Conn {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &Door{log: log, cfg: Config{SendTimeout: time.Second}, noisy: rateLog{log: log, every: time.Second},
		slots: connslot.New(connslot.Config{Logger: log})}
	slot, _ := d.slots.Admit("test", nil)
	return &Conn{Conn: mc, door: d, slot: slot, limit: limit, closed: make(chan struct{})}
}

func chunk(typ string, body []byte) []byte {
	return append(binary.LittleEndian.AppendUint32([]byte(typ), uint32(8+len(body))), body...)
}

// stackRead reads one chunk the way the stack does (8 header bytes, then
// up to the size in the header, into a buffer of limit bytes) and fails
// where the stack would panic.
func stackRead(t *testing.T, r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, limit)
	if _, err := io.ReadFull(r, buf[:8]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(buf[4:8]))
	if n < 8 || n > limit {
		t.Fatalf("chunk of size %d passed the door (limit %d)", n, limit)
	}
	if _, err := io.ReadFull(r, buf[8:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func TestConnFraming(t *testing.T) {
	body := bytes.Repeat([]byte{1}, 40)
	in := append(chunk("OPNF", body), chunk("MSGF", body)...)
	in = append(in, chunk("MSGF", []byte{1, 2})...) // too small: refused
	mc := newMemConn(in)
	c := newTestConn(mc, 1024)
	for range 2 {
		got, err := stackRead(t, c, 1024)
		if err != nil || len(got) != 48 {
			t.Fatalf("chunk %d bytes, err %v", len(got), err)
		}
	}
	if _, err := stackRead(t, c, 1024); err == nil {
		t.Fatal("undersized chunk passed")
	}
	if w := mc.w.Bytes(); len(w) < 16 || string(w[:4]) != "ERRF" {
		t.Errorf("peer got %q, want an ERR", w)
	}
}

// FuzzConnFraming: whatever a client sends after its Hello, every chunk
// the stack reads has a size it can hold.
func FuzzConnFraming(f *testing.F) {
	f.Add(chunk("MSGF", make([]byte, 20)))
	f.Add([]byte("MSGF\x03\x00\x00\x00"))
	f.Add([]byte("OPNF\x00\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := newTestConn(newMemConn(in), 4096)
		for range 64 {
			if _, err := stackRead(t, c, 4096); err != nil {
				return
			}
		}
	})
}
