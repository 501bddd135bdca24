package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
)

// col is one column of a table: a fixed width, or a share of the rest
// (flex); columns of lower priority are dropped first when the table is
// narrow.
type col struct {
	title string
	w     int
	flex  int
	right bool
	tail  bool // truncate on the left, keeping the end (ids, paths)
	prio  int
	from  int // shown only when the table is at least this wide
	max   int // a flex column grows no wider (0: no limit)
}

// layout computes the widths of cols in width (cells, excluding the
// cursor column); dropped columns get width 0.
func layout(cols []col, width int) []int {
	ws := make([]int, len(cols))
	on := make([]bool, len(cols))
	for i := range cols {
		on[i] = cols[i].from <= width
	}
	for {
		fixed, flex, n := 0, 0, 0
		for i, c := range cols {
			if !on[i] {
				continue
			}
			n++
			if c.flex > 0 {
				flex += c.flex
				fixed += c.w // minimum
			} else {
				fixed += c.w
			}
		}
		total := fixed + n - 1
		if total <= width || n <= 1 {
			rest := width - total
			if rest < 0 {
				rest = 0
			}
			given := 0
			lastFlex := -1
			for i, c := range cols {
				if !on[i] {
					continue
				}
				ws[i] = c.w
				if c.flex > 0 {
					add := rest * c.flex / flex
					ws[i] += add
					given += add
					lastFlex = i
				}
			}
			if lastFlex >= 0 {
				ws[lastFlex] += rest - given
				capFlex(cols, on, ws)
			} else if n > 0 {
				// no flex column: give the slack to the last one
				for i := len(cols) - 1; i >= 0; i-- {
					if on[i] {
						ws[i] += rest
						break
					}
				}
			}
			return ws
		}
		// drop the lowest-priority column still shown (the rightmost of ties)
		drop, lowest := -1, 1<<30
		for i, c := range cols {
			if on[i] && c.prio <= lowest {
				drop, lowest = i, c.prio
			}
		}
		on[drop] = false
	}
}

// capFlex limits flex columns to their max, giving the excess to the
// uncapped flex columns (or leaving it as padding when there are none).
func capFlex(cols []col, on []bool, ws []int) {
	excess := 0
	var open []int
	for i, c := range cols {
		if !on[i] || c.flex == 0 {
			continue
		}
		if c.max > 0 && ws[i] > c.max {
			excess += ws[i] - c.max
			ws[i] = c.max
		} else if c.max == 0 {
			open = append(open, i)
		}
	}
	for k, i := range open {
		share := excess / (len(open) - k)
		ws[i] += share
		excess -= share
	}
}

// table renders a header and the visible rows of an n-row list into h
// lines of width w; cell is called only for visible rows. A nil pos shows
// the first rows without a cursor.
func (s *state) table(w, h int, cols []col, n int, pos *listPos, focused bool, cell func(row, c, w int) (string, *paint)) []string {
	if h <= 0 {
		return nil
	}
	noCursor := pos == nil
	if noCursor {
		pos = &listPos{}
	}
	ws := layout(cols, w-1)
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
		if c.right {
			hb.WriteString(fitR(c.title, ws[i]))
		} else {
			hb.WriteString(fit(c.title, ws[i]))
		}
	}
	out = append(out, s.st.colHead.Render(fit(hb.String(), w)))
	body := h - 1
	pos.clamp(n)
	pos.scroll(body)
	var b strings.Builder
	for r := pos.top; r < n && r < pos.top+body; r++ {
		b.Reset()
		sel := r == pos.cur && !noCursor
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
			text, st := cell(r, i, ws[i])
			switch {
			case c.tail:
				text = fitTail(text, ws[i])
			case c.right:
				text = fitR(text, ws[i])
			default:
				text = fit(text, ws[i])
			}
			used += ws[i]
			if st != nil && !(sel && focused) {
				text = st.Render(text)
			}
			b.WriteString(text)
		}
		if used < w {
			b.WriteString(strings.Repeat(" ", w-used))
		}
		line := b.String()
		if sel && focused {
			line = s.st.selected.Render(line)
		}
		out = append(out, line)
	}
	if n == 0 && h > 1 {
		out = append(out, s.st.dim.Render(fit("  (none)", w)))
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return out
}

// View renders the screen; it is cached between data frames.
func (m Model) View() string {
	s := m.s
	if s.quitting {
		return ""
	}
	if s.cacheOK {
		return s.cache
	}
	s.cache = s.render()
	s.cacheOK = true
	return s.cache
}

