package recording

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// sample writes a recording of two sources with every kind of value,
// status, error and timestamp, a link event and an info, and returns its
// path and the readings written per point.
func sample(t testing.TB) (string, map[string][]Reading) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "line.otwrec")
	w, err := Create(path, Header{Start: t0, SourcesFile: "sources.yaml", Sources: "sources: []\n"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Reading{}
	add := func(src, addr string, r Reading) {
		t.Helper()
		if err := w.Write(src, addr, r); err != nil {
			t.Fatal(err)
		}
		want[src+" "+addr] = append(want[src+" "+addr], r)
	}
	ua, mb := "nsu=urn:x;s=filler1/speed", "input:14:float32:CDAB"
	for i := 0; i < 20; i++ {
		at := t0.Add(time.Duration(i) * 137 * time.Millisecond)
		add("filler-opcua", ua, Reading{Received: at, Source: at.Add(-3 * time.Millisecond), Server: at.Add(-time.Millisecond), Value: 600 + float64(i)/3})
		add("filler-modbus", mb, Reading{Received: at.Add(-5 * time.Millisecond), Value: float64(float32(i) * 1.5)})
	}
	if err := w.Info("filler-opcua", ua, []byte(`{"DataType":"Double"}`)); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(3 * time.Second)
	for _, v := range []any{true, false, int64(-12345678901234), uint64(math.MaxUint64), float32(1.25), "Running", nil, []int{1, 2}} {
		add("filler-opcua", "nsu=urn:x;s=filler1/other", Reading{Received: at, Value: v})
	}
	add("filler-opcua", ua, Reading{Received: at, Status: 0x808C0000, Value: 601.0})
	add("filler-modbus", mb, Reading{Received: at.Add(time.Second), Status: 0x80310000, Err: "dial tcp: connection refused", LinkDown: true})
	if err := w.Link(Link{Source: "filler-modbus", Time: at.Add(time.Second), State: "down", Error: "dial tcp: connection refused"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close("done"); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// norm is what a reading reads back as: values of other types as their
// text, times in UTC.
func norm(r Reading) Reading {
	if _, ok := r.Value.([]int); ok {
		r.Value = "[1 2]"
	}
	r.Point = 0
	return r
}

func TestRoundTrip(t *testing.T) {
	path, want := sample(t)
	rec, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Truncated != nil || len(rec.Segments) != 1 || rec.Segments[0].Sources != "sources: []\n" || !rec.Start().Equal(t0) {
		t.Fatalf("recording %+v", rec)
	}
	if len(rec.Tracks) != 3 {
		t.Fatalf("%d tracks", len(rec.Tracks))
	}
	for _, tr := range rec.Tracks {
		w := want[tr.Source+" "+tr.Address]
		if len(tr.Readings) != len(w) {
			t.Fatalf("%s: %d readings, want %d", tr.Address, len(tr.Readings), len(w))
		}
		for i, r := range tr.Readings {
			r.Point = 0
			if g, x := r, norm(w[i]); !g.Received.Equal(x.Received) || !g.Source.Equal(x.Source) || !g.Server.Equal(x.Server) ||
				!reflect.DeepEqual(g.Value, x.Value) || g.Status != x.Status || g.Err != x.Err || g.LinkDown != x.LinkDown {
				t.Errorf("%s reading %d: %+v, want %+v", tr.Address, i, g, x)
			}
		}
	}
	if tr := rec.Track("filler-opcua", "nsu=urn:x;s=filler1/speed"); tr == nil || string(tr.Info) != `{"DataType":"Double"}` {
		t.Errorf("info of the speed track: %+v", tr)
	}
	if len(rec.Links) != 1 || rec.Links[0].State != "down" || len(rec.Ends) != 1 || rec.Ends[0].Reason != "done" {
		t.Errorf("links %+v ends %+v", rec.Links, rec.Ends)
	}
}

// TestCutAnywhere: a recording cut at any byte is read up to its last
// whole frame, and says where it stopped.
func TestCutAnywhere(t *testing.T) {
	path, _ := sample(t)
	data, _ := os.ReadFile(path)
	var ends []int64 // offsets where whole frames end
	_, err := Scan(bytes.NewReader(data), func(it Item) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	off := int64(len(Magic))
	for off < int64(len(data)) {
		n := int64(uint32(data[off]) | uint32(data[off+1])<<8 | uint32(data[off+2])<<16 | uint32(data[off+3])<<24)
		off += n + 8
		ends = append(ends, off)
	}
	for cut := int64(len(Magic)) + 1; cut < int64(len(data)); cut++ {
		rec, err := Read(bytes.NewReader(data[:cut]))
		valid := int64(len(Magic))
		for _, e := range ends {
			if e <= cut {
				valid = e
			}
		}
		if valid == int64(len(Magic)) {
			if err == nil {
				t.Fatalf("cut at %d, before the header is whole: no error", cut)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		switch {
		case valid == cut && rec.Truncated != nil:
			t.Fatalf("cut at %d, a frame boundary: reported truncated %v", cut, rec.Truncated)
		case valid < cut && (rec.Truncated == nil || rec.Truncated.Offset != valid || rec.Truncated.Size != cut):
			t.Fatalf("cut at %d: truncated %+v, want at %d", cut, rec.Truncated, valid)
		case rec.Size != valid:
			t.Fatalf("cut at %d: read %d bytes, want %d", cut, rec.Size, valid)
		}
	}
	// A tail of zeros (a file system's after a crash) is a cut too.
	rec, err := Read(bytes.NewReader(append(bytes.Clone(data), make([]byte, 300)...)))
	if err != nil || rec.Truncated == nil || rec.Truncated.Offset != int64(len(data)) {
		t.Fatalf("zero tail: %+v, %v", rec, err)
	}
	if msg := rec.Truncated.Error(); !strings.Contains(msg, "cut mid-write") || !strings.Contains(msg, "byte") {
		t.Errorf("truncation message %q", msg)
	}
}

// TestCorruptIsRefused: a changed byte inside the recording is refused
// with the offset of the frame that holds it.
func TestCorruptIsRefused(t *testing.T) {
	path, _ := sample(t)
	data, _ := os.ReadFile(path)
	var frames []int64
	Scan(bytes.NewReader(data), func(it Item) error { frames = append(frames, it.Offset); return nil })
	for _, i := range []int{len(Magic) + 2, len(data) / 2, len(data) - 30} {
		bad := bytes.Clone(data)
		bad[i] ^= 0x20
		want := int64(0)
		for _, f := range frames {
			if f <= int64(i) {
				want = f
			}
		}
		_, err := Read(bytes.NewReader(bad))
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Offset != want {
			t.Errorf("byte %d changed: %v, want corrupt at %d", i, err, want)
		}
	}
	for name, data := range map[string][]byte{
		"not a recording": []byte("sources:\n  - name: x\n"),
		"version 2":       []byte("OTWREC\x00\x02"),
	} {
		var ce *CorruptError
		if _, err := Read(bytes.NewReader(data)); !errors.As(err, &ce) || ce.Offset != 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := ReadFile(filepath.Join(t.TempDir(), "none"))
	if err == nil {
		t.Error("a missing file reads")
	}
	bad := bytes.Clone(data)
	bad[len(data)/2] ^= 1
	os.WriteFile(path, bad, 0o644)
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt at byte") {
		t.Errorf("ReadFile of a corrupt file: %v", err)
	}
}

// TestAppend: a recording appended to gets a new segment; an incomplete
// last frame is cut off first; a corrupt file is not appended to.
func TestAppend(t *testing.T) {
	path, _ := sample(t)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)-3], 0o644) // cut mid-write
	w, err := Create(path, Header{Start: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	w.Write("filler-opcua", "nsu=urn:x;s=filler1/speed", Reading{Received: t0.Add(time.Hour + time.Second), Value: 7.0})
	w.Close("done")
	rec, err := ReadFile(path)
	if err != nil || rec.Truncated != nil {
		t.Fatalf("%v, truncated %v", err, rec.Truncated)
	}
	if len(rec.Segments) != 2 || rec.Segments[1].Segment != 1 {
		t.Fatalf("segments %+v", rec.Segments)
	}
	tr := rec.Track("filler-opcua", "nsu=urn:x;s=filler1/speed")
	if last := tr.Readings[len(tr.Readings)-1]; last.Value != 7.0 || !last.Received.Equal(t0.Add(time.Hour+time.Second)) {
		t.Errorf("last reading %+v", last)
	}
	bad, _ := os.ReadFile(path)
	bad[40] ^= 0xff
	os.WriteFile(path, bad, 0o644)
	if _, err := Create(path, Header{}); err == nil || !strings.Contains(err.Error(), "will not append") {
		t.Errorf("append to a corrupt file: %v", err)
	}
}

// TestPolicyStop: at its max size the recording stops, within the size,
// with an end frame saying so; the writer then refuses readings.
func TestPolicyStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r")
	w, err := Create(path, Header{Start: t0, Policy: Policy{MaxSize: MinSize}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; n < 100000; n++ {
		err = w.Write("s", "holding:0:int16", Reading{Received: t0.Add(time.Duration(n) * time.Millisecond), Value: int64(n)})
		if err != nil {
			break
		}
	}
	if !errors.Is(err, ErrStopped) || !strings.Contains(w.Stopped(), "max size") {
		t.Fatalf("after %d readings: %v (%q)", n, err, w.Stopped())
	}
	w.Close("done")
	st, _ := os.Stat(path)
	if st.Size() > MinSize {
		t.Errorf("file of %d bytes, over the max size %d", st.Size(), MinSize)
	}
	rec, err := ReadFile(path)
	if err != nil || len(rec.Ends) != 1 || !strings.Contains(rec.Ends[0].Reason, "max size 65536 bytes reached") || len(rec.Tracks[0].Readings) != n {
		t.Fatalf("%v; ends %+v; %d readings of %d", err, rec.Ends, len(rec.Tracks[0].Readings), n)
	}
	if err := (Policy{MaxSize: 10}).Check(); err == nil {
		t.Error("a max size below the minimum is accepted")
	}
}

// TestPolicyRotate: at its max age the file becomes FILE.1 and a new file
// starts with the points again; both are whole recordings.
func TestPolicyRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r")
	w, err := Create(path, Header{Start: t0, Policy: Policy{MaxAge: 10 * time.Second, Rotate: true}})
	if err != nil {
		t.Fatal(err)
	}
	w.Info("s", "holding:0:int16", []byte(`{}`))
	for i := 0; i < 35; i++ {
		if err := w.Write("s", "holding:0:int16", Reading{Received: t0.Add(time.Duration(i) * time.Second), Value: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close("done")
	cur, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := ReadFile(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	if got := cur.Tracks[0].Readings; len(got) != 5 || got[0].Value != int64(30) || cur.Tracks[0].Info == nil || cur.Segments[0].Segment != 3 {
		t.Errorf("current file: %d readings from %v, info %s, segment %d", len(got), got[0].Value, cur.Tracks[0].Info, cur.Segments[0].Segment)
	}
	if got := old.Tracks[0].Readings; len(got) != 10 || got[0].Value != int64(20) || !strings.HasPrefix(old.Ends[0].Reason, "rotated: max age") {
		t.Errorf("previous file: %d readings from %v, ends %+v", len(got), got[0].Value, old.Ends)
	}
}
