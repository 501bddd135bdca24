package isolate

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/otwin/otwin/connectors"
)

// The pipe from a child to its parent carries frames: a type byte, the
// payload's length (uvarint) and the payload. Readings are the hot path:
// strings that repeat (source, address, status texts) are sent once and
// then by number, numbers as varints, times as seconds and nanoseconds.
// Every field of connectors.Reading and connectors.Health is carried
// (TestRoundTripEveryField fails for one that is not).
const (
	frameReading byte = 'R'
	frameHealth  byte = 'H'
	frameLog     byte = 'L'
	// frameEnd says the connector cannot go on (its Run returned this
	// error, or it could not be built): the parent stops, no restart.
	frameEnd byte = 'E'
)

// maxFrame bounds a frame's payload: a larger length is a broken pipe.
const maxFrame = 64 << 20

// maxStrings bounds the table of repeated strings; beyond it strings are
// sent in full every time.
const maxStrings = 1 << 18

// Raw value kinds.
const (
	rawNil byte = iota
	rawFalse
	rawTrue
	rawInt
	rawUint
	rawFloat
	rawString
)

// Status kinds.
const (
	statusNone  byte = iota
	statusCode       // a bare StatusCode
	statusCoded      // a StatusCode with a text of its own
	statusText       // an error without a StatusCode
)

// Reading flags.
const (
	hasSource byte = 1 << iota
	hasServer
	hasReceived
	hasInfo
	// receivedDelta: Received is written as the nanoseconds since the
	// previous reading's.
	receivedDelta
	// linkDown: Reading.LinkDown.
	linkDown
	// mark: Reading.Mark.
	mark
)

// errUnsupported is returned for a Reading.Raw of a type the pipe does
// not carry (the connectors' contract allows none).
var errUnsupported = errors.New("unsupported raw value type")

// encoder writes frames. It is not safe for concurrent use.
type encoder struct {
	w    *bufio.Writer
	buf  []byte
	strs map[string]uint64
	// received is the previous reading's Received (wall clock only).
	received time.Time
}

func newEncoder(w io.Writer) *encoder {
	return &encoder{w: bufio.NewWriterSize(w, 64<<10), strs: make(map[string]uint64)}
}

// frame writes e.buf as a frame of type t.
func (e *encoder) frame(t byte) error {
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = t
	n := binary.PutUvarint(hdr[1:], uint64(len(e.buf)))
	if _, err := e.w.Write(hdr[:1+n]); err != nil {
		return err
	}
	_, err := e.w.Write(e.buf)
	return err
}

// flush writes what is buffered to the pipe.
func (e *encoder) flush() error { return e.w.Flush() }

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }

func (e *encoder) rawString(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// str writes a string that may repeat: 0 and the string (not kept), 1 and
// the string (kept as the next number), or its number + 2.
func (e *encoder) str(s string) {
	if id, ok := e.strs[s]; ok {
		e.uvarint(id + 2)
		return
	}
	if len(e.strs) >= maxStrings {
		e.uvarint(0)
		e.rawString(s)
		return
	}
	e.strs[s] = uint64(len(e.strs))
	e.uvarint(1)
	e.rawString(s)
}

func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) float(f float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f))
}

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// raw writes a raw value (connectors.Reading.Raw's types).
func (e *encoder) raw(v any) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, rawNil)
	case bool:
		if v {
			e.buf = append(e.buf, rawTrue)
		} else {
			e.buf = append(e.buf, rawFalse)
		}
	case int64:
		e.buf = append(e.buf, rawInt)
		e.varint(v)
	case uint64:
		e.buf = append(e.buf, rawUint)
		e.uvarint(v)
	case float64:
		e.buf = append(e.buf, rawFloat)
		e.float(v)
	case string:
		e.buf = append(e.buf, rawString)
		e.rawString(v)
	default:
		return fmt.Errorf("%w %T", errUnsupported, v)
	}
	return nil
}

// status writes an error with what it carries: its StatusCode and text.
func (e *encoder) status(err error) {
	switch {
	case err == nil:
		e.buf = append(e.buf, statusNone)
	default:
		if c, ok := err.(connectors.StatusCode); ok {
			e.buf = append(e.buf, statusCode)
			e.uvarint(uint64(c))
			return
		}
		if c, ok := connectors.StatusOf(err); ok {
			e.buf = append(e.buf, statusCoded)
			e.uvarint(uint64(c))
			e.str(err.Error())
			return
		}
		e.buf = append(e.buf, statusText)
		e.str(err.Error())
	}
}

