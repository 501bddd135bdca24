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

	"github.com/otwin/otwin/twin/connslot"
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

// Buffer sizes of a connection: reads take every pipelined request the
// client has sent; responses are gathered and written once no further
// whole request is waiting.
const (
	readBuffer  = 4 << 10
	writeBuffer = 4 << 10
)

// conn is one client connection, served by its own goroutine.
type conn struct {
	s    *Server
	nc   net.Conn
	peer string
	slot *connslot.Slot // nil when served outside the accept loop (tests)
	// epochs are the disconnect epochs of the server's units when the
	// connection was accepted.
	epochs []uint64
	out    [maxADU]byte // the response being built
	obs    connObs      // the client activity hook's (observe.go)
	// now is the time read when the last request arrived (zero before);
	// the deadlines are set from it. readDL and writeDL are the deadlines
	// set on nc.
	now, readDL, writeDL time.Time
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
	if c.slot != nil {
		defer c.slot.Release()
	}
	log := c.s.log.With("peer", c.peer)
	defer func() {
		// A bug must cost one connection, never the twin.
		if r := recover(); r != nil {
			c.s.panics.Add(1)
			log.Error("closing connection after a panic", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	log.Debug("connection opened")
	defer c.observeConn()()
	r, w := connIO(c.nc)
	br := bufio.NewReaderSize(r, readBuffer)
	bw := bufio.NewWriterSize(w, writeBuffer)
	// Responses already due are sent before the connection closes, as
	// if each had been written at once.
	defer c.flush(bw)
	for {
		frame, err := c.next(br, bw)
		if err != nil {
			c.logEnd(log, err)
			return
		}
		if frame == nil {
			log.Warn("closing connection: broken MBAP header", "protocol_id", be16(c.out[2:]), "length", be16(c.out[4:]))
			return
		}
		c.now = time.Now()
		if c.slot != nil {
			c.slot.TouchAt(c.now)
		}
		resp, act, delay := c.handle(frame, c.out[:0])
		if c.s.obs != nil {
			c.observe(frame, resp, act)
		}
		br.Discard(len(frame))
		switch act {
		case discard:
			continue
		case hangUp:
			log.Info("disconnect fault: closing connection")
			return
		}
		if delay > 0 {
			if err := c.flush(bw); err != nil {
				c.logEnd(log, err)
				return
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.s.done:
				t.Stop()
				return
			}
			c.now = time.Now()
		}
		if bw.Available() < len(resp) {
			if err := c.flush(bw); err != nil {
				c.logEnd(log, err)
				return
			}
		}
		bw.Write(resp)
	}
}

// next returns the next whole request ADU, valid until the next read of
// br. Before waiting for more input it sends the responses gathered in
// bw. A frame whose header cannot be trusted (protocol id not 0, MBAP
// length out of 2..254) returns nil with its header copied to c.out.
func (c *conn) next(br *bufio.Reader, bw *bufio.Writer) ([]byte, error) {
	if !wholeFrame(br) {
		if c.now.IsZero() {
			c.now = time.Now()
		}
		if err := c.flushAt(bw, c.now); err != nil {
			return nil, err
		}
		c.readDL = extend(c.nc.SetReadDeadline, c.readDL, c.now, c.s.cfg.ReadTimeout)
	}
	h, err := br.Peek(mbapHeader)
	if err != nil {
		return nil, midFrame(len(h), err)
	}
	length := int(binary.BigEndian.Uint16(h[4:6]))
	if binary.BigEndian.Uint16(h[2:4]) != 0 || length < minLength || length > maxLength {
		copy(c.out[:], h)
		return nil, nil
	}
	f, err := br.Peek(mbapHeader - 1 + length)
	if err != nil {
		return nil, midFrame(len(f), err)
	}
	return f, nil
}

// wholeFrame reports whether br holds a whole request (or a header that
// will be refused) without reading from the connection.
func wholeFrame(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < mbapHeader {
		return false
	}
	h, _ := br.Peek(mbapHeader)
	return n >= mbapHeader-1+int(binary.BigEndian.Uint16(h[4:6]))
}

// errMidFrame marks a connection that ended inside a frame.
var errMidFrame = errors.New("connection closed mid-frame")

func midFrame(got int, err error) error {
	if got > 0 && errors.Is(err, io.EOF) {
		return errMidFrame
	}
	return err
}

// flush sends the gathered responses within WriteTimeout.
func (c *conn) flush(bw *bufio.Writer) error {
	if bw.Buffered() == 0 {
		return nil
	}
	return c.flushAt(bw, time.Now())
}

// flushAt is flush with the time already read.
func (c *conn) flushAt(bw *bufio.Writer, now time.Time) error {
	if bw.Buffered() == 0 {
		return nil
	}
	c.writeDL = extend(c.nc.SetWriteDeadline, c.writeDL, now, c.s.cfg.WriteTimeout)
	return bw.Flush()
}

// extend keeps a deadline at least timeout after now and returns it. It
// moves the deadline only when less than timeout is left, and then to an
// eighth beyond, so a busy connection sets it once per timeout/8 rather
// than once per request: a timeout fires after timeout to 9/8 timeout.
// timeout ≤ 0 means none.
func extend(set func(time.Time) error, dl, now time.Time, timeout time.Duration) time.Time {
	if timeout <= 0 || dl.Sub(now) >= timeout {
		return dl
	}
	dl = now.Add(timeout + timeout/8)
	set(dl)
	return dl
}

func (c *conn) logEnd(log *slog.Logger, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		log.Debug("connection closed")
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Info("closing connection: timeout", "err", err)
	case errors.Is(err, errMidFrame):
		log.Info("connection closed mid-frame")
	default:
		log.Info("connection closed", "err", err)
	}
}

// handle answers one request ADU (7-byte MBAP header, function code, data)
// by appending the response ADU to out.
func (c *conn) handle(req, out []byte) ([]byte, action, time.Duration) {
	out = append(out, req[:mbapHeader+1]...) // header and function code
	unitID, fc := req[6], req[7]
	u := c.s.units[unitID]
	if u == nil {
		return exception(out, mbserver.GatewayTargetDeviceFailedtoRespond), respond, 0
	}
	link := c.s.src.Link(u.machine, "modbus")
	if link.Epoch > c.epochs[u.idx] {
		return nil, hangUp, 0
	}
	if link.Down {
		return nil, discard, 0
	}
	if link.Exception != 0 {
		return exception(out, mbserver.Exception(link.Exception)), respond, link.Latency
	}
	var why refusal
	resp, ex := c.s.exec(u, fc, req[mbapHeader+1:], out, &why)
	if ex != mbserver.Success {
		if why.reason != "" {
			c.s.refusals.log(c.s.log, c.peer, unitID, fc, &why)
		}
		return exception(out, ex), respond, link.Latency
	}
	binary.BigEndian.PutUint16(resp[4:], uint16(len(resp)-(mbapHeader-1)))
	return resp, respond, link.Latency
}

// exception turns out (a response header and function code) into an
// exception response.
func exception(out []byte, ex mbserver.Exception) []byte {
	out = append(out[:mbapHeader+1], byte(ex))
	out[mbapHeader] |= 0x80
	binary.BigEndian.PutUint16(out[4:], 3)
	return out
}
