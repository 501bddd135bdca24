package tui

import tea "github.com/charmbracelet/bubbletea"

// The tags page: the tag table of the selected tree node, full width
// (wide screens add source and address columns).

const pageTags = "tags"

var tagsDef = pageDef{
	id: pageTags, title: "Tags", tab: true,
	cmds: []string{"tags", "tag"}, cmdHelp: "tag table, full width",
	keys: []*keyGroup{&tableKeys},
	new:  func(a *app) page { return &tagsPage{a: a} },
}

type tagsPage struct{ a *app }

func (p *tagsPage) keys() []*keyGroup { return tagsDef.keys }

func (p *tagsPage) update(msg tea.Msg) tea.Cmd {
	t := p.a.table
	switch msg := msg.(type) {
	case moveMsg:
		t.move(msg.d)
	case clickMsg:
		return t.click(msg.y)
	case doMsg:
		switch msg.act {
		case actTagLeft:
			return p.a.nav.show(pageTree, "")
		case actBack:
			cmd, _ := t.clearFilter()
			return cmd
		}
		return t.do(msg.act)
	}
	return nil
}

func (p *tagsPage) view(w, h int) []string { return p.a.table.view(w, h, true) }
