package tui

import (
	"fmt"
	"strings"
)

// action is what a key binding does.
type action int

const (
	actNone action = iota
	actQuit
	actHelp
	actCommand
	actNextView
	actPrevView
	actBack
	actFaults
	actUp
	actDown
	actPageUp
	actPageDown
	actTop
	actBottom
	actToggle
	actExpand
	actCollapse
	actOpen
	actSort
	actSortReverse
	actFilter
	actNames
	actNonGood
	actAck
	actShelve
	actRefresh
	actTarget
	actConsole
	actPause
	actFaster
	actSlower
	actStart
	actDebrief
)

// scope is where a binding applies.
type scope int

const (
	scopeGlobal scope = iota
	scopeTree
	scopeTable
	scopeAlerts
	scopeConn
	scopeFaults
	scopeConsole
	scopeDetail
)

var scopeNames = map[scope]string{
	scopeGlobal:  "Everywhere",
	scopeTree:    "Asset tree",
	scopeTable:   "Tag table",
	scopeAlerts:  "Alerts",
	scopeConn:    "Connections",
	scopeFaults:  "Fault panel",
	scopeConsole: "Instructor console",
	scopeDetail:  "Detail views",
}

// binding is one key binding: the key map is data, and both dispatch and
// the help screen read it.
type binding struct {
	scope scope
	keys  []string
	label string // how the keys are shown in help
	help  string
	act   action
}

// keymap holds every binding; the first match in the current scope wins,
// then the global scope.
var keymap = []binding{
	{scopeGlobal, []string{"q", "ctrl+c"}, "q ctrl+c", "quit", actQuit},
	{scopeGlobal, []string{"?"}, "?", "help (this screen)", actHelp},
	{scopeGlobal, []string{":"}, ":", "command line (:tree :tags :alerts :conn :faults :console :role NAME :q)", actCommand},
	{scopeGlobal, []string{"tab"}, "tab", "next view", actNextView},
	{scopeGlobal, []string{"shift+tab"}, "shift+tab", "previous view", actPrevView},
	{scopeGlobal, []string{"esc"}, "esc", "back / clear filter", actBack},
	{scopeGlobal, []string{"f"}, "f", "fault panel (when the simulator offers faults)", actFaults},
	{scopeGlobal, []string{"c"}, "c", "instructor console (trainers in a workshop)", actConsole},
	{scopeGlobal, []string{"up", "k"}, "↑ k", "move up", actUp},
	{scopeGlobal, []string{"down", "j"}, "↓ j", "move down", actDown},
	{scopeGlobal, []string{"pgup", "ctrl+b"}, "pgup ctrl+b", "page up", actPageUp},
	{scopeGlobal, []string{"pgdown", "ctrl+f"}, "pgdn ctrl+f", "page down", actPageDown},
	{scopeGlobal, []string{"home", "g"}, "home g", "first row", actTop},
	{scopeGlobal, []string{"end", "G"}, "end G", "last row", actBottom},

	{scopeTree, []string{"enter", " "}, "enter space", "expand / collapse node; on a machine, go to its tags", actToggle},
	{scopeTree, []string{"right", "l"}, "→ l", "expand; on an open node, go to its tags", actExpand},
	{scopeTree, []string{"left", "h"}, "← h", "collapse; go to parent", actCollapse},
	{scopeTree, []string{"/"}, "/", "filter the tags of the selected node", actFilter},

	{scopeTable, []string{"enter"}, "enter", "tag detail", actOpen},
	{scopeTable, []string{"left", "h"}, "← h", "back to the asset tree", actCollapse},
	{scopeTable, []string{"s"}, "s", "sort by next column", actSort},
	{scopeTable, []string{"S"}, "S", "reverse sort", actSortReverse},
	{scopeTable, []string{"/"}, "/", "filter (substring of id, tag, status)", actFilter},
	{scopeTable, []string{"n"}, "n", "show status names instead of badges", actNames},
	{scopeTable, []string{"b"}, "b", "only bad and uncertain tags", actNonGood},

	{scopeAlerts, []string{"enter"}, "enter", "alert detail with history", actOpen},
	{scopeAlerts, []string{"a"}, "a", "acknowledge (with optional comment)", actAck},
	{scopeAlerts, []string{"S", "z"}, "S z", "shelve (reason, then duration: 15m, or empty for one-shot)", actShelve},
	{scopeAlerts, []string{"/"}, "/", "filter (substring of id, target, message)", actFilter},

	{scopeConn, []string{"enter"}, "enter", "show the endpoint's last error in full", actOpen},

	{scopeFaults, []string{"enter"}, "enter", "inject / clear the fault", actToggle},
	{scopeFaults, []string{"r"}, "r", "refresh", actRefresh},

	{scopeConsole, []string{" "}, "space", "pause / resume the scenario clock", actPause},
	{scopeConsole, []string{"+", "="}, "+ =", "double the speed (up to 64×)", actFaster},
	{scopeConsole, []string{"-"}, "-", "halve the speed (down to 0.25×)", actSlower},
	{scopeConsole, []string{"enter"}, "enter", "start the selected exercise", actStart},
	{scopeConsole, []string{"d"}, "d", "write the debrief (the status line shows where)", actDebrief},
	{scopeConsole, []string{"f"}, "f", "fault panel, for ad-hoc faults", actFaults},
	{scopeConsole, []string{"r"}, "r", "refresh", actRefresh},

	{scopeDetail, []string{"backspace"}, "backspace", "back", actBack},
	{scopeDetail, []string{"a"}, "a", "acknowledge (alert detail)", actAck},
	{scopeDetail, []string{"S", "z"}, "S z", "shelve (alert detail)", actShelve},
	{scopeDetail, []string{"t"}, "t", "the alert's tag or endpoint (alert detail)", actTarget},
}

