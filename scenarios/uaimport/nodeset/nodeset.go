// Package nodeset reads OPC UA NodeSet2 XML files (the UANodeSet schema of
// OPC UA Part 6, Annex F) into an address space for package uaimport.
//
// It reads UAObject, UAVariable (DataType, ValueRank, AccessLevel, Value),
// UAObjectType, UAVariableType, UADataType (with the fields of an
// enumeration's Definition) and UAReferenceType nodes with their
// references, NamespaceUris and Aliases; values of the builtin scalar
// types, LocalizedText, EUInformation and Range extension objects, and the
// lists an EnumStrings or EnumValues property holds. UAMethod and UAView
// nodes are read to be reported.
//
// Read streams the file through encoding/xml's token decoder, which never
// expands entities other than XML's five (a DTD's custom entities are
// errors, so "billion laughs" cannot grow), and bounds what one file can
// cost: each token (text, tag, comment) is at most Limits.MaxToken bytes,
// elements nest at most Limits.MaxDepth deep, a value is at most
// Limits.MaxValue bytes, and the file holds at most Limits.MaxNodes nodes
// and Limits.MaxReferences references and enumeration fields. Memory grows with the nodes kept,
// never with the file's size. Declarations (<!DOCTYPE …>) are refused
// outright.
//
// A node the reader cannot take (a node id in a namespace the file does
// not declare, a duplicate id) is left out and reported with its element
// and line; a reference it cannot resolve is dropped the same way. A file
// that is not well-formed XML, or that breaks a limit, is refused with
// the line.
package nodeset

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/otwin/otwin/scenarios/uaimport"
)

// Limits bound what one file may cost.
type Limits struct {
	// MaxToken is the longest text, tag or comment, in bytes.
	MaxToken int
	// MaxDepth is the deepest element nesting.
	MaxDepth int
	// MaxValue is the most bytes of one Value element read.
	MaxValue int
	// MaxNodes is the most nodes a file may hold.
	MaxNodes int
	// MaxReferences is the most references (and enumeration fields) a
	// file may hold.
	MaxReferences int
}

// DefaultLimits are the limits of Read when a limit is 0: a 4 MiB token,
// 64 levels, 1 MiB per value, 250,000 nodes and 2,000,000 references
// (about 200 MB of memory at the most).
func DefaultLimits() Limits {
	return Limits{MaxToken: 4 << 20, MaxDepth: 64, MaxValue: 1 << 20, MaxNodes: 250_000, MaxReferences: 2_000_000}
}

// withDefaults fills the zero limits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxToken <= 0 {
		l.MaxToken = d.MaxToken
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxValue <= 0 {
		l.MaxValue = d.MaxValue
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxReferences <= 0 {
		l.MaxReferences = d.MaxReferences
	}
	return l
}

// Error is a file Read refuses: where, and why.
type Error struct {
	// File is the name given to Read.
	File string
	// Line is the 1-based line; 0 when unknown.
	Line int
	// Element is the element being read, "" when none.
	Element string
	// Msg says what is wrong.
	Msg string
}

