package normalize

import "github.com/otwin/otwin/units"

// Unit is an engineering unit as OPC UA EUInformation: the UNECE Rec 20
// code, its packed UnitId and the display symbol (see package units, the
// one table both halves resolve units in).
type Unit = units.Unit
