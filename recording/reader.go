package recording

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"time"
)

// Recording is a whole recording read into memory.
type Recording struct {
	// Segments are the headers of the recording's segments, in order;
	// Segments[0] is where it starts.
	Segments []Header
	// Tracks are the points, in the order they were first seen; a point
	// seen in several segments is one track.
	Tracks []*Track
	// Links are the link events, Ends the ends written.
	Links []Link
	Ends  []End
	// Truncated is set when the recording was cut mid-write: it was read
	// up to Truncated.Offset.
	Truncated *Truncated
	// Size is the number of bytes read.
	Size int64

	byKey map[trackKey]*Track
}

type trackKey struct{ source, address string }

// Track is one point's readings.
type Track struct {
	Source, Address string
	// Info is the last info the server gave about the point (JSON of a
	// connectors.PointInfo), nil when none.
	Info []byte
	// Readings are in the order they were written.
	Readings []Reading
}

// Start is when the recording started.
func (r *Recording) Start() time.Time {
	if len(r.Segments) == 0 {
		return time.Time{}
	}
	return r.Segments[0].Start
}

// Track returns the track of the point at address of source, nil when
// the recording has none.
func (r *Recording) Track(source, address string) *Track {
	return r.byKey[trackKey{source, address}]
}

// ReadFile reads the recording at path. A recording cut mid-write is read
// up to the cut (Recording.Truncated says where); a corrupt one is refused
// with an error naming the file and the byte offset (a *CorruptError).
func ReadFile(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rec, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	return rec, nil
}

// Read reads a whole recording from r (see ReadFile).
func Read(r io.Reader) (*Recording, error) {
	rec := &Recording{byKey: map[trackKey]*Track{}}
	var seg map[uint32]*Track
	n, err := Scan(r, func(it Item) error {
		switch it.Kind {
		case ItemHeader:
			rec.Segments = append(rec.Segments, it.Header)
			seg = map[uint32]*Track{}
		case ItemPoint:
			k := trackKey{it.Point.Source, it.Point.Address}
			t := rec.byKey[k]
			if t == nil {
				t = &Track{Source: k.source, Address: k.address}
				rec.byKey[k] = t
				rec.Tracks = append(rec.Tracks, t)
			}
			seg[it.Point.ID] = t
		case ItemInfo:
			seg[it.Point.ID].Info = it.Info
		case ItemReading:
			t := seg[it.Reading.Point]
			t.Readings = append(t.Readings, it.Reading)
		case ItemLink:
			rec.Links = append(rec.Links, it.Link)
		case ItemEnd:
			rec.Ends = append(rec.Ends, it.End)
		}
		return nil
	})
	rec.Size = n
	var tr *Truncated
	switch {
	case errors.As(err, &tr):
		rec.Truncated = tr
	case err != nil:
		return nil, err
	}
	if len(rec.Segments) == 0 {
		if tr != nil {
			return nil, fmt.Errorf("no header: %w", tr)
		}
		return nil, errors.New("no header: an empty recording")
	}
	return rec, nil
}

// ItemKind says what an Item holds.
type ItemKind int

// The kinds of Item.
const (
	ItemHeader ItemKind = iota
	ItemPoint
	ItemInfo
	ItemReading
	ItemLink
	ItemEnd
)

// Item is one frame of a recording, decoded.
type Item struct {
	Kind ItemKind
	// Offset is the frame's byte offset.
	Offset  int64
	Header  Header
	Point   Point // ItemPoint; ItemInfo: ID only
	Info    []byte
	Reading Reading
	Link    Link
	End     End
}

