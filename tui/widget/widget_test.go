package widget

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func TestLayout(t *testing.T) {
	cols := []Column{{W: 10, Flex: 1, Prio: 9}, {W: 5, Prio: 8}, {W: 8, Prio: 1}, {W: 6, Flex: 1, Prio: 5}}
	cases := []struct {
		width int
		want  []int
	}{
		{32, []int{10, 5, 8, 6}},  // exactly the minimum
		{42, []int{15, 5, 8, 11}}, // slack shared by the flex columns
		{31, []int{14, 5, 0, 10}}, // the lowest priority goes first
		{20, []int{14, 5, 0, 0}},  // then the next
		{5, []int{10, 0, 0, 0}},   // the last column is kept even if too wide
	}
	for _, c := range cases {
		if got := Layout(cols, c.width); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Layout(%d) = %v, want %v", c.width, got, c.want)
		}
	}
	// a capped flex column gives its excess to the uncapped one; From
	// hides a column below a width; no flex column: the last one grows
	capped := []Column{{W: 4, Flex: 1, Max: 6}, {W: 4, Flex: 1}, {W: 3, From: 30}}
	for _, c := range []struct {
		cols  []Column
		width int
		want  []int
	}{
		{capped, 29, []int{6, 22, 0}},
		{capped, 33, []int{6, 22, 3}},
		{[]Column{{W: 3}, {W: 3}}, 10, []int{3, 6}},
	} {
		if got := Layout(c.cols, c.width); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Layout(%v, %d) = %v, want %v", c.cols, c.width, got, c.want)
		}
	}
}

