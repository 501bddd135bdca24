package verify

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/units"
)

func TestOrderChange(t *testing.T) {
	for _, c := range []struct {
		was, is string
		kind    Kind
	}{
		{"ABCD", "CDAB", KindWordOrder},
		{"CDAB", "ABCD", KindWordOrder},
		{"ABCD", "BADC", KindByteOrder},
		{"ABCD", "DCBA", KindByteOrder},
		{"ABCDEFGH", "GHEFCDAB", KindWordOrder},
		{"ABCDEFGH", "BADCFEHG", KindByteOrder},
	} {
		ch := orderChange(c.was, c.is)
		if ch.kind != c.kind || !strings.Contains(ch.msg, c.is) || !strings.Contains(ch.msg, c.was) {
			t.Errorf("%s → %s: %s %q, want %s", c.was, c.is, ch.kind, ch.msg, c.kind)
		}
	}
	if ch := orderChange("ABCD", "BADC"); !strings.Contains(ch.msg, "within each word") {
		t.Errorf("a byte swap is not named as one: %q", ch.msg)
	}
}

func TestModicon(t *testing.T) {
	for _, c := range []struct {
		in    int
		table modbus.Table
		addr  int
		ok    bool
	}{
		{40001, modbus.Holding, 0, true}, {40101, modbus.Holding, 100, true}, {30010, modbus.Input, 9, true},
		{10001, modbus.Discrete, 0, true}, {100, 0, 0, false}, {50000, 0, 0, false},
	} {
		table, addr, ok := modicon(c.in)
		if ok != c.ok || ok && (table != c.table || addr != c.addr) {
			t.Errorf("modicon(%d) = %s %d %v, want %s %d %v", c.in, table, addr, ok, c.table, c.addr, c.ok)
		}
	}
}

// TestExpect: the twin's value in the point's unit, within the twin's
// own rounding (an int16 register with scale 0.1 carries 0.1 steps).
func TestExpect(t *testing.T) {
	tag := &Tag{Type: "float64", Unit: "FAH", Value: 212.0}
	degC, _ := units.Lookup("degC")
	e := expect(tag, degC, resolution("int16", 0.1))
	if !e.ok || math.Abs(e.want.num-100) > 1e-9 {
		t.Fatalf("212 °F in °C: %+v", e)
	}
	if !e.matches(value{num: 100.02}) || e.matches(value{num: 100.1}) {
		t.Errorf("tolerance %g: 0.05 °F of rounding is %g °C", e.tol, 0.05*5/9)
	}
	bar, _ := units.Lookup("bar")
	if e := expect(tag, bar, precision{}); e.ok {
		t.Errorf("°F labelled bar: %+v, want no expectation", e)
	}
	if e := expect(&Tag{Type: "string", Value: "Running"}, units.Unit{}, precision{}); !e.matches(value{text: "Running", isText: true}) || e.matches(value{text: "Idle", isText: true}) {
		t.Errorf("text: %+v", e)
	}
	if e := expect(&Tag{Type: "float64"}, units.Unit{}, precision{}); e.ok {
		t.Error("no value: an expectation")
	}
}

func TestMappingAlts(t *testing.T) {
	degC, _ := units.Lookup("degC")
	degF, _ := units.Lookup("degF")
	alts := mappingAlts(0.1, 0, units.Unit{}, degC, degF, 0)
	var scales []float64
	var unitFixes []string
	for _, a := range alts[1:] {
		switch a.changes[0].kind {
		case KindScale:
			scales = append(scales, a.m.scale)
		case KindUnit:
			unitFixes = append(unitFixes, a.changes[0].fix)
		}
	}
	if alts[0].m != (mapping{scale: 0.1, mul: 1}) || len(alts[0].changes) != 0 {
		t.Errorf("the file's own first: %+v", alts[0])
	}
	if !containsFloat(scales, 0.01) || !containsFloat(scales, 1) {
		t.Errorf("scales %v lack 0.01 and 1", scales)
	}
	if strings.Join(unitFixes, "|") != "unit: degF|convert_from: degF" {
		t.Errorf("unit fixes %q", unitFixes)
	}
}

func containsFloat(fs []float64, f float64) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

func TestUnitKey(t *testing.T) {
	for in, want := range map[string]string{"degF": "degF", "BAR": "bar", "kW": "kW", "CEL": "degC", "%": "%"} {
		u, ok := units.Lookup(in)
		if !ok {
			t.Fatalf("unit %q", in)
		}
		if got := unitKey(u); got != want {
			t.Errorf("unitKey(%s) = %q, want %q", in, got, want)
		}
	}
}

