package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
)

// logOptions are the logging flags shared by the long-running commands.
type logOptions struct {
	level string
	file  string
	json  bool
}

func (o *logOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.level, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.file, "log-file", "", "write the log to this file instead of standard error")
	f.BoolVar(&o.json, "log-json", false, "log as JSON lines")
}

// logger builds the slog logger; the returned func closes the log file.
func (o *logOptions) logger(stderr io.Writer) (*slog.Logger, func(), error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", o.level)
	}
	w, closeFn := stderr, func() {}
	if o.file != "" {
		f, err := os.OpenFile(o.file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if o.json {
		return slog.New(slog.NewJSONHandler(w, opts)), closeFn, nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), closeFn, nil
}