func (s *state) render() string {
	w, h := s.w, s.h
	if w < 20 {
		w = 20
	}
	if h < 6 {
		h = 6
	}
	bh := h - 3
	var body []string
	switch s.view {
	case viewTree:
		body = s.viewTree(w, bh)
	case viewTags:
		body = s.viewTable(w, bh, true)
	case viewAlerts:
		body = s.viewAlerts(w, bh)
	case viewConn:
		body = s.viewConn(w, bh)
	case viewFaults:
		body = s.viewFaults(w, bh)
	case viewTagDetail:
		body = s.viewTagDetail(w, bh)
	case viewAlertDetail:
		body = s.viewAlertDetail(w, bh)
	case viewHelp:
		body = s.viewHelp(w, bh)
	case viewConsole:
		body = s.viewConsole(w, bh)
	}
	for len(body) < bh {
		body = append(body, strings.Repeat(" ", w))
	}
	lines := make([]string, 0, h)
	lines = append(lines, s.header(w))
	lines = append(lines, body[:bh]...)
	lines = append(lines, s.statusBar(w), s.bottomLine(w))
	for i, l := range lines {
		// panes size themselves; this only catches what a small screen
		// squeezes out (FuzzKeys checks every size)
		if w >= 60 && h >= 12 {
			break
		}
		if lw := ansi.StringWidth(l); lw > w {
			lines[i] = ansi.Truncate(l, w, "")
		} else if lw < w {
			lines[i] = l + strings.Repeat(" ", w-lw)
		}
	}
	return strings.Join(lines, "\n")
}

func (s *state) header(w int) string {
	s.tabX = s.tabX[:0]
	var b strings.Builder
	title := " " + s.opts.Title + " "
	b.WriteString(s.st.title.Render(title))
	used := len([]rune(title))
	for _, v := range s.views() {
		name := viewNames[v]
		active := v == s.view || (s.view == viewAlertDetail && v == viewAlerts) || (s.view == viewTagDetail && v == s.back)
		var cell string
		if active {
			cell = "[" + name + "]"
			b.WriteString(s.st.tabActive.Render(cell))
		} else {
			cell = " " + name + " "
			b.WriteString(s.st.tab.Render(cell))
		}
		s.tabX = append(s.tabX, tabHit{x0: used, x1: used + len([]rune(cell)), v: v})
		used += len([]rune(cell))
	}
	right := string(s.role) + " " + s.now().Format("15:04:05") + " "
	if s.view == viewTagDetail || s.view == viewAlertDetail || s.view == viewHelp {
		right = viewNames[s.view] + " · " + right
	}
	gap := w - used - len([]rune(right))
	if gap < 1 {
		return fit(b.String(), w)
	}
	b.WriteString(s.st.header.Render(strings.Repeat(" ", gap) + right))
	return b.String()
}

func (s *state) alertCounts() (unack, ack, rtn, shelvedN int) {
	now := s.now().UnixNano()
	for i := range s.alerts {
		a := &s.alerts[i]
		if shelved(a, now) {
			shelvedN++
			continue
		}
		switch a.State {
		case normalize.ActiveUnacked:
			unack++
		case normalize.ActiveAcked:
			ack++
		case normalize.RTNUnacked:
			rtn++
		}
	}
	return
}

func (s *state) statusBar(w int) string {
	user := s.opts.User
	if user == "" {
		user = "-"
	}
	u, a, r, z := s.alertCounts()
	left := fmt.Sprintf(" %s (%s) │ UNACK %d ACK %d RTN %d SHLV %d │ coalesced %d", user, s.role, u, a, r, z, s.dropped)
	if s.feedClosed {
		left += " │ feed closed"
	}
	return s.st.status.Render(fit(left, w))
}

// hints are the short key hints per scope.
var hints = map[scope]string{
	scopeTree:    "enter:open/close →:tags /:filter tab:view ::cmd ?:help q:quit",
	scopeTable:   "enter:detail s/S:sort /:filter b:bad only n:names ←:tree ?:help",
	scopeAlerts:  "enter:detail a:ack S/z:shelve /:filter tab:view ::cmd ?:help",
	scopeFaults:  "enter:inject/clear r:refresh tab:view esc:back ?:help",
	scopeConsole: "space:pause/run +/-:speed enter:start d:debrief f:faults ?:help",
	scopeConn:    "enter:last error tab:view ::cmd ?:help q:quit",
	scopeDetail:  "esc:back ↑↓:scroll a:ack S:shelve t:tag ?:help q:quit",
	scopeGlobal:  "tab:view ::cmd ?:help q:quit",
}

