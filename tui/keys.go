package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/otwin/otwin/role"
	"github.com/otwin/otwin/tui/widget"
)

// action names what a key binding does. The router runs the global ones;
// a page runs those of its own bindings (see doMsg).
type action string

// binding is one key binding, as data: the keys and what help says of
// them (bubbles' key.Binding), the footer entry, and what it does — an
// action, or showing a page. The dispatcher, the help page, the footer and
// the README's key table all read the same bindings.
type binding struct {
	key.Binding
	act  action
	show string     // the id of the page the key shows, instead of act
	foot widget.Key // footer entry; an empty Key leaves the binding out
	// need is what the backend must allow for the action to succeed; a
	// session refused it sees the key marked in the footer and the
	// reason in help (the key still sends the attempt).
	need Permission
}

// bind returns a binding of keys (as tea.KeyMsg.String names them), shown
// in help as label with help text.
func bind(act action, label, help string, keys ...string) binding {
	return binding{Binding: key.NewBinding(key.WithKeys(keys...), key.WithHelp(label, help)), act: act}
}

// showKey returns a binding that shows the page id.
func showKey(id, label, help string, keys ...string) binding {
	b := bind("", label, help, keys...)
	b.show = id
	return b
}

// footer gives the binding a footer entry "k:desc".
func (b binding) footer(k, desc string) binding {
	b.foot = widget.Key{Key: k, Desc: desc, Prio: b.foot.Prio}
	return b
}

// needs says the action needs the backend to allow p.
func (b binding) needs(p Permission) binding {
	b.need = p
	return b
}

// prio sets the footer entry's priority (lower gives way first on a
// narrow screen; page entries have 0).
func (b binding) prio(p int) binding {
	b.foot.Prio = p
	return b
}

// keyGroup is a titled list of bindings: a page's keys, or a part of
// them another page shares (the tag table's keys serve the tree and the
// tag table).
type keyGroup struct {
	title    string
	bindings []binding
}

// find returns the first enabled binding of k, or nil.
func (g *keyGroup) find(k tea.KeyMsg) *binding {
	for i := range g.bindings {
		if key.Matches(k, g.bindings[i].Binding) {
			return &g.bindings[i]
		}
	}
	return nil
}

// The global actions, run by the router on every page (a page's own
// binding of the same key comes first).
const (
	actQuit     action = "quit"
	actHelp     action = "help"
	actCommand  action = "command"
	actNextView action = "next-view"
	actPrevView action = "prev-view"
	actBack     action = "back" // esc: leave a page shown over another, else the page's own "back" (doMsg)
	actUp       action = "up"
	actDown     action = "down"
	actPageUp   action = "page-up"
	actPageDown action = "page-down"
	actTop      action = "top"
	actBottom   action = "bottom"
)

// globalKeys work everywhere; built in init from the page list (the ":"
// line names the tabs' commands, and pages may add a key that shows them).
var globalKeys keyGroup

// footerGlobals are the global keys every footer ends with, in order.
var footerGlobals = []action{actNextView, actCommand, actHelp, actQuit}

// buildGlobalKeys fills globalKeys from the page list.
func buildGlobalKeys(defs []*pageDef) {
	cmds := []string{}
	var hot []binding
	for _, d := range defs {
		if d.tab && len(d.cmds) > 0 {
			cmds = append(cmds, ":"+d.cmds[0])
		}
		if len(d.hotkey.Keys()) > 0 {
			b := d.hotkey
			b.show = d.id
			hot = append(hot, b)
		}
	}
	cmds = append(cmds, ":role NAME", ":q")
	g := keyGroup{title: "Everywhere", bindings: []binding{
		bind(actQuit, "q ctrl+c", "quit", "q", "ctrl+c").footer("q", "quit").prio(-1),
		bind(actHelp, "?", "help (this screen)", "?").footer("?", "help").prio(1),
		bind(actCommand, ":", "command line: type a view, machine or tag by name and pick it from the list (↑↓, enter), or a command: "+strings.Join(cmds, " "), ":").footer(":", "cmd").prio(-1),
		bind(actNextView, "tab", "next view", "tab").footer("tab", "view").prio(-1),
		bind(actPrevView, "shift+tab", "previous view", "shift+tab"),
		bind(actBack, "esc", "back / clear filter", "esc"),
	}}
	g.bindings = append(g.bindings, hot...)
	g.bindings = append(g.bindings,
		bind(actUp, "↑ k", "move up", "up", "k"),
		bind(actDown, "↓ j", "move down", "down", "j"),
		bind(actPageUp, "pgup ctrl+b", "page up", "pgup", "ctrl+b"),
		bind(actPageDown, "pgdn ctrl+f", "page down", "pgdown", "ctrl+f"),
		bind(actTop, "home g", "first row", "home", "g"),
		bind(actBottom, "end G", "last row", "end", "G"),
	)
	globalKeys = g
}

// commandHelp is the help of the router's own ":" commands, after the
// pages' commands.
func commandHelp() [][2]string {
	return [][2]string{
		{":role NAME", "switch role: " + strings.Join(role.Names(), " ")},
		{":q", "quit"},
	}
}

