package tui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// The tag table's actions (the tree and the tags page run them).
const (
	actTagOpen    action = "tag-open"
	actTagLeft    action = "tag-left"
	actTagSort    action = "tag-sort"
	actTagReverse action = "tag-reverse"
	actTagFilter  action = "tag-filter"
	actTagNames   action = "tag-names"
	actTagNonGood action = "tag-non-good"
)

// tableKeys are the tag table's keys; ← is the page's (the tree unfocuses
// the table, the tags page goes to the tree).
var tableKeys = keyGroup{title: "Tag table", bindings: []binding{
	bind(actTagOpen, "enter", "tag detail", "enter").footer("enter", "detail"),
	bind(actTagLeft, "← h", "back to the asset tree", "left", "h").footer("←", "tree"),
	bind(actTagSort, "s", "sort by next column", "s").footer("s/S", "sort"),
	bind(actTagReverse, "S", "reverse sort", "S"),
	bind(actTagFilter, "/", "filter (substring of id, tag, status or context)", "/").footer("/", "filter"),
	bind(actTagNames, "n", "show status names instead of badges", "n").footer("n", "names"),
	bind(actTagNonGood, "b", "only bad and uncertain tags", "b").footer("b", "bad only"),
}}

// sort columns of the tag table.
const (
	sortName = iota
	sortValue
	sortQuality
	sortAge
	numSortCols
)

var sortNames = [numSortCols]string{"name", "value", "quality", "age"}

// rowsJob is a filter-and-sort of the tag table, run off the update loop
// for large tables; its result is discarded if gen is stale.
type rowsJob struct {
	gen     uint64
	meta    []tagMeta
	dyn     dynView // nil when neither filter nor sort needs it
	prefix  string  // node path; "" is every tag
	filter  string  // lower case
	nonGood bool
	col     int
	rev     bool
}

// rowsMsg carries a rowsJob's result.
type rowsMsg struct {
	gen  uint64
	rows []int32
}

func (j *rowsJob) needsDyn() bool {
	return j.filter != "" || j.nonGood || j.col != sortName
}

