package recording

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzRead: no input makes the reader panic or hang; it either reads a
// recording (up to a cut it reports inside the input) or refuses it as
// corrupt at an offset inside the input.
func FuzzRead(f *testing.F) {
	path, _ := sample(f)
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(Magic))
	f.Add(append([]byte(Magic), 1, 0, 0, 0, 'H', 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := Read(bytes.NewReader(b))
		var ce *CorruptError
		var tr *Truncated
		switch {
		case err == nil:
			if rec.Size > int64(len(b)) || len(rec.Segments) == 0 {
				t.Fatalf("read %d of %d bytes, %d segments", rec.Size, len(b), len(rec.Segments))
			}
			if rec.Truncated != nil && (rec.Truncated.Offset != rec.Size || rec.Truncated.Size != int64(len(b))) {
				t.Fatalf("truncated %+v with %d bytes read of %d", rec.Truncated, rec.Size, len(b))
			}
		case errors.As(err, &ce):
			if ce.Offset < 0 || ce.Offset > int64(len(b)) || ce.Reason == "" {
				t.Fatalf("corrupt %+v of an input of %d bytes", ce, len(b))
			}
		case errors.As(err, &tr):
		default:
			if err.Error() != "no header: an empty recording" {
				t.Fatalf("error %v is neither corrupt nor truncated", err)
			}
		}
	})
}
