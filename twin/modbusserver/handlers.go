package modbusserver

import (
	"encoding/binary"
	"errors"

	"github.com/tbrandon/mbserver"

	"github.com/otwin/otwin/twin"
)

// exec runs one request PDU (function code fc, data after it) against
// unit u and appends the response data to out, or returns an exception
// (out then holds garbage after its original length).
//
// A write refused for a reason a user should see (address not writable,
// value out of range, ...) fills why for the log.
func (s *Server) exec(u *unit, fc byte, d, out []byte, why *refusal) ([]byte, mbserver.Exception) {
	switch fc {
	case 1, 2, 3, 4:
		if len(d) != 4 {
			return nil, mbserver.IllegalDataValue
		}
		addr, qty := int(be16(d)), int(be16(d[2:]))
		switch fc {
		case 1:
			return s.readBits(u, tCoil, addr, qty, out)
		case 2:
			return s.readBits(u, tDiscrete, addr, qty, out)
		case 3:
			return s.readRegs(u, tHolding, addr, qty, out)
		default:
			return s.readRegs(u, tInput, addr, qty, out)
		}
	case 5:
		if len(d) != 4 {
			return nil, mbserver.IllegalDataValue
		}
		var on bool
		switch be16(d[2:]) {
		case 0xFF00:
			on = true
		case 0x0000:
		default:
			return nil, mbserver.IllegalDataValue
		}
		if ex := s.writeBits(u, int(be16(d)), 1, []byte{b2u8(on)}, why); ex != mbserver.Success {
			return nil, ex
		}
		return append(out, d...), mbserver.Success
	case 6:
		if len(d) != 4 {
			return nil, mbserver.IllegalDataValue
		}
		if ex := s.writeRegs(u, int(be16(d)), 1, d[2:4], why); ex != mbserver.Success {
			return nil, ex
		}
		return append(out, d...), mbserver.Success
	case 15:
		if len(d) < 5 {
			return nil, mbserver.IllegalDataValue
		}
		addr, qty, n := int(be16(d)), int(be16(d[2:])), int(d[4])
		if qty < 1 || qty > maxWriteCoils || n != (qty+7)/8 || len(d) != 5+n {
			return nil, mbserver.IllegalDataValue
		}
		if ex := s.writeBits(u, addr, qty, d[5:], why); ex != mbserver.Success {
			return nil, ex
		}
		return append(out, d[:4]...), mbserver.Success
	case 16:
		if len(d) < 5 {
			return nil, mbserver.IllegalDataValue
		}
		addr, qty, n := int(be16(d)), int(be16(d[2:])), int(d[4])
		if qty < 1 || qty > maxWriteRegs || n != 2*qty || len(d) != 5+n {
			return nil, mbserver.IllegalDataValue
		}
		if ex := s.writeRegs(u, addr, qty, d[5:], why); ex != mbserver.Success {
			return nil, ex
		}
		return append(out, d[:4]...), mbserver.Success
	case 23:
		if len(d) < 9 {
			return nil, mbserver.IllegalDataValue
		}
		raddr, rqty := int(be16(d)), int(be16(d[2:]))
		waddr, wqty, n := int(be16(d[4:])), int(be16(d[6:])), int(d[8])
		if rqty < 1 || rqty > maxReadRegs || wqty < 1 || wqty > maxRWWriteRegs || n != 2*wqty || len(d) != 9+n {
			return nil, mbserver.IllegalDataValue
		}
		if raddr+rqty > addressSpaceEnd || !u.images[tHolding].covered(raddr, rqty) {
			return nil, mbserver.IllegalDataAddress
		}
		if ex := s.writeRegs(u, waddr, wqty, d[9:], why); ex != mbserver.Success {
			return nil, ex
		}
		return s.readRegs(u, tHolding, raddr, rqty, out)
	}
	return nil, mbserver.IllegalFunction
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// readRegs answers fc3/fc4: byte count, then qty registers, copied from
// the image.
func (s *Server) readRegs(u *unit, t, addr, qty int, out []byte) ([]byte, mbserver.Exception) {
	if qty < 1 || qty > maxReadRegs {
		return nil, mbserver.IllegalDataValue
	}
	im := &u.images[t]
	if addr+qty > addressSpaceEnd || !im.covered(addr, qty) {
		return nil, mbserver.IllegalDataAddress
	}
	s.hub.sync()
	s.hub.mu.RLock()
	out = append(append(out, byte(2*qty)), im.regs(addr, qty)...)
	s.hub.mu.RUnlock()
	return out, mbserver.Success
}

// readBits answers fc1/fc2: byte count, then qty bits, LSB first.
func (s *Server) readBits(u *unit, t, addr, qty int, out []byte) ([]byte, mbserver.Exception) {
	if qty < 1 || qty > maxReadBits {
		return nil, mbserver.IllegalDataValue
	}
	im := &u.images[t]
	if addr+qty > addressSpaceEnd || !im.covered(addr, qty) {
		return nil, mbserver.IllegalDataAddress
	}
	n := (qty + 7) / 8
	out = append(out, byte(n))
	start := len(out)
	out = append(out, make([]byte, n)...)
	s.syncAlarms()
	s.hub.sync()
	s.hub.mu.RLock()
	for k, b := range im.bits(addr, qty) {
		out[start+k/8] |= b << (k % 8)
	}
	s.hub.mu.RUnlock()
	return out, mbserver.Success
}

// writeRegs writes qty holding registers from addr (regs: 2*qty bytes).
// Everything is checked before the first Write.
func (s *Server) writeRegs(u *unit, addr, qty int, regs []byte, why *refusal) mbserver.Exception {
	end := addr + qty
	slots, ok := u.span(tHolding, addr, qty)
	if end > addressSpaceEnd || !ok {
		return why.set(mbserver.IllegalDataAddress, nil, "holding "+rangeText(addr, qty)+" is not mapped", nil, nil)
	}
	vals := make([]any, len(slots))
	var w [4]uint16
	for i, sl := range slots {
		if !sl.writable {
			return why.set(mbserver.IllegalDataAddress, sl, "the tag is not writable", nil, nil)
		}
		if sl.start < addr || sl.end() > end {
			return why.set(mbserver.IllegalDataAddress, sl, "the write covers only part of the tag's registers "+rangeText(sl.start, sl.width), nil, nil)
		}
		for k := 0; k < sl.width; k++ {
			w[k] = be16(regs[2*(sl.start-addr+k):])
		}
		v, err := sl.codec.decode(w[:])
		if err != nil {
			return why.set(mbserver.IllegalDataValue, sl, "the value does not fit the tag's type", nil, err)
		}
		vals[i] = v
	}
	return s.commit(slots, vals, why)
}

// writeBits writes qty coils from addr (bits LSB first).
func (s *Server) writeBits(u *unit, addr, qty int, bits []byte, why *refusal) mbserver.Exception {
	slots, ok := u.span(tCoil, addr, qty)
	if addr+qty > addressSpaceEnd || !ok {
		return why.set(mbserver.IllegalDataAddress, nil, "coil "+rangeText(addr, qty)+" is not mapped", nil, nil)
	}
	vals := make([]any, len(slots))
	for i, sl := range slots {
		if !sl.writable {
			return why.set(mbserver.IllegalDataAddress, sl, "the tag is not writable", nil, nil)
		}
		k := sl.start - addr
		v, err := sl.codec.decodeBit(bits[k/8]&(1<<(k%8)) != 0)
		if err != nil {
			return why.set(mbserver.IllegalDataValue, sl, "the value does not fit the tag's type", nil, err)
		}
		vals[i] = v
	}
	return s.commit(slots, vals, why)
}

// commit hands checked values to the engine. The tags before a refused
// one keep their new values.
func (s *Server) commit(slots []*slot, vals []any, why *refusal) mbserver.Exception {
	for i, sl := range slots {
		err := s.src.Write(sl.tag, vals[i])
		switch {
		case err == nil:
			continue
		case errors.Is(err, twin.ErrOutOfRange):
			return why.set(mbserver.IllegalDataValue, sl, "the value is out of range", vals[i], err)
		case errors.Is(err, twin.ErrType):
			return why.set(mbserver.IllegalDataValue, sl, "the value is not of the tag's type", vals[i], err)
		case errors.Is(err, twin.ErrNotWritable), errors.Is(err, twin.ErrUnknownTag):
			return why.set(mbserver.IllegalDataAddress, sl, "the tag is not writable", vals[i], err)
		}
		return why.set(mbserver.SlaveDeviceFailure, sl, "the twin refused the write", vals[i], err)
	}
	return mbserver.Success
}
