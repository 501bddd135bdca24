package modbusserver

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
)

// memConn is a net.Conn that reads a fixed byte stream in chunks of a
// given size, then io.EOF, and records what is written.
type memConn struct {
	in    []byte
	chunk int
	out   bytes.Buffer
}

func (m *memConn) Read(p []byte) (int, error) {
	if len(m.in) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), m.chunk, len(m.in))
	copy(p, m.in[:n])
	m.in = m.in[n:]
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error)        { return m.out.Write(p) }
func (m *memConn) Close() error                       { return nil }
func (m *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(t time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(t time.Time) error { return nil }

// serveConn runs the connection handler on nc until it returns.
func (s *Server) serveConn(nc net.Conn) {
	c := &conn{s: s, nc: nc, peer: "fuzz", epochs: s.currentEpochs()}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	c.serve()
}

// reqFrame is one request the oracle expects an answer to.
type reqFrame struct {
	tid  uint16
	unit byte
	fc   byte
}

// expectedAnswers splits a request stream as the MBAP rules say: it stops
// at the first frame with a protocol id other than 0, a length out of
// 2..254, or a truncated body; everything before is answered in order.
func expectedAnswers(b []byte) []reqFrame {
	var out []reqFrame
	for len(b) >= 7 {
		proto := int(b[2])<<8 | int(b[3])
		n := int(b[4])<<8 | int(b[5])
		if proto != 0 || n < 2 || n > 254 || len(b) < 6+n {
			break
		}
		out = append(out, reqFrame{tid: uint16(b[0])<<8 | uint16(b[1]), unit: b[6], fc: b[7]})
		b = b[6+n:]
	}
	return out
}

// Fuzz modes: the link state of unit 1 ("grid") during a run.
const (
	modeNormal = iota
	modeException
	modeDown
	numModes
)

func FuzzFrames(f *testing.F) {
	seeds := [][]byte{
		adu(1, 0, 1, pdu(3, 0, 10)),
		adu(1, 0, 1, pdu(4, 0, 125)),
		adu(1, 0, 1, pdu(1, 0, 21)),
		adu(1, 0, 1, pdu(2, 0, 2000)),
		adu(1, 0, 1, pdu(5, 100, 0xFF00)),
		adu(1, 0, 1, pdu(6, 2000, 7)),
		adu(1, 0, 1, append(pdu(15, 100, 10), 2, 0x56, 0x02)),
		adu(1, 0, 1, append(pdu(16, 2000, 2), 4, 0, 7, 0, 9)),
		adu(1, 0, 1, append(pdu(23, 0, 4, 2000, 1), 2, 1, 2)),
		adu(1, 0, 7, pdu(3, 0, 1)),
		adu(1, 0, 9, pdu(3, 0, 1)),
		adu(1, 0, 1, []byte{16, 0, 0, 0}),
		adu(1, 0, 1, []byte{15}),
		adu(1, 0, 1, pdu(0x2B, 0x0E01)),
		adu(1, 1, 1, pdu(3, 0, 1)),
		append(append(adu(1, 0, 1, pdu(3, 1000, 1)), adu(2, 0, 7, pdu(3, 0, 1))...), 0, 3, 0, 0, 0, 0xFF),
		[]byte("\x00\x01\x00\x00\x00\x00"),
		[]byte("GET / HTTP/1.1\r\n\r\n"),
	}
	for i, s := range seeds {
		f.Add(s, uint8(1+i%9), uint8(i%numModes))
	}
	e := newEngine(f, gridScenario())
	e.Step(1)
	s, err := New(e, Config{Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk, mode uint8) {
		mode %= numModes
		switch mode {
		case modeException:
			if err := e.Inject(scenarios.Fault{Name: "fz", Kind: scenarios.ModbusException, Target: "grid", Protocol: "modbus", Exception: 6}); err != nil {
				t.Fatal(err)
			}
		case modeDown:
			if err := e.Inject(scenarios.Fault{Name: "fz", Kind: scenarios.CommLoss, Target: "grid", Protocol: "modbus"}); err != nil {
				t.Fatal(err)
			}
		}
		m := &memConn{in: data, chunk: 1 + int(chunk)%64}
		s.serveConn(m)
		if mode != modeNormal {
			if err := e.Clear("fz"); err != nil {
				t.Fatal(err)
			}
		}
		if n := s.panics.Load(); n != 0 {
			t.Fatalf("%d panics in the connection handler", n)
		}
		out := m.out.Bytes()
		for i, rq := range expectedAnswers(data) {
			if rq.unit == 1 && mode == modeDown {
				continue
			}
			if len(out) < 7 {
				t.Fatalf("response %d missing: %d bytes left (requests % x)", i, len(out), data)
			}
			tid := binary.BigEndian.Uint16(out)
			proto := binary.BigEndian.Uint16(out[2:])
			n := int(binary.BigEndian.Uint16(out[4:]))
			if proto != 0 || n < 3 || n > 254 || len(out) < 6+n {
				t.Fatalf("response %d malformed: % x", i, out[:min(len(out), 16)])
			}
			fc := out[7]
			if tid != rq.tid || out[6] != rq.unit || (fc != rq.fc && fc != rq.fc|0x80) {
				t.Fatalf("response %d: tid %d unit %d fc %d, want tid %d unit %d fc %d", i, tid, out[6], fc, rq.tid, rq.unit, rq.fc)
			}
			if fc&0x80 != 0 && n != 3 {
				t.Fatalf("exception response %d has %d bytes", i, n)
			}
			if rq.unit == 1 && mode == modeException && (fc != rq.fc|0x80 || out[8] != 6) {
				t.Fatalf("response %d under an exception fault: % x", i, out[6:6+n])
			}
			out = out[6+n:]
		}
		if len(out) != 0 {
			t.Fatalf("%d bytes written beyond the answers due", len(out))
		}
	})
}
