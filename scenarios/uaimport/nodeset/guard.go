package nodeset

import (
	"bufio"
	"fmt"
	"io"
)

// guard is the byte source of the XML decoder. encoding/xml reads one
// token (a text run, a tag with its attributes, a comment) into memory
// whole and has no size limit; the guard follows the bytes the decoder
// consumes, token by token, and fails when one token grows longer than
// max bytes, so memory stays bounded whatever the file holds. It also
// refuses declarations (<!DOCTYPE …>, <!ENTITY …>) as soon as they begin:
// a NodeSet2 file has none, and a DTD is how entity-expansion attacks
// start.
//
// The decoder reads through ReadByte (a guard is an io.ByteReader), so
// the guard sees each byte once, in the decoder's order.
type guard struct {
	r    *bufio.Reader
	max  int
	n    int    // bytes of the current token so far
	st   gstate // where in the markup the last byte was
	q    byte   // the quote of an attribute value being read, 0 outside
	bang []byte // the bytes after "<!", until they say comment or CDATA
	tail uint32 // the last bytes, to find "-->", "]]>" and "?>"
	line int    // 1-based line of the last byte read
	err  error
}

type gstate uint8

const (
	gText gstate = iota
	gOpen
	gTag
	gBang
	gComment
	gCDATA
	gPI
)

// TokenError is the guard's refusal: a token too long, or a declaration.
type TokenError struct {
	// Line is the 1-based line where the guard stopped reading.
	Line int
	// Msg says why.
	Msg string
}

func (e *TokenError) Error() string { return e.Msg }

func newGuard(r io.Reader, max int) *guard {
	return &guard{r: bufio.NewReaderSize(r, 64<<10), max: max, line: 1}
}

// ReadByte returns the next byte, or the guard's refusal.
func (g *guard) ReadByte() (byte, error) {
	if g.err != nil {
		return 0, g.err
	}
	b, err := g.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b == '\n' {
		g.line++
	}
	g.step(b)
	if g.err != nil {
		return 0, g.err
	}
	return b, nil
}

// Read implements io.Reader (the decoder uses ReadByte).
func (g *guard) Read(p []byte) (int, error) {
	for i := range p {
		b, err := g.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}

// step advances the token state by byte b.
func (g *guard) step(b byte) {
	g.n++
	g.tail = g.tail<<8 | uint32(b)
	switch g.st {
	case gText:
		if b == '<' {
			g.st, g.n = gOpen, 1
		}
	case gOpen:
		switch b {
		case '!':
			g.st, g.bang = gBang, g.bang[:0]
		case '?':
			g.st = gPI
		default:
			g.st, g.q = gTag, 0
			g.tagByte(b)
		}
	case gTag:
		g.tagByte(b)
	case gBang:
		g.bang = append(g.bang, b)
		switch s := string(g.bang); {
		case s == "--":
			g.st = gComment
		case s == "[CDATA[":
			g.st = gCDATA
		case !hasPrefix("--", s) && !hasPrefix("[CDATA[", s):
			g.err = &TokenError{Line: g.line, Msg: fmt.Sprintf("line %d: declarations (<!DOCTYPE, <!ENTITY …) are not allowed in a NodeSet2 file", g.line)}
			return
		}
	case gComment:
		if g.tail&0xFFFFFF == '-'<<16|'-'<<8|'>' {
			g.st, g.n = gText, 0
		}
	case gCDATA:
		if g.tail&0xFFFFFF == ']'<<16|']'<<8|'>' {
			g.st, g.n = gText, 0
		}
	case gPI:
		if g.tail&0xFFFF == '?'<<8|'>' {
			g.st, g.n = gText, 0
		}
	}
	if g.n > g.max {
		g.err = &TokenError{Line: g.line, Msg: fmt.Sprintf("line %d: a text, tag or comment longer than %d bytes", g.line, g.max)}
	}
}

// tagByte follows a start or end tag: quoted attribute values may hold
// '>'.
func (g *guard) tagByte(b byte) {
	switch {
	case g.q != 0:
		if b == g.q {
			g.q = 0
		}
	case b == '"' || b == '\'':
		g.q = b
	case b == '>':
		g.st, g.n = gText, 0
	}
}

// hasPrefix reports whether s begins with p.
func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
