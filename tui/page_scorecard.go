package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/tui/widget"
)

// The scorecard page: data-quality figures per site, line and machine
// over the rolling window, then per work order, batch and shift of each
// line (the open one and those closed). enter on a site, line or machine
// shows it in the tree. It re-reads the scorecards once a second.

const pageScorecard = "scorecard"

var scorecardDef = pageDef{
	id: pageScorecard, title: "Scorecard",
	cmds: []string{"scorecard", "scorecards", "quality"}, cmdHelp: "data quality per site, line, machine and batch",
	keys:        []*keyGroup{&scorecardKeys},
	available:   func(a *app) bool { return a.opts.Scorecards != nil },
	unavailable: "no scorecards in this session",
	new:         func(a *app) page { return &scorecardPage{a: a} },
}

const actScoreOpen action = "score-open"

var scorecardKeys = keyGroup{title: "Scorecards", bindings: []binding{
	bind(actScoreOpen, "enter", "show the site, line or machine in the tree", "enter").footer("enter", "tree"),
}}

// scoreRow is one row of the page: a card, or a section's title.
type scoreRow struct {
	name  string // what the row is about, as shown
	title bool   // a section's title (no figures)
	card  *score.Card
}

type scorecardPage struct {
	a    *app
	rep  score.Report
	at   time.Time // when rep was read
	rows []scoreRow
	pos  widget.Pos
}

func (p *scorecardPage) keys() []*keyGroup { return scorecardDef.keys }

func (p *scorecardPage) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openMsg, resumeMsg:
		p.read()
	case moveMsg:
		p.pos.Cur += msg.d
		p.pos.Clamp(len(p.rows))
	case clickMsg:
		switch row := p.pos.Row(msg.y, 2, len(p.rows)); {
		case row < 0:
		case row != p.pos.Cur:
			p.pos.Cur = row
		default:
			return p.open()
		}
	case doMsg:
		if msg.act == actScoreOpen {
			return p.open()
		}
	}
	return nil
}

// open shows the asset of the selected card in the tree.
func (p *scorecardPage) open() tea.Cmd {
	if p.pos.Cur >= len(p.rows) || p.rows[p.pos.Cur].card == nil {
		return nil
	}
	c := p.rows[p.pos.Cur].card
	if p.a.d.index[c.Asset] == nil {
		p.a.setMsg(c.Asset+" has no tags in the tree", true)
		return nil
	}
	return p.a.nav.show(pageTree, "node:"+c.Asset)
}

// read takes the board's report and lays out the rows: each site, its
// lines, each line's machines; then the periods, by line.
func (p *scorecardPage) read() {
	p.rep = p.a.opts.Scorecards.Report()
	p.at = p.a.now()
	r := &p.rep
	p.rows = p.rows[:0]
	p.rows = append(p.rows, scoreRow{name: "ROLLING WINDOW · " + fmtAge(time.Duration(r.Window*float64(time.Second))), title: true})
	for i := range r.Sites {
		site := &r.Sites[i]
		p.rows = append(p.rows, scoreRow{name: site.Asset, card: site})
		for j := range r.Lines {
			line := &r.Lines[j]
			if !under(line.Asset, site.Asset) {
				continue
			}
			if line.Asset != site.Asset {
				p.rows = append(p.rows, scoreRow{name: "  " + strings.TrimPrefix(line.Asset, site.Asset+"/"), card: line})
			}
			for k := range r.Machines {
				m := &r.Machines[k]
				if under(m.Asset, line.Asset) && (line.Asset != site.Asset || !underAnyLine(m.Asset, r.Lines, site.Asset)) {
					p.rows = append(p.rows, scoreRow{name: "    " + strings.TrimPrefix(m.Asset, line.Asset+"/"), card: m})
				}
			}
		}
	}
	if len(r.Periods) > 0 {
		p.rows = append(p.rows, scoreRow{name: "WORK ORDERS, BATCHES, SHIFTS", title: true})
		periods := make([]*score.Card, len(r.Periods))
		for i := range r.Periods {
			periods[i] = &r.Periods[i]
		}
		// by line, newest first
		sort.SliceStable(periods, func(i, j int) bool {
			if periods[i].Asset != periods[j].Asset {
				return periods[i].Asset < periods[j].Asset
			}
			return periods[i].From.After(periods[j].From)
		})
		for _, c := range periods {
			span := c.From.Format("15:04") + "–"
			if !c.To.IsZero() {
				span += c.To.Format("15:04")
			}
			line := c.Asset
			for i := range r.Sites {
				if s := r.Sites[i].Asset; line != s && under(line, s) {
					line = strings.TrimPrefix(line, s+"/")
				}
			}
			name := fmt.Sprintf("%s %s %s %s", shortRole(c.Level), c.Value, span, line)
			p.rows = append(p.rows, scoreRow{name: name, card: c})
		}
	}
	if p.pos.Cur == 0 && len(p.rows) > 1 {
		p.pos.Cur = 1 // the first card, not the section's title
	}
	p.pos.Clamp(len(p.rows))
}

