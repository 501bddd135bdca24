package modbus

import (
	"slices"
	"time"

	"github.com/otwin/otwin/connectors"
)

// Name is the kind's name: the key of its section in a sources file and
// Health.Protocol.
const Name = "modbus"

func init() {
	connectors.Register(connectors.Kind{
		Name:        Name,
		Title:       "Modbus TCP",
		PointKey:    "register",
		PointSyntax: "table:address:type[:order], e.g. holding:100:float32",
		PointDoc: "Register is the Modbus address \"table:address:type[:order]\", e.g.\n" +
			"\"holding:100:float32:CDAB\". The address is 0-based: holding register\n" +
			"40001 is \"holding:0\". Modbus sources only.",
		NewConfig:    func() connectors.Config { c := DefaultConfig(); return &c },
		ParseAddress: canonicalRegister,
	})
}

// canonicalRegister parses a point string and returns its canonical form
// (Register.String).
func canonicalRegister(s string) (string, error) {
	r, err := ParseRegister(s)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// Discovery is nil: a Modbus device has no directory of its points
// (connectors.Config).
func (c *Config) Discovery() *connectors.Discovery { return nil }

// UpdateInterval is PollInterval with its default (connectors.Config).
func (c *Config) UpdateInterval() time.Duration { return c.withDefaults().PollInterval }

// NewConnector returns New of a copy of c with Name, Points and Logger set
// from its arguments (connectors.Config).
func (c *Config) NewConnector(name string, points []string, env connectors.Env) (connectors.Connector, error) {
	cfg := *c
	cfg.Name, cfg.Points, cfg.Logger = name, slices.Clone(points), env.Logger
	conn, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return conn, nil
}
