package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	charmterm "github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/otwin/otwin/tui/sshserve"
)

func init() { register(newReplayCmd) }

func newReplayCmd() *cobra.Command {
	var o replayOptions
	cmd := &cobra.Command{
		Use:   "replay FILE.cast",
		Short: "Play a recorded dashboard session (asciicast v2) in the terminal",
		Long: `Play back a session recorded by 'otwin workshop' (or 'otwin ssh --record'): the
participant's screen as they saw it, in time. q (or Ctrl-C) quits at any moment,
space pauses and resumes; the terminal is restored either way. --from starts at a
moment (the debrief's links give it as #t=SECONDS), --to stops there and holds the
screen until q. The terminal should be the recording's size (the header says it).
Any asciicast v2 player (asciinema play) plays the same files.`,
		Example: `  otwin replay otwin-debrief-20260101-080000/casts/olga-20260101-080312.cast
  otwin replay --from 83s --speed 4 casts/olga-20260101-080312.cast
  otwin replay --to 2m casts/tom-20260101-080300.cast`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !(o.speed > 0) {
				return fmt.Errorf("--speed %g: want a number > 0", o.speed)
			}
			c, err := readCast(args[0])
			if err != nil {
				return err
			}
			return replay(cmd.Context(), c, os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.speed, "speed", 1, "play this many times faster")
	f.DurationVar(&o.from, "from", 0, "start at this moment of the recording (what comes before is drawn at once)")
	f.DurationVar(&o.to, "to", 0, "stop at this moment and hold the screen until q (0: play to the end and exit)")
	f.DurationVar(&o.idle, "idle-limit", 0, "shorten every pause longer than this (0: keep them)")
	return cmd
}

// replayOptions are the flags of otwin replay.
type replayOptions struct {
	speed    float64
	from, to time.Duration
	idle     time.Duration
}

// cast is a parsed asciicast v2 file.
type cast struct {
	path   string
	header sshserve.CastHeader
	events []castEvent
}

// castEvent is one [time, kind, data] line.
type castEvent struct {
	at   time.Duration
	kind string
	data string
}

// readCast parses an asciicast v2 file; errors name the file and line.
func readCast(path string) (*cast, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &cast{path: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if n == 1 {
			if err := json.Unmarshal(line, &c.header); err != nil {
				return nil, fmt.Errorf("%s:1: not an asciicast header: %v", path, err)
			}
			if c.header.Version != 2 {
				return nil, fmt.Errorf("%s:1: asciicast version %d, want 2", path, c.header.Version)
			}
			continue
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil || len(raw) != 3 {
			return nil, fmt.Errorf("%s:%d: want [time, kind, data]", path, n)
		}
		var (
			secs float64
			e    castEvent
		)
		if json.Unmarshal(raw[0], &secs) != nil || json.Unmarshal(raw[1], &e.kind) != nil || json.Unmarshal(raw[2], &e.data) != nil || secs < 0 {
			return nil, fmt.Errorf("%s:%d: want [seconds, \"kind\", \"data\"]", path, n)
		}
		e.at = time.Duration(secs * float64(time.Second))
		if k := len(c.events); k > 0 && e.at < c.events[k-1].at {
			return nil, fmt.Errorf("%s:%d: time %.6f before the previous event's", path, n, secs)
		}
		c.events = append(c.events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: empty, not an asciicast", path)
	}
	return c, nil
}

// termState follows what the played output did to the terminal, to undo
// it on quit.
type termState struct{ alt, hidden bool }

func (s *termState) see(out string) {
	// The last of each pair wins.
	last := func(on, off string) (bool, bool) {
		i, j := strings.LastIndex(out, on), strings.LastIndex(out, off)
		if i < 0 && j < 0 {
			return false, false
		}
		return i > j, true
	}
	if v, ok := last("\x1b[?1049h", "\x1b[?1049l"); ok {
		s.alt = v
	}
	if v, ok := last("\x1b[?25l", "\x1b[?25h"); ok {
		s.hidden = v
	}
}

// restore undoes what the played output left: attributes, a hidden
// cursor, the alternate screen.
func (s *termState) restore() string {
	r := "\x1b[0m"
	if s.hidden {
		r += "\x1b[?25h"
	}
	if s.alt {
		r += "\x1b[?1049l"
	}
	return r
}

// replay plays c onto out. Keys come from in when it is a terminal (put
// in raw mode for the time of the play).
func replay(ctx context.Context, c *cast, in *os.File, out, errOut io.Writer, o replayOptions) error {
	keys := make(chan byte, 16)
	if in != nil && charmterm.IsTerminal(in.Fd()) {
		st, err := charmterm.MakeRaw(in.Fd())
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		defer charmterm.Restore(in.Fd(), st)
		go func() {
			b := make([]byte, 1)
			for {
				if _, err := in.Read(b); err != nil {
					close(keys)
					return
				}
				keys <- b[0]
			}
		}()
	}
	if f, ok := out.(*os.File); ok && charmterm.IsTerminal(f.Fd()) {
		if w, h, err := charmterm.GetSize(f.Fd()); err == nil && (w != c.header.Width || h != c.header.Height) {
			fmt.Fprintf(errOut, "otwin: recorded at %d×%d, this terminal is %d×%d: the replay may look wrong\r\n", c.header.Width, c.header.Height, w, h)
		}
	}
	var st termState
	write := func(s string) error {
		st.see(s)
		_, err := io.WriteString(out, s)
		return err
	}
	quit := errors.New("quit")
	var (
		start  = time.Now()
		paused time.Time
		idle   time.Duration // removed by --idle-limit
		prev   time.Duration
	)
	// waitUntil waits for the moment at of the recording (forever with
	// hold), handling keys.
	waitUntil := func(at time.Duration, hold bool) error {
		for {
			var due time.Time
			if paused.IsZero() && !hold {
				due = start.Add(time.Duration(float64(at-o.from-idle) / o.speed))
				if !time.Now().Before(due) {
					return nil
				}
			}
			var timer <-chan time.Time
			if !due.IsZero() {
				t := time.NewTimer(time.Until(due))
				defer t.Stop()
				timer = t.C
			}
			select {
			case <-ctx.Done():
				return quit
			case <-timer:
				return nil
			case k, ok := <-keys:
				switch {
				case !ok:
					keys = nil
				case k == 'q' || k == 3:
					return quit
				case k == ' ' && paused.IsZero():
					paused = time.Now()
				case k == ' ':
					start = start.Add(time.Since(paused))
					paused = time.Time{}
				}
			}
		}
	}
	var err error
	for _, e := range c.events {
		if o.to > 0 && e.at > o.to {
			break
		}
		if e.kind != "o" {
			continue
		}
		if o.idle > 0 && e.at-prev > o.idle {
			idle += e.at - prev - o.idle
		}
		prev = e.at
		if e.at > o.from {
			if err = waitUntil(e.at, false); err != nil {
				break
			}
		}
		if err = write(e.data); err != nil {
			return err
		}
	}
	if err == nil && o.to > 0 {
		// Hold the screen at --to until q.
		if err = waitUntil(0, true); err == nil {
			err = quit
		}
	}
	if errors.Is(err, quit) || o.to > 0 {
		_, werr := io.WriteString(out, st.restore())
		return werr
	}
	return err
}