func (s *state) bottomLine(w int) string {
	if s.mode != inputNone {
		return fit(s.input.View(), w)
	}
	if s.msg != "" {
		if s.msgErr {
			return s.st.statusErr.Render(fit(" "+s.msg, w))
		}
		return s.st.label.Render(fit(" "+s.msg, w))
	}
	return s.st.hint.Render(fit(" "+hints[s.scope()], w))
}

// caption renders a pane's title line.
func (s *state) caption(text string, w int) string {
	return s.st.label.Render(fit(" "+text, w))
}

// viewTree is the asset tree beside the tag table, with an alert strip
// (operator) or a connection strip (maintenance) below when tall enough.
func (s *state) viewTree(w, h int) []string {
	strip := 0
	if (s.role == RoleOperator || s.role == RoleMaintenance) && h >= 14 {
		strip = h / 3
		if strip > 8 {
			strip = 8
		}
	}
	mh := h - strip
	tw := w / 3
	if tw < 22 {
		tw = 22
	}
	if tw > 40 {
		tw = 40
	}
	if w-tw-1 < 30 {
		tw = w / 2
	}
	s.treeW, s.mainH = tw, mh
	left := s.treePane(tw, mh)
	right := s.viewTable(w-tw-1, mh, s.focusTable)
	sep := s.st.dim.Render("│")
	out := make([]string, 0, h)
	for i := 0; i < mh; i++ {
		out = append(out, left[i]+sep+right[i])
	}
	if strip > 0 {
		if s.role == RoleMaintenance {
			out = append(out, s.connTable(w, strip, false)...)
		} else {
			out = append(out, s.alertTable(w, strip, false)...)
		}
	}
	return out
}

