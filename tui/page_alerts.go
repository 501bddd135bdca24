package tui

import (
	"fmt"
	"sort"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/tui/widget"
)

// The alerts page: counts by state and severity, active alerts per
// production line, then the alert list (shared with the strip below the
// tree), with acknowledge, shelve and a filter.

const pageAlerts = "alerts"

var alertsDef = pageDef{
	id: pageAlerts, title: "Alerts", tab: true,
	cmds: []string{"alerts", "alert", "al"}, cmdHelp: "alerts",
	keys: []*keyGroup{&alertKeys, &alertActKeys},
	new:  func(a *app) page { return &alertsPage{a: a} },
}

const (
	actAlertOpen   action = "alert-open"
	actAlertFilter action = "alert-filter"
)

var alertKeys = keyGroup{title: "Alerts", bindings: []binding{
	bind(actAlertOpen, "enter", "alert detail with history", "enter").footer("enter", "detail"),
	bind(actAlertFilter, "/", "filter (substring of id, target, message)", "/").footer("/", "filter"),
}}

type alertsPage struct{ a *app }

func (p *alertsPage) keys() []*keyGroup { return alertsDef.keys }

func (p *alertsPage) update(msg tea.Msg) tea.Cmd {
	l := p.a.alerts
	switch msg := msg.(type) {
	case openMsg:
		l.selectNewest()
	case moveMsg:
		l.move(msg.d)
	case clickMsg:
		switch row := l.pos.Row(msg.y, 4, len(l.rows)); {
		case row < 0:
		case row != l.pos.Cur:
			l.move(row - l.pos.Cur)
		default:
			return p.open()
		}
	case doMsg:
		switch msg.act {
		case actAlertOpen:
			return p.open()
		case actAlertAck, actAlertShelve, actAlertComment:
			return l.do(msg.act, l.cur())
		case actAlertFilter:
			return l.startFilter()
		case actBack:
			l.clearFilter()
		}
	}
	return nil
}

// open shows the selected alert's detail.
func (p *alertsPage) open() tea.Cmd {
	if a := p.a.alerts.cur(); a != nil {
		return p.a.nav.show(pageAlertDetail, a.ID)
	}
	return nil
}

func (p *alertsPage) view(w, h int) []string {
	d := p.a.d
	l := p.a.alerts
	u, ack, rtn, z := d.alertCounts()
	var sev [5]int
	now := p.a.now().UnixNano()
	for i := range d.alerts {
		if alertActive(&d.alerts[i], now) {
			sev[d.alerts[i].Severity%5]++
		}
	}
	cap := fmt.Sprintf("ALERTS %d · UNACK %d · ACK %d · RTN %d · SHELVED %d", len(d.alerts), u, ack, rtn, z)
	if d.trunk != "" {
		cap += " · under " + d.trunk
	}
	out := []string{p.a.caption(cap, w)}
	line := fmt.Sprintf(" active: CRIT %d  HIGH %d  MED %d  LOW %d", sev[normalize.SeverityCritical], sev[normalize.SeverityHigh], sev[normalize.SeverityMedium], sev[normalize.SeverityLow])
	if note := l.filterNote(); note != "" {
		line += "  · " + note
	}
	out = append(out, widget.Fit(line, w), byLine(d.root, w))
	return append(out, l.table(w, h-3, true)...)
}

// byLine summarises active alerts per production line (a node whose
// children hold tags), worst first.
func byLine(root *node, w int) string {
	var lines []*node
	var walk func(n *node)
	walk = func(n *node) {
		if n.isLine() {
			if n.alerts > 0 {
				lines = append(lines, n)
			}
			return
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(root)
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
	return widget.Fit(b.String(), w)
}
