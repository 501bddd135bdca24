package recording

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"
)

// Policy bounds the size of a recording.
type Policy struct {
	// MaxSize is the most bytes one file holds (at least MinSize; 0: no
	// limit).
	MaxSize int64 `json:"max_size,omitempty"`
	// MaxAge is the longest time one file covers, from its segment's
	// start (0: no limit).
	MaxAge time.Duration `json:"max_age,omitempty"`
	// Rotate: when a limit is reached, the file is renamed FILE.1
	// (replacing an older FILE.1) and a new FILE starts, so the last
	// MaxSize (or MaxAge) to twice that is kept. Otherwise the recording
	// stops at the limit, with an end frame saying so, and keeps its
	// beginning.
	Rotate bool `json:"rotate,omitempty"`
}

// MinSize is the smallest MaxSize: room for a header and its points.
const MinSize = 64 << 10

// Check reports what is wrong with p.
func (p Policy) Check() error {
	var errs []error
	if p.MaxSize != 0 && p.MaxSize < MinSize {
		errs = append(errs, fmt.Errorf("max size %d is below the minimum %d bytes", p.MaxSize, MinSize))
	}
	if p.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("max age %s is negative", p.MaxAge))
	}
	return errors.Join(errs...)
}

// ErrStopped is returned by a Writer whose policy stopped it.
var ErrStopped = errors.New("recording stopped")

// Writer appends to a recording. Its methods are safe for concurrent
// use. Frames are buffered: Flush (or Close) writes them out; a reader
// of a file that is being written sees the frames flushed so far.
type Writer struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	bw     *bufio.Writer
	size   int64
	hdr    Header
	points map[trackKey]uint32
	defs   []Point
	infos  map[uint32][]byte
	last   time.Time
	buf    []byte
	stop   string // why the policy stopped the writer ("" while running)
	closed bool
}