// under says asset is path or lies below it.
func under(asset, path string) bool {
	return asset == path || strings.HasPrefix(asset, path+"/")
}

// underAnyLine says asset lies below a line other than site itself.
func underAnyLine(asset string, lines []score.Card, site string) bool {
	for i := range lines {
		if lines[i].Asset != site && under(asset, lines[i].Asset) {
			return true
		}
	}
	return false
}

func shortRole(level string) string {
	switch level {
	case "work_order":
		return "order"
	}
	return level
}

var scorecardCols = []widget.Column{
	{Title: "ASSET / PERIOD", W: 24, Flex: 3, Prio: 9},
	{Title: "COMPL", W: 6, Right: true, Prio: 8},
	{Title: "VALID", W: 6, Right: true, Prio: 7},
	{Title: "AVAIL", W: 6, Right: true, Prio: 6},
	{Title: "AGE p95", W: 7, Right: true, Prio: 5},
	{Title: "ALERTS", W: 8, Flex: 1, Prio: 4, Max: 30},
	{Title: "SAMPLES", W: 8, Right: true, Prio: 2, From: 100},
}

func (p *scorecardPage) view(w, h int) []string {
	if p.a.now().Sub(p.at) >= time.Second {
		p.read()
	}
	st := &p.a.st
	cap := "SCORECARDS"
	if !p.rep.At.IsZero() {
		cap += " · as of " + p.rep.At.Format("15:04:05")
	}
	out := []string{p.a.caption(cap, w)}
	return append(out, widget.Table(w, h-1, scorecardCols, len(p.rows), &p.pos, true, st.table, func(r, c, cw int) (string, *widget.Paint) {
		row := &p.rows[r]
		if row.title {
			if c == 0 {
				return row.name, &st.dim
			}
			return "", nil
		}
		k := row.card
		switch c {
		case 0:
			return row.name, nil
		case 1:
			return pct(k.Completeness), ratioPaint(st, k.Completeness)
		case 2:
			return pct(k.Validity), ratioPaint(st, k.Validity)
		case 3:
			return pct(k.Availability), ratioPaint(st, k.Availability)
		case 4:
			if k.P95Age < 0 {
				return "—", &st.dim
			}
			return fmtAgeP95(k.P95Age), nil
		case 5:
			return alertsText(k.Alerts), nil
		case 6:
			return strconv.FormatUint(k.Samples, 10), nil
		}
		return "", nil
	})...)
}

// ratioPaint colours a ratio as a quality: good from 99 %, uncertain from
// 90 %, bad below; dim when unknown.
func ratioPaint(st *styles, v float64) *widget.Paint {
	var p widget.Paint
	switch {
	case v < 0:
		p = st.dim
	case v >= 0.99:
		p = st.quality(connectors.Good)
	case v >= 0.9:
		p = st.quality(connectors.Uncertain)
	default:
		p = st.quality(connectors.Bad)
	}
	return &p
}

// fmtAgeP95 formats a p95 age given in seconds: "20ms", "1.5s", "30s".
func fmtAgeP95(s float64) string {
	switch {
	case s < 1:
		return strconv.FormatFloat(s*1000, 'f', 0, 64) + "ms"
	case s < 10:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	}
	return strconv.FormatFloat(s, 'f', 0, 64) + "s"
}

// pct formats a ratio as a percentage; "—" when unknown (-1).
func pct(v float64) string {
	if v < 0 {
		return "—"
	}
	return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
}

// alertsText is the alerts' total and the most frequent kind: "3 stale+".
func alertsText(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	total, top, topN := 0, "", 0
	for k, n := range m {
		total += n
		if n > topN || n == topN && k < top {
			top, topN = k, n
		}
	}
	s := strconv.Itoa(total) + " " + top
	if len(m) > 1 {
		s += "+"
	}
	return s
}
