package nodeset_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/scenarios/uaimport"
	"github.com/otwin/otwin/scenarios/uaimport/nodeset"
)

// billionLaughs is the classic entity-expansion attack: &lol9; would
// expand to 10^9 "lol"s (3 GB) in a parser that expands custom entities.
var billionLaughs = func() string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<!DOCTYPE UANodeSet [\n <!ENTITY lol \"lol\">\n")
	for i := 1; i <= 9; i++ {
		prev := "lol"
		if i > 1 {
			prev = fmt.Sprintf("lol%d", i-1)
		}
		fmt.Fprintf(&b, " <!ENTITY lol%d \"%s\">\n", i, strings.Repeat("&"+prev+";", 10))
	}
	b.WriteString("]>\n<UANodeSet><UAObject NodeId=\"i=1\" BrowseName=\"&lol9;\">&lol9;</UAObject></UANodeSet>\n")
	return b.String()
}()

// TestEncodingXMLDoesNotExpandEntities proves what Read relies on:
// encoding/xml never expands an entity a DTD declares. Strict (the
// default) it refuses the reference; lenient it keeps it as written. In
// both cases the decoder allocates next to nothing.
func TestEncodingXMLDoesNotExpandEntities(t *testing.T) {
	for _, strict := range []bool{true, false} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			d := xml.NewDecoder(strings.NewReader(billionLaughs))
			d.Strict = strict
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var attr, text string
			var err error
			sawDirective := false
			for {
				var tok xml.Token
				tok, err = d.Token()
				if err != nil {
					break
				}
				switch x := tok.(type) {
				case xml.Directive:
					sawDirective = true // handed over as raw bytes, never interpreted
				case xml.StartElement:
					if x.Name.Local == "UAObject" {
						attr = x.Attr[1].Value
					}
				case xml.CharData:
					if s := strings.TrimSpace(string(x)); s != "" {
						text = s
					}
				}
			}
			runtime.ReadMemStats(&after)
			if !sawDirective {
				t.Error("no Directive token for the DTD")
			}
			if strict {
				var se *xml.SyntaxError
				if !errors.As(err, &se) || !strings.Contains(se.Msg, "&lol9;") {
					t.Fatalf("strict decoder: %v, want a syntax error at &lol9;", err)
				}
			} else {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("lenient decoder: %v", err)
				}
				if attr != "&lol9;" || text != "&lol9;" {
					t.Errorf("lenient decoder read %q and %q, want the references as written", attr, text)
				}
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("decoding allocated %d bytes: an expansion happened", grew)
			}
		})
	}
}

// TestReadRefusesEntities: Read refuses the DTD before the entities are
// even declared.
func TestReadRefusesEntities(t *testing.T) {
	_, err := nodeset.Read(strings.NewReader(billionLaughs), "lol.xml", nodeset.Limits{})
	var e *nodeset.Error
	if !errors.As(err, &e) || e.Line != 2 || !strings.Contains(e.Msg, "declarations") {
		t.Fatalf("Read: %v, want a refusal of the declaration at line 2", err)
	}
}

// TestReadDeepNesting: a million nested elements are refused at the depth
// limit, after reading only that far.
func TestReadDeepNesting(t *testing.T) {
	r := io.MultiReader(strings.NewReader("<UANodeSet>\n<UAObject NodeId=\"i=1\">\n"), &repeat{s: "<a>", n: 1_000_000})
	_, err := nodeset.Read(r, "deep.xml", nodeset.Limits{})
	var e *nodeset.Error
	if !errors.As(err, &e) || e.Line != 3 || !strings.Contains(e.Msg, "nested deeper") {
		t.Fatalf("Read: %v", err)
	}
}

// repeat is a reader of s, n times, without holding it.
type repeat struct {
	s   string
	n   int
	buf []byte
}

func (r *repeat) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.n == 0 {
			return 0, io.EOF
		}
		r.n--
		r.buf = []byte(r.s)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// bigNodeSet generates a NodeSet2 file of about size bytes as it is read:
// machines of five variables each, every 25 machines followed by what a
// real export may carry in bulk and the import does not keep (a 64 KiB comment,
// an unknown element of 64 KiB, a 64 KiB description, a 300 KiB value of
// a type it skips).
type bigNodeSet struct {
	size, written int
	machine       int
	buf           bytes.Buffer
	done          bool
}

// bigMachines machines come machinesPerBlock at a time between the bulk,
// which alone fills the rest of the file.
const (
	bigMachines      = 2000
	machinesPerBlock = 25
)

