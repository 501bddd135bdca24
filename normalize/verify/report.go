package verify

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Kind names what is wrong with a point, or that it is right.
type Kind string

// The kinds of result.
const (
	// KindOK: the point reads its twin tag's value, in the right unit,
	// every round.
	KindOK Kind = "ok"
	// KindOffByOne: the register is one off (0- vs 1-based).
	KindOffByOne Kind = "off_by_one"
	// KindModicon: a Modicon number (40001, 30001, …) written as the
	// 0-based address.
	KindModicon Kind = "modicon_address"
	// KindAddress: the value is a few registers away.
	KindAddress Kind = "address"
	// KindWordOrder: the two 16-bit words are swapped (ABCD ↔ CDAB).
	KindWordOrder Kind = "word_order"
	// KindByteOrder: the bytes within the words are swapped, or another
	// byte order.
	KindByteOrder Kind = "byte_order"
	// KindType: wrong type or width (int16 for a float32, signed for
	// unsigned, …).
	KindType Kind = "type"
	// KindScale: scale or offset off (by a power of ten, or missing).
	KindScale Kind = "scale"
	// KindUnit: the unit is mislabelled (°F shown as °C, bar as psi).
	KindUnit Kind = "unit"
	// KindTable: the value is in another Modbus table.
	KindTable Kind = "table"
	// KindUnitID: the value is under another Modbus unit id.
	KindUnitID Kind = "unit_id"
	// KindNodeID: unknown node id, or the node of another tag; the
	// nearest match is named.
	KindNodeID Kind = "node_id"
	// KindNamespace: the node id is right but in another namespace.
	KindNamespace Kind = "namespace"
	// KindMismatch: the point reads its tag wrong and nothing nearby
	// explains it.
	KindMismatch Kind = "mismatch"
	// KindUnknownTag: the point is no twin tag, by name or by address,
	// and reads none.
	KindUnknownTag Kind = "unknown_tag"
	// KindNoData: the point could not be read (endpoint unreachable,
	// refused, …).
	KindNoData Kind = "no_data"
	// KindNotTwin: the point's endpoint is none of the twin's.
	KindNotTwin Kind = "not_twin"
	// KindMissing: a twin tag no point of the file reads.
	KindMissing Kind = "missing"
)

// Result is the verdict on one point of the sources file, or on one twin
// tag no point reads (Kind missing).
type Result struct {
	// Source is the source's name; Protocol its kind ("opcua", "modbus").
	Source   string `json:"source,omitempty"`
	Protocol string `json:"protocol"`
	// Address is the point's address as the file writes it; for a missing
	// tag, where the twin serves it.
	Address string `json:"address"`
	// Point is the point's tag id (asset/tag); empty for a missing tag.
	Point string `json:"point,omitempty"`
	// Line and Col locate the point in the sources file (0 when unknown).
	Line int `json:"line,omitempty"`
	Col  int `json:"col,omitempty"`
	// Tag is the twin tag compared with; empty when none.
	Tag string `json:"tag,omitempty"`
	// Kind is the verdict; Kinds every mistake found, the main one first
	// (several when, say, a register is both one off and word-swapped).
	Kind  Kind   `json:"kind"`
	Kinds []Kind `json:"kinds,omitempty"`
	// Message says what is wrong, or how the point was checked.
	Message string `json:"message"`
	// Fix is what to write instead, e.g. "register: holding:4:float32:CDAB".
	Fix string `json:"fix,omitempty"`
	// Read is what the point read at the last round, and Want the twin's
	// value then (in the point's unit).
	Read string `json:"read,omitempty"`
	Want string `json:"want,omitempty"`
}

// OK says the point is right.
func (r Result) OK() bool { return r.Kind == KindOK }

// Report is the outcome of a check.
type Report struct {
	// File is the sources file's name (set by the caller).
	File string `json:"file,omitempty"`
	// Scenario is the twin's scenario.
	Scenario string `json:"scenario"`
	// Rounds is the number of ticks compared; Ticks the ticks between
	// them.
	Rounds int `json:"rounds"`
	Ticks  int `json:"ticks_per_round"`
	// Results are one per point in file order, then one per twin tag no
	// point reads.
	Results []Result `json:"results"`
}

// OK says every point is right and every twin tag read.
func (r *Report) OK() bool {
	for _, x := range r.Results {
		if !x.OK() {
			return false
		}
	}
	return true
}

// Counts returns how many results there are of each kind.
func (r *Report) Counts() map[Kind]int {
	out := map[Kind]int{}
	for _, x := range r.Results {
		out[x.Kind]++
	}
	return out
}

// WriteText writes the report as a table, one line per point (tag ids
// shortened by the path all share), with the address, the message and
// the fix indented below each wrong one, then a summary line. With
// problemsOnly the right points are left out of the table.
func (r *Report) WriteText(w io.Writer, problemsOnly ...bool) error {
	only := len(problemsOnly) > 0 && problemsOnly[0]
	prefix := commonPrefix(r.Results, only)
	short := func(id string) string {
		if prefix != "" && strings.HasPrefix(id, prefix) {
			return "…/" + id[len(prefix):]
		}
		return id
	}
	header := []string{"RESULT", "SOURCE", "TAG", "READ", "TWIN"}
	var shown []Result
	rows := [][]string{header}
	for _, x := range r.Results {
		if only && x.OK() {
			continue
		}
		src, tag := x.Source, x.Point
		if x.Kind == KindMissing {
			src, tag = "-", x.Tag
		}
		shown = append(shown, x)
		rows = append(rows, []string{strings.ToUpper(string(x.Kind)), orDash(src), short(tag), orDash(x.Read), orDash(x.Want)})
	}
	width := make([]int, len(header))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for i, row := range rows {
		if only && len(rows) == 1 {
			break
		}
		for j, c := range row {
			b.WriteString(c)
			if j < len(row)-1 {
				b.WriteString(strings.Repeat(" ", width[j]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteString("\n")
		if i == 0 {
			continue
		}
		if x := shown[i-1]; !x.OK() {
			fmt.Fprintf(&b, "  %s: %s\n", x.Address, x.Message)
			if x.Fix != "" {
				fmt.Fprintf(&b, "  fix: %s\n", x.Fix)
			}
		}
	}
	counts := r.Counts()
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		if k != KindOK {
			kinds = append(kinds, string(k))
		}
	}
	sort.Strings(kinds)
	summary := fmt.Sprintf("%d ok", counts[KindOK])
	for _, k := range kinds {
		summary += fmt.Sprintf(", %d %s", counts[Kind(k)], k)
	}
	if len(rows) > 1 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%s: %s (scenario %s, %d rounds of %d ticks)", orDash(r.File), summary, r.Scenario, r.Rounds, r.Ticks)
	if prefix != "" && len(rows) > 1 {
		fmt.Fprintf(&b, "; …/ is %s", prefix)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// commonPrefix is the path of whole segments every tag id of results
// (the wrong ones only with problemsOnly) starts with, ending in "/"; ""
// when they share none or there is one.
func commonPrefix(results []Result, problemsOnly bool) string {
	var ids []string
	for _, x := range results {
		if problemsOnly && x.OK() {
			continue
		}
		id := x.Point
		if x.Kind == KindMissing {
			id = x.Tag
		}
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) < 2 {
		return ""
	}
	p := ids[0][:strings.LastIndex(ids[0], "/")+1]
	for _, id := range ids[1:] {
		for !strings.HasPrefix(id, p) {
			p = p[:strings.LastIndex(strings.TrimSuffix(p, "/"), "/")+1]
		}
	}
	return p
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