// keyGroups lists every key group once: the global keys, then each page's
// groups in page order.
func keyGroups(defs []*pageDef) []*keyGroup {
	out := []*keyGroup{&globalKeys}
	seen := map[*keyGroup]bool{&globalKeys: true}
	for _, d := range defs {
		for _, g := range d.keys {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	return out
}

// legend says what the short words and marks on the screen mean, for
// help and the README.
var legend = func() [][2]string {
	l := [][2]string{
		{"GOOD", "quality of a value: good"},
		{"UNCR", "quality uncertain: stale, out of range, last usable value"},
		{"BAD", "quality bad: no value; its last good one shows in parentheses"},
		{"SEV", "severity of an alert: CRIT, HIGH, MED, LOW"},
	}
	for _, s := range alertStates {
		l = append(l, [2]string{s.name, "alert " + s.words})
	}
	return append(l,
		[2]string{confirmName, "a server's alarm, acknowledged, waiting to be confirmed"},
		[2]string{"Z", "alert shelved: kept, out of the way for a while"},
		[2]string{notCurrentMark, "a server's alarm, link lost: its last known state"},
		[2]string{"!3", "three active alerts on the tags below a tree node"},
		[2]string{"> ›", "the cursor; › where the keys are not (another pane)"},
		[2]string{"✗ / struck", "an action this session may not take; help says why under its key"})
}()

// commandList lists the ":" commands with their help: the pages' (the
// first name of each), then the router's.
func commandList(defs []*pageDef) [][2]string {
	var out [][2]string
	for _, d := range defs {
		if len(d.cmds) > 0 {
			out = append(out, [2]string{":" + d.cmds[0], d.cmdHelp})
		}
	}
	return append(out, commandHelp()...)
}

// helpLines renders the key reference, one line per binding, grouped,
// keys padded to keyWidth; refusal, when set, gives the reason a session
// may not use a binding's action ("" when it may), shown on the next line.
func helpLines(keyWidth int, refusal func(Permission) string) []string {
	var out []string
	for _, g := range keyGroups(pages) {
		out = append(out, g.title)
		for _, b := range g.bindings {
			h := b.Help()
			out = append(out, fmt.Sprintf("  %-*s %s", keyWidth, h.Key, h.Desc))
			if refusal != nil && b.need != "" {
				if why := refusal(b.need); why != "" {
					out = append(out, fmt.Sprintf("  %-*s %s %s", keyWidth, "", offMark, why))
				}
			}
		}
		out = append(out, "")
	}
	out = append(out, "Commands")
	for _, c := range commandList(pages) {
		out = append(out, fmt.Sprintf("  %-*s %s", keyWidth, c[0], c[1]))
	}
	out = append(out, "", "On the screen")
	for _, l := range legend {
		out = append(out, fmt.Sprintf("  %-*s %s", keyWidth, l[0], l[1]))
	}
	return out
}

// KeyHelp returns the key reference as plain text, generated from the key
// map the TUI dispatches on. It is safe for concurrent use.
func KeyHelp() string {
	return strings.Join(helpLines(12, nil), "\n") + "\n"
}

// markdownKeys renders the key reference as Markdown tables per group.
func markdownKeys() string {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, g := range keyGroups(pages) {
		fmt.Fprintf(&b, "**%s**\n\n| key | action |\n| --- | --- |\n", g.title)
		for _, k := range g.bindings {
			h := k.Help()
			fmt.Fprintf(&b, "| `%s` | %s |\n", esc(h.Key), esc(h.Desc))
		}
		b.WriteString("\n")
	}
	b.WriteString("**Commands**\n\n| command | action |\n| --- | --- |\n")
	for _, c := range commandList(pages) {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c[0], c[1])
	}
	b.WriteString("\n**On the screen**\n\n| mark | meaning |\n| --- | --- |\n")
	for _, l := range legend {
		fmt.Fprintf(&b, "| `%s` | %s |\n", l[0], l[1])
	}
	return b.String()
}

// offMark marks what a session may not do: after a footer entry on a
// terminal without attributes, and before the reason in help.
const offMark = "✗"

// footerKeys are the footer's entries for groups: esc first on a page
// shown over another (it goes back), the groups' entries in order (those
// whose permission refused says is refused marked Off), then those of
// footerGlobals.
func footerKeys(groups []*keyGroup, over bool, refused func(Permission) bool) []widget.Key {
	var out []widget.Key
	if over {
		out = append(out, widget.Key{Key: "esc", Desc: "back"})
	}
	for _, g := range groups {
		for _, b := range g.bindings {
			if b.foot.Key != "" {
				f := b.foot
				f.Off = b.need != "" && refused != nil && refused(b.need)
				out = append(out, f)
			}
		}
	}
	for _, act := range footerGlobals {
		for _, b := range globalKeys.bindings {
			if b.act == act {
				out = append(out, b.foot)
			}
		}
	}
	return out
}