// synthetic builds a check of one Modbus point configured as cfg against
// twin tags, and the images of a device holding them at each round.
func synthetic(t *testing.T, cfg string, tags []Tag, values [][]float64) (*check, *mbDiag, []round, []image) {
	t.Helper()
	reg, err := modbus.ParseRegister(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := &source{mb: &modbus.Config{UnitID: 1}, units: map[int]string{1: "plc1", 2: "plc2"}, machines: []string{"plc1", "plc2"}}
	c := &check{tags: tags, byID: map[string]int{}}
	for i, tg := range tags {
		c.byID[tg.ID] = i
	}
	pt := &point{src: src, reg: reg, tag: 0, id: tags[0].ID}
	var rounds []round
	var imgs []image
	for _, vals := range values {
		tr := Truth{Tags: append([]Tag{}, tags...)}
		img := image{}
		for i := range tr.Tags {
			tr.Tags[i].Value = vals[i]
			put(img, tr.Tags[i].Modbus, vals[i])
		}
		rounds = append(rounds, round{truth: tr})
		imgs = append(imgs, img)
	}
	return c, &mbDiag{pt: pt, stage: 3}, rounds, imgs
}

// put writes v as the twin would serve it at r: raw = (v - offset) /
// scale in r's type, its bytes in r's order (the test's own encoder).
func put(img image, r *Register, v float64) {
	raw := (v - r.Offset) / r.Scale
	var be []byte
	switch r.Type {
	case "float32":
		be = binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(raw)))
	case "int32":
		be = binary.BigEndian.AppendUint32(nil, uint32(int32(math.Round(raw))))
	case "uint16":
		be = binary.BigEndian.AppendUint16(nil, uint16(math.Round(raw)))
	case "int16":
		be = binary.BigEndian.AppendUint16(nil, uint16(int16(math.Round(raw))))
	}
	wire := make([]byte, len(be))
	for i := range wire {
		o := r.Order
		if o == "" {
			o = "AB"
		}
		wire[i] = be[o[i]-'A']
	}
	table := map[string]modbus.Table{"holding": modbus.Holding, "input": modbus.Input}[r.Table]
	for i := 0; i < len(wire); i += 2 {
		img[cellKey{byte(r.UnitID), table, r.Address + i/2}] = cell{data: [2]byte{wire[i], wire[i+1]}, ok: true}
	}
}

// TestBest: the explanation that changes least is found, the register
// the twin serves the tag at wins a tie, and combined mistakes are named
// together.
func TestBest(t *testing.T) {
	force := Tag{ID: "a/plc1/force", Machine: "plc1", Type: "float64", Unit: "KNT",
		Modbus: &Register{UnitID: 1, Table: "holding", Address: 4, Type: "float32", Order: "CDAB", Scale: 1}}
	other := Tag{ID: "a/plc2/speed", Machine: "plc2", Type: "float64",
		Modbus: &Register{UnitID: 2, Table: "holding", Address: 4, Type: "float32", Order: "CDAB", Scale: 1}}
	count := Tag{ID: "a/plc1/count", Machine: "plc1", Type: "int32",
		Modbus: &Register{UnitID: 1, Table: "holding", Address: 10, Type: "int32", Order: "ABCD", Scale: 1}}
	vals := [][]float64{{101.5, 1400.25, 7}, {117.25, 1380.5, 7}, {96.125, 1422.75, 7}}
	tags := []Tag{force, other, count}
	for _, c := range []struct {
		cfg   string
		want  string // the register of the explanation
		kinds []Kind
	}{
		{"holding:5:float32:CDAB", "holding:4:float32:CDAB", []Kind{KindOffByOne}},
		{"holding:4:float32:ABCD", "holding:4:float32:CDAB", []Kind{KindWordOrder}},
		{"holding:40005:float32:CDAB", "holding:4:float32:CDAB", []Kind{KindModicon}},
		{"input:4:float32:CDAB", "holding:4:float32:CDAB", []Kind{KindTable}},
		{"holding:3:float32:ABCD", "holding:4:float32:CDAB", []Kind{KindOffByOne, KindWordOrder}},
	} {
		ck, d, rounds, imgs := synthetic(t, c.cfg, tags, vals)
		cand, ok := ck.best(d, 3, []int{0}, rounds, imgs)
		if !ok {
			t.Errorf("%s: no explanation", c.cfg)
			continue
		}
		var kinds []Kind
		for _, ch := range cand.changes {
			kinds = append(kinds, ch.kind)
		}
		if cand.reg.reg.String() != c.want || cand.reg.unit != 1 || !slices.Equal(kinds, c.kinds) {
			t.Errorf("%s: %s unit %d %v, want %s unit 1 %v", c.cfg, cand.reg.reg, cand.reg.unit, kinds, c.want, c.kinds)
		}
	}
	// A constant 7 reads right in several places (a 16-bit half of the
	// int32, for one): the twin's own register wins the tie.
	tags = []Tag{count, force, other}
	vals = [][]float64{{7, 101.5, 1400.25}, {7, 117.25, 1380.5}}
	ck, d, rounds, imgs := synthetic(t, "holding:11:int32", tags, vals)
	cand, ok := ck.best(d, 3, []int{0}, rounds, imgs)
	if !ok || cand.reg.reg.String() != "holding:10:int32:ABCD" || !cand.exact {
		t.Errorf("constant: %+v, want the twin's holding:10:int32:ABCD", cand.reg)
	}
	// Unit 1 instead of 2: another machine's values at the same address.
	tags = []Tag{other, force, count}
	vals = [][]float64{{1400.25, 101.5, 7}, {1380.5, 117.25, 7}, {1422.75, 96.125, 7}}
	ck, d, rounds, imgs = synthetic(t, "holding:4:float32:CDAB", tags, vals)
	cand, ok = ck.best(d, 3, []int{0}, rounds, imgs)
	if !ok || cand.reg.unit != 2 || cand.changes[0].kind != KindUnitID {
		t.Errorf("unit id: %+v %v", cand.reg, cand.changes)
	}
	// Nothing nearby: no explanation.
	ck, d, rounds, imgs = synthetic(t, "holding:200:float32", []Tag{force}, [][]float64{{101.5}, {117.25}})
	if cand, ok := ck.best(d, 3, []int{0}, rounds, imgs); ok {
		t.Errorf("far away: explained as %s %v", cand.reg.reg, cand.changes)
	}
}

