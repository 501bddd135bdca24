package opcua

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

// convertValue turns an OPC UA scalar into the Reading.Raw types: bool,
// int64, uint64, float64 or string. Arrays, matrices and structures are
// not converted (ok false).
func convertValue(v any) (raw any, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case string:
		return x, true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	case *ua.LocalizedText:
		if x == nil {
			return "", true
		}
		return x.Text, true
	case *ua.QualifiedName:
		if x == nil {
			return "", true
		}
		return x.Name, true
	case *ua.NodeID:
		return x.String(), true
	case *ua.ExpandedNodeID:
		return x.String(), true
	case *ua.GUID:
		return x.String(), true
	case []byte:
		return base64.StdEncoding.EncodeToString(x), true
	case ua.StatusCode:
		return uint64(x), true
	}
	return nil, false
}

// valueFields are the Reading fields a DataValue gives.
type valueFields struct {
	raw        any
	status     error
	sourceTime time.Time
	serverTime time.Time
}

// fromDataValue converts dv. A Good value whose type cannot be converted
// is reported as Bad_TypeMismatch; a Good value without a value as
// Bad_WaitingForInitialData. A non-Good status travels as
// connectors.StatusCode, with the value when the server sent one.
func fromDataValue(dv *ua.DataValue) valueFields {
	var f valueFields
	if dv == nil {
		f.status = connectors.BadNoCommunication
		return f
	}
	if dv.Has(ua.DataValueSourceTimestamp) {
		f.sourceTime = dv.SourceTimestamp
	}
	if dv.Has(ua.DataValueServerTimestamp) {
		f.serverTime = dv.ServerTimestamp
	}
	code := ua.StatusOK
	if dv.Has(ua.DataValueStatusCode) {
		code = dv.Status
	}
	var v any
	if dv.Has(ua.DataValueValue) && dv.Value != nil {
		v = dv.Value.Value()
	}
	if code != ua.StatusOK {
		f.status = connectors.StatusCode(code)
	}
	if v == nil {
		if f.status == nil {
			f.status = connectors.BadWaitingForInitialData
		}
		return f
	}
	raw, ok := convertValue(v)
	if !ok {
		if f.status == nil || connectors.StatusCode(code).IsGood() {
			f.status = connectors.BadTypeMismatch
		}
		return f
	}
	f.raw = raw
	return f
}

// describeUnconvertible names the type of a value convertValue refuses.
func describeUnconvertible(dv *ua.DataValue) string {
	if dv == nil || dv.Value == nil {
		return "null"
	}
	return fmt.Sprintf("%T", dv.Value.Value())
}

// dataTypeName names an OPC UA DataType node id: the built-in type name
// ("Double") for namespace 0 built-in types, else the node id string.
func dataTypeName(id *ua.NodeID) string {
	if id == nil {
		return ""
	}
	if id.Namespace() == 0 && id.Type() != ua.NodeIDTypeString && id.IntID() >= 1 && id.IntID() <= 25 {
		return builtinTypeNames[id.IntID()]
	}
	switch {
	case id.Namespace() == 0 && id.IntID() == 26:
		return "Number"
	case id.Namespace() == 0 && id.IntID() == 27:
		return "Integer"
	case id.Namespace() == 0 && id.IntID() == 28:
		return "UInteger"
	case id.Namespace() == 0 && id.IntID() == 29:
		return "Enumeration"
	}
	return id.String()
}

// builtinTypeNames are the OPC UA built-in data type names by id (Part 6
// §5.1.2).
var builtinTypeNames = [...]string{
	1: "Boolean", 2: "SByte", 3: "Byte", 4: "Int16", 5: "UInt16", 6: "Int32",
	7: "UInt32", 8: "Int64", 9: "UInt64", 10: "Float", 11: "Double",
	12: "String", 13: "DateTime", 14: "Guid", 15: "ByteString",
	16: "XmlElement", 17: "NodeId", 18: "ExpandedNodeId", 19: "StatusCode",
	20: "QualifiedName", 21: "LocalizedText", 22: "Structure",
	23: "DataValue", 24: "BaseDataType", 25: "DiagnosticInfo",
}