// run filters and sorts; it reads only the job's own data.
func (j *rowsJob) run() []int32 {
	rows := make([]int32, 0, 64)
	var names map[connectors.StatusCode]string
	if j.filter != "" {
		names = map[connectors.StatusCode]string{}
	}
	for i := range j.meta {
		m := &j.meta[i]
		if !underPath(m.asset, j.prefix) {
			continue
		}
		if j.nonGood && j.dyn.at(int32(i)).code.IsGood() {
			continue
		}
		if j.filter != "" && !strings.Contains(m.idLower, j.filter) && !strings.Contains(m.tagLower, j.filter) && !j.dyn.at(int32(i)).ctx.Match(j.filter) {
			c := j.dyn.at(int32(i)).code
			n, ok := names[c]
			if !ok {
				n = strings.ToLower(c.Name() + " " + c.Severity().String())
				names[c] = n
			}
			if !strings.Contains(n, j.filter) {
				continue
			}
		}
		rows = append(rows, int32(i))
	}
	if j.col != sortName {
		// sort (key, index) pairs: the index breaks ties, keeping id order
		type kv struct {
			k float64
			i int32
		}
		keys := make([]kv, len(rows))
		for x, r := range rows {
			d := j.dyn.at(r)
			var k float64
			switch j.col {
			case sortValue:
				k = d.value
				if d.text {
					k = math.Inf(1)
				}
			case sortQuality:
				k = -float64(d.code.Severity()) // worst first
			case sortAge:
				k = float64(d.recv) // oldest first
			}
			keys[x] = kv{k, r}
		}
		slices.SortFunc(keys, func(a, b kv) int {
			if c := cmp.Compare(a.k, b.k); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		for x := range keys {
			rows[x] = keys[x].i
		}
	}
	if j.rev {
		for l, r := 0, len(rows)-1; l < r; l, r = l+1, r-1 {
			rows[l], rows[r] = rows[r], rows[l]
		}
	}
	return rows
}

// tagTable is the table of the tags below the selected tree node,
// filtered and sorted, with its cursor; the tree page and the tags page
// show the same one. Filtering and sorting run inline up to syncRows tags,
// else in a tea.Cmd whose stale results are dropped.
type tagTable struct {
	a    *app
	path string // the selected node; "" is every tag

	rows       []int32 // indices into data.tags
	rowGen     uint64  // jobs of older generations are stale
	keepTag    int32   // the tag index the cursor was on when the job started
	want       int32   // the tag index the next job puts the cursor on (-1: none)
	jobPending bool
	rowsAt     time.Time
	syncJobs   bool // run every job inline (the first table of a session)

	pos    widget.Pos
	sortC  int
	sortR  bool
	filter string
	bad    bool // only bad and uncertain tags
	names  bool // status names instead of badges
	eng    bool // engineer's columns
	hist   []float64
	numBuf []byte                        // scratch for measuring values
	ctxBuf map[string]*normalize.Context // scratch of context
}

func newTagTable(a *app) *tagTable {
	return &tagTable{a: a, want: -1, ctxBuf: map[string]*normalize.Context{}}
}

// setRole resets the table to the role's view of it.
func (t *tagTable) setRole(r Role, view roleView) {
	t.eng = r == RoleEngineer
	t.bad = view.badTags
	t.filter = ""
	t.sortC, t.sortR = sortName, false
}

// reset drops the rows after the tag set changed (their indices are
// stale); the next frame recomputes them.
func (t *tagTable) reset() {
	t.rowGen++
	t.jobPending = false
	t.rows = nil
	t.rowsAt = time.Time{}
}

// onFrame recomputes rows that are missing, or filtered or sorted by
// changing data and a second old; a running job is not overtaken.
func (t *tagTable) onFrame() tea.Cmd {
	if t.jobPending {
		return nil
	}
	if t.rows == nil || (t.sortC != sortName || t.bad || t.filter != "") && t.a.now().Sub(t.rowsAt) >= time.Second {
		return t.recompute()
	}
	return nil
}

// recompute starts the filter-and-sort: inline for small tables, else as
// a tea.Cmd whose stale results are dropped.
func (t *tagTable) recompute() tea.Cmd {
	d := t.a.d
	t.rowGen++
	t.keepTag = -1
	if t.pos.Cur < len(t.rows) {
		t.keepTag = t.rows[t.pos.Cur]
	}
	if t.want >= 0 {
		t.keepTag, t.want = t.want, -1
	}
	j := &rowsJob{gen: t.rowGen, meta: d.meta, prefix: t.path, filter: strings.ToLower(t.filter), nonGood: t.bad, col: t.sortC, rev: t.sortR}
	if j.needsDyn() {
		j.dyn = d.dyn.snapshot()
	}
	t.rowsAt = t.a.now()
	if len(d.meta) <= syncRows || t.syncJobs {
		t.jobPending = false
		t.setRows(j.run())
		return nil
	}
	t.jobPending = true
	return func() tea.Msg { return rowsMsg{gen: j.gen, rows: j.run()} }
}

// onRows installs a job's result unless a newer job overtook it.
func (t *tagTable) onRows(msg rowsMsg) {
	if msg.gen == t.rowGen {
		t.jobPending = false
		t.setRows(msg.rows)
		t.a.invalidate()
	}
}

// setRows installs rows, keeping the cursor on the tag it was on.
func (t *tagTable) setRows(rows []int32) {
	t.rows = rows
	if t.keepTag >= 0 {
		for i, r := range rows {
			if r == t.keepTag {
				t.pos.Cur = i
				break
			}
		}
	}
	t.pos.Clamp(len(t.rows))
}

// selectPath shows the tags below path, the cursor on the first.
func (t *tagTable) selectPath(path string) tea.Cmd {
	if t.path == path {
		return nil
	}
	t.path = path
	t.pos = widget.Pos{}
	return t.recompute()
}

// showTag shows the tags below path with the cursor on tag index i,
// dropping a filter that would hide it.
func (t *tagTable) showTag(path string, i int32) tea.Cmd {
	t.path, t.pos, t.filter, t.want = path, widget.Pos{}, "", i
	if t.bad && t.a.d.tags[i].Status.IsGood() {
		t.bad = false
		t.a.setMsg("showing all tags, not only bad and uncertain ones (b)", false)
	}
	return t.recompute()
}

// cur is the tag under the cursor, or nil.
func (t *tagTable) cur() *normalize.Sample {
	if t.pos.Cur < len(t.rows) {
		if i := int(t.rows[t.pos.Cur]); i < len(t.a.d.tags) {
			return &t.a.d.tags[i]
		}
	}
	return nil
}

func (t *tagTable) move(d int) {
	t.pos.Cur += d
	t.pos.Clamp(len(t.rows))
}

// do runs the table's actions but ← (the page's).
func (t *tagTable) do(act action) tea.Cmd {
	switch act {
	case actTagOpen:
		if tag := t.cur(); tag != nil {
			return t.a.nav.show(pageTagDetail, tag.ID)
		}
	case actTagSort:
		t.sortC = (t.sortC + 1) % numSortCols
		t.a.setMsg("sorted by "+sortNames[t.sortC], false)
		return t.recompute()
	case actTagReverse:
		t.sortR = !t.sortR
		return t.recompute()
	case actTagFilter:
		return t.startFilter()
	case actTagNames:
		t.names = !t.names
	case actTagNonGood:
		t.bad = !t.bad
		return t.recompute()
	}
	return nil
}

// startFilter opens the filter prompt; the rows follow the typing, esc
// clears the filter.
func (t *tagTable) startFilter() tea.Cmd {
	return t.a.nav.prompt("/", t.filter, promptSpec{
		change: func(v string) tea.Cmd {
			if v == t.filter {
				return nil
			}
			t.filter = v
			t.pos = widget.Pos{}
			return t.recompute()
		},
		cancel: func() tea.Cmd {
			t.filter = ""
			return t.recompute()
		},
	})
}

// clearFilter drops the filter (esc); it reports whether there was one.
func (t *tagTable) clearFilter() (tea.Cmd, bool) {
	if t.filter == "" {
		return nil, false
	}
	t.filter = ""
	return t.recompute(), true
}

// click selects the row at body line y (the table's caption on line 0);
// a click on the selected row opens it.
func (t *tagTable) click(y int) tea.Cmd {
	row := t.pos.Row(y, 2, len(t.rows))
	switch {
	case row < 0:
		return nil
	case row != t.pos.Cur:
		t.move(row - t.pos.Cur)
		return nil
	}
	return t.do(actTagOpen)
}

// cols are the table's columns at width w, the tag column at least
// tagW wide (up to half the table), the value column valW (up to 24):
// the columns of least use give way to them.
func (t *tagTable) cols(w, tagW, valW int) []widget.Column {
	tagW = min(tagW, (w-1)/2)
	valW = min(max(valW, 8), 24)
	if t.eng {
		return []widget.Column{
			{Title: "TAG", W: max(tagW, 20), Flex: 2, Tail: true, Prio: 9, Max: 64},
			{Title: "VALUE", W: valW, Flex: 1, Max: max(valW, 18), Right: true, Prio: 8},
			{Title: "RAW", W: 10, Flex: 1, Max: 14, Right: true, Prio: 5},
			{Title: "ADDRESS", W: 14, Flex: 2, Prio: 7, Max: 48},
			{Title: "STATUS", W: 14, Flex: 1, Prio: 6},
			{Title: "AGE", W: 6, Right: true, Prio: 4},
		}
	}
	q := widget.Column{Title: "Q", W: 4, Prio: 7}
	if t.names {
		q = widget.Column{Title: "STATUS", W: 16, Flex: 1, Prio: 7}
	}
	trend := min(max(w/6, 6), 30)
	return []widget.Column{
		{Title: "TAG", W: max(tagW, 12), Flex: 3, Tail: true, Prio: 9, Max: 56},
		{Title: "VALUE", W: valW, Flex: 1, Max: max(valW, 20), Right: true, Prio: 8},
		q,
		{Title: "AGE", W: 6, Right: true, Prio: 5},
		{Title: "TREND", W: trend, Prio: 4},
		{Title: "SOURCE", W: 18, Prio: 2, From: 100},
		{Title: "ADDRESS", W: 24, Flex: 2, Prio: 1, From: 100},
	}
}

// widths are the widths the rows shown in a body of rows lines need
// for their machine and tag ("press1/temperature", their id after
// prefix) and for their value with its unit.
func (t *tagTable) widths(prefix string, rows int) (tagW, valW int) {
	t.pos.Clamp(len(t.rows))
	t.pos.Scroll(rows) // as the table will
	d := t.a.d
	for r := t.pos.Top; r < len(t.rows) && r < t.pos.Top+rows; r++ {
		i := t.rows[r]
		id := strings.TrimPrefix(d.meta[i].id, prefix)
		if i := strings.LastIndexByte(id, '/'); i > 0 {
			if j := strings.LastIndexByte(id[:i], '/'); j >= 0 {
				id = id[j+1:]
			}
		}
		tagW = max(tagW, widget.Width(id))
		var vw int
		vw, t.numBuf = valueWidth(&d.tags[i], t.numBuf)
		valW = max(valW, vw)
	}
	return tagW, valW
}

// view renders the caption and the table in w×h cells.
func (t *tagTable) view(w, h int, focused bool) []string {
	a := t.a
	st := &a.st
	sortMark := "↑"
	if t.sortR {
		sortMark = "↓"
	}
	where := t.path
	prefix := ""
	switch {
	case t.path != "":
		prefix = t.path + "/"
	case a.d.trunk != "":
		where, prefix = "all, under "+a.d.trunk, a.d.trunk+"/"
	default:
		where = "all"
	}
	rest := fmt.Sprintf(" · %d · sort %s%s", len(t.rows), sortNames[t.sortC], sortMark)
	if c := t.context(); c != nil {
		rest = " · " + c.String() + rest
	}
	if t.bad {
		rest += " · bad/uncertain"
	}
	if t.filter != "" {
		rest += " · /" + t.filter
	}
	if t.path != "" { // the node's path gives way by whole segments
		where = widget.TrimPath(where, max(w-7-widget.Width(rest), 12))
	}
	out := []string{a.caption("TAGS "+where+rest, w)}
	tagW, valW := t.widths(prefix, h-2)
	cols := t.cols(w, tagW, valW)
	now := a.now()
	var cur *normalize.Sample
	curRow := -1
	tbl := widget.Table(w, h-1, cols, len(t.rows), &t.pos, focused, st.table, func(r, c, cw int) (string, *widget.Paint) {
		if r != curRow {
			cur, curRow = &a.d.tags[t.rows[r]], r
		}
		tag := cur
		switch cols[c].Title {
		case "TAG":
			return strings.TrimPrefix(tag.ID, prefix), nil
		case "VALUE":
			p := st.quality(tag.Status)
			if tag.Status.IsGood() {
				return fitValue(tag, cw), nil
			}
			return fitValue(tag, cw), &p
		case "Q":
			p := st.quality(tag.Status)
			return badge(tag.Status), &p
		case "STATUS":
			p := st.quality(tag.Status)
			return tag.Status.Error(), &p
		case "RAW":
			return fmtRaw(tag.Raw), nil
		case "ADDRESS":
			addr := shortAddress(tag.Address)
			if strings.Contains(addr, "/") {
				addr = widget.TrimPath(addr, cw) // a node id naming a path: its end
			}
			return addr, &st.dim
		case "SOURCE":
			return tag.Source, nil
		case "AGE":
			return ageSince(now, valueTime(tag)), nil
		case "TREND":
			t.hist = a.b.History(tag.ID, t.hist[:0])
			return widget.Spark(t.hist, cw), &st.spark
		}
		return "", nil
	})
	return append(out, tbl...)
}

// maxContextRows bounds the rows context looks through.
const maxContextRows = 5000

// context is the production context of the table's tags, shown in the
// caption: each asset's newest (a sample carries the context of its
// time, and a steady value's last sample may be old), when those of
// every asset agree — the line's work order, product, batch and shift.
// Nil for the whole plant, when they differ, and when none has one.
func (t *tagTable) context() *normalize.Context {
	if t.path == "" || len(t.rows) > maxContextRows {
		return nil
	}
	newest := t.ctxBuf
	clear(newest)
	for _, r := range t.rows {
		s := &t.a.d.tags[r]
		if c := s.Context; !c.Empty() && c.Newer(newest[s.Asset]) {
			newest[s.Asset] = c
		}
	}
	var c *normalize.Context
	for _, x := range newest {
		switch {
		case c == nil:
			c = x
		case !sameContext(c, x):
			return nil
		}
	}
	return c
}

// sameContext says a and b hold the same values (each asset has its
// own Context value).
func sameContext(a, b *normalize.Context) bool {
	return a == b || a.WorkOrder == b.WorkOrder && a.Product == b.Product && a.Batch == b.Batch &&
		a.Recipe == b.Recipe && a.Phase == b.Phase && a.Shift == b.Shift
}
