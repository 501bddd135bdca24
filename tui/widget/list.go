package widget

// Pos is the cursor of a list and the first row shown.
type Pos struct{ Cur, Top int }

// Clamp keeps the cursor within n rows (at 0 when there are none) and the
// first row shown at or before it.
func (p *Pos) Clamp(n int) {
	if p.Cur >= n {
		p.Cur = n - 1
	}
	if p.Cur < 0 {
		p.Cur = 0
	}
	if p.Top > p.Cur {
		p.Top = p.Cur
	}
	if p.Top < 0 {
		p.Top = 0
	}
}

// Scroll moves the first row shown so that the cursor is within a window
// of height rows.
func (p *Pos) Scroll(height int) {
	if height < 1 {
		height = 1
	}
	if p.Cur < p.Top {
		p.Top = p.Cur
	}
	if p.Cur >= p.Top+height {
		p.Top = p.Cur - height + 1
	}
}

// Row is the list row under screen line y when the list's first row is on
// line first and n rows exist, or -1.
func (p *Pos) Row(y, first, n int) int {
	row := p.Top + y - first
	if y < first || row >= n {
		return -1
	}
	return row
}

// Window returns the h lines of lines starting at pos.Top, pulling Top
// back so that the last window is full (a scrolled text, without cursor).
func Window(lines []string, h int, pos *Pos) []string {
	if last := len(lines) - h; pos.Top > last {
		pos.Top = last
	}
	if pos.Top < 0 {
		pos.Top = 0
	}
	lines = lines[pos.Top:]
	if len(lines) > h {
		lines = lines[:h]
	}
	return lines
}
