package uaimport

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/otwin/otwin/scenarios"
)

// Levels are the ISA-95 levels of a location, top down, as the scenario
// format names them.
var Levels = []string{"enterprise", "site", "area", "line", "cell"}

// SkipLevel in Options.Levels leaves a folder out of the location.
const SkipLevel = "-"

// The location rule. The folders between the import root (the Objects
// folder) and a machine are its location, one ISA-95 level each:
//
//   - By default, by their number k, the folder nearest the machine is
//     the line: k=1 line; k=2 area, line; k=3 site, area, line; k=4
//     enterprise, site, area, line; k=5 enterprise, site, area, line, cell.
//     With more than five, the top k-4 folders are joined with "." into the
//     enterprise.
//   - Options.Levels names the level of each folder top down instead
//     ("site,area,line"; "-" leaves that folder out). Folders below the
//     last one named are joined with "." into the last level named.
//
// The twin serves each level in use as a folder whose node id is the path
// of levels ("plant/line1"), so a location that keeps the folder names
// keeps the folder tree.

// depthLevels are the default levels of k folders (1 <= k <= 5).
var depthLevels = [][]string{
	1: {"line"},
	2: {"area", "line"},
	3: {"site", "area", "line"},
	4: {"enterprise", "site", "area", "line"},
	5: {"enterprise", "site", "area", "line", "cell"},
}

// ParseLevels reads a comma-separated list of ISA-95 levels, top down,
// each of Levels or SkipLevel ("-"): the level each folder above a machine
// stands for. The levels must be in ISA-95 order, each at most once, and
// at least one must be a level.
func ParseLevels(s string) ([]string, error) {
	var out []string
	last := -1
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == SkipLevel {
			out = append(out, f)
			continue
		}
		i := slices.Index(Levels, f)
		if i < 0 {
			return nil, fmt.Errorf("unknown level %q: want %s or %q", f, strings.Join(Levels, ", "), SkipLevel)
		}
		if i <= last {
			return nil, fmt.Errorf("level %q after %q: list the levels top down (%s), each once", f, Levels[last], strings.Join(Levels, ", "))
		}
		last = i
		out = append(out, f)
	}
	if last < 0 {
		return nil, fmt.Errorf("levels %q name no level", s)
	}
	return out, nil
}

// locate returns the location of a machine below folders (top down,
// valid names), and a note when folders had to be joined.
func (m *mapper) locate(folders []string) (scenarios.Location, string) {
	var loc scenarios.Location
	if len(folders) == 0 {
		return loc, ""
	}
	levels := m.opt.Levels
	if levels == nil {
		levels = depthLevels[min(len(folders), 5)]
	}
	var note string
	if len(folders) > len(levels) {
		// Join the surplus into one level: the top ones into the
		// enterprise by default, the bottom ones into the last level named.
		at := len(levels) - 1
		for levels[at] == SkipLevel {
			at--
		}
		extra := len(folders) - len(levels)
		if m.opt.Levels == nil {
			at = 0
		}
		joined := strings.Join(folders[at:at+extra+1], ".")
		note = fmt.Sprintf("folders %s are joined into the %s %q", strings.Join(folders[at:at+extra+1], "/"), levels[at], joined)
		folders = slices.Concat(folders[:at], []string{joined}, folders[at+extra+1:])
	}
	for i, f := range folders {
		setLevel(&loc, levels[i], f)
	}
	return loc, note
}

// setLevel sets level of loc to v; false for an unknown level.
func setLevel(loc *scenarios.Location, level, v string) bool {
	switch level {
	case "enterprise":
		loc.Enterprise = v
	case "site":
		loc.Site = v
	case "area":
		loc.Area = v
	case "line":
		loc.Line = v
	case "cell":
		loc.Cell = v
	default:
		return false
	}
	return true
}

// ParseLocation reads a location written as level=name pairs,
// "enterprise=acme,site=north".
func ParseLocation(s string) (scenarios.Location, error) {
	var loc scenarios.Location
	var errs []error
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		switch {
		case !ok || v == "":
			errs = append(errs, fmt.Errorf("%q: want level=name", kv))
		case name(v, "") != v:
			errs = append(errs, fmt.Errorf("%q: a name is letters, digits, '.', '_' and '-'", v))
		case !setLevel(&loc, strings.ToLower(k), v):
			errs = append(errs, fmt.Errorf("unknown level %q: want %s", k, strings.Join(Levels, ", ")))
		}
	}
	return loc, errors.Join(errs...)
}
