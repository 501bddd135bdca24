package sshserve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultRecordLimit is the default cap on one session's recording: about
// an hour of a busy 80×24 dashboard. Past it the recording stops with a
// marker event saying so; the session itself goes on, and the closing
// sequence that restores the terminal is always recorded.
const DefaultRecordLimit = 16 << 20

// CastHeader is the first line of an asciicast v2 file.
type CastHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// castWriter records what a session's terminal is sent as asciicast v2:
// the header, then one [seconds, "o", text] event per write. Writes are
// split only on UTF-8 boundaries (a sequence cut between two writes waits
// for its tail). Once limit bytes are written it writes one marker event
// ([t, "m", "..."]) and records no more output; Close still records the
// closing text. Safe for concurrent use.
type castWriter struct {
	mu        sync.Mutex
	f         *os.File
	w         *bufio.Writer
	start     time.Time
	limit     int64
	n         int64
	truncated bool
	last      time.Duration // the latest event's time
	pending   []byte        // an incomplete UTF-8 sequence held back
	err       error
}

// newCastWriter creates path (mode 0644, failing if it exists) and writes
// the header.
func newCastWriter(path string, h CastHeader, start time.Time, limit int64) (*castWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultRecordLimit
	}
	c := &castWriter{f: f, w: bufio.NewWriterSize(f, 32<<10), start: start, limit: limit}
	h.Version = 2
	b, err := json.Marshal(h)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.line(append(b, '\n'))
	return c, c.err
}

// line writes one line and counts it.
func (c *castWriter) line(b []byte) {
	if c.err != nil {
		return
	}
	_, c.err = c.w.Write(b)
	c.n += int64(len(b))
}

// event writes one event line.
func (c *castWriter) event(at time.Duration, kind, data string) {
	c.line(eventLine(c.mono(at), kind, data))
}

// mono keeps the events' times in order: writers take the time before
// they take the lock, so two of them (the screen, a window change) may
// arrive in the other order by a few microseconds.
func (c *castWriter) mono(at time.Duration) time.Duration {
	if at < c.last {
		at = c.last
	}
	c.last = at
	return at
}

// eventLine is one event as a line of the file.
func eventLine(at time.Duration, kind, data string) []byte {
	d, _ := json.Marshal(data) // a string always marshals
	return []byte(fmt.Sprintf("[%.6f, %q, %s]\n", at.Seconds(), kind, d))
}

// Output records p as written to the terminal at now.
func (c *castWriter) Output(now time.Time, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.truncated || c.err != nil {
		return
	}
	data := append(c.pending, p...)
	cut := completeUTF8(data)
	c.pending = append([]byte(nil), data[cut:]...)
	if cut == 0 {
		return
	}
	at := now.Sub(c.start)
	line := eventLine(c.mono(at), "o", string(data[:cut]))
	if c.n+int64(len(line)) > c.limit {
		c.truncated = true
		c.event(at, "m", fmt.Sprintf("recording truncated at its limit of %d bytes", c.limit))
		_ = c.w.Flush()
		return
	}
	c.line(line)
}

// Resize records a window change.
func (c *castWriter) Resize(now time.Time, w, h int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.truncated {
		return
	}
	c.event(now.Sub(c.start), "r", fmt.Sprintf("%dx%d", w, h))
}

// Marker records a marker event with a label.
func (c *castWriter) Marker(now time.Time, label string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.event(now.Sub(c.start), "m", label)
}

// Close records closing (the terminal restore and the reason a session
// ended), whatever the limit, and closes the file.
func (c *castWriter) Close(now time.Time, closing string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	text := string(c.pending) + closing
	c.pending = nil
	if text != "" {
		c.event(now.Sub(c.start), "o", text)
	}
	if err := c.w.Flush(); c.err == nil {
		c.err = err
	}
	if err := c.f.Close(); c.err == nil {
		c.err = err
	}
	return c.err
}

// completeUTF8 is the length of the longest prefix of b that does not end
// in an incomplete UTF-8 sequence (invalid bytes count as complete: they
// are recorded as U+FFFD).
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// teeWriter writes to the session and records what it wrote.
type teeWriter struct {
	w   io.Writer
	rec *castWriter
	now func() time.Time
}

func (t *teeWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if n > 0 && t.rec != nil {
		t.rec.Output(t.now(), p[:n])
	}
	return n, err
}
