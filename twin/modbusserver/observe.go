package modbusserver

// The client activity hook: what a connection (conn.go) reports of its
// peer to an observer (package clientlog), when one is set — the
// connection's start and end, and per request its function code, unit,
// addresses, the tags it read or the values it wrote, and the exception
// answered. Everything is read from the request and the response after
// the request was handled; nothing here changes the answer.

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/otwin/otwin/mbexception"
	"github.com/otwin/otwin/twin/clientlog"
)

// connObs is a connection's part of the hook.
type connObs struct {
	id       uint64
	endpoint string
	tags     []int // scratch list of a request's tags
}

// SetObserver makes the server report what its clients do to o (see
// package clientlog). Call it before Start.
func (s *Server) SetObserver(o clientlog.Observer) {
	s.obs = o
	for _, u := range s.list {
		s.obsMachines = append(s.obsMachines, u.machine)
	}
}

// entry is an entry of this connection.
func (c *conn) entry(kind clientlog.Kind) clientlog.Entry {
	return clientlog.Entry{Time: c.now, Kind: kind, Protocol: "modbus", Endpoint: c.obs.endpoint, Conn: c.obs.id, Peer: c.peer}
}

// observeConn reports the connection, and returns what reports its end.
func (c *conn) observeConn() func() {
	o := c.s.obs
	if o == nil {
		return func() {}
	}
	c.obs.id = clientlog.NextConn()
	if c.s.ln != nil {
		c.obs.endpoint = c.s.ln.Addr().String()
	}
	e := c.entry(clientlog.Connect)
	e.Time, e.Machines = time.Now(), c.s.obsMachines
	o.Observe(e)
	return func() {
		e := c.entry(clientlog.Disconnect)
		e.Time = time.Now()
		o.Observe(e)
	}
}

// observe reports request req (a whole ADU) and its answer resp (act
// says whether one was sent).
func (c *conn) observe(req, resp []byte, act action) {
	unitID, fc, d := req[6], req[7], req[mbapHeader+1:]
	e := c.entry(clientlog.Read)
	e.Function, e.Unit = fc, unitID
	switch {
	case act == discard:
		e.Reason = "no answer (comm_loss)"
	case act == hangUp:
		e.Reason = "connection closed (disconnect)"
	case len(resp) > mbapHeader+1 && resp[mbapHeader]&0x80 != 0:
		e.Exception = resp[mbapHeader+1]
		e.Reason = mbexception.Code(e.Exception).String()
	}
	u := c.s.units[unitID]
	be := binary.BigEndian
	switch fc {
	case 1, 2, 3, 4:
		if len(d) == 4 {
			e.Address, e.Quantity = int(be.Uint16(d)), int(be.Uint16(d[2:]))
			e.Tags = c.tagsAt(u, fc, e.Address, e.Quantity)
		}
	case 23:
		if len(d) >= 9 {
			e.Address, e.Quantity = int(be.Uint16(d)), int(be.Uint16(d[2:]))
			e.Tags = c.tagsAt(u, fc, e.Address, e.Quantity)
		}
		c.s.obs.Observe(withCount(e))
		if len(d) >= 9 {
			c.observeWrite(e, u, int(be.Uint16(d[4:])), int(be.Uint16(d[6:])), d[9:])
		}
		return
	case 5:
		if len(d) == 4 {
			var bit []byte
			switch be.Uint16(d[2:]) {
			case 0xFF00:
				bit = []byte{1}
			case 0:
				bit = []byte{0}
			}
			c.observeWrite(e, u, int(be.Uint16(d)), 1, bit)
			return
		}
	case 6:
		if len(d) == 4 {
			c.observeWrite(e, u, int(be.Uint16(d)), 1, d[2:4])
			return
		}
	case 15, 16:
		if len(d) >= 5 {
			c.observeWrite(e, u, int(be.Uint16(d)), int(be.Uint16(d[2:])), d[5:])
			return
		}
	}
	c.s.obs.Observe(withCount(e))
}

func withCount(e clientlog.Entry) clientlog.Entry {
	e.Count = len(e.Tags)
	return e
}

// tagsAt lists the tags of unit u whose registers or bits overlap the
// quantity qty from addr of the table function fc reads.
func (c *conn) tagsAt(u *unit, fc byte, addr, qty int) []int {
	c.obs.tags = c.obs.tags[:0]
	t := tHolding
	switch fc {
	case 1:
		t = tCoil
	case 2:
		t = tDiscrete
	case 4:
		t = tInput
	}
	if u == nil {
		return nil
	}
	ss := u.tables[t]
	i, _ := slices.BinarySearchFunc(ss, addr, func(s *slot, a int) int {
		if s.end() <= a {
			return -1
		}
		return 1
	})
	for ; i < len(ss) && ss[i].start < addr+qty; i++ {
		c.obs.tags = append(c.obs.tags, ss[i].tag)
	}
	return c.obs.tags
}

// observeWrite reports a write of qty registers or coils from addr
// (data: the values as the request carries them): one entry per tag it
// covers, with the value decoded as the twin decodes it, or one entry
// without a tag when it covers none. A refused request refuses every tag
// it covers.
func (c *conn) observeWrite(e clientlog.Entry, u *unit, addr, qty int, data []byte) {
	e.Kind, e.Address, e.Quantity, e.Tags = clientlog.Write, addr, qty, nil
	bits := e.Function == 5 || e.Function == 15
	t := tHolding
	if bits {
		t = tCoil
	}
	var slots []*slot
	if u != nil {
		ss := u.tables[t]
		for _, sl := range ss {
			if sl.start < addr+qty && sl.end() > addr {
				slots = append(slots, sl)
			}
		}
	}
	if len(slots) == 0 {
		c.s.obs.Observe(e)
		return
	}
	for _, sl := range slots {
		w := e
		w.Tag, w.Tags = c.s.src.Tags()[sl.tag].ID, []int{sl.tag}
		w.Value, w.Reason = c.written(sl, addr, qty, data, bits), e.Reason
		if w.Value == nil && w.Reason == "" {
			w.Reason = "the request's value does not fit the tag"
		}
		c.s.obs.Observe(w)
	}
}

// written decodes the value a write request gives slot sl; nil when the
// request covers only part of it or the value does not fit the tag.
func (c *conn) written(sl *slot, addr, qty int, data []byte, bits bool) any {
	if sl.start < addr || sl.end() > addr+qty {
		return nil
	}
	k := sl.start - addr
	if bits {
		if k/8 >= len(data) {
			return nil
		}
		v, err := sl.codec.decodeBit(data[k/8]&(1<<(k%8)) != 0)
		if err != nil {
			return nil
		}
		return v
	}
	var w [4]uint16
	for i := 0; i < sl.width; i++ {
		if 2*(k+i)+2 > len(data) {
			return nil
		}
		w[i] = binary.BigEndian.Uint16(data[2*(k+i):])
	}
	v, err := sl.codec.decode(w[:])
	if err != nil {
		return nil
	}
	return v
}
