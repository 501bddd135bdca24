package statuscode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gopcua/opcua/ua"
)

// gopcuaName turns an OPC UA name ("Bad_NodeIdUnknown") into the name of
// gopcua's generated constant ("StatusBadNodeIDUnknown").
func gopcuaName(name string) string {
	n := strings.Replace(name, "_", "", 1)
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		if n[i] == 'I' && i+1 < len(n) && n[i+1] == 'd' && (i+2 == len(n) || n[i+2] >= 'A' && n[i+2] <= 'Z') {
			b.WriteString("ID")
			i++
			continue
		}
		b.WriteByte(n[i])
	}
	return "Status" + b.String()
}

// TestStatusCodesMatchGopcua checks every named code's value against the
// table generated from the OPC UA specification in gopcua (a test-only
// dependency: package connectors stays a leaf).
func TestStatusCodesMatchGopcua(t *testing.T) {
	byName := make(map[string]uint32, len(ua.StatusCodes))
	for c, d := range ua.StatusCodes {
		byName[d.Name] = uint32(c)
	}
	if len(statusNames) < 40 {
		t.Errorf("name table has %d codes, want at least 40", len(statusNames))
	}
	for c, name := range statusNames {
		want, ok := byName[gopcuaName(name)]
		if !ok {
			t.Errorf("%s: no %s in gopcua's table", name, gopcuaName(name))
			continue
		}
		if uint32(c) != want {
			t.Errorf("%s = 0x%08X, gopcua says 0x%08X", name, uint32(c), want)
		}
		if c&^CodeMask != 0 {
			t.Errorf("%s has info bits set: 0x%08X", name, uint32(c))
		}
	}
}

func TestStatusSeverity(t *testing.T) {
	tests := []struct {
		code Code
		sev  Severity
	}{
		{Good, SeverityGood},
		{Good | LimitHigh, SeverityGood},
		{GoodClamped, SeverityGood},
		{UncertainLastUsableValue, SeverityUncertain},
		{UncertainEngineeringUnitsExceeded | LimitLow, SeverityUncertain},
		{BadNoCommunication, SeverityBad},
		{0xC0000000, SeverityBad}, // reserved 11 counts as bad
	}
	for _, tt := range tests {
		if got := tt.code.Severity(); got != tt.sev {
			t.Errorf("0x%08X.Severity() = %v, want %v", uint32(tt.code), got, tt.sev)
		}
		if tt.code.IsGood() != (tt.sev == SeverityGood) || tt.code.IsUncertain() != (tt.sev == SeverityUncertain) || tt.code.IsBad() != (tt.sev == SeverityBad) {
			t.Errorf("0x%08X: Is* disagree with %v", uint32(tt.code), tt.sev)
		}
	}
}

func TestStatusName(t *testing.T) {
	tests := []struct {
		code Code
		name string
	}{
		{Good, "Good"},
		{0x00000001, "Good"},
		{BadNoCommunication, "Bad_NoCommunication"},
		{UncertainNoCommunicationLastUsableValue, "Uncertain_NoCommunicationLastUsableValue"},
		{UncertainLastUsableValue | LimitHigh, "Uncertain_LastUsableValue"},
		{UncertainEngineeringUnitsExceeded | LimitLow, "Uncertain_EngineeringUnitsExceeded"},
		{BadNodeIDUnknown, "Bad_NodeIdUnknown"},
		{BadConfigurationError, "Bad_ConfigurationError"},
		{BadDeviceFailure, "Bad_DeviceFailure"},
		{BadWaitingForInitialData, "Bad_WaitingForInitialData"},
		{0x80FF0000, "Bad"},
		{0x40FF0000, "Uncertain"},
	}
	for _, tt := range tests {
		if got := tt.code.Name(); got != tt.name {
			t.Errorf("0x%08X.Name() = %q, want %q", uint32(tt.code), got, tt.name)
		}
	}
	if got, want := BadNoCommunication.Error(), "Bad_NoCommunication (0x80310000)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if BadNoCommunication.String() != BadNoCommunication.Error() {
		t.Error("String differs from Error")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Code
		ok   bool
	}{
		{"Good", Good, true},
		{"Bad_NoCommunication", BadNoCommunication, true},
		{"BadNoCommunication", BadNoCommunication, true},
		{"bad_nocommunication", BadNoCommunication, true},
		{" Uncertain_LastUsableValue ", UncertainLastUsableValue, true},
		{"Bad_NodeIdUnknown", BadNodeIDUnknown, true},
		{"0x80310000", BadNoCommunication, true},
		{"0X40900100", UncertainLastUsableValue | LimitLow, true},
		{"0x0", Good, true},
		{"0x", 0, false},
		{"0x1FFFFFFFF", 0, false},
		{"0xZZ", 0, false},
		{"Bad_CommunicationFailure", 0, false}, // not an OPC UA code
		{"", 0, false},
		{"2150694912", BadNoCommunication, true},
		{"99999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Parse(%q) = 0x%08X, %v; want 0x%08X, %v", tt.in, uint32(got), ok, uint32(tt.want), tt.ok)
		}
	}
	// Every name round-trips.
	for c, n := range statusNames {
		if got, ok := Parse(n); !ok || got != c {
			t.Errorf("Parse(%q) = 0x%08X, %v; want 0x%08X", n, uint32(got), ok, uint32(c))
		}
		if got, ok := Parse(fmt.Sprintf("0x%08X", uint32(c))); !ok || got != c {
			t.Errorf("Parse(hex of %s) = 0x%08X, %v", n, uint32(got), ok)
		}
	}
}