// lookup returns the action of key in sc, falling back to the global scope.
func lookup(sc scope, key string) action {
	for _, pass := range []scope{sc, scopeGlobal} {
		for _, b := range keymap {
			if b.scope != pass {
				continue
			}
			for _, k := range b.keys {
				if k == key {
					return b.act
				}
			}
		}
	}
	return actNone
}

// commands is the help text of the ":" commands.
var commands = [][2]string{
	{":tree", "asset tree and the tags of the selected node"},
	{":tags", "tag table, full width"},
	{":alerts", "alerts"},
	{":conn", "connections (endpoint health)"},
	{":faults", "fault panel"},
	{":console", "instructor console (trainers in a workshop)"},
	{":role NAME", "switch role: operator supervisor maintenance quality engineer trainer"},
	{":help", "this screen"},
	{":q", "quit"},
}

// helpLines renders the key reference, one line per binding, grouped by
// scope, keys padded to keyWidth.
func helpLines(keyWidth int) []string {
	var out []string
	for sc := scopeGlobal; sc <= scopeDetail; sc++ {
		out = append(out, scopeNames[sc])
		for _, b := range keymap {
			if b.scope == sc {
				out = append(out, fmt.Sprintf("  %-*s %s", keyWidth, b.label, b.help))
			}
		}
		out = append(out, "")
	}
	out = append(out, "Commands")
	for _, c := range commands {
		out = append(out, fmt.Sprintf("  %-*s %s", keyWidth, c[0], c[1]))
	}
	return out
}

// KeyHelp returns the key reference as plain text, generated from the key
// map the TUI dispatches on. It is safe for concurrent use.
func KeyHelp() string {
	return strings.Join(helpLines(12), "\n") + "\n"
}

// markdownKeys renders the key reference as Markdown tables per scope.
func markdownKeys() string {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for sc := scopeGlobal; sc <= scopeDetail; sc++ {
		fmt.Fprintf(&b, "**%s**\n\n| key | action |\n| --- | --- |\n", scopeNames[sc])
		for _, k := range keymap {
			if k.scope == sc {
				fmt.Fprintf(&b, "| `%s` | %s |\n", esc(k.label), esc(k.help))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("**Commands**\n\n| command | action |\n| --- | --- |\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c[0], c[1])
	}
	return b.String()
}
