package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/normalize/record"
	"github.com/otwin/otwin/recording"
)

// recordFlags are the recording flags of otwin watch.
type recordFlags struct {
	path    string
	maxSize string
	maxAge  time.Duration
	rotate  bool
}

func (r *recordFlags) register(f *pflag.FlagSet) {
	f.StringVar(&r.path, "record", "", "record what the connectors read (values, status codes, timestamps, link events) to this file; an existing recording is appended to")
	f.StringVar(&r.maxSize, "record-max-size", "256MiB", `largest recording file ("0" for no limit), e.g. 64MiB, 2GB`)
	f.DurationVar(&r.maxAge, "record-max-age", 0, "longest time one recording file covers (0 for no limit)")
	f.BoolVar(&r.rotate, "record-rotate", false, "at a limit, keep the file as FILE.1 and start a new FILE (default: stop recording, keep watching)")
}

// start wraps the connectors of col in a recorder when --record is
// given; the returned func closes the recording (nil without --record).
func (r *recordFlags) start(col *collector, sourcesPath string, logger *slog.Logger) (func() error, error) {
	if r.path == "" {
		return nil, nil
	}
	size, err := parseSize(r.maxSize)
	if err != nil {
		return nil, fmt.Errorf("--record-max-size: %w", err)
	}
	text, err := os.ReadFile(sourcesPath)
	if err != nil {
		return nil, err
	}
	rec, err := record.New(record.Options{
		Path: r.path, SourcesFile: sourcesPath, Sources: text, Logger: logger.With("part", "recorder"),
		Policy: recording.Policy{MaxSize: size, MaxAge: r.maxAge, Rotate: r.rotate},
	})
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	for i, c := range col.Connectors {
		col.Connectors[i] = rec.Wrap(c)
	}
	col.Pipeline.Connectors = col.Connectors
	return rec.Close, nil
}

// parseSize reads a size in bytes: a number with an optional unit (B,
// KB, MB, GB as powers of 1000; KiB, MiB, GiB as powers of 1024).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit, e.g. 256MiB or 1GB", s)
	}
	v := int64(n * float64(mult))
	if v > 0 && v < recording.MinSize {
		return 0, fmt.Errorf("size %q is below the smallest recording, %d bytes", s, recording.MinSize)
	}
	return v, nil
}
