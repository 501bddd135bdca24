package scenarios

import "github.com/otwin/otwin/units"

// Unit is an engineering unit resolved from the UNECE Rec 20 table: what
// OPC UA's EUInformation carries (see package units, the one table both
// halves resolve units in).
type Unit = units.Unit
