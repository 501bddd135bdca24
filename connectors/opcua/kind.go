package opcua

import (
	"slices"
	"time"

	"github.com/otwin/otwin/connectors"
)

// Name is the kind's name: the key of its section in a sources file and
// Health.Protocol.
const Name = "opcua"

func init() {
	connectors.Register(connectors.Kind{
		Name:        Name,
		Title:       "OPC UA",
		PointKey:    "node",
		PointSyntax: "nsu=<namespace uri>;s=<id>",
		PointDoc: "Node is the OPC UA node id, \"nsu=<namespace uri>;<id>\" with <id> one of\n" +
			"i=<uint32>, s=<string>, g=<guid>, b=<base64>; namespace 0 ids stand alone\n" +
			"(\"i=2258\"). A namespace index (\"ns=2;...\") is refused: indexes can change\n" +
			"when a server restarts. OPC UA sources only.",
		NewConfig:    func() connectors.Config { return &Config{} },
		ParseAddress: ParseNode,
		Describes:    true,
		// gopcua's decoder panics, or allocates gigabytes, on some
		// malformed server messages, in a goroutine of its own where no
		// recover reaches (see doc.go).
		Isolate: true,
	})
}

// Discovery is non-nil when BrowseRoot is set: the connector then reads
// every variable below it (connectors.Config).
func (cfg *Config) Discovery() *connectors.Discovery {
	if cfg.BrowseRoot == "" {
		return nil
	}
	return &connectors.Discovery{AssetPrefix: cfg.AssetPrefix, PrefixKey: "asset_prefix"}
}

// UpdateInterval is PollInterval (default 1s) when polling, else 0: a
// subscription sends changes as they happen (connectors.Config).
func (cfg *Config) UpdateInterval() time.Duration {
	if !cfg.Poll {
		return 0
	}
	return cfg.withDefaults().PollInterval
}

// Subscription is the sampling and publishing interval of a subscribed
// source, defaults applied; ok is false when it polls. Data-quality
// scorecards expect a subscribed point once per sampling interval.
func (cfg *Config) Subscription() (sampling, publishing time.Duration, ok bool) {
	c := cfg.withDefaults()
	return c.SamplingInterval, c.PublishingInterval, !c.Poll
}

// NewConnector returns New of a copy of cfg with Name, Nodes, DataDir and
// Logger set from its arguments (connectors.Config).
func (cfg *Config) NewConnector(name string, points []string, env connectors.Env) (connectors.Connector, error) {
	c := *cfg
	c.Name, c.Nodes, c.DataDir, c.Logger = name, slices.Clone(points), env.DataDir, env.Logger
	conn, err := New(c)
	if err != nil {
		return nil, err
	}
	return conn, nil
}