// Scan reads the recording from r frame by frame and calls fn with each,
// in order; it stops at the first error fn returns. It returns the number
// of bytes of whole frames read, and: nil at the recording's end; a
// *Truncated when the last frame is incomplete (or the file ends in zero
// bytes, as a file system leaves it after a crash); a *CorruptError
// naming the offset of the first frame that is not what the format
// allows.
func Scan(r io.Reader, fn func(Item) error) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var magic [len(Magic)]byte
	n, err := io.ReadFull(br, magic[:])
	if err != nil {
		if bytes.HasPrefix([]byte(Magic), magic[:n]) {
			return 0, &Truncated{Offset: 0, Size: int64(n)}
		}
		return 0, &CorruptError{Offset: 0, Reason: "not an otwin recording (it does not start with the recording magic)"}
	}
	if string(magic[:]) != Magic {
		if string(magic[:len(Magic)-1]) == Magic[:len(Magic)-1] {
			return 0, &CorruptError{Offset: 0, Reason: fmt.Sprintf("format version %d; this otwin reads version %d", magic[len(Magic)-1], Version)}
		}
		return 0, &CorruptError{Offset: 0, Reason: "not an otwin recording (it does not start with the recording magic)"}
	}
	d := &decoder{}
	off := int64(len(Magic))
	var buf []byte
	for {
		var lb [4]byte
		k, err := io.ReadFull(br, lb[:])
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, tail(br, off, lb[:k])
		}
		size := binary.LittleEndian.Uint32(lb[:])
		if size == 0 || size > MaxFrame {
			if err := tail(br, off, lb[:]); err != nil {
				var tr *Truncated
				if errors.As(err, &tr) {
					return off, err
				}
			}
			return off, &CorruptError{Offset: off, Reason: fmt.Sprintf("frame length %d is outside 1..%d", size, MaxFrame)}
		}
		if cap(buf) < int(size)+4 {
			buf = make([]byte, size+4)
		}
		buf = buf[:size+4]
		if k, err := io.ReadFull(br, buf); err != nil {
			return off, tail(br, off, append(lb[:], buf[:k]...))
		}
		frame, sum := buf[:size], binary.LittleEndian.Uint32(buf[size:])
		if crc32.Checksum(frame, castagnoli) != sum {
			return off, &CorruptError{Offset: off, Reason: fmt.Sprintf("checksum mismatch in a frame of %d bytes (kind %q)", size, printable(frame[0]))}
		}
		it, err := d.decode(frame)
		if err != nil {
			return off, &CorruptError{Offset: off, Reason: err.Error()}
		}
		it.Offset = off
		if err := fn(it); err != nil {
			return off, err
		}
		off += int64(size) + 8
	}
}

// tail judges the bytes from off to the end, of which got are read: a
// recording cut mid-frame, or one whose end the file system filled with
// zeros, is truncated at off; anything else there is corrupt.
func tail(br *bufio.Reader, off int64, got []byte) error {
	rest, err := io.ReadAll(io.LimitReader(br, MaxFrame))
	if err != nil {
		return &CorruptError{Offset: off, Reason: "read: " + err.Error()}
	}
	all := append(got, rest...)
	if allZero(all) || !holdsFrame(all) {
		return &Truncated{Offset: off, Size: off + int64(len(all))}
	}
	return &CorruptError{Offset: off, Reason: fmt.Sprintf("frame length %d does not match the frames that follow", binary.LittleEndian.Uint32(append(bytes.Clone(got), 0, 0, 0, 0)))}
}

