package modbusserver

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/tbrandon/mbserver"
)

// MBAP limits: the length field counts the unit id and the PDU (function
// code + at most 252 data bytes), so a whole ADU is at most 260 bytes.
const (
	mbapHeader = 7
	minLength  = 2
	maxLength  = 254
	maxADU     = mbapHeader - 1 + maxLength
)

// Quantity limits of the Modbus application protocol specification.
const (
	maxReadRegs     = 125
	maxReadBits     = 2000
	maxWriteRegs    = 123
	maxWriteCoils   = 1968
	maxRWWriteRegs  = 121
	addressSpaceEnd = 65536
)

// conn is one client connection, served by its own goroutine.
type conn struct {
	s    *Server
	nc   net.Conn
	peer string
	// epochs are the disconnect epochs of the server's units when the
	// connection was accepted.
	epochs []uint64
}

func (c *conn) stale(cur []uint64) bool {
	for i := range cur {
		if cur[i] > c.epochs[i] {
			return true
		}
	}
	return false
}

// action is what serve does after handling a request.
type action int

const (
	respond action = iota
	discard        // no response (comm loss)
	hangUp         // close the connection (disconnect fault)
)

func (c *conn) serve() {
	defer c.s.wg.Done()
	defer c.s.removeConn(c)
	defer c.nc.Close()
	log := c.s.log.With("peer", c.peer)
	defer func() {
		// A bug must cost one connection, never the twin.
		if r := recover(); r != nil {
			c.s.panics.Add(1)
			log.Error("closing connection after a panic", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	log.Debug("connection opened")
	rt, wt := c.s.cfg.ReadTimeout, c.s.cfg.WriteTimeout
	br := bufio.NewReaderSize(c.nc, 1024)
	var buf [maxADU]byte
	for {
		if rt > 0 {
			c.nc.SetReadDeadline(time.Now().Add(rt))
		}
		if _, err := io.ReadFull(br, buf[:mbapHeader]); err != nil {
			c.logEnd(log, "read header", err)
			return
		}
		proto := binary.BigEndian.Uint16(buf[2:4])
		length := int(binary.BigEndian.Uint16(buf[4:6]))
		if proto != 0 {
			log.Warn("closing connection: protocol id is not 0", "protocol_id", proto)
			return
		}
		if length < minLength || length > maxLength {
			log.Warn("closing connection: MBAP length out of range 2-254", "length", length)
			return
		}
		n := mbapHeader - 1 + length
		if _, err := io.ReadFull(br, buf[mbapHeader:n]); err != nil {
			c.logEnd(log, "read frame body", err)
			return
		}
		frame, err := parseFrame(buf[:n])
		if err != nil { // cannot happen with the checks above; never trust it
			log.Warn("closing connection: bad frame", "err", err)
			return
		}
		act, delay := c.handle(frame)
		switch act {
		case discard:
			continue
		case hangUp:
			log.Info("disconnect fault: closing connection")
			return
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.s.done:
				t.Stop()
				return
			}
		}
		if wt > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(wt))
		}
		if _, err := c.nc.Write(frame.Bytes()); err != nil {
			c.logEnd(log, "write response", err)
			return
		}
	}
}

func (c *conn) logEnd(log *slog.Logger, op string, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		log.Debug("connection closed", "op", op)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Info("closing connection: timeout", "op", op)
	case errors.Is(err, io.ErrUnexpectedEOF):
		log.Info("connection closed mid-frame", "op", op)
	default:
		log.Info("connection closed", "op", op, "err", err)
	}
}

// parseFrame decodes one whole ADU. mbserver.NewTCPFrame wants at least
// one data byte; a bare function code is a valid frame whose PDU is then
// refused with exception 3, so it is decoded here.
func parseFrame(b []byte) (*mbserver.TCPFrame, error) {
	if len(b) == mbapHeader+1 {
		return &mbserver.TCPFrame{
			TransactionIdentifier: binary.BigEndian.Uint16(b),
			ProtocolIdentifier:    binary.BigEndian.Uint16(b[2:]),
			Length:                binary.BigEndian.Uint16(b[4:]),
			Device:                b[6],
			Function:              b[7],
			Data:                  []byte{},
		}, nil
	}
	return mbserver.NewTCPFrame(b)
}

// handle answers one request in place: frame becomes the response.
func (c *conn) handle(frame *mbserver.TCPFrame) (action, time.Duration) {
	u := c.s.units[frame.Device]
	if u == nil {
		setException(frame, mbserver.GatewayTargetDeviceFailedtoRespond)
		return respond, 0
	}
	link := c.s.src.Link(u.machine, "modbus")
	if link.Epoch > c.epochs[u.idx] {
		return hangUp, 0
	}
	if link.Down {
		return discard, 0
	}
	if link.Exception != 0 {
		setException(frame, mbserver.Exception(link.Exception))
		return respond, link.Latency
	}
	data, ex := c.s.exec(u, frame.Function, frame.Data)
	if ex != mbserver.Success {
		setException(frame, ex)
	} else {
		frame.SetData(data)
	}
	return respond, link.Latency
}

func setException(f *mbserver.TCPFrame, ex mbserver.Exception) { f.SetException(&ex) }
