// Package mbexception is otwin's one table of Modbus exception codes
// (MODBUS Application Protocol Specification v1.1b3, section 7): their
// values and the names the specification gives them. It is a leaf
// package: the twin's Modbus server and its modbus_exception fault (the
// simulator half) and the Modbus connector (the monitoring half) name an
// exception the same way.
package mbexception

import (
	"fmt"
	"strings"
)

// Code is a Modbus exception code.
type Code byte

// The exception codes of the specification.
const (
	IllegalFunction                    Code = 0x01
	IllegalDataAddress                 Code = 0x02
	IllegalDataValue                   Code = 0x03
	ServerDeviceFailure                Code = 0x04
	Acknowledge                        Code = 0x05
	ServerDeviceBusy                   Code = 0x06
	NegativeAcknowledge                Code = 0x07
	MemoryParityError                  Code = 0x08
	GatewayPathUnavailable             Code = 0x0A
	GatewayTargetDeviceFailedToRespond Code = 0x0B
)

// All lists every code, in order.
var All = []Code{
	IllegalFunction, IllegalDataAddress, IllegalDataValue, ServerDeviceFailure, Acknowledge,
	ServerDeviceBusy, NegativeAcknowledge, MemoryParityError, GatewayPathUnavailable,
	GatewayTargetDeviceFailedToRespond,
}

var names = map[Code]string{
	IllegalFunction:                    "illegal function",
	IllegalDataAddress:                 "illegal data address",
	IllegalDataValue:                   "illegal data value",
	ServerDeviceFailure:                "server device failure",
	Acknowledge:                        "acknowledge",
	ServerDeviceBusy:                   "server device busy",
	NegativeAcknowledge:                "negative acknowledge",
	MemoryParityError:                  "memory parity error",
	GatewayPathUnavailable:             "gateway path unavailable",
	GatewayTargetDeviceFailedToRespond: "gateway target device failed to respond",
}

// Known says c is a code of the specification.
func (c Code) Known() bool { _, ok := names[c]; return ok }

// Name is the specification's name of c, e.g. "illegal data address", or
// "unknown exception".
func (c Code) Name() string {
	if n, ok := names[c]; ok {
		return n
	}
	return "unknown exception"
}

// String is c's two-digit hex code and name, e.g. "02 illegal data
// address".
func (c Code) String() string { return fmt.Sprintf("%02X %s", byte(c), c.Name()) }

// Hint lists the given codes as "1 illegal function, 2 …", for messages
// that name the accepted codes.
func Hint(codes []Code) string {
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d %s", byte(c), c.Name())
	}
	return strings.Join(parts, ", ")
}
