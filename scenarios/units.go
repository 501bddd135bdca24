package scenarios

// Unit is an engineering unit resolved from the UNECE Rec 20 table: what
// OPC UA's EUInformation carries.
type Unit struct {
	// Code is the UNECE common code, e.g. "CEL".
	Code string
	// UnitID is Code packed into an int32 as OPC UA requires.
	UnitID int32
	// Symbol is the display name, e.g. "°C".
	Symbol string
	// Name is the unit's full name, e.g. "degree Celsius".
	Name string
}
