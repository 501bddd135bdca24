// Package browse reads the address space of a live OPC UA server for
// package uaimport: it browses the objects and variables below a root
// (the Objects folder by default) through hierarchical references, the
// ObjectTypes of the objects with their InstanceDeclarations and modelling
// rules, the data types of the variables up to OPC UA's own (with the
// EnumStrings or EnumValues of enumerations), the attributes the mapping
// needs (DataType, ValueRank, AccessLevel, Description, Value and the
// EngineeringUnits, EURange properties), and then samples the variables'
// values for a while so that uaimport can propose models.
//
// It is an OPC UA client (github.com/gopcua/opcua) with security mode,
// policy, user name and password. It belongs to the simulator half: it
// imports uaimport and gopcua, never connectors/ or normalize/.
//
// A server is trusted to answer within Config.Timeout per request, and the
// browse is bounded by Config.MaxNodes. gopcua's decoder panics in a
// library goroutine on some malformed messages (see the project's notes on
// dependencies): a hostile server can end the import process, which holds
// nothing that could be lost.
package browse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios/uaimport"
)

// Config says which server to browse and how.
type Config struct {
	// URL is the endpoint, e.g. "opc.tcp://plc1:4840".
	URL string
	// SecurityMode is None (default), Sign or SignAndEncrypt.
	SecurityMode string
	// SecurityPolicy is None, Basic256Sha256 (the default with Sign or
	// SignAndEncrypt), Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss.
	SecurityPolicy string
	// Username and Password log in with a user name; empty: anonymous.
	Username, Password string
	// Certificate and Key are PEM files of the client's certificate and
	// RSA key for Sign and SignAndEncrypt; empty: a self-signed
	// certificate made for this run (the server must accept it).
	Certificate, Key string
	// Root is the node whose descendants are imported, e.g.
	// "nsu=urn:acme:line1;s=Line1" or "ns=2;i=5001"; "" is the Objects
	// folder.
	Root string
	// Timeout bounds each request. Default 10s.
	Timeout time.Duration
	// SampleFor is how long values are sampled; 0 reads each value once.
	SampleFor time.Duration
	// SampleEvery is the interval between samples. Default 250ms.
	SampleEvery time.Duration
	// MaxNodes is the most nodes browsed. Default 100,000.
	MaxNodes int
	// Log receives progress at debug level; nil discards it.
	Log *slog.Logger
}

// Defaults.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultSampleEvery = 250 * time.Millisecond
	DefaultMaxNodes    = 100_000
	// maxDepth bounds the nesting browsed below the root.
	maxDepth = 64
	// browseBatch and readBatch are the nodes per Browse and the
	// attributes per Read request (well below the limits servers state).
	browseBatch = 200
	readBatch   = 1000
)

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = DefaultSampleEvery
	}
	if c.MaxNodes <= 0 {
		c.MaxNodes = DefaultMaxNodes
	}
	if c.SecurityMode == "" {
		c.SecurityMode = "None"
	}
	if c.SecurityPolicy == "" {
		c.SecurityPolicy = "None"
		if c.SecurityMode != "None" {
			c.SecurityPolicy = "Basic256Sha256"
		}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Check reports what is wrong with the configuration.
func (c Config) Check() error {
	c = c.withDefaults()
	var errs []error
	if !strings.HasPrefix(c.URL, "opc.tcp://") {
		errs = append(errs, fmt.Errorf("url %q: want opc.tcp://host:port", c.URL))
	}
	switch c.SecurityMode {
	case "None", "Sign", "SignAndEncrypt":
	default:
		errs = append(errs, fmt.Errorf("security mode %q: want None, Sign or SignAndEncrypt", c.SecurityMode))
	}
	switch {
	case c.SecurityMode == "None" && c.SecurityPolicy != "None":
		errs = append(errs, fmt.Errorf("security policy %s needs mode Sign or SignAndEncrypt", c.SecurityPolicy))
	case c.SecurityMode != "None" && c.SecurityPolicy == "None":
		errs = append(errs, fmt.Errorf("security mode %s needs a policy other than None", c.SecurityMode))
	}
	if (c.Certificate == "") != (c.Key == "") {
		errs = append(errs, errors.New("give both the certificate and the key, or neither"))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("a password without a user name"))
	}
	return errors.Join(errs...)
}

