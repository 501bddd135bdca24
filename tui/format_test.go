package tui

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/otwin/otwin/connectors"
)

func TestFormat(t *testing.T) {
	cases := []struct{ got, want string }{
		{fmtNum(72.5), "72.5"},
		{fmtNum(1480), "1480"},
		{fmtNum(0.4237), "0.424"},
		{fmtNum(1.5e-5), "1.5e-05"},
		{fmtAge(4200 * time.Millisecond), "4.2s"},
		{fmtAge(37 * time.Second), "37s"},
		{fmtAge(5*time.Minute + 3*time.Second), "5m03s"},
		{fmtAge(2*time.Hour + 7*time.Minute), "2h07m"},
		{fmtAge(76 * time.Hour), "3d04h"},
		{fmtLatency(3200 * time.Microsecond), "3.2ms"},
		{limitBits(connectors.UncertainEngineeringUnitsExceeded | connectors.LimitHigh), "High"},
		{limitBits(connectors.Good | connectors.LimitLow), "Low"},
		{badge(connectors.UncertainLastUsableValue | 0x10), "UNCR"},
		{badge(connectors.GoodClamped), "GOOD"},
		{fmtSpeed(0.25), "0.25×"},
		{fmtElapsed(100*time.Hour + 61*time.Second), "100:01:01"},
		{shortAddress("nsu=urn:plant;s=line1/press1/temp"), "s=line1/press1/temp"},
		{shortAddress("holding:100:float32:CDAB@unit=2"), "holding:100:float32:CDAB@unit=2"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
}

func TestStyles(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	colour := newStyles(r, false)
	if got := colour.bad.Render("x"); !strings.HasPrefix(got, "\x1b[") || !strings.Contains(got, "x") || !strings.HasSuffix(got, "m") {
		t.Errorf("colour paint = %q", got)
	}
	if got := newStyles(r, true).bad.Render("x"); got != "x" {
		t.Errorf("no-colour paint = %q", got)
	}
	ascii := lipgloss.NewRenderer(io.Discard)
	ascii.SetColorProfile(termenv.Ascii)
	if got := newStyles(ascii, false).selected.Render("x"); got != "x" {
		t.Errorf("ascii renderer paint = %q", got)
	}
	plain := newStyles(ascii, false)
	if got := plain.kv(30, "tag", "temperature"); got != " tag          temperature     " {
		t.Errorf("kv = %q", got)
	}
}
