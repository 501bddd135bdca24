package modbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goburrow/modbus"
)

// Probe reads raw table entries of a Modbus TCP device, one request at a
// time, for tools that look around a point's address to find out what a
// configuration got wrong (otwin verify). It speaks through the
// connector's own transport and client, so it sees the device exactly as
// the connector does. It is not safe for concurrent use.
type Probe struct {
	tr     *transport
	pk     *modbus.TCPClientHandler
	client modbus.Client
}

// NewProbe returns a probe of the device at address (host:port) with a
// timeout per dial and request (DefaultTimeout when 0). It connects on
// the first Read.
func NewProbe(address string, timeout time.Duration) *Probe {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := &transport{addr: address, timeout: timeout}
	pk := modbus.NewTCPClientHandler(address) // the packager only
	return &Probe{tr: tr, pk: pk, client: modbus.NewClient2(pk, tr)}
}

// Read reads count entries of table from the 0-based address start under
// unit id unit, connecting first when needed: registers as sent on the
// wire (2 bytes each, big-endian), or bits packed from bit 0 of the first
// byte. An exception answer is an error for which ExceptionCode reports
// the code; after any other error the next Read reconnects.
func (p *Probe) Read(ctx context.Context, unit byte, table Table, start, count uint16) ([]byte, error) {
	if !p.tr.connected() {
		if err := p.tr.dial(ctx); err != nil {
			return nil, fmt.Errorf("dial %s: %w", p.tr.addr, err)
		}
	}
	stop := context.AfterFunc(ctx, p.tr.close)
	defer stop()
	p.pk.SlaveId = unit
	data, err := readTable(p.client, table, start, count)
	if err != nil {
		var me *modbus.ModbusError
		if errors.As(err, &me) && me.FunctionCode&0x80 != 0 {
			return nil, fmt.Errorf("read %s %d-%d unit %d on %s: %w", table, start, int(start)+int(count)-1, unit, p.tr.addr, exceptionError{me})
		}
		p.tr.close()
		return nil, fmt.Errorf("read %s %d-%d unit %d on %s: %w", table, start, int(start)+int(count)-1, unit, p.tr.addr, err)
	}
	return data, nil
}

// Close closes the connection, if any.
func (p *Probe) Close() { p.tr.close() }

// ExceptionCode reports the Modbus exception code of an error of Probe.Read
// or of a connector reading's status, and whether it is one.
func ExceptionCode(err error) (byte, bool) {
	var me *modbus.ModbusError
	if errors.As(err, &me) && me.FunctionCode&0x80 != 0 {
		return me.ExceptionCode, true
	}
	return 0, false
}
