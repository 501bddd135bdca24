package modbus

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/goburrow/modbus"
)

// FuzzParseRegister: any string parses or fails cleanly, and a parsed
// register's canonical form parses back to it.
func FuzzParseRegister(f *testing.F) {
	for _, s := range []string{"holding:0:int16", "hr:100:float32:cdab", "coil:7:bool", "di:65535:bool",
		"input:0x10:uint64:GHEFCDAB", "holding:65535:float32", ":::", "holding:1:int16:AB:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRegister(s)
		if err != nil {
			return
		}
		again, err := ParseRegister(r.String())
		if err != nil || again != r {
			t.Fatalf("%q → %q → %+v, %v", s, r.String(), again, err)
		}
		if int(r.Address)+r.Count() > 65536 {
			t.Fatalf("%q: past the end of the table", s)
		}
		if _, err := r.Decode(make([]byte, 2*r.Count())); err != nil {
			t.Fatalf("%q: decode of zeros: %v", s, err)
		}
	})
}

// FuzzResponse feeds arbitrary bytes as a device's answer to one read
// through the transport, goburrow's client and the decoder: an error or
// readings, never a panic, and a value only when the answer was whole.
func FuzzResponse(f *testing.F) {
	// Valid answers to transaction 1, unit 1: fc3 of 2 registers, an
	// exception, and a short one.
	f.Add(uint8(3), []byte{0, 1, 0, 0, 0, 7, 1, 3, 4, 0x42, 0xf6, 0xe9, 0x79})
	f.Add(uint8(3), []byte{0, 1, 0, 0, 0, 3, 1, 0x83, 2})
	f.Add(uint8(3), []byte{0, 1, 0, 0, 0, 5, 1, 3, 2, 0x42, 0xf6})
	f.Add(uint8(1), []byte{0, 1, 0, 0, 0, 4, 1, 1, 1, 1})
	f.Add(uint8(1), []byte{0, 1, 0, 0, 0, 0xff, 1, 1, 1, 1})
	f.Add(uint8(4), []byte{0, 1, 0, 1, 0, 7, 1, 4, 4, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, fc uint8, answer []byte) {
		point := "holding:0:float32"
		switch fc % 4 {
		case 1:
			point = "input:0:float32"
		case 2:
			point = "discrete:3:bool"
		case 0:
			point = "coil:3:bool"
		}
		c, err := New(Config{Name: "fuzz", Address: "127.0.0.1:502", Timeout: 50 * time.Millisecond, Points: []string{point}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		s := c.newSession()
		client, device := net.Pipe()
		defer device.Close()
		s.tr.conn = client
		go func() {
			var req [12]byte
			if _, err := io.ReadFull(device, req[:]); err != nil {
				return
			}
			_, _ = device.Write(answer)
			device.Close()
		}()
		b := s.plan[0]
		data, err := s.read(b)
		s.tr.close()
		if err != nil {
			if classify(err) == errNone {
				t.Fatalf("error %v classified as none", err)
			}
			if me, ok := err.(*modbus.ModbusError); ok && me.FunctionCode&0x80 == 0 && classify(err) != errProtocol {
				t.Fatalf("%v: not a protocol error", err)
			}
			return
		}
		if err := s.decode(b, data); err != nil {
			return
		}
		if len(s.readings) != 1 || s.readings[0].Address != point {
			t.Fatalf("readings %+v", s.readings)
		}
	})
}