// Create starts a recording at path with the segment header hdr
// (Version and Start are filled in when zero; Start defaults to now). When
// path already holds a recording, Create appends a new segment to it,
// after cutting an incomplete last frame off; it refuses a file that is
// not a recording or is corrupt.
func Create(path string, hdr Header) (*Writer, error) {
	if err := hdr.Policy.Check(); err != nil {
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	hdr.Version = Version
	if hdr.Start.IsZero() {
		hdr.Start = time.Now()
	}
	w := &Writer{path: path, hdr: hdr, points: map[trackKey]uint32{}, infos: map[uint32][]byte{}}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() > 0 {
		end, segs, err := existing(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("recording %s: will not append: %w", path, err)
		}
		if err := f.Truncate(end); err != nil {
			f.Close()
			return nil, err
		}
		if _, err := f.Seek(end, 0); err != nil {
			f.Close()
			return nil, err
		}
		w.size = end
		w.hdr.Segment = max(w.hdr.Segment, segs)
	}
	w.f, w.bw = f, bufio.NewWriterSize(f, 64<<10)
	if w.size == 0 {
		w.bw.WriteString(Magic)
		w.size = int64(len(Magic))
	}
	if err := w.header(); err != nil {
		f.Close()
		return nil, err
	}
	return w, w.bw.Flush()
}

// existing scans the recording in f: the length of its whole frames and
// the number of its segments.
func existing(f *os.File) (int64, int, error) {
	segs := 0
	n, err := Scan(f, func(it Item) error {
		if it.Kind == ItemHeader {
			segs = max(segs, it.Header.Segment+1)
		}
		return nil
	})
	var tr *Truncated
	if errors.As(err, &tr) {
		return tr.Offset, segs, nil
	}
	return n, segs, err
}

// header writes the segment's header frame. Called with mu held.
func (w *Writer) header() error {
	b, err := json.Marshal(w.hdr)
	if err != nil {
		return err
	}
	w.last = w.hdr.Start
	return w.frame(kindHeader, b)
}

// frame writes one frame. Called with mu held.
func (w *Writer) frame(kind byte, payload []byte) error {
	if 1+len(payload) > MaxFrame {
		return fmt.Errorf("recording %s: a frame of %d bytes is larger than %d", w.path, 1+len(payload), MaxFrame)
	}
	w.buf = appendFrame(w.buf[:0], kind, payload)
	n, err := w.bw.Write(w.buf)
	w.size += int64(n)
	return err
}

// Point returns the id of the point at address of source in the current
// segment, writing its point frame the first time.
func (w *Writer) Point(source, address string) (uint32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.point(source, address)
}

func (w *Writer) point(source, address string) (uint32, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	k := trackKey{source, address}
	if id, ok := w.points[k]; ok {
		return id, nil
	}
	id := uint32(len(w.defs))
	w.points[k] = id
	w.defs = append(w.defs, Point{ID: id, Source: source, Address: address})
	return id, w.frame(kindPoint, pointPayload(id, source, address))
}

func pointPayload(id uint32, source, address string) []byte {
	b := binary.AppendUvarint(nil, uint64(id))
	b = appendString(b, source)
	return appendString(b, address)
}

// usable reports why nothing more can be written. Called with mu held.
func (w *Writer) usable() error {
	switch {
	case w.closed:
		return fmt.Errorf("recording %s: closed", w.path)
	case w.stop != "":
		return ErrStopped
	}
	return nil
}

// Write appends a reading of the point at address of source. When the
// reading would take the file over its policy's limit, the writer rotates
// the file or stops (then returning ErrStopped, now and after).
func (w *Writer) Write(source, address string, r Reading) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := trackKey{source, address}
	_, known := w.points[k]
	need := 8 + len(w.encode(r, uint32(len(w.defs)), w.last))
	if !known {
		need += 8 + len(pointPayload(uint32(len(w.defs)), source, address))
	}
	if err := w.limit(r.Received, need); err != nil {
		return err
	}
	id, err := w.point(source, address)
	if err != nil {
		return err
	}
	b := w.encode(r, id, w.last)
	w.last = r.Received
	return w.frame(kindReading, b)
}

// encode is the payload of reading r of point id, its received time
// counted from last.
func (w *Writer) encode(r Reading, id uint32, last time.Time) []byte {
	b := binary.AppendUvarint(nil, uint64(id))
	var flags byte
	if r.LinkDown {
		flags |= flagLinkDown
	}
	if r.Status != 0 {
		flags |= flagStatus
	}
	if r.Err != "" {
		flags |= flagErr
	}
	if !r.Source.IsZero() {
		flags |= flagSource
	}
	if !r.Server.IsZero() {
		flags |= flagServer
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, int64(r.Received.Sub(last)))
	if !r.Source.IsZero() {
		b = binary.AppendVarint(b, int64(r.Received.Sub(r.Source)))
	}
	if !r.Server.IsZero() {
		b = binary.AppendVarint(b, int64(r.Received.Sub(r.Server)))
	}
	b = appendValue(b, r.Value)
	if r.Status != 0 {
		b = binary.LittleEndian.AppendUint32(b, r.Status)
	}
	if r.Err != "" {
		b = appendString(b, r.Err)
	}
	return b
}

// appendValue appends a value's kind and bytes.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, valNone)
	case bool:
		if x {
			return append(b, valTrue)
		}
		return append(b, valFalse)
	case int64:
		return binary.AppendVarint(append(b, valInt), x)
	case int:
		return binary.AppendVarint(append(b, valInt), int64(x))
	case int32:
		return binary.AppendVarint(append(b, valInt), int64(x))
	case int16:
		return binary.AppendVarint(append(b, valInt), int64(x))
	case uint64:
		return binary.AppendUvarint(append(b, valUint), x)
	case uint32:
		return binary.AppendUvarint(append(b, valUint), uint64(x))
	case uint16:
		return binary.AppendUvarint(append(b, valUint), uint64(x))
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, valFloat64), math.Float64bits(x))
	case float32:
		return binary.LittleEndian.AppendUint32(append(b, valFloat32), math.Float32bits(x))
	case string:
		return appendString(append(b, valString), x)
	}
	return appendString(append(b, valText), fmt.Sprint(v))
}