// reading writes r as a frame.
func (e *encoder) reading(r *connectors.Reading) error {
	e.buf = e.buf[:0]
	var flags byte
	if !r.SourceTime.IsZero() {
		flags |= hasSource
	}
	if !r.ServerTime.IsZero() {
		flags |= hasServer
	}
	received := r.Received.Round(0)
	var delta time.Duration
	if !received.IsZero() {
		flags |= hasReceived
		if !e.received.IsZero() {
			if delta = received.Sub(e.received); e.received.Add(delta).Equal(received) {
				flags |= receivedDelta
			}
		}
		e.received = received
	}
	if r.Info != nil {
		flags |= hasInfo
	}
	if r.LinkDown {
		flags |= linkDown
	}
	if r.Mark {
		flags |= mark
	}
	e.buf = append(e.buf, flags)
	e.str(r.Source)
	e.str(r.Address)
	if err := e.raw(r.Raw); err != nil {
		return err
	}
	e.status(r.Status)
	if flags&hasSource != 0 {
		e.time(r.SourceTime)
	}
	if flags&hasServer != 0 {
		e.time(r.ServerTime)
	}
	if flags&receivedDelta != 0 {
		e.varint(int64(delta))
	} else if flags&hasReceived != 0 {
		e.time(received)
	}
	if in := r.Info; in != nil {
		e.str(in.BrowsePath)
		e.str(in.DisplayName)
		e.str(in.Description)
		e.str(in.DataType)
		e.bool(in.HasUnit)
		e.varint(int64(in.UnitID))
		e.str(in.UnitSymbol)
		e.bool(in.HasRange)
		e.float(in.Low)
		e.float(in.High)
		e.bool(in.Writable)
	}
	return e.frame(frameReading)
}

// health writes h as a frame.
func (e *encoder) health(h *connectors.Health) error {
	e.buf = e.buf[:0]
	e.str(h.Source)
	e.str(h.Protocol)
	e.str(h.Endpoint)
	e.uvarint(uint64(h.State))
	e.bool(!h.Since.IsZero())
	if !h.Since.IsZero() {
		e.time(h.Since)
	}
	e.status(h.LastError)
	e.varint(int64(h.Latency))
	e.uvarint(h.Readings)
	e.uvarint(h.Errors)
	e.uvarint(h.Reconnects)
	e.uvarint(h.SequenceGaps)
	e.varint(int64(h.Backlog))
	return e.frame(frameHealth)
}

// log writes a log record as a frame: level, message, and its attributes
// as key and text.
func (e *encoder) log(level slog.Level, msg string, attrs []slog.Attr) error {
	e.buf = e.buf[:0]
	e.varint(int64(level))
	e.rawString(msg)
	e.uvarint(uint64(len(attrs)))
	for _, a := range attrs {
		e.str(a.Key)
		e.rawString(a.Value.Resolve().String())
	}
	return e.frame(frameLog)
}

// end writes the error that ends the connector as a frame.
func (e *encoder) end(err error) error {
	e.buf = e.buf[:0]
	e.rawString(err.Error())
	return e.frame(frameEnd)
}

// decoder reads frames. It is not safe for concurrent use.
type decoder struct {
	r    *bufio.Reader
	buf  []byte
	p    []byte // unread part of buf
	err  error  // first malformation in the payload
	strs []string
	// received is the previous reading's Received.
	received time.Time
	// errs keeps one error value per status, so that readings with the
	// same status share it (as the connectors' own do).
	errs map[statusKey]error
}

type statusKey struct {
	kind byte
	code connectors.StatusCode
	text string
}

func newDecoder(r io.Reader) *decoder {
	return &decoder{r: bufio.NewReaderSize(r, 64<<10), errs: make(map[statusKey]error)}
}

// next reads the next frame and returns its type; the payload is then
// read with the typed methods. io.EOF at a frame boundary is the end.
func (d *decoder) next() (byte, error) {
	t, err := d.r.ReadByte()
	if err != nil {
		return 0, err
	}
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, noEOF(err)
	}
	if n > maxFrame {
		return 0, fmt.Errorf("frame of %d bytes", n)
	}
	if cap(d.buf) < int(n) {
		d.buf = make([]byte, n)
	}
	d.buf = d.buf[:n]
	if _, err := io.ReadFull(d.r, d.buf); err != nil {
		return 0, noEOF(err)
	}
	d.p, d.err = d.buf, nil
	return t, nil
}

// noEOF turns an end of stream inside a frame into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

var errShort = errors.New("frame too short")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.p = nil
}

func (d *decoder) byte() byte {
	if len(d.p) < 1 {
		d.fail(errShort)
		return 0
	}
	b := d.p[0]
	d.p = d.p[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.p)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) rawString() string {
	n := d.uvarint()
	if n > uint64(len(d.p)) {
		d.fail(errShort)
		return ""
	}
	s := string(d.p[:n])
	d.p = d.p[n:]
	return s
}

