package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/modbus"
	"github.com/otwin/otwin/connectors/opcua"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/sources"
	"github.com/otwin/otwin/normalize/store"
)

// collector is the monitoring half running: connectors, normalizer and the
// live store, fed by one pipeline.
type collector struct {
	Sources    *sources.File
	Connectors []connectors.Connector
	Normalizer *normalize.Normalizer
	Store      *store.Store
	Pipeline   *pipeline.Pipeline
}

// newCollector builds the connectors of every source and the pipeline that
// normalizes their readings into a new store.
func newCollector(f *sources.File, dataDir string, logger *slog.Logger) (*collector, error) {
	conns, err := buildConnectors(f, dataDir, logger)
	if err != nil {
		return nil, err
	}
	n, err := normalize.New(f.NormalizeConfig())
	if err != nil {
		return nil, err
	}
	// The store acts on the normalizer's alerts: what rules raise is what
	// Alerts lists and what users acknowledge and shelve.
	st := store.New(store.Config{Alerts: n.Alerts()})
	return &collector{
		Sources:    f,
		Connectors: conns,
		Normalizer: n,
		Store:      st,
		Pipeline: &pipeline.Pipeline{
			Connectors: conns,
			Normalizer: n,
			Store:      st,
			Logger:     logger,
		},
	}, nil
}

// Run runs the pipeline until ctx is done.
func (c *collector) Run(ctx context.Context) error { return c.Pipeline.Run(ctx) }

// buildConnectors makes one connector per source of f.
func buildConnectors(f *sources.File, dataDir string, logger *slog.Logger) ([]connectors.Connector, error) {
	var (
		conns []connectors.Connector
		errs  []error
	)
	for _, s := range f.Sources {
		log := logger
		switch {
		case s.OPCUA != nil:
			o := s.OPCUA
			nodes := make([]string, 0, len(s.Points))
			for _, p := range s.Points {
				if p.Node != "" {
					nodes = append(nodes, p.Node)
				}
			}
			c, err := opcua.New(opcua.Config{
				Name:               s.Name,
				URL:                o.URL,
				SecurityMode:       o.SecurityMode,
				SecurityPolicy:     o.SecurityPolicy,
				Certificate:        o.Certificate,
				Key:                o.Key,
				DataDir:            dataDir,
				TrustDir:           o.TrustDir,
				Username:           o.Username,
				Password:           o.Password,
				PublishingInterval: o.PublishingInterval,
				SamplingInterval:   o.SamplingInterval,
				QueueSize:          o.QueueSize,
				Deadband:           o.Deadband,
				Poll:               o.Poll,
				PollInterval:       o.PollInterval,
				Timeout:            o.Timeout,
				BrowseRoot:         o.BrowseRoot,
				Nodes:              nodes,
				Logger:             log,
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", s.Name, err))
				continue
			}
			conns = append(conns, c)
		case s.Modbus != nil:
			m := s.Modbus
			points := make([]string, 0, len(s.Points))
			for _, p := range s.Points {
				points = append(points, p.Register)
			}
			unit := m.UnitID
			if unit == 0 {
				unit = 1
			}
			c, err := modbus.New(modbus.Config{
				Name:         s.Name,
				Address:      m.Address,
				UnitID:       byte(unit),
				PollInterval: m.PollInterval,
				Timeout:      m.Timeout,
				MaxGap:       m.MaxGap,
				Points:       points,
				Logger:       logger,
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", s.Name, err))
				continue
			}
			conns = append(conns, c)
		}
	}
	return conns, errors.Join(errs...)
}
