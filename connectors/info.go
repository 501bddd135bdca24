package connectors

// PointInfo is what a server says about a point: OPC UA attributes and
// properties read once after each (re)connect. Modbus has none.
type PointInfo struct {
	// BrowsePath is the path of browse names from the browse root to the
	// variable, "/"-separated (set for points found by browsing).
	BrowsePath string
	// DisplayName and Description of the node.
	DisplayName string
	Description string
	// DataType is the OPC UA built-in type name, e.g. "Double".
	DataType string
	// HasUnit says UnitID and UnitSymbol come from an EngineeringUnits
	// property.
	HasUnit    bool
	UnitID     int32
	UnitSymbol string
	// HasRange says Low and High come from an EURange property.
	HasRange  bool
	Low, High float64
	// Writable says the server grants write access.
	Writable bool
}
