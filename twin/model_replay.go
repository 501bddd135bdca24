package twin

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/otwin/otwin/recording"
	"github.com/otwin/otwin/scenarios"
)

func init() { registerModel(buildReplay) }

// replayModel plays one recorded point: the value and status code of the
// last reading received at or before the playback position.
type replayModel struct {
	at     []time.Duration // offsets of the readings from the recording's start
	num    []tval
	str    []string
	status []uint32
	scale  float64
	from   time.Duration
	loop   bool
	length time.Duration // the recording's length, the loop's period
	k      int           // index of the reading shown last
}

// recordings caches the recordings read while the engine is built (one
// read per file, however many tags replay it).
type recordings map[string]*recording.Recording

// recordingAt reads the recording at path, once per build.
func recordingAt(b *builder, path string) (*recording.Recording, error) {
	key := reflect.TypeFor[recordings]()
	c, _ := b.e.slabs[key].(recordings)
	if c == nil {
		c = recordings{}
		b.e.slabs[key] = c
	}
	if rec, ok := c[path]; ok {
		return rec, nil
	}
	rec, err := recording.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if rec.Truncated != nil {
		b.e.log.Warn("recording cut mid-write: replaying it up to the cut", "file", path, "stops_at_byte", rec.Truncated.Offset, "size", rec.Truncated.Size)
	}
	c[path] = rec
	return rec, nil
}

// length is the time a recording covers: to its last reading or link
// event.
func length(rec *recording.Recording) time.Duration {
	var last time.Time
	for _, t := range rec.Tracks {
		if n := len(t.Readings); n > 0 && t.Readings[n-1].Received.After(last) {
			last = t.Readings[n-1].Received
		}
	}
	for _, l := range rec.Links {
		if l.Time.After(last) {
			last = l.Time
		}
	}
	return last.Sub(rec.Start())
}

func buildReplay(b *builder, k *scenarios.Replay) (model, error) {
	path := k.File
	if !filepath.IsAbs(path) && b.e.sc.File != "" {
		path = filepath.Join(filepath.Dir(b.e.sc.File), path)
	}
	rec, err := recordingAt(b, path)
	if err != nil {
		return nil, err
	}
	tr := rec.Track(k.Source, k.Address)
	if tr == nil {
		return nil, fmt.Errorf("recording %s has no point %q of source %q%s", path, k.Address, k.Source, pointHint(rec, k.Source))
	}
	m := newModel[replayModel](b)
	m.scale, m.from, m.loop, m.length, m.k = k.TimeScale, k.From.D(), k.Loop, length(rec), -1
	if m.scale <= 0 {
		m.scale = 1
	}
	if m.length <= 0 {
		m.length = b.e.tick
	}
	start := rec.Start()
	var num tval
	var str string
	for n, r := range tr.Readings {
		if r.LinkDown {
			continue
		}
		if r.Value != nil {
			v, s, ok := lenient(b.typ, r.Value)
			if !ok {
				return nil, fmt.Errorf("recording %s, point %q, reading %d: %v (%T) is not a %s", path, k.Address, n+1, r.Value, r.Value, b.typ)
			}
			num, str = v, s
		}
		m.at = append(m.at, r.Received.Sub(start))
		m.num = append(m.num, num)
		m.str = append(m.str, str)
		m.status = append(m.status, r.Status)
	}
	return m, nil
}

// pointHint lists a few points of source that the recording has.
func pointHint(rec *recording.Recording, source string) string {
	var have []string
	for _, t := range rec.Tracks {
		if t.Source == source {
			have = append(have, t.Address)
		}
	}
	if len(have) == 0 {
		var srcs []string
		for _, t := range rec.Tracks {
			if len(srcs) == 0 || srcs[len(srcs)-1] != t.Source {
				srcs = append(srcs, t.Source)
			}
		}
		return " (its sources: " + strings.Join(srcs, ", ") + ")"
	}
	if len(have) > 5 {
		have = append(have[:5], "…")
	}
	return " (its points of that source: " + strings.Join(have, ", ") + ")"
}

func (m *replayModel) eval(e *Engine, _ int, _ float64) out {
	p := m.from + time.Duration(float64(e.elapsed)*m.scale)
	if m.loop {
		p %= m.length
	}
	if m.k < 0 || m.k >= len(m.at) || p < m.at[m.k] {
		m.k = sort.Search(len(m.at), func(i int) bool { return m.at[i] > p }) - 1
	} else {
		for m.k+1 < len(m.at) && m.at[m.k+1] <= p {
			m.k++
		}
	}
	if m.k < 0 {
		o := exactly(0, "")
		o.status = StatusBadWaitingForInitialData
		return o
	}
	o := exactly(m.num[m.k], m.str[m.k])
	o.status = m.status[m.k]
	return o
}

func (*replayModel) discrete() {}
