package widget

import "strings"

// Column is one column of a table: a fixed width, or a minimum width and
// a share of the rest (Flex). When the table is too narrow, the column of
// lowest Prio still shown is dropped first (the rightmost of ties).
type Column struct {
	Title string
	W     int  // width, or minimum width of a flex column
	Flex  int  // share of the width left over; 0 is a fixed column
	Right bool // aligned right
	Tail  bool // cut on the left at a "/" (FitPath), keeping the end (ids, paths)
	Prio  int
	From  int // shown only when the table is at least this wide
	Max   int // a flex column grows no wider (0: no limit)
}

// Layout returns the width of each column in width cells (one space
// between columns); a dropped column gets 0. The last column shown is kept
// even when it does not fit.
func Layout(cols []Column, width int) []int {
	ws := make([]int, len(cols))
	on := make([]bool, len(cols))
	for i := range cols {
		on[i] = cols[i].From <= width
	}
	for {
		fixed, flex, n := 0, 0, 0
		for i, c := range cols {
			if !on[i] {
				continue
			}
			n++
			fixed += c.W // a flex column's minimum
			flex += c.Flex
		}
		total := fixed + n - 1
		if total <= width || n <= 1 {
			share(cols, on, ws, max(width-total, 0), flex)
			return ws
		}
		// drop the lowest-priority column still shown (the rightmost of ties)
		drop, lowest := -1, 1<<30
		for i, c := range cols {
			if on[i] && c.Prio <= lowest {
				drop, lowest = i, c.Prio
			}
		}
		on[drop] = false
	}
}

// share gives each shown column its width and the rest to the flex
// columns by their shares (or, with none, to the last column).
func share(cols []Column, on []bool, ws []int, rest, flex int) {
	given, lastFlex, last := 0, -1, -1
	for i, c := range cols {
		if !on[i] {
			continue
		}
		last = i
		ws[i] = c.W
		if c.Flex > 0 {
			add := rest * c.Flex / flex
			ws[i] += add
			given += add
			lastFlex = i
		}
	}
	switch {
	case lastFlex >= 0:
		ws[lastFlex] += rest - given
		capFlex(cols, on, ws)
	case last >= 0:
		ws[last] += rest
	}
}

// capFlex limits flex columns to their Max, giving the excess to the
// uncapped flex columns (or leaving it as padding when there are none).
func capFlex(cols []Column, on []bool, ws []int) {
	excess := 0
	var open []int
	for i, c := range cols {
		if !on[i] || c.Flex == 0 {
			continue
		}
		if c.Max > 0 && ws[i] > c.Max {
			excess += ws[i] - c.Max
			ws[i] = c.Max
		} else if c.Max == 0 {
			open = append(open, i)
		}
	}
	for k, i := range open {
		s := excess / (len(open) - k)
		ws[i] += s
		excess -= s
	}
}

// TableStyle paints a table: its column heads, the focused cursor's row,
// and the "(none)" of an empty table.
type TableStyle struct {
	Head, Selected, Empty Paint
}

// Cell returns the text of one cell (cut to the column's width by the
// table) and its paint, or nil for none. It is called only for rows on
// the screen; w is the column's width.
type Cell func(row, col, w int) (string, *Paint)

// Table renders a head line and the rows of an n-row list that fit into h
// lines of exactly w cells. The first cell of a row marks the cursor: ">"
// when focused (the row then painted Selected), "›" when not. pos scrolls
// to keep the cursor shown; a nil pos shows the first rows, no cursor.
func Table(w, h int, cols []Column, n int, pos *Pos, focused bool, st TableStyle, cell Cell) []string {
	if h <= 0 {
		return nil
	}
	noCursor := pos == nil
	if noCursor {
		pos = &Pos{}
	}
	ws := Layout(cols, w-1)
	out := make([]string, 0, h)
	var hb strings.Builder
	hb.WriteByte(' ')
	first := true
	for i, c := range cols {
		if ws[i] == 0 {
			continue
		}
		if !first {
			hb.WriteByte(' ')
		}
		first = false
		if c.Right {
			hb.WriteString(FitRight(c.Title, ws[i]))
		} else {
			hb.WriteString(Fit(c.Title, ws[i]))
		}
	}
	out = append(out, st.Head.Render(Fit(hb.String(), w)))
	body := h - 1
	pos.Clamp(n)
	pos.Scroll(body)
	var b strings.Builder
	for r := pos.Top; r < n && r < pos.Top+body; r++ {
		sel := r == pos.Cur && !noCursor
		out = append(out, row(&b, w, cols, ws, r, sel, focused, st, cell))
	}
	if n == 0 && h > 1 {
		out = append(out, st.Empty.Render(Fit("  (none)", w)))
	}
	return Pad(out, w, h)
}

// row renders row r of a table.
func row(b *strings.Builder, w int, cols []Column, ws []int, r int, sel, focused bool, st TableStyle, cell Cell) string {
	b.Reset()
	switch {
	case sel && focused:
		b.WriteByte('>')
	case sel:
		b.WriteString("›")
	default:
		b.WriteByte(' ')
	}
	first := true
	used := 1
	for i, c := range cols {
		if ws[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
			used++
		}
		first = false
		text, p := cell(r, i, ws[i])
		switch {
		case c.Tail:
			text = FitPath(text, ws[i])
		case c.Right:
			text = FitRight(text, ws[i])
		default:
			text = Fit(text, ws[i])
		}
		used += ws[i]
		if p != nil && !(sel && focused) {
			text = p.Render(text)
		}
		b.WriteString(text)
	}
	if used < w {
		b.WriteString(strings.Repeat(" ", w-used))
	}
	if sel && focused {
		return st.Selected.Render(b.String())
	}
	return b.String()
}
