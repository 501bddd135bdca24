package tui

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
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

// Values fit their cell by meaning: fewer decimals, then no unit, never
// a cut number or unit; alert ids keep their kind, machine and tag.
func TestFitByMeaning(t *testing.T) {
	bpm := normalize.Unit{Symbol: "bottles/min"}
	good := &normalize.Sample{Kind: normalize.Number, Value: 1234.567, Unit: bpm}
	bad := &normalize.Sample{Kind: normalize.Number, Status: connectors.BadNoCommunication, HasLastGood: true, LastGood: 1234.567, Unit: bpm}
	cases := []struct{ got, want string }{
		{fitValue(good, 30), "1234.567 bottles/min"},
		{fitValue(good, 19), "1234.57 bottles/min"},
		{fitValue(good, 16), "1235 bottles/min"},
		{fitValue(good, 12), "1234.567"},
		{fitValue(good, 4), "1235"},
		{fitValue(good, 3), "###"},
		{fitValue(bad, 18), "(1235 bottles/min)"},
		{fitValue(bad, 12), "(1234.567)"},
		{shortAlert("stale:press2-mb", 40), "stale:press2-mb"},
		{shortAlert("out_of_range:acme/plant/bottling/line1/filler1/bottles_per_min", 48), "out_of_range:…/line1/filler1/bottles_per_min"},
		{shortAlert("out_of_range:acme/plant/bottling/line1/filler1/bottles_per_min", 40), "out_of_range:…/filler1/bottles_per_min"},
		{shortAlert("out_of_range:acme/plant/bottling/line1/filler1/bottles_per_min", 24), "…/bottles_per_min"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("%d: got %q, want %q", i, c.got, c.want)
		}
	}
	for w := 1; w < 40; w++ {
		if got := fitValue(good, w); widget.Width(got) > w && w >= 4 {
			t.Errorf("fitValue at %d: %q is wider", w, got)
		}
		if got := shortAlert("out_of_range:acme/plant/bottling/line1/filler1/bottles_per_min", w); widget.Width(got) > w {
			t.Errorf("shortAlert at %d: %q is wider", w, got)
		}
	}
}

// valueWidth measures what fmtValue draws, without drawing it.
func TestValueWidth(t *testing.T) {
	var buf []byte
	for _, s := range []normalize.Sample{
		{Kind: normalize.Number, Value: 600, Unit: normalize.Unit{Symbol: "bottles/min"}},
		{Kind: normalize.Number, Value: 0.4237, Unit: normalize.Unit{Symbol: "m/s"}},
		{Kind: normalize.Number, Value: 72.5, Unit: normalize.Unit{Symbol: "°C"}, Status: connectors.BadNoCommunication, HasLastGood: true, LastGood: 68.9},
		{Kind: normalize.Number, Status: connectors.BadNoCommunication},
		{Kind: normalize.Bool, Value: 1},
		{Kind: normalize.Bool},
		{Kind: normalize.Text, Text: "door-left-v4"},
		{Kind: normalize.Number, Value: 1.5e-5},
	} {
		var n int
		n, buf = valueWidth(&s, buf)
		if want := widget.Width(fmtValue(&s)); n != want {
			t.Errorf("valueWidth(%q) = %d, want %d", fmtValue(&s), n, want)
		}
	}
}

// TestValueTimeLostEndpoint: a tag whose endpoint is lost shows its last
// good value, so its age counts from that value, not from the loss.
func TestValueTimeLostEndpoint(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lost := normalize.Sample{Status: connectors.UncertainNoCommunicationLastUsableValue, Received: now.Add(-200 * time.Millisecond),
		HasLastGood: true, LastGood: 5, LastGoodTime: now.Add(-31 * time.Second)}
	if got := ageSince(now, valueTime(&lost)); got != fmtAge(31*time.Second) {
		t.Errorf("lost endpoint: age %q, want %q", got, fmtAge(31*time.Second))
	}
	good := normalize.Sample{Status: connectors.Good, Received: now.Add(-200 * time.Millisecond), HasLastGood: true, LastGoodTime: now.Add(-31 * time.Second)}
	if got := ageSince(now, valueTime(&good)); got != fmtAge(200*time.Millisecond) {
		t.Errorf("good: age %q, want %q", got, fmtAge(200*time.Millisecond))
	}
}