// Error formats e as "file:line: element: msg".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Element != "" {
		b.WriteString(e.Element + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxIDLen bounds a node id's identifier, maxText a kept display name or
// description.
const (
	maxIDLen = 4096
	maxText  = 1024
)

// Read reads the NodeSet2 file r, named name in findings and errors. It
// returns the address space with the findings about what it could not
// read, or an *Error when the file is not a well-formed NodeSet2 file or
// breaks a limit. It is safe for concurrent use on different readers.
func Read(r io.Reader, name string, lim Limits) (*uaimport.Space, error) {
	p := &parser{
		file:       name,
		lim:        lim.withDefaults(),
		space:      uaimport.NewSpace(name),
		aliases:    map[string]string{},
		namespaces: []string{uaimport.UANamespace},
	}
	p.g = newGuard(r, p.lim.MaxToken)
	p.d = xml.NewDecoder(p.g)
	if err := p.run(); err != nil {
		return nil, err
	}
	p.space.Namespaces = p.namespaces
	return p.space, nil
}

// parser is the state of one Read.
type parser struct {
	file  string
	lim   Limits
	g     *guard
	d     *xml.Decoder
	depth int
	line  int // line where the last token began
	space *uaimport.Space
	// namespaces are OPC UA's and the file's NamespaceUris, by index.
	namespaces []string
	aliases    map[string]string
	refs       int
}

// next returns the next token, keeping the depth within the limit. The
// error is an *Error naming the line.
func (p *parser) next() (xml.Token, error) {
	p.line, _ = p.d.InputPos()
	tok, err := p.d.Token()
	if err != nil {
		return nil, p.fail(err)
	}
	switch t := tok.(type) {
	case xml.StartElement:
		p.depth++
		if p.depth > p.lim.MaxDepth {
			return nil, &Error{File: p.file, Line: p.line, Element: t.Name.Local, Msg: fmt.Sprintf("elements nested deeper than %d levels", p.lim.MaxDepth)}
		}
	case xml.EndElement:
		p.depth--
	case xml.Directive:
		return nil, &Error{File: p.file, Line: p.line, Msg: "declarations are not allowed in a NodeSet2 file"}
	}
	return tok, nil
}

// fail turns a decoder or guard error into an *Error.
func (p *parser) fail(err error) error {
	var te *TokenError
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &te):
		return &Error{File: p.file, Line: te.Line, Msg: strings.TrimPrefix(te.Msg, fmt.Sprintf("line %d: ", te.Line))}
	case errors.As(err, &se) && se.Msg == "unexpected EOF":
		return &Error{File: p.file, Line: se.Line, Msg: msgEOF}
	case errors.As(err, &se):
		return &Error{File: p.file, Line: se.Line, Msg: "XML: " + se.Msg}
	case errors.Is(err, io.EOF):
		return &Error{File: p.file, Line: p.line, Msg: msgEOF}
	}
	line, _ := p.d.InputPos()
	return &Error{File: p.file, Line: line, Msg: err.Error()}
}

// msgEOF is the message of a file that ends too soon.
const msgEOF = "unexpected end of file"

