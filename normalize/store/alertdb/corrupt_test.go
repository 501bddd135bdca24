package alertdb

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"database/sql"

	"github.com/otwin/otwin/normalize/store"
)

// goodFile writes a database of 3000 transitions on 100 alerts in dir and
// returns its bytes.
func goodFile(t *testing.T, dir string) []byte {
	t.Helper()
	r := openRun(t, dir, Options{})
	for i := 0; i < 1500; i++ {
		target := fmt.Sprintf("line/m%d/t", i%100)
		r.st.PublishConditions(raise(target, time.Duration(i)*time.Second), clearOf(target, time.Duration(i)*time.Second))
	}
	r.close(t)
	if _, err := os.Stat(filepath.Join(dir, FileName+"-wal")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a WAL is left after Close: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sqlFile runs stmts on a new SQLite file at path, or on the one there.
func sqlFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// checkCorrupt: Open fails with a CorruptError that names the file and
// the way out, and once the file is moved aside as it says, Open starts
// afresh.
func checkCorrupt(t *testing.T, dir string, err error, what string) {
	t.Helper()
	path := filepath.Join(dir, FileName)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("open: %v, want a CorruptError", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, "mv "+path+" "+path+".bad") || !strings.Contains(msg, what) {
		t.Errorf("message %q: want the file, the way out and %q", msg, what)
	}
	if err := os.Rename(path, path+".bad"); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after moving the file aside: %v", err)
	}
	if r := db.Restored(); len(r.Alerts) != 0 || r.Seq != 0 {
		t.Errorf("a fresh file restores %+v", r)
	}
	db.Close()
}

// TestCorruptOrForeignFile: every kind of bad file is refused with a clear
// error, never a panic (nor a fault on the memory map of a truncated
// file), and moving it aside is the way out.
func TestCorruptOrForeignFile(t *testing.T) {
	good := goodFile(t, t.TempDir())
	rnd := rand.New(rand.NewSource(1))
	garbage := make([]byte, 1<<20)
	rnd.Read(garbage)
	write := func(b []byte) func(*testing.T, string) {
		return func(t *testing.T, p string) {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name string
		make func(t *testing.T, path string)
		what string // in the message
	}{
		{"random bytes", write(garbage), "file is not a database"},
		{"a text file", write([]byte("hello\n")), "file is not a database"},
		{"a bbolt file's header", write(append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0xed, 0xda, 0x0c, 0xed}, make([]byte, 8192)...)), "file is not a database"},
		{"header page zeroed", write(append(make([]byte, 4096), good[4096:]...)), "file is not a database"},
		{"truncated to one page", write(good[:4096]), "malformed"},
		{"truncated to half", write(good[:len(good)/2]), "malformed"},
		{"a page zeroed", write(append(append(append([]byte(nil), good[:8192]...), make([]byte, 4096)...), good[12288:]...)), "quick_check"},
		{"another program's SQLite file", func(t *testing.T, p string) {
			sqlFile(t, p, "create table users (name text)", "create table roles (name text)")
		}, "not an otwin alert database (its tables: roles, users)"},
		{"a newer format", func(t *testing.T, p string) {
			sqlFile(t, p, schema, "insert into meta values ('format', 'otwin alert state 2')")
		}, `format "otwin alert state 2", this otwin reads "otwin alert state 1"`},
		{"a damaged alert", func(t *testing.T, p string) {
			write(good)(t, p)
			sqlFile(t, p, "update alerts set body = '{' where id = 'out_of_range:line/m7/t'")
		}, `alert "out_of_range:line/m7/t"`},
		{"an unknown state", func(t *testing.T, p string) {
			write(good)(t, p)
			sqlFile(t, p, "update events set state = 'exploded' where seq = 3000")
		}, `event 3000: unknown alert state "exploded"`},
		{"a time that is not a number", func(t *testing.T, p string) {
			write(good)(t, p)
			sqlFile(t, p, "update events set at_ns = 'noon' where seq = 2999")
		}, "Scan error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.make(t, filepath.Join(dir, FileName))
			_, err := Open(dir, Options{})
			checkCorrupt(t, dir, err, c.what)
		})
	}
	// Damage at random places: Open either refuses the file as above or
	// opens it (the damage is in a value it does not read); it never
	// panics, and a file it opens is written and closed.
	refused, opened := 0, 0
	defer func() {
		t.Logf("random damage: %d files refused, %d opened", refused, opened)
		if refused == 0 || opened == 0 {
			t.Errorf("random damage: %d files refused, %d opened: the cases miss a branch", refused, opened)
		}
	}()
	for i := 0; i < 40; i++ {
		t.Run(fmt.Sprintf("random damage %d", i), func(t *testing.T) {
			dir := t.TempDir()
			b := append([]byte(nil), good...)
			pages := len(b) / 4096
			switch i % 4 {
			case 0: // bit rot
				for j := 0; j < 1+i%5; j++ {
					b[rnd.Intn(len(b))] ^= byte(1 + rnd.Intn(255))
				}
			case 1: // page headers scrambled
				for j := 0; j < 1+i%3; j++ {
					pg := 1 + rnd.Intn(pages-1)
					rnd.Read(b[pg*4096 : pg*4096+16])
				}
			case 2: // cut short
				b = b[:rnd.Intn(len(b))]
			case 3: // a block lost
				pg := rnd.Intn(pages)
				clear(b[pg*4096 : pg*4096+4096])
			}
			os.WriteFile(filepath.Join(dir, FileName), b, 0o600)
			db, err := Open(dir, Options{Load: 100, KeepAge: -1}) // most history unread
			if err != nil {
				refused++
				checkCorrupt(t, dir, err, "")
				return
			}
			opened++
			st := store.New(store.Config{Journal: db, Restored: db.Restored()})
			st.PublishConditions(raise("after", 0))
			st.Close()
			if err := db.Flush(); err != nil {
				t.Errorf("write to a file that opened: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}