// Browse reads the server's address space below cfg.Root, samples the
// variables for cfg.SampleFor, and returns the space (its findings list
// the nodes the server refused). The error says why the server could not
// be read at all. ctx cancels it.
func Browse(ctx context.Context, cfg Config) (*uaimport.Space, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cl, err := dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.URL, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = cl.Close(cctx)
		cancel()
	}()
	b := &browser{cfg: cfg, cl: cl, space: uaimport.NewSpace(cfg.URL), ids: map[uaimport.NodeID]*ua.NodeID{}}
	if err := b.run(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.URL, err)
	}
	return b.space, nil
}

// browser is the state of one Browse.
type browser struct {
	cfg   Config
	cl    *opcua.Client
	ns    []string
	space *uaimport.Space
	// ids are the server's node ids of the space's nodes.
	ids map[uaimport.NodeID]*ua.NodeID
}

func (b *browser) run(ctx context.Context) error {
	ns, err := b.namespaces(ctx)
	if err != nil {
		return fmt.Errorf("read the NamespaceArray: %w", err)
	}
	b.ns = ns
	b.space.Namespaces = ns
	root, err := b.root()
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := b.tree(ctx, root); err != nil {
		return err
	}
	if err := b.types(ctx); err != nil {
		return err
	}
	if err := b.attributes(ctx); err != nil {
		return err
	}
	b.cfg.Log.Debug("browsed", "nodes", len(b.space.Nodes), "took", time.Since(start))
	return b.sample(ctx)
}

// namespaces reads the server's NamespaceArray.
func (b *browser) namespaces(ctx context.Context) ([]string, error) {
	rctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	return b.cl.NamespaceArray(rctx)
}

// root resolves cfg.Root.
func (b *browser) root() (uaimport.NodeID, error) {
	if b.cfg.Root == "" {
		b.ids[uaimport.ObjectsFolder] = ua.NewNumericNodeID(0, 85)
		return uaimport.ObjectsFolder, nil
	}
	id, err := uaimport.ParseNodeID(b.cfg.Root, b.ns)
	if err != nil {
		return uaimport.NodeID{}, fmt.Errorf("root: %w", err)
	}
	nid, err := b.parse(id)
	if err != nil {
		return uaimport.NodeID{}, fmt.Errorf("root %q: %w", b.cfg.Root, err)
	}
	b.ids[id] = nid
	b.space.Root = id
	return id, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// nodeID converts a server node id; false when its namespace index is
// not in the NamespaceArray.
func (b *browser) nodeID(n *ua.NodeID) (uaimport.NodeID, bool) {
	if n == nil || int(n.Namespace()) >= len(b.ns) {
		return uaimport.NodeID{}, false
	}
	s := n.String()
	if i := strings.IndexByte(s, ';'); strings.HasPrefix(s, "ns=") && i > 0 {
		s = s[i+1:]
	}
	return uaimport.NodeID{NS: b.ns[n.Namespace()], ID: s}, true
}

// expanded converts a browse result's node id; false for a node on
// another server or in an unknown namespace.
func (b *browser) expanded(e *ua.ExpandedNodeID) (uaimport.NodeID, *ua.NodeID, bool) {
	if e == nil || e.NodeID == nil || e.ServerIndex != 0 {
		return uaimport.NodeID{}, nil, false
	}
	if e.NamespaceURI != "" {
		idx := indexOf(b.ns, e.NamespaceURI)
		if idx < 0 {
			return uaimport.NodeID{}, nil, false
		}
		n, err := ua.ParseNodeID(fmt.Sprintf("ns=%d;%s", idx, idPart(e.NodeID)))
		if err != nil {
			return uaimport.NodeID{}, nil, false
		}
		id, ok := b.nodeID(n)
		return id, n, ok
	}
	id, ok := b.nodeID(e.NodeID)
	return id, e.NodeID, ok
}

// idPart is a node id's identifier with its prefix ("s=line1").
func idPart(n *ua.NodeID) string {
	s := n.String()
	if i := strings.IndexByte(s, ';'); strings.HasPrefix(s, "ns=") && i > 0 {
		return s[i+1:]
	}
	return s
}

// finding records a node the server would not give.
func (b *browser) finding(id uaimport.NodeID, name, format string, args ...any) {
	b.space.Findings = append(b.space.Findings, uaimport.Finding{
		Source: b.cfg.URL, Node: id, Name: name, Severity: uaimport.Dropped, Reason: fmt.Sprintf(format, args...),
	})
}
