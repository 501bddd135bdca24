package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/otwin/otwin/normalize/metrics"
)

// metricsOptions is --metrics, on every command that collects (watch,
// ssh, demo, workshop).
type metricsOptions struct{ addr string }

func (m *metricsOptions) register(f *pflag.FlagSet) {
	f.StringVar(&m.addr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464; :9464 for every interface)")
}

// serve serves col's metrics until ctx ends; without --metrics it does
// nothing. It returns the address it listens on, or why it cannot.
func (m *metricsOptions) serve(ctx context.Context, col *collector, logger *slog.Logger) (string, error) {
	if m.addr == "" {
		return "", nil
	}
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return "", fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(metrics.Sources{Store: col.Store, Scores: col.scorecards()}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	addr := ln.Addr().String()
	logger.Info("serving metrics", "url", "http://"+addr+"/metrics")
	return addr, nil
}
