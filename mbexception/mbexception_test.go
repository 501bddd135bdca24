package mbexception

import "testing"

func TestNames(t *testing.T) {
	for _, c := range All {
		if !c.Known() || c.Name() == "unknown exception" {
			t.Errorf("%d has no name", c)
		}
	}
	if Code(9).Known() || Code(9).Name() != "unknown exception" {
		t.Error("code 9 is not in the specification")
	}
	if got := IllegalDataAddress.String(); got != "02 illegal data address" {
		t.Errorf("String() = %q", got)
	}
	if got := GatewayPathUnavailable.String(); got != "0A gateway path unavailable" {
		t.Errorf("String() = %q", got)
	}
	if got := Hint([]Code{IllegalFunction, ServerDeviceBusy}); got != "1 illegal function, 6 server device busy" {
		t.Errorf("Hint = %q", got)
	}
	if len(names) != len(All) {
		t.Errorf("%d names for %d codes", len(names), len(All))
	}
}
