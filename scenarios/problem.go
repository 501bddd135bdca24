package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a scenario file, at a position.
type Problem struct {
	// File is the file's path (or the name given to Parse).
	File string
	// Line and Col are 1-based; 0 when the problem has no position.
	Line, Col int
	// Msg says what is wrong.
	Msg string
	// Hint says how to fix it, e.g. `did you mean "unit"?`; may be empty.
	Hint string
}

// String formats p as "file:line:col: msg (hint)".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString(" (")
		b.WriteString(p.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Problems is every problem found in a scenario, ordered by position. It is
// the error Load and Parse return for an invalid scenario.
type Problems []Problem

// Error lists the problems one per line as "file:line:col: msg (hint)".
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// maxProblems bounds the problems reported for one file.
const maxProblems = 500

// pos is a 1-based line and column in the file.
type pos struct{ line, col int }

// problemSet collects problems, at most one per position.
type problemSet struct {
	file string
	list []Problem
	seen map[pos]bool
}

func newProblemSet(file string) *problemSet {
	return &problemSet{file: file, seen: map[pos]bool{}}
}

// add records a problem at p unless one is already recorded there (a
// node's first problem is usually the cause of the others).
func (s *problemSet) add(p pos, hint, format string, args ...any) {
	if p.line > 0 && s.seen[p] {
		return
	}
	s.seen[p] = true
	s.list = append(s.list, Problem{File: s.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// result returns the sorted problems, or nil when there are none.
func (s *problemSet) result() error {
	if len(s.list) == 0 {
		return nil
	}
	ps := slices.Clone(s.list)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	if len(ps) > maxProblems {
		n := len(ps) - maxProblems
		ps = append(ps[:maxProblems], Problem{File: s.file, Msg: fmt.Sprintf("%d more problems not shown", n)})
	}
	return Problems(ps)
}

// didYouMean returns a hint naming the candidate closest to s, or "" when
// none is close.
func didYouMean(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" {
		return fmt.Sprintf("did you mean %q?", c)
	}
	return ""
}

// closest returns the candidate nearest to s by edit distance (case
// insensitive), when it is near enough to be a likely typo.
func closest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := max(1, min(len([]rune(s)), len([]rune(best)))/3)
	if best == "" || bestD > limit || bestD == 0 && best == s {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b
// (Levenshtein plus adjacent transpositions), by runes. Long inputs are
// compared only by their first 64 runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 {
		ra = ra[:64]
	}
	if len(rb) > 64 {
		rb = rb[:64]
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