// holdsFrame reports whether b holds a whole, valid frame at some offset
// after its start. A write cut short leaves an incomplete frame and
// nothing after it; a frame whose length field was damaged is followed by
// the frames the writer wrote after it.
func holdsFrame(b []byte) bool {
	for j := 1; j+9 <= len(b); j++ {
		n := int(binary.LittleEndian.Uint32(b[j:]))
		if n == 0 || n > MaxFrame || j+8+n > len(b) {
			continue
		}
		if crc32.Checksum(b[j+4:j+4+n], castagnoli) == binary.LittleEndian.Uint32(b[j+4+n:]) {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func printable(b byte) string {
	if b >= 0x20 && b < 0x7f {
		return string(rune(b))
	}
	return fmt.Sprintf("\\x%02x", b)
}

// decoder holds the state that reading frames carry: the segment's
// points and the previous reading's time.
type decoder struct {
	header bool
	points map[uint32]bool
	last   time.Time
}

// decode decodes one frame (kind and payload).
func (d *decoder) decode(frame []byte) (Item, error) {
	kind, p := frame[0], frame[1:]
	if !d.header && kind != kindHeader {
		return Item{}, fmt.Errorf("a frame of kind %q before the first header", printable(kind))
	}
	switch kind {
	case kindHeader:
		var h Header
		if err := json.Unmarshal(p, &h); err != nil {
			return Item{}, fmt.Errorf("header: %v", err)
		}
		if h.Version != Version {
			return Item{}, fmt.Errorf("header of format version %d; this otwin reads version %d", h.Version, Version)
		}
		d.header, d.points, d.last = true, map[uint32]bool{}, h.Start
		return Item{Kind: ItemHeader, Header: h}, nil
	case kindPoint:
		c := cursor{b: p}
		id := c.uvarint()
		src, addr := c.str(), c.str()
		if c.err != nil || id > math.MaxUint32 || !c.done() {
			return Item{}, fmt.Errorf("point: %w", errFrame)
		}
		d.points[uint32(id)] = true
		return Item{Kind: ItemPoint, Point: Point{ID: uint32(id), Source: src, Address: addr}}, nil
	case kindInfo:
		c := cursor{b: p}
		id := c.uvarint()
		if c.err != nil || !d.points[uint32(id)] || !json.Valid(c.b) {
			return Item{}, fmt.Errorf("point info: %w", errFrame)
		}
		return Item{Kind: ItemInfo, Point: Point{ID: uint32(id)}, Info: bytes.Clone(c.b)}, nil
	case kindReading:
		r, err := d.reading(p)
		if err != nil {
			return Item{}, err
		}
		return Item{Kind: ItemReading, Reading: r}, nil
	case kindLink:
		var l Link
		if err := json.Unmarshal(p, &l); err != nil {
			return Item{}, fmt.Errorf("link: %v", err)
		}
		return Item{Kind: ItemLink, Link: l}, nil
	case kindEnd:
		var e End
		if err := json.Unmarshal(p, &e); err != nil {
			return Item{}, fmt.Errorf("end: %v", err)
		}
		return Item{Kind: ItemEnd, End: e}, nil
	}
	return Item{}, fmt.Errorf("unknown frame kind %q", printable(kind))
}

// reading decodes a reading's payload.
func (d *decoder) reading(p []byte) (Reading, error) {
	c := cursor{b: p}
	var r Reading
	id := c.uvarint()
	flags := c.byte()
	d.last = d.last.Add(time.Duration(c.varint()))
	r.Received = d.last
	if flags&flagSource != 0 {
		r.Source = r.Received.Add(-time.Duration(c.varint()))
	}
	if flags&flagServer != 0 {
		r.Server = r.Received.Add(-time.Duration(c.varint()))
	}
	r.Value = c.value()
	if flags&flagStatus != 0 {
		r.Status = c.uint32()
	}
	if flags&flagErr != 0 {
		r.Err = c.str()
	}
	r.LinkDown = flags&flagLinkDown != 0
	switch {
	case c.err != nil || !c.done():
		return r, fmt.Errorf("reading: %w", errFrame)
	case id > math.MaxUint32 || !d.points[uint32(id)]:
		return r, fmt.Errorf("reading of point %d, which no point frame of the segment defines", id)
	case flags >= 1<<5:
		return r, fmt.Errorf("reading with unknown flags 0x%02x", flags)
	}
	r.Point = uint32(id)
	return r, nil
}

// cursor decodes a payload; the first failure sticks.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) fail() { c.err, c.b = errFrame, nil }

func (c *cursor) done() bool { return len(c.b) == 0 }

func (c *cursor) uvarint() uint64 {
	v, n := binary.Uvarint(c.b)
	if n <= 0 {
		c.fail()
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) varint() int64 {
	v, n := binary.Varint(c.b)
	if n <= 0 {
		c.fail()
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) byte() byte {
	if len(c.b) < 1 {
		c.fail()
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) uint32() uint32 {
	if len(c.b) < 4 {
		c.fail()
		return 0
	}
	v := binary.LittleEndian.Uint32(c.b)
	c.b = c.b[4:]
	return v
}

func (c *cursor) str() string {
	n := c.uvarint()
	if n > uint64(len(c.b)) {
		c.fail()
		return ""
	}
	s := string(c.b[:n])
	c.b = c.b[n:]
	return s
}

func (c *cursor) value() any {
	switch c.byte() {
	case valNone:
		return nil
	case valFalse:
		return false
	case valTrue:
		return true
	case valInt:
		return c.varint()
	case valUint:
		return c.uvarint()
	case valFloat64:
		if len(c.b) < 8 {
			c.fail()
			return nil
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(c.b))
		c.b = c.b[8:]
		return v
	case valFloat32:
		return math.Float32frombits(c.uint32())
	case valString, valText:
		return c.str()
	}
	c.fail()
	return nil
}