func (g *bigNodeSet) Read(p []byte) (int, error) {
	for g.buf.Len() == 0 {
		if g.done {
			return 0, io.EOF
		}
		g.next()
	}
	n, _ := g.buf.Read(p)
	g.written += n
	return n, nil
}

func (g *bigNodeSet) next() {
	b := &g.buf
	if g.machine == 0 {
		b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<UANodeSet xmlns=\"http://opcfoundation.org/UA/2011/03/UANodeSet.xsd\" xmlns:uax=\"http://opcfoundation.org/UA/2008/02/Types.xsd\">\n<NamespaceUris><Uri>urn:big</Uri></NamespaceUris>\n")
	}
	if g.written >= g.size {
		b.WriteString("</UANodeSet>\n")
		g.done = true
		return
	}
	for range machinesPerBlock {
		g.machine++
		if g.machine > bigMachines {
			break
		}
		m := fmt.Sprintf("Hall/Line%d/M%d", g.machine%10, g.machine)
		fmt.Fprintf(b, "<UAObject NodeId=\"ns=1;s=%s\" BrowseName=\"1:M%d\"><References><Reference ReferenceType=\"i=35\" IsForward=\"false\">i=85</Reference></References></UAObject>\n", m, g.machine)
		for v := range 5 {
			fmt.Fprintf(b, "<UAVariable NodeId=\"ns=1;s=%s/v%d\" BrowseName=\"1:v%d\" DataType=\"i=11\"><Description>Value %d of machine %d.</Description><References><Reference ReferenceType=\"i=47\" IsForward=\"false\">ns=1;s=%s</Reference></References><Value><uax:Double>%d.5</uax:Double></Value></UAVariable>\n", m, v, v, v, g.machine, m, v)
		}
	}
	b.WriteString("<!-- ")
	b.WriteString(strings.Repeat("comment <with> markup -> inside ", 2048))
	b.WriteString(" -->\n<Extensions><Extension><Vendor>")
	b.WriteString(strings.Repeat("x", 64<<10))
	b.WriteString("</Vendor></Extension></Extensions>\n")
	fmt.Fprintf(b, "<UAVariable NodeId=\"ns=1;s=blob%d\" BrowseName=\"1:blob\" DataType=\"i=15\"><Description>", g.machine)
	b.WriteString(strings.Repeat("d", 64<<10))
	b.WriteString("</Description><Value><uax:ListOfByteString>")
	for range 10 {
		b.WriteString("<uax:ByteString>")
		b.WriteString(strings.Repeat("QUJD", 8<<10))
		b.WriteString("</uax:ByteString>")
	}
	b.WriteString("</uax:ListOfByteString></Value></UAVariable>\n")
}

// TestRead100MB: a 100 MB file is imported (read, mapped and rendered)
// with the heap never more than 64 MiB above where it started: memory
// grows with the nodes kept, not with the file. The heap is sampled with
// runtime.MemStats while the import runs. The rendered scenario is then
// validated, as the command does before writing it; that is the scenario
// parser's cost, proportional to the scenario (logged, not bounded here).
func TestRead100MB(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100 MB")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory makes the bound meaningless; measured without it")
	}
	const size = 100 << 20
	const bound = 64 << 20
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	gen := &bigNodeSet{size: size}
	start := time.Now()
	space, err := nodeset.Read(gen, "big.xml", nodeset.Limits{})
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("read: %v", err)
	}
	res, err := uaimport.Map(space, uaimport.Options{})
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("map: %v", err)
	}
	y := res.Render()
	close(stop)
	wg.Wait()
	read := time.Since(start)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := scenarios.Parse("big.yaml", y); err != nil {
		t.Fatalf("the scenario does not validate: %v", err)
	}
	runtime.ReadMemStats(&after)
	if gen.written < size {
		t.Fatalf("generated %d bytes, want %d", gen.written, size)
	}
	if n := len(res.Scenario.Machines); n != bigMachines {
		t.Errorf("%d machines, want %d", n, bigMachines)
	}
	used := peak - min(peak, base.HeapAlloc)
	t.Logf("%d MB imported in %v: %d nodes, %d machines, scenario %d KB; heap peak %.1f MiB above the start; validating the scenario allocated %d MiB more",
		gen.written>>20, read.Round(time.Millisecond), len(space.Nodes), len(res.Scenario.Machines), len(y)>>10, float64(used)/(1<<20), (after.TotalAlloc-before.TotalAlloc)>>20)
	if used > bound {
		t.Errorf("heap peak %.1f MiB above the start, want at most %d MiB", float64(used)/(1<<20), bound>>20)
	}
}