// Info records what the server says about a point (JSON).
func (w *Writer) Info(source, address string, info []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.limit(w.last, 2*8+len(info)+len(source)+len(address)+16); err != nil {
		return err
	}
	id, err := w.point(source, address)
	if err != nil {
		return err
	}
	w.infos[id] = info
	return w.frame(kindInfo, append(binary.AppendUvarint(nil, uint64(id)), info...))
}

// Link records a change of a source's link state.
func (w *Writer) Link(l Link) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, _ := json.Marshal(l)
	if err := w.limit(l.Time, 8+1+len(b)); err != nil {
		return err
	}
	return w.frame(kindLink, b)
}

// endReserve is the room kept for the end frame at the size limit.
const endReserve = 512

// limit applies the policy before a frame of need bytes of time t, so
// that the file with the frame and an end frame stays within MaxSize.
// Called with mu held.
func (w *Writer) limit(t time.Time, need int) error {
	if err := w.usable(); err != nil {
		return err
	}
	p := w.hdr.Policy
	var why string
	switch {
	case p.MaxSize > 0 && w.size+int64(need)+endReserve > p.MaxSize:
		why = fmt.Sprintf("max size %d bytes reached", p.MaxSize)
	case p.MaxAge > 0 && t.Sub(w.hdr.Start) >= p.MaxAge:
		why = fmt.Sprintf("max age %s reached", p.MaxAge)
	default:
		return nil
	}
	if !p.Rotate {
		w.end(t, why)
		w.stop = why
		return ErrStopped
	}
	return w.rotate(t, why)
}

// rotate closes the file as FILE.1 and starts a new FILE whose header
// repeats the points and their infos. Called with mu held.
func (w *Writer) rotate(t time.Time, why string) error {
	w.end(t, "rotated: "+why)
	if err := w.closeFile(); err != nil {
		return err
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return fmt.Errorf("recording %s: rotate: %w", w.path, err)
	}
	f, err := os.OpenFile(w.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("recording %s: rotate: %w", w.path, err)
	}
	w.f, w.bw = f, bufio.NewWriterSize(f, 64<<10)
	w.bw.WriteString(Magic)
	w.size = int64(len(Magic))
	w.hdr.Start, w.hdr.Segment = t, w.hdr.Segment+1
	if err := w.header(); err != nil {
		return err
	}
	for _, p := range w.defs {
		if err := w.frame(kindPoint, pointPayload(p.ID, p.Source, p.Address)); err != nil {
			return err
		}
		if info, ok := w.infos[p.ID]; ok {
			if err := w.frame(kindInfo, append(binary.AppendUvarint(nil, uint64(p.ID)), info...)); err != nil {
				return err
			}
		}
	}
	return nil
}

// end writes an end frame. Called with mu held.
func (w *Writer) end(t time.Time, reason string) {
	b, _ := json.Marshal(End{Time: t, Reason: reason})
	_ = w.frame(kindEnd, b)
}

// Stopped says why the policy stopped the writer, "" while it records.
func (w *Writer) Stopped() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stop
}

// Size is the current file's size in bytes, buffered frames included.
func (w *Writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Flush writes the buffered frames to the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	return w.bw.Flush()
}

// Close writes an end frame with reason (unless the policy stopped the
// writer, which wrote its own), flushes and closes the file.
func (w *Writer) Close(reason string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	if w.stop == "" && w.f != nil {
		w.end(time.Now(), reason)
	}
	w.closed = true
	return w.closeFile()
}

// closeFile flushes and closes the current file. Called with mu held.
func (w *Writer) closeFile() error {
	if w.f == nil {
		return nil
	}
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}
