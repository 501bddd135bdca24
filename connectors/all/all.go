// Package all registers every connector kind: importing it (for its side
// effect) makes each kind known to connectors.Lookup, to the sources file
// and to the collector.
//
// Adding a kind is one package (see connectors.Kind) plus one line here.
package all

import (
	// The connector kinds, one line each.
	_ "github.com/otwin/otwin/connectors/modbus"
	_ "github.com/otwin/otwin/connectors/opcua"
)
