package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCastFile writes an asciicast v2 file from lines.
func writeCastFile(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.cast")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReplay: the output events are written in order (markers and resizes
// are not output); --from draws what came before at once; --to stops
// there; a quit in the alternate screen with the cursor hidden restores
// both. The waits are the recording's, sped up.
func TestReplay(t *testing.T) {
	p := writeCastFile(t,
		`{"version":2,"width":80,"height":24,"timestamp":1}`,
		`[0.0, "o", "\u001b[?1049h\u001b[?25lframe1"]`,
		`[0.5, "r", "100x30"]`,
		`[1.0, "o", " frame2"]`,
		`[1.5, "m", "a note"]`,
		`[2.0, "o", " frame3\u001b[?25h\u001b[?1049l"]`,
	)
	c, err := readCast(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    replayOptions
		want string
		min  time.Duration
	}{
		{"whole", replayOptions{speed: 10}, "\x1b[?1049h\x1b[?25lframe1 frame2 frame3\x1b[?25h\x1b[?1049l", 200 * time.Millisecond},
		{"from", replayOptions{speed: 10, from: 1500 * time.Millisecond}, "\x1b[?1049h\x1b[?25lframe1 frame2 frame3\x1b[?25h\x1b[?1049l", 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			start := time.Now()
			if err := replay(context.Background(), c, nil, &out, &out, tc.o); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
			if d := time.Since(start); d < tc.min {
				t.Errorf("played in %s, want at least %s (the recording's timing)", d, tc.min)
			}
		})
	}
	// --to holds the screen until the context ends (q in a terminal),
	// then restores what the recording left: cursor, normal screen.
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- replay(ctx, c, nil, &out, &out, replayOptions{speed: 100, to: 1200 * time.Millisecond})
	}()
	waitUntil(t, 5*time.Second, "frame2", func() bool { return strings.HasSuffix(out.String(), " frame2") })
	select {
	case err := <-done:
		t.Fatalf("--to did not hold the screen: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "frame1 frame2\x1b[0m\x1b[?25h\x1b[?1049l"; !strings.HasSuffix(out.String(), want) {
		t.Errorf("after --to and quit: %q, want it to end %q", out.String(), want)
	}
}

// TestReadCastErrors: a broken recording is named with its line.
func TestReadCastErrors(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{`not json`}, ":1: not an asciicast header"},
		{[]string{`{"version":1}`}, ":1: asciicast version 1"},
		{[]string{`{"version":2,"width":80,"height":24}`, `[1, "o"]`}, ":2: want [time, kind, data]"},
		{[]string{`{"version":2,"width":80,"height":24}`, `[2, "o", "a"]`, `[1, "o", "b"]`}, ":3: time 1.000000 before"},
		{[]string{`{"version":2,"width":80,"height":24}`, `["x", "o", "a"]`}, ":2: want [seconds"},
	} {
		p := writeCastFile(t, tc.lines...)
		_, err := readCast(p)
		if err == nil || !strings.Contains(err.Error(), p+tc.want) {
			t.Errorf("%q: %v, want %q", tc.lines, err, p+tc.want)
		}
	}
}