func (d *decoder) str() string {
	switch id := d.uvarint(); id {
	case 0:
		return d.rawString()
	case 1:
		s := d.rawString()
		if d.err == nil {
			d.strs = append(d.strs, s)
		}
		return s
	default:
		if id-2 >= uint64(len(d.strs)) {
			d.fail(fmt.Errorf("string %d not defined", id-2))
			return ""
		}
		return d.strs[id-2]
	}
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail(fmt.Errorf("nanoseconds %d", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

func (d *decoder) float() float64 {
	if len(d.p) < 8 {
		d.fail(errShort)
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.p))
	d.p = d.p[8:]
	return f
}

func (d *decoder) bool() bool { return d.byte() != 0 }

// raw reads a raw value.
func (d *decoder) raw() any {
	switch k := d.byte(); k {
	case rawNil:
	case rawFalse:
		return false
	case rawTrue:
		return true
	case rawInt:
		return d.varint()
	case rawUint:
		return d.uvarint()
	case rawFloat:
		return d.float()
	case rawString:
		return d.rawString()
	default:
		d.fail(fmt.Errorf("raw kind %d", k))
	}
	return nil
}

func (d *decoder) status() error {
	k := statusKey{kind: d.byte()}
	switch k.kind {
	case statusNone:
		return nil
	case statusCode:
		return connectors.StatusCode(d.uvarint())
	case statusCoded:
		k.code = connectors.StatusCode(d.uvarint())
		k.text = d.str()
	case statusText:
		k.text = d.str()
	default:
		d.fail(fmt.Errorf("status kind %d", k.kind))
		return nil
	}
	if err, ok := d.errs[k]; ok {
		return err
	}
	var err error
	if k.kind == statusCoded {
		err = &connectors.StatusError{Code: k.code, Err: errors.New(k.text)}
	} else {
		err = errors.New(k.text)
	}
	if len(d.errs) < maxStrings {
		d.errs[k] = err
	}
	return err
}

// done returns the payload's first malformation, or one for bytes left
// over.
func (d *decoder) done(what string) error {
	if d.err == nil && len(d.p) > 0 {
		d.err = fmt.Errorf("%d bytes left over", len(d.p))
	}
	if d.err != nil {
		return fmt.Errorf("malformed %s frame: %w", what, d.err)
	}
	return nil
}

// reading decodes a reading frame's payload into r.
func (d *decoder) reading(r *connectors.Reading) error {
	*r = connectors.Reading{}
	flags := d.byte()
	r.LinkDown = flags&linkDown != 0
	r.Mark = flags&mark != 0
	r.Source = d.str()
	r.Address = d.str()
	r.Raw = d.raw()
	r.Status = d.status()
	if flags&hasSource != 0 {
		r.SourceTime = d.time()
	}
	if flags&hasServer != 0 {
		r.ServerTime = d.time()
	}
	switch {
	case flags&receivedDelta != 0:
		r.Received = d.received.Add(time.Duration(d.varint()))
		d.received = r.Received
	case flags&hasReceived != 0:
		r.Received = d.time()
		d.received = r.Received
	}
	if flags&hasInfo != 0 {
		r.Info = &connectors.PointInfo{
			BrowsePath:  d.str(),
			DisplayName: d.str(),
			Description: d.str(),
			DataType:    d.str(),
			HasUnit:     d.bool(),
			UnitID:      int32(d.varint()),
			UnitSymbol:  d.str(),
			HasRange:    d.bool(),
			Low:         d.float(),
			High:        d.float(),
			Writable:    d.bool(),
		}
	}
	return d.done("reading")
}

// health decodes a health frame's payload into h.
func (d *decoder) health(h *connectors.Health) error {
	*h = connectors.Health{
		Source:   d.str(),
		Protocol: d.str(),
		Endpoint: d.str(),
		State:    connectors.LinkState(d.uvarint()),
	}
	if d.bool() {
		h.Since = d.time()
	}
	h.LastError = d.status()
	h.Latency = time.Duration(d.varint())
	h.Readings = d.uvarint()
	h.Errors = d.uvarint()
	h.Reconnects = d.uvarint()
	h.SequenceGaps = d.uvarint()
	h.Backlog = time.Duration(d.varint())
	return d.done("health")
}

// logRecord is a child's log record.
type logRecord struct {
	level slog.Level
	msg   string
	args  []any // key, value pairs
}

// log decodes a log frame's payload.
func (d *decoder) log() (logRecord, error) {
	rec := logRecord{level: slog.Level(d.varint()), msg: d.rawString()}
	n := d.uvarint()
	if n > uint64(len(d.p)) {
		d.fail(errShort)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		rec.args = append(rec.args, d.str(), d.rawString())
	}
	return rec, d.done("log")
}

// end decodes an end frame's payload.
func (d *decoder) end() (error, error) {
	msg := d.rawString()
	return errors.New(msg), d.done("end")
}
