package uaimport

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Severity says what became of a node a finding is about.
type Severity uint8

const (
	// Dropped: the node (or the part of it named) is not in the scenario.
	Dropped Severity = iota
	// Changed: the node is in the scenario, but the twin serves it
	// differently (another data type, type definition, node id, name).
	Changed
)

// String returns "not imported" or "changed".
func (s Severity) String() string {
	if s == Dropped {
		return "not imported"
	}
	return "changed"
}

// Finding is one thing of the address space that could not be mapped as
// it is: the node (or file element) it concerns, where, and why.
type Finding struct {
	// Source is the file or server the space was read from.
	Source string
	// Line is the 1-based line of the element in a file; 0 for a server.
	Line int
	// Element is the XML element ("UAVariable") for a file, "" otherwise.
	Element string
	// Node is the node concerned (its id), zero when the finding is about
	// the file itself.
	Node NodeID
	// Name is the node's browse name, when known.
	Name string
	// Severity says whether the node was left out or changed.
	Severity Severity
	// Reason says why, e.g. "data type ByteString has no tag type".
	Reason string
}

// String formats f as "source:line: element node (name): severity: reason".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Source)
	if f.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(f.Line))
	}
	b.WriteString(": ")
	if f.Element != "" {
		b.WriteString(f.Element)
		b.WriteString(" ")
	}
	if !f.Node.IsZero() {
		b.WriteString(f.Node.String())
		if f.Name != "" {
			fmt.Fprintf(&b, " (%s)", f.Name)
		}
		b.WriteString(" ")
	}
	b.WriteString(f.Severity.String())
	b.WriteString(": ")
	b.WriteString(f.Reason)
	return b.String()
}

// Report is what could not be mapped, in source order (file line, then
// node id).
type Report []Finding

// String lists the findings one per line.
func (r Report) String() string {
	var b strings.Builder
	for _, f := range r {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Count returns how many findings have severity s.
func (r Report) Count(s Severity) int {
	n := 0
	for _, f := range r {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// sortReport orders r by line, then node id, keeping the order of equal
// entries.
func sortReport(r Report) {
	slices.SortStableFunc(r, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Node.NS, b.Node.NS), cmp.Compare(a.Node.ID, b.Node.ID))
	})
}

// nodeFinding is a finding about node n of space s.
func nodeFinding(s *Space, n *Node, sev Severity, format string, args ...any) Finding {
	return Finding{
		Source:   s.Source,
		Line:     n.Line,
		Element:  n.Element,
		Node:     n.ID,
		Name:     n.BrowseName,
		Severity: sev,
		Reason:   fmt.Sprintf(format, args...),
	}
}