func TestFit(t *testing.T) {
	cases := []struct{ got, want string }{
		{Fit("abcdef", 4), "abc…"},
		{Fit("ab", 4), "ab  "},
		{Fit("°C", 3), "°C "},
		{Fit("x", 0), ""},
		{FitPath("ab", 3), "ab "},
		{FitRight("7", 3), "  7"},
		{FitRight("12345", 3), "12…"},
		{Spark([]float64{0, 1, 2, 3, 4, 5, 6, 7}, 10), "  ▁▂▃▄▅▆▇█"},
		{Spark([]float64{5, 5}, 2), "▄▄"},
		{Spark([]float64{1, 2, 3}, 2), "▁█"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
	if w := Width("a\x1b[1mb\x1b[0m"); w != 2 {
		t.Errorf("Width of styled text = %d, want 2", w)
	}
}

func TestChart(t *testing.T) {
	ch := Chart([]float64{0, 10}, 16, 2, nil)
	if len(ch) != 2 || !strings.HasSuffix(ch[0], " █") || !strings.HasSuffix(ch[1], "▁█") {
		t.Errorf("chart = %q", ch)
	}
	if !strings.HasPrefix(ch[0], "       10 ┤") || !strings.HasPrefix(ch[1], "        0 ┤") {
		t.Errorf("axis labels: %q", ch)
	}
	if ch := Chart([]float64{1}, 14, 2, nil); ch != nil {
		t.Errorf("a chart too narrow to draw: %q", ch)
	}
}

func TestPaint(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	p := NewPaint(r.NewStyle().Bold(true))
	if got := p.Render("x"); !strings.HasPrefix(got, "\x1b[") || !strings.Contains(got, "x") || !strings.HasSuffix(got, "m") {
		t.Errorf("colour paint = %q", got)
	}
	ascii := lipgloss.NewRenderer(io.Discard)
	ascii.SetColorProfile(termenv.Ascii)
	if got := NewPaint(ascii.NewStyle().Bold(true)).Render("x"); got != "x" {
		t.Errorf("ascii paint = %q", got)
	}
	if got := (Paint{}).Render("x"); got != "x" {
		t.Errorf("zero paint = %q", got)
	}
}

func TestPos(t *testing.T) {
	p := Pos{Cur: 12, Top: 15}
	p.Clamp(10)
	if p != (Pos{Cur: 9, Top: 9}) {
		t.Errorf("Clamp(10) = %+v", p)
	}
	p.Clamp(0)
	if p != (Pos{}) {
		t.Errorf("Clamp(0) = %+v", p)
	}
	p = Pos{Cur: 7}
	p.Scroll(3)
	if p.Top != 5 {
		t.Errorf("Scroll(3) top %d, want 5", p.Top)
	}
	if r := p.Row(4, 2, 20); r != 7 {
		t.Errorf("Row = %d, want 7", r)
	}
	if r := p.Row(1, 2, 20); r != -1 {
		t.Errorf("Row above the list = %d", r)
	}
	if r := p.Row(30, 2, 20); r != -1 {
		t.Errorf("Row below the list = %d", r)
	}
	lines := []string{"a", "b", "c", "d"}
	w := Pos{Top: 9}
	if got := Window(lines, 3, &w); strings.Join(got, "") != "bcd" || w.Top != 1 {
		t.Errorf("Window = %q top %d", got, w.Top)
	}
}

func TestTable(t *testing.T) {
	cols := []Column{{Title: "NAME", W: 6, Flex: 1, Prio: 9}, {Title: "N", W: 3, Right: true, Prio: 8}, {Title: "PATH", W: 6, Tail: true, Prio: 1}}
	names := []string{"alpha", "beta", "gamma", "delta"}
	cell := func(r, c, w int) (string, *Paint) {
		switch c {
		case 0:
			return names[r], nil
		case 1:
			return fmt.Sprint(r * 10), nil
		}
		return "site/line/" + names[r], nil
	}
	pos := &Pos{Cur: 3}
	got := Table(20, 3, cols, len(names), pos, true, TableStyle{}, cell)
	want := []string{
		" NAME       N PATH  ", // NAME takes the slack: 8 cells
		" gamma     20 …gamma",
		">delta     30 …delta",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%q\nwant\n%q", got, want)
	}
	if pos.Top != 2 {
		t.Errorf("scrolled to %d, want 2", pos.Top)
	}
	got = Table(12, 3, cols, 0, nil, false, TableStyle{}, cell)
	if got[1] != "  (none)    " || got[2] != strings.Repeat(" ", 12) {
		t.Errorf("empty table: %q", got)
	}
	got = Table(20, 2, cols, len(names), &Pos{Cur: 0}, false, TableStyle{}, cell)
	if got[1] != "›alpha      0 …alpha" {
		t.Errorf("unfocused cursor row %q", got[1])
	}
}

// A footer keeps the entries that fit, by priority; a key the session
// may not use stays, marked and painted apart, spaces between entries
// unpainted.
func TestFooter(t *testing.T) {
	keys := []Key{{Key: "enter", Desc: "open"}, {Key: "a", Desc: "ack", Off: true}, {Key: "tab", Desc: "view", Prio: -1},
		{Key: "?", Desc: "help", Prio: 1}, {Key: "q", Desc: "quit", Prio: -1}}
	plain := FooterStyle{OffMark: "✗"}
	cases := []struct {
		w    int
		want string
	}{
		{80, "enter:open a:ack✗ tab:view ?:help q:quit"},
		{35, "enter:open a:ack✗ tab:view ?:help"},
		{32, "enter:open a:ack✗ ?:help"},
		{20, "enter:open ?:help"},
		{10, "?:help"},
		{3, ""},
	}
	for _, c := range cases {
		if got := Footer(keys, c.w, plain); got != c.want {
			t.Errorf("Footer(%d) = %q, want %q", c.w, got, c.want)
		}
	}
	painted := FooterStyle{On: Paint{pre: "<", suf: ">"}, Off: Paint{pre: "[", suf: "]"}}
	if got, want := Footer(keys, 80, painted), "<enter:open> [a:ack] <tab:view ?:help q:quit>"; got != want {
		t.Errorf("painted footer %q, want %q", got, want)
	}
}

// Paths are cut at a "/" where they can, keeping machine and tag; a
// long message wraps at spaces and path separators.
func TestPathsAndWrap(t *testing.T) {
	cases := []struct{ got, want string }{
		{TrimPath("acme/plant/press/line1/press1/temp", 40), "acme/plant/press/line1/press1/temp"},
		{TrimPath("acme/plant/press/line1/press1/temp", 20), "…/line1/press1/temp"},
		{TrimPath("acme/plant/press/line1/press1/temp", 13), "…/press1/temp"},
		{TrimPath("acme/plant/press/line1/press1/temp", 6), "…/temp"},
		{TrimPath("acme/plant/press/line1/press1/temperature", 6), "…ature"},
		{FitPath("a/b", 5), "a/b  "},
		{FitPath("site/line/machine", 8), "…machine"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	lines := Wrap("read holding 100 on press2-mb: dial tcp 10.0.4.12:502: connect: connection refused", 30)
	if len(lines) != 3 || lines[0] != "read holding 100 on press2-mb:" || lines[2] != "connect: connection refused" {
		t.Errorf("Wrap = %q", lines)
	}
	for _, l := range Wrap("out_of_range:acme/plant/press/line1/press1/temperature", 20) {
		if Width(l) > 20 {
			t.Errorf("wrapped line %q wider than 20", l)
		}
	}
	for _, l := range Wrap("read tcp 127.0.0.1:48670->127.0.0.1:45571: i/o timeout", 30) {
		if strings.HasSuffix(l, "-") || strings.HasPrefix(l, ">") {
			t.Errorf("an arrow broken: %q", l)
		}
	}
	if got := Wrap("short", 20); len(got) != 1 || got[0] != "short" {
		t.Errorf("Wrap(short) = %q", got)
	}
}

func TestLayoutHelpers(t *testing.T) {
	if got := Pad([]string{"ab"}, 2, 3); len(got) != 3 || got[2] != "  " {
		t.Errorf("Pad = %q", got)
	}
	if got := Beside([]string{"x"}, []string{"a", "b"}, []string{"1", "2", "3"}, "|"); strings.Join(got, ",") != "x,a|1,b|2" {
		t.Errorf("Beside = %q", got)
	}
	lines := []string{"abcdef", "a", "\x1b[1mabcdef\x1b[0m"}
	Exact(lines, 3)
	if lines[0] != "abc" || lines[1] != "a  " || Width(lines[2]) != 3 || !strings.Contains(lines[2], "\x1b[1m") {
		t.Errorf("Exact = %q", lines)
	}
}