// TestWriteText: one line per result with its message and fix below a
// wrong one, then the counts.
func TestWriteText(t *testing.T) {
	rep := &Report{File: "s.yaml", Scenario: "line", Rounds: 4, Ticks: 10, Results: []Result{
		{Source: "plc", Protocol: "modbus", Address: "holding:0:uint16", Point: "a/m/ok", Kind: KindOK, Read: "1", Want: "1"},
		{Source: "plc", Protocol: "modbus", Address: "holding:5:float32:CDAB", Point: "a/m/f", Kind: KindOffByOne,
			Message: "off by one (0- vs 1-based): the value is at holding 4, not 5", Fix: "register: holding:4:float32:CDAB", Read: "2.46e-41", Want: "499.9 ml"},
		{Protocol: "opcua", Address: "nsu=urn:x;s=a/m/g", Tag: "a/m/g", Kind: KindMissing, Message: "no point of the file reads this twin tag"},
	}}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `RESULT      SOURCE  TAG   READ      TWIN
OK          plc     …/ok  1         1
OFF_BY_ONE  plc     …/f   2.46e-41  499.9 ml
  holding:5:float32:CDAB: off by one (0- vs 1-based): the value is at holding 4, not 5
  fix: register: holding:4:float32:CDAB
MISSING     -       …/g   -         -
  nsu=urn:x;s=a/m/g: no point of the file reads this twin tag

s.yaml: 1 ok, 1 missing, 1 off_by_one (scenario line, 4 rounds of 10 ticks); …/ is a/m/
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := rep.WriteText(&b, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "…/ok") || !strings.Contains(b.String(), "OFF_BY_ONE") {
		t.Errorf("problems only:\n%s", b.String())
	}
	if rep.OK() {
		t.Error("a report with mistakes is OK")
	}
}

// TestMissing: a twin tag no point reads is missing, with where the twin
// serves it; a browsing source reads every tag of its endpoint.
func TestMissing(t *testing.T) {
	tags := []Tag{
		{ID: "a/ua/t", Machine: "ua", Unit: "CEL", OPCUA: &Node{Namespace: "urn:x", ID: "a/ua/t"}},
		{ID: "a/mb/v", Machine: "mb", Modbus: &Register{UnitID: 3, Table: "input", Address: 14, Type: "float32", Order: "CDAB", Scale: 0.5}},
	}
	c := &check{tags: tags}
	got := c.missing()
	if len(got) != 2 || got[0].Fix != "node: nsu=urn:x;s=a/ua/t, unit: degC" || got[1].Fix != "register: input:14:float32:CDAB (unit 3), scale: 0.5" || got[1].Protocol != "modbus" {
		t.Fatalf("missing: %+v", got)
	}
	browse := &sources.Source{Name: "ua", Config: &opcua.Config{URL: "opc.tcp://h:4840", BrowseRoot: "nsu=urn:x;s=a"}}
	c.srcs = []*source{{s: browse, machines: []string{"ua"}}}
	if got := c.missing(); len(got) != 1 || got[0].Tag != "a/mb/v" {
		t.Errorf("with a browsing source: %+v", got)
	}
}
