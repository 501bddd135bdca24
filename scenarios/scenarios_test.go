package scenarios

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// want is one expected problem of a broken fixture.
type want struct {
	line int
	msg  string
}

// fixtureWants reads the "# want: LINE: message" comments at the top of a
// broken fixture, and whether "# schema: reject" marks it as a file the
// JSON Schema must also reject.
func fixtureWants(t *testing.T, data []byte) (wants []want, schemaReject bool) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "# schema: reject" {
			schemaReject = true
			continue
		}
		rest, ok := strings.CutPrefix(line, "# want: ")
		if !ok {
			break
		}
		n, msg, ok := strings.Cut(rest, ": ")
		if !ok {
			n, msg = strings.TrimSuffix(rest, ":"), ""
		}
		ln, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("bad want comment %q", line)
		}
		wants = append(wants, want{ln, msg})
	}
	return wants, schemaReject
}

func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("only %d broken fixtures, want at least 25", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wants, _ := fixtureWants(t, data)
			if len(wants) == 0 {
				t.Fatalf("%s has no # want: comment", f)
			}
			_, err = Load(f)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load(%s) error = %v, want Problems", f, err)
			}
			used := make([]bool, len(ps))
		next:
			for _, w := range wants {
				for i, p := range ps {
					if !used[i] && p.Line == w.line && strings.Contains(p.String(), w.msg) && p.File == f {
						used[i] = true
						continue next
					}
				}
				t.Errorf("no problem at line %d containing %q; got:\n%v", w.line, w.msg, ps)
			}
			if len(ps) != len(wants) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps), len(wants), ps)
			}
			for i := 1; i < len(ps); i++ {
				if ps[i].Line < ps[i-1].Line {
					t.Errorf("problems not ordered by line:\n%v", ps)
				}
			}
		})
	}
}
