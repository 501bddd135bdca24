// Package recording is the file format of otwin's recordings: what the
// connectors of 'otwin watch --record' saw — every value with its status
// code and three timestamps, and the link events of every source — and
// what 'otwin sim --replay' and the twin's replay model serve again. It is
// a leaf package both halves read: the monitoring half writes recordings
// (normalize/record), the simulator half replays them (twin), and neither
// imports the other.
//
// # Format
//
// A recording is the 8 bytes "OTWREC\x00\x01" (magic and format version
// 1), then frames. Every frame is
//
//	length  uint32, little-endian: the bytes of kind and payload
//	kind    1 byte: 'H' header, 'P' point, 'I' point info, 'R' reading,
//	        'L' link event, 'E' end
//	payload length-1 bytes
//	crc     uint32, little-endian: CRC-32C (Castagnoli) of kind and payload
//
// and at most MaxFrame bytes long. A writer only ever appends whole
// frames, so a recording cut by a crash or a full disk is a valid
// recording up to its last whole frame: the reader returns everything
// before the cut and says at which byte offset it stopped (Truncated). A
// frame whose length, CRC or payload is wrong anywhere else makes the
// recording corrupt, and the reader refuses it naming the byte offset of
// the frame (CorruptError).
//
// The payloads:
//
//   - H (Header, JSON): the format version, when the segment started, the
//     sources file the connectors ran from (its text: replay serves the
//     same addresses), and the size policy. A recording appended to starts
//     a new segment with a new header; point ids are per segment.
//   - P: uvarint point id, then source name and address (uvarint length +
//     bytes each): a point seen for the first time in the segment.
//   - I: uvarint point id, then what the server says about the point as
//     JSON (connectors.PointInfo), sent after each (re)connect.
//   - R (Reading): uvarint point id; a flags byte (1 link down, 2 status,
//     4 error text, 8 source time, 16 server time); received time as a
//     zig-zag varint of nanoseconds since the previous reading of the
//     segment (the first: since the header's Start); the source and
//     server time as varints of nanoseconds before received time (when
//     flagged); the value (a kind byte: 0 none, 1 false, 2 true, 3 int64
//     zig-zag varint, 4 uint64 uvarint, 5 float64 8 bytes, 6 string, 7
//     float32 4 bytes, 8 another type, as its text; strings as uvarint
//     length + bytes); the status code as uint32 (when flagged); the
//     error's text (when flagged).
//   - L (Link): JSON {"source","time","state","error"}: a source's link
//     went connected, down or connecting.
//   - E (End): JSON {"time","reason"}: the writer stopped (closed, or its
//     size policy reached).
package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Magic opens every recording: "OTWREC", a zero byte, and the format
// version.
const Magic = "OTWREC\x00\x01"

// Version is the format version this package reads and writes.
const Version = 1

// MaxFrame is the largest frame (kind and payload) a recording may hold.
const MaxFrame = 16 << 20

// Frame kinds.
const (
	kindHeader  = 'H'
	kindPoint   = 'P'
	kindInfo    = 'I'
	kindReading = 'R'
	kindLink    = 'L'
	kindEnd     = 'E'
)

// Reading flags.
const (
	flagLinkDown = 1 << iota
	flagStatus
	flagErr
	flagSource
	flagServer
)

// Value kinds.
const (
	valNone = iota
	valFalse
	valTrue
	valInt
	valUint
	valFloat64
	valString
	valFloat32
	valText
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header starts a segment of a recording.
type Header struct {
	// Version is the format version.
	Version int `json:"version"`
	// Start is when the segment started; reading times count from it.
	Start time.Time `json:"start"`
	// SourcesFile is the path of the sources file the connectors ran from,
	// Sources its text (YAML).
	SourcesFile string `json:"sources_file,omitempty"`
	Sources     string `json:"sources,omitempty"`
	// Policy is the writer's size policy.
	Policy Policy `json:"policy"`
	// Segment counts the segments written before this one in this file's
	// lineage (appends and rotations).
	Segment int `json:"segment,omitempty"`
}

// Reading is one value a connector delivered.
type Reading struct {
	// Point is the point's id in its segment (see Point).
	Point uint32
	// Received, Source and Server are the three timestamps; Source and
	// Server are zero when the protocol gave none.
	Received, Source, Server time.Time
	// Value is the raw value: nil, bool, int64, uint64, float32, float64
	// or string (a value of another type is recorded as its text).
	Value any
	// Status is the OPC UA status code (0 Good); Err the text of the
	// error the connector gave, when it was more than a status code.
	Status uint32
	Err    string
	// LinkDown says the reading reports its endpoint's silence.
	LinkDown bool
}

// Point names a point: its source and address.
type Point struct {
	ID      uint32 `json:"id"`
	Source  string `json:"source"`
	Address string `json:"address"`
}

// Link is a change of a source's link state.
type Link struct {
	Source string    `json:"source"`
	Time   time.Time `json:"time"`
	// State is connected, down or connecting.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// End says why a writer stopped.
type End struct {
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
}

// CorruptError refuses a recording: a frame at Offset is not what the
// format allows.
type CorruptError struct {
	// Offset is the byte offset of the frame (or of the magic).
	Offset int64
	// Reason says what is wrong.
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt at byte %d: %s", e.Offset, e.Reason)
}

// Truncated says where a recording cut mid-write stops: its last frame
// is incomplete, and everything before Offset is whole.
type Truncated struct {
	// Offset is where the incomplete frame starts (the recording's valid
	// length).
	Offset int64
	// Size is the file's size.
	Size int64
}

func (t *Truncated) Error() string {
	return fmt.Sprintf("cut mid-write: the last frame, at byte %d, is incomplete (%d of its bytes are there); the recording is read up to byte %d", t.Offset, t.Size-t.Offset, t.Offset)
}

// errFrame is a payload that does not decode.
var errFrame = errors.New("payload does not decode")

// appendFrame appends the frame of kind and payload to dst.
func appendFrame(dst []byte, kind byte, payload []byte) []byte {
	n := len(payload) + 1
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	start := len(dst)
	dst = append(dst, kind)
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// appendString appends a uvarint length and s.
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