func (s *state) treePane(w, h int) []string {
	out := make([]string, 0, h)
	out = append(out, s.caption(fmt.Sprintf("ASSETS · %d tags", len(s.tags)), w))
	body := h - 1
	focused := !s.focusTable
	s.tree.clamp(len(s.flat))
	s.tree.scroll(body)
	countW := len(strconv.Itoa(s.root.tags))
	for i := s.tree.top; i < len(s.flat) && i < s.tree.top+body; i++ {
		n := s.flat[i]
		cur := " "
		if i == s.tree.cur {
			cur = "›"
			if focused {
				cur = ">"
			}
		}
		indent := 0
		if n.depth > 1 {
			indent = 2 * (n.depth - 1)
		}
		mark := "  "
		if len(n.children) > 0 && n.depth > 0 {
			mark = "▸ "
			if s.expanded[n.path] {
				mark = "▾ "
			}
		}
		count := fitR(strconv.Itoa(n.tags), countW)
		alert := "    "
		if n.alerts > 0 {
			alert = fit(" !"+strconv.Itoa(n.alerts), 4)
		}
		rw := len(count) + len(alert) + 1
		left := fit(cur+strings.Repeat(" ", indent)+mark+n.name, w-rw)
		var line string
		if i == s.tree.cur && focused {
			line = s.st.selected.Render(left + " " + count + alert)
		} else {
			line = left + " " + s.st.dim.Render(count) + s.st.sevStyle(n.worst).Render(alert)
		}
		out = append(out, line)
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return out
}

// tagCols are the tag table's columns.
func (s *state) tagCols(w int) []col {
	if s.eng {
		return []col{
			{title: "TAG", w: 20, flex: 2, tail: true, prio: 9, max: 64},
			{title: "VALUE", w: 11, flex: 1, max: 18, right: true, prio: 8},
			{title: "RAW", w: 10, flex: 1, max: 14, right: true, prio: 5},
			{title: "ADDRESS", w: 14, flex: 2, prio: 7, max: 48},
			{title: "STATUS", w: 14, flex: 1, prio: 6},
			{title: "AGE", w: 6, right: true, prio: 4},
		}
	}
	q := col{title: "Q", w: 4, prio: 7}
	if s.names {
		q = col{title: "STATUS", w: 16, flex: 1, prio: 7}
	}
	trend := w / 6
	if trend < 6 {
		trend = 6
	}
	if trend > 30 {
		trend = 30
	}
	return []col{
		{title: "TAG", w: 10, flex: 3, tail: true, prio: 9, max: 56},
		{title: "VALUE", w: 12, right: true, prio: 8},
		q,
		{title: "AGE", w: 6, right: true, prio: 5},
		{title: "TREND", w: trend, prio: 4},
		{title: "SOURCE", w: 14, prio: 2, from: 100},
		{title: "ADDRESS", w: 24, flex: 2, prio: 1, from: 100},
	}
}

// viewTable is the tag table of the selected node.
func (s *state) viewTable(w, h int, focused bool) []string {
	sortMark := "↑"
	if s.sortR {
		sortMark = "↓"
	}
	where := s.selPath
	if where == "" {
		where = "all"
	}
	cap := fmt.Sprintf("TAGS %s · %d · sort %s%s", where, len(s.rows), sortNames[s.sortC], sortMark)
	if s.bad {
		cap += " · bad/uncertain"
	}
	if s.filter != "" {
		cap += " · /" + s.filter
	}
	out := []string{s.caption(cap, w)}
	cols := s.tagCols(w)
	now := s.now()
	prefix := ""
	if s.selPath != "" {
		prefix = s.selPath + "/"
	}
	var cur *normalize.Sample
	curRow := -1
	tbl := s.table(w, h-1, cols, len(s.rows), &s.tbl, focused, func(r, c, cw int) (string, *paint) {
		if r != curRow {
			cur, curRow = &s.tags[s.rows[r]], r
		}
		t := cur
		switch cols[c].title {
		case "TAG":
			return strings.TrimPrefix(t.ID, prefix), nil
		case "VALUE":
			st := s.st.quality(t.Status)
			if t.Status.IsGood() {
				return fmtValue(t), nil
			}
			return fmtValue(t), &st
		case "Q":
			st := s.st.quality(t.Status)
			return badge(t.Status), &st
		case "STATUS":
			st := s.st.quality(t.Status)
			return t.Status.Error(), &st
		case "RAW":
			return fmtRaw(t.Raw), nil
		case "ADDRESS":
			return shortAddress(t.Address), &s.st.dim
		case "SOURCE":
			return t.Source, nil
		case "AGE":
			return ageSince(now, t.Received), nil
		case "TREND":
			s.hist = s.b.History(t.ID, s.hist[:0])
			return spark(s.hist, cw), &s.st.spark
		}
		return "", nil
	})
	return append(out, tbl...)
}

// alertCols are the alert table's columns.
var alertCols = []col{
	{title: "SEV", w: 4, prio: 9},
	{title: "STATE", w: 5, prio: 8},
	{title: "Z", w: 1, prio: 6},
	{title: "AGE", w: 6, right: true, prio: 5},
	{title: "CNT", w: 3, right: true, prio: 3},
	{title: "TARGET", w: 16, flex: 2, tail: true, prio: 7, max: 56},
	{title: "MESSAGE", w: 10, flex: 3, prio: 4},
	{title: "KIND", w: 17, prio: 2, from: 120},
	{title: "ACKED BY", w: 10, prio: 1, from: 140},
}

func (s *state) alertTable(w, h int, focused bool) []string {
	now := s.now()
	nowN := now.UnixNano()
	pos := &s.al
	if !focused {
		pos = &listPos{} // the strip below the tree shows the first rows
	}
	return s.table(w, h, alertCols, len(s.alertRows), pos, focused, func(r, c, cw int) (string, *paint) {
		a := &s.alerts[s.alertRows[r]]
		switch c {
		case 0:
			st := s.st.sevStyle(a.Severity)
			return sevName(a.Severity), &st
		case 1:
			if a.State == normalize.ActiveUnacked {
				st := s.st.sevStyle(a.Severity)
				return "UNACK", &st
			}
			return stateName(a.State), nil
		case 2:
			if shelved(a, nowN) {
				return "Z", &s.st.dim
			}
			return "", nil
		case 3:
			return ageSince(now, a.LastActive), nil
		case 4:
			return strconv.Itoa(a.Count), nil
		case 5:
			return a.Target, nil
		case 6:
			if shelved(a, nowN) {
				return a.Message, &s.st.dim
			}
			return a.Message, nil
		case 7:
			return string(a.Kind), nil
		case 8:
			return a.AckedBy, nil
		}
		return "", nil
	})
}

func (s *state) viewAlerts(w, h int) []string {
	u, a, r, z := s.alertCounts()
	var sev [5]int
	now := s.now().UnixNano()
	for i := range s.alerts {
		if alertActive(&s.alerts[i], now) {
			sev[s.alerts[i].Severity%5]++
		}
	}
	cap := fmt.Sprintf("ALERTS %d · UNACK %d · ACK %d · RTN %d · SHELVED %d", len(s.alerts), u, a, r, z)
	out := []string{s.caption(cap, w)}
	line := fmt.Sprintf(" active: CRIT %d  HIGH %d  MED %d  LOW %d", sev[normalize.SeverityCritical], sev[normalize.SeverityHigh], sev[normalize.SeverityMedium], sev[normalize.SeverityLow])
	if s.alertFilter != "" {
		line += fmt.Sprintf("  · filter /%s (%d shown)", s.alertFilter, len(s.alertRows))
	}
	out = append(out, fit(line, w))
	out = append(out, s.byLine(w))
	return append(out, s.alertTable(w, h-3, true)...)
}

// byLine summarises active alerts per production line (a node whose
// children hold tags), worst first.
func (s *state) byLine(w int) string {
	var lines []*node
	var walk func(n *node)
	walk = func(n *node) {
		leafKids := len(n.children) > 0
		for _, c := range n.children {
			if len(c.children) > 0 {
				leafKids = false
			}
		}
		if leafKids && n.depth > 0 {
			if n.alerts > 0 {
				lines = append(lines, n)
			}
			return
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(s.root)
	sort.SliceStable(lines, func(i, j int) bool {
		if lines[i].worst != lines[j].worst {
			return lines[i].worst > lines[j].worst
		}
		return lines[i].alerts > lines[j].alerts
	})
	var b strings.Builder
	b.WriteString(" by line:")
	if len(lines) == 0 {
		b.WriteString(" no active alerts on tags")
	}
	for _, n := range lines {
		fmt.Fprintf(&b, "  %s !%d %s", n.name, n.alerts, sevName(n.worst))
	}
	return fit(b.String(), w)
}

var connCols = []col{
	{title: "SOURCE", w: 10, flex: 1, prio: 9, max: 16},
	{title: "PROTO", w: 6, prio: 2},
	{title: "ENDPOINT", w: 14, flex: 1, prio: 1, max: 28},
	{title: "STATE", w: 12, prio: 8},
	{title: "SINCE", w: 6, right: true, prio: 5},
	{title: "LATENCY", w: 7, right: true, prio: 6},
	{title: "RATE/s", w: 7, right: true, prio: 7},
	{title: "ERR", w: 4, right: true, prio: 4},
	{title: "RECON", w: 5, right: true, prio: 3},
	{title: "GAPS", w: 4, right: true, prio: 3},
	{title: "SKEW", w: 7, right: true, prio: 2, from: 100},
	{title: "LAST ERROR", w: 10, flex: 2, prio: 5},
}

func (s *state) connTable(w, h int, focused bool) []string {
	now := s.now()
	pos := &s.conn
	if !focused {
		pos = &listPos{} // the strip below the tree shows the first rows
	}
	return s.table(w, h, connCols, len(s.health), pos, focused, func(r, c, cw int) (string, *paint) {
		hl := &s.health[r]
		switch c {
		case 0:
			return hl.Source, nil
		case 1:
			return hl.Protocol, nil
		case 2:
			return hl.Endpoint, nil
		case 3:
			st := s.st.link(hl.State)
			name := hl.State.String()
			if hl.State == connectors.Connecting && hl.Reconnects > 0 {
				name = "reconnecting"
			}
			return name, &st
		case 4:
			return ageSince(now, hl.Since), nil
		case 5:
			return fmtLatency(hl.Latency), nil
		case 6:
			return strconv.FormatFloat(s.rates[hl.Source].perSec, 'f', 1, 64), nil
		case 7:
			return strconv.FormatUint(hl.Errors, 10), nil
		case 8:
			return strconv.FormatUint(hl.Reconnects, 10), nil
		case 9:
			return strconv.FormatUint(hl.SequenceGaps, 10), nil
		case 10:
			if k, ok := s.skew[hl.Source]; ok {
				return fmtSkew(k.d), nil
			}
			return "—", nil
		case 11:
			if hl.LastError != nil {
				return hl.LastError.Error(), &s.st.bad
			}
			return "", nil
		}
		return "", nil
	})
}

func (s *state) viewConn(w, h int) []string {
	var up, conn, down int
	for _, hl := range s.health {
		switch hl.State {
		case connectors.Connected:
			up++
		case connectors.Down:
			down++
		default:
			conn++
		}
	}
	cap := fmt.Sprintf("CONNECTIONS %d · connected %d · connecting %d · down %d", len(s.health), up, conn, down)
	return append([]string{s.caption(cap, w)}, s.connTable(w, h-1, true)...)
}

var faultCols = []col{
	{title: "NAME", w: 10, flex: 2, prio: 9, max: 40},
	{title: "KIND", w: 10, flex: 1, prio: 6, max: 20},
	{title: "TARGET", w: 10, flex: 2, tail: true, prio: 7, max: 64},
	{title: "STATE", w: 6, prio: 8},
	{title: "SINCE", w: 6, right: true, prio: 5},
}

func (s *state) viewFaults(w, h int) []string {
	active := 0
	for _, f := range s.faults {
		if f.Active {
			active++
		}
	}
	cap := fmt.Sprintf("FAULTS %d · active %d · enter injects or clears", len(s.faults), active)
	now := s.now()
	out := []string{s.caption(cap, w)}
	return append(out, s.table(w, h-1, faultCols, len(s.faults), &s.flt, true, func(r, c, cw int) (string, *paint) {
		f := &s.faults[r]
		switch c {
		case 0:
			return f.Name, nil
		case 1:
			return f.Kind, nil
		case 2:
			return f.Target, nil
		case 3:
			if f.Active {
				return "ACTIVE", &s.st.bad
			}
			return "idle", &s.st.dim
		case 4:
			if f.Active {
				return ageSince(now, f.Since), nil
			}
			return "", nil
		}
		return "", nil
	})...)
}

// kv renders "label  value" lines for detail views.
func (s *state) kv(w int, label, value string) string {
	const lw = 14
	return s.st.label.Render(fit(" "+label, lw)) + fit(value, w-lw)
}

func (s *state) viewTagDetail(w, h int) []string {
	i, ok := s.byID[s.tagID]
	if !ok {
		return []string{fit(" tag "+s.tagID+" is gone", w)}
	}
	t := &s.tags[i]
	now := s.now()
	unit := "—"
	if t.Unit.Symbol != "" || t.Unit.Code != "" {
		unit = fmt.Sprintf("%s (%s, UnitId %d)", t.Unit.Symbol, t.Unit.Code, t.Unit.UnitID)
	}
	qst := s.st.quality(t.Status)
	lines := []string{
		s.caption("TAG "+t.ID, w),
		s.kv(w, "asset", t.Asset),
		s.kv(w, "tag", t.Tag),
		s.kv(w, "unit", unit),
		s.kv(w, "source", t.Source),
		s.kv(w, "address", t.Address),
		s.kv(w, "value", fmtValue(t)+"   raw "+fmtRaw(t.Raw)+"   seq "+strconv.FormatUint(t.Seq, 10)),
		s.st.label.Render(fit(" quality", 14)) + qst.Render(fit(badge(t.Status)+"  "+t.Status.Error(), w-14)),
		s.kv(w, "source time", fmtTime(t.SourceTime)),
		s.kv(w, "server time", fmtTime(t.ServerTime)),
		s.kv(w, "received", fmtTime(t.Received)+"  ("+ageSince(now, t.Received)+" ago)"),
		s.kv(w, "skew", t.Skew().Round(time.Millisecond).String()),
		s.kv(w, "last good", lastGoodLine(t, now)),
	}
	if !t.Status.IsGood() || t.Err != "" {
		why := fmt.Sprintf("%s: severity %s, limit %s", t.Status.Name(), t.Status.Severity(), limitBits(t.Status))
		lines = append(lines, s.st.label.Render(fit(" why bad?", 14))+qst.Render(fit(why, w-14)))
		if t.Err != "" {
			lines = append(lines, s.kv(w, "error", t.Err))
		}
	}
	s.hist = s.b.History(t.ID, s.hist[:0])
	ch := h - len(lines) - 1
	if ch > 16 {
		ch = 16
	}
	if ch >= 3 && t.Kind != normalize.Text {
		lines = append(lines, s.caption(fmt.Sprintf("HISTORY · %d values", len(s.hist)), w))
		for _, l := range chart(s.hist, w-1, ch) {
			lines = append(lines, " "+s.st.spark.Render(fit(l, w-1)))
		}
	}
	return scrollLines(lines, w, h, &s.detail)
}

func lastGoodLine(t *normalize.Sample, now time.Time) string {
	if !t.HasLastGood {
		return "—"
	}
	return fmtLastGood(t) + " at " + fmtTime(t.LastGoodTime) + " (" + fmtAge(now.Sub(t.LastGoodTime)) + " ago)"
}

func (s *state) viewAlertDetail(w, h int) []string {
	a := s.alertByID(s.alertID)
	if a == nil {
		return []string{fit(" alert "+s.alertID+" is no longer active", w)}
	}
	now := s.now()
	sst := s.st.sevStyle(a.Severity)
	shelf := "no"
	if a.ShelvedOneShot {
		shelf = "until it clears (one-shot) by " + a.ShelvedBy + ": " + a.ShelveReason
	} else if !a.ShelvedUntil.IsZero() && a.ShelvedUntil.After(now) {
		shelf = "until " + fmtTime(a.ShelvedUntil) + " by " + a.ShelvedBy + ": " + a.ShelveReason
	}
	acked := "—"
	if a.AckedBy != "" {
		acked = a.AckedBy + " at " + fmtTime(a.AckedAt)
		if a.Comment != "" {
			acked += ": " + a.Comment
		}
	}
	lines := []string{
		s.caption("ALERT "+a.ID, w),
		s.kv(w, "kind", string(a.Kind)),
		s.kv(w, "target", a.Target),
		s.st.label.Render(fit(" severity", 14)) + sst.Render(fit(sevName(a.Severity), w-14)),
		s.kv(w, "state", stateName(a.State)),
		s.kv(w, "message", a.Message),
		s.kv(w, "first active", fmtTime(a.FirstActive)),
		s.kv(w, "last active", fmtTime(a.LastActive)+"  ("+ageSince(now, a.LastActive)+" ago)"),
		s.kv(w, "cleared", fmtTime(a.Cleared)),
		s.kv(w, "count", strconv.Itoa(a.Count)),
		s.kv(w, "acked", acked),
		s.kv(w, "shelved", shelf),
		s.caption("HISTORY (newest first)", w),
	}
	hist := s.b.AlertHistory(a.ID)
	for i := len(hist) - 1; i >= 0; i-- {
		e := hist[i]
		l := fmt.Sprintf(" %s  %-9s %-5s %s", fmtTime(e.At), e.What, stateName(e.State), e.User)
		if e.Comment != "" {
			l += "  " + strconv.Quote(e.Comment)
		}
		lines = append(lines, fit(l, w))
	}
	if len(hist) == 0 {
		lines = append(lines, fit(" (none)", w))
	}
	return scrollLines(lines, w, h, &s.detail)
}

// scrollLines returns the window of lines starting at pos.top.
func scrollLines(lines []string, w, h int, pos *listPos) []string {
	if max := len(lines) - h; pos.top > max {
		pos.top = max
	}
	if pos.top < 0 {
		pos.top = 0
	}
	lines = lines[pos.top:]
	if len(lines) > h {
		lines = lines[:h]
	}
	return lines
}

func (s *state) viewHelp(w, h int) []string {
	lines := helpLines(12)
	out := []string{s.caption("HELP · keys and commands (esc to go back)", w)}
	if w >= 120 {
		half := (len(lines) + 1) / 2
		// break at a blank line near the middle
		for i := half; i < len(lines); i++ {
			if lines[i] == "" {
				half = i + 1
				break
			}
		}
		cw := w / 2
		for i := 0; i < half; i++ {
			r := ""
			if half+i < len(lines) {
				r = lines[half+i]
			}
			out = append(out, fit(" "+lines[i], cw)+fit(" "+r, w-cw))
		}
	} else {
		for _, l := range lines {
			out = append(out, fit(" "+l, w))
		}
	}
	head := out[:1]
	rest := scrollLines(out[1:], w, h-1, &s.detail)
	return append(head, rest...)
}

// shortAddress is an address for a table cell: an OPC UA node id without
// its namespace URI ("nsu=urn:plant;s=line1/press1/temp" reads
// "s=line1/press1/temp"; the source column and the tag detail name the
// rest); Modbus addresses are short already.
func shortAddress(a string) string {
	if strings.HasPrefix(a, "nsu=") {
		if _, id, ok := strings.Cut(a, ";"); ok {
			return id
		}
	}
	return a
}