// skip reads to the end of the element just started.
func (p *parser) skip() error {
	for depth := 1; depth > 0; {
		tok, err := p.next()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// text reads the text of the element just started, up to its end; nested
// elements are skipped. At most limit bytes are kept.
func (p *parser) text(limit int) (string, error) { return p.textOf(limit, "") }

// localizedText reads a LocalizedText element (DisplayName, Description):
// its text, or the text of its Text child.
func (p *parser) localizedText() (string, error) {
	s, err := p.textOf(maxText, "Text")
	return strings.TrimSpace(s), err
}

// textOf reads the text of the element just started, or of its child
// named child when it has one ("" for none); other children are skipped.
// At most limit bytes are kept.
func (p *parser) textOf(limit int, child string) (string, error) {
	var b strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if room := limit - b.Len(); room > 0 {
				b.Write(t[:min(len(t), room)])
			}
		case xml.StartElement:
			if child == "" || t.Name.Local != child {
				if err := p.skip(); err != nil {
					return "", err
				}
				continue
			}
			s, err := p.textOf(limit, "")
			if err != nil {
				return "", err
			}
			b.Reset()
			b.WriteString(s)
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// run reads the document.
func (p *parser) run() error {
	for {
		tok, err := p.next()
		var e *Error
		if errors.As(err, &e) && e.Msg == msgEOF {
			e.Msg = "not a NodeSet2 file: no UANodeSet element"
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return &Error{File: p.file, Line: p.line, Msg: "not a NodeSet2 file: text before the UANodeSet element"}
			}
		case xml.StartElement:
			if t.Name.Local != "UANodeSet" {
				return &Error{File: p.file, Line: p.line, Element: t.Name.Local, Msg: "not a NodeSet2 file: the root element is not UANodeSet"}
			}
			if err := p.nodeSet(); err != nil {
				return err
			}
			return p.end()
		}
	}
}

// end checks that nothing but comments and space follows the root.
func (p *parser) end() error {
	for {
		p.line, _ = p.d.InputPos()
		tok, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return p.fail(err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			return &Error{File: p.file, Line: p.line, Msg: "a second root element after UANodeSet"}
		}
	}
}

// children calls f for each child element of the element just started,
// with the line where it begins, until the element ends; f reads the
// child to its end.
func (p *parser) children(f func(t xml.StartElement, line int) error) error {
	for {
		tok, err := p.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := f(t, p.line); err != nil {
				return err
			}
		}
	}
}

// nodeSet reads the children of UANodeSet.
func (p *parser) nodeSet() error {
	return p.children(func(t xml.StartElement, _ int) error { return p.section(t) })
}

// section reads one child of UANodeSet.
func (p *parser) section(t xml.StartElement) error {
	switch t.Name.Local {
	case "NamespaceUris":
		return p.list("Uri", func(s string) { p.namespaces = append(p.namespaces, strings.TrimSpace(s)) })
	case "Aliases":
		return p.aliasList()
	case "UAObject", "UAVariable", "UAMethod", "UAView", "UAObjectType", "UAVariableType", "UADataType", "UAReferenceType":
		return p.node(t)
	case "ServerUris", "Models", "Extensions", "LastModified", "Comment":
		return p.skip()
	}
	p.finding(p.line, t.Name.Local, uaimport.NodeID{}, "", "unknown element of UANodeSet, skipped")
	return p.skip()
}

// list reads the text of the children named child of the element just
// started.
func (p *parser) list(child string, add func(string)) error {
	return p.children(func(t xml.StartElement, _ int) error {
		if t.Name.Local != child {
			return p.skip()
		}
		s, err := p.text(maxIDLen)
		if err == nil {
			add(s)
		}
		return err
	})
}

// aliasList reads Aliases: <Alias Alias="Double">i=11</Alias>.
func (p *parser) aliasList() error {
	return p.children(func(t xml.StartElement, line int) error {
		s, err := p.text(maxIDLen)
		if err != nil || t.Name.Local != "Alias" {
			return err
		}
		if name := attr(t, "Alias"); name != "" {
			p.aliases[name] = strings.TrimSpace(s)
		} else {
			p.finding(line, "Alias", uaimport.NodeID{}, "", "an alias without a name, skipped")
		}
		return nil
	})
}

// finding records something the reader could not take.
func (p *parser) finding(line int, element string, id uaimport.NodeID, name, format string, args ...any) {
	p.space.Findings = append(p.space.Findings, uaimport.Finding{
		Source: p.file, Line: line, Element: element, Node: id, Name: name,
		Severity: uaimport.Dropped, Reason: fmt.Sprintf(format, args...),
	})
}

// attr returns the attribute name of t, "" when absent.
func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// nodeID parses a node id as the file writes it: an alias, "i=85",
// "ns=1;s=line1/temp", "nsu=<uri>;i=5001".
func (p *parser) nodeID(s string) (uaimport.NodeID, error) {
	s = strings.TrimSpace(s)
	if a, ok := p.aliases[s]; ok {
		s = a
	}
	if len(s) > maxIDLen {
		return uaimport.NodeID{}, fmt.Errorf("node id of %d bytes: longer than %d", len(s), maxIDLen)
	}
	if !strings.Contains(s, "=") {
		return uaimport.NodeID{}, fmt.Errorf("%q is neither a node id nor an alias the file declares", clip(s))
	}
	return uaimport.ParseNodeID(s, p.namespaces)
}

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// browseName returns the name part of a browse name ("1:Temperature").
func browseName(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 {
		if _, err := strconv.Atoi(s[:i]); err == nil {
			return s[i+1:]
		}
	}
	return s
}
