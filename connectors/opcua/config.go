package opcua

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Security modes accepted in Config.SecurityMode.
const (
	ModeNone           = "None"
	ModeSign           = "Sign"
	ModeSignAndEncrypt = "SignAndEncrypt"
)

// Security policies accepted in Config.SecurityPolicy.
const (
	PolicyNone           = "None"
	PolicyBasic256Sha256 = "Basic256Sha256"
)

// Defaults applied by New to zero fields.
const (
	DefaultPublishingInterval = 500 * time.Millisecond
	DefaultQueueSize          = 10
	DefaultPollInterval       = time.Second
	DefaultTimeout            = 10 * time.Second
)

// Config configures one OPC UA endpoint. The zero value of every optional
// field takes the default documented on it; New reports every invalid
// field at once.
type Config struct {
	// Name identifies the endpoint in readings (Reading.Source) and logs.
	// Required.
	Name string `yaml:"name"`
	// URL of the endpoint, "opc.tcp://host:port[/path]". Required.
	URL string `yaml:"url"`
	// SecurityMode is None (default), Sign or SignAndEncrypt.
	SecurityMode string `yaml:"security_mode,omitempty"`
	// SecurityPolicy is None or Basic256Sha256. Default: None with mode
	// None, Basic256Sha256 otherwise.
	SecurityPolicy string `yaml:"security_policy,omitempty"`
	// Certificate and Key are the client's PEM certificate and RSA key
	// files. Both or neither. When neither is set and the mode is secure,
	// a self-signed certificate is generated into DataDir once and reused.
	Certificate string `yaml:"certificate,omitempty"`
	Key         string `yaml:"key,omitempty"`
	// DataDir holds the generated client certificate. Required for a
	// secure mode without Certificate and Key.
	DataDir string `yaml:"data_dir,omitempty"`
	// TrustDir holds the certificates (PEM or DER) of trusted servers. A
	// server whose certificate is not there is refused. Empty trusts any
	// server certificate and logs a warning once.
	TrustDir string `yaml:"trust_dir,omitempty"`
	// Username and Password log in as a user; an empty Username is
	// anonymous.
	Username string `yaml:"username,omitempty"`
	Password string `yaml:"password,omitempty"`
	// PublishingInterval of the subscription. Default 500ms.
	PublishingInterval time.Duration `yaml:"publishing_interval,omitempty"`
	// SamplingInterval of the monitored items. Default PublishingInterval/2.
	SamplingInterval time.Duration `yaml:"sampling_interval,omitempty"`
	// QueueSize of each monitored item on the server. Default 10.
	QueueSize uint32 `yaml:"queue_size,omitempty"`
	// Deadband is an absolute data-change deadband; 0 (default) reports
	// every change. Items whose type has no deadband get none.
	Deadband float64 `yaml:"deadband,omitempty"`
	// Poll reads the points every PollInterval instead of subscribing.
	Poll bool `yaml:"poll,omitempty"`
	// PollInterval between polls. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval,omitempty"`
	// Timeout of every request and of the no-data watchdog: a request
	// unanswered, or no notification and no keep-alive, for this long
	// drops the connection and reconnects. Default 10s.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// BrowseRoot, when set, reads every variable found by browsing below
	// this node ("nsu=<uri>;<id>"); their addresses are "nsu=<uri>;<id>"
	// and Info.BrowsePath is the path of browse names below the root.
	BrowseRoot string `yaml:"browse_root,omitempty"`
	// Nodes are the points read, as "nsu=<uri>;<id>" where <id> is
	// i=<number>, s=<string>, g=<guid> or b=<base64>. "ns=<index>;<id>"
	// is accepted with a warning: indexes can change when the server
	// restarts. Reading.Address is the string exactly as given here.
	Nodes []string `yaml:"nodes,omitempty"`
	// Logger receives the connector's log; nil uses slog.Default().
	Logger *slog.Logger `yaml:"-"`
}

// withDefaults returns cfg with defaults applied.
func (cfg Config) withDefaults() Config {
	if cfg.SecurityMode == "" {
		cfg.SecurityMode = ModeNone
	}
	if cfg.SecurityPolicy == "" {
		if cfg.SecurityMode == ModeNone {
			cfg.SecurityPolicy = PolicyNone
		} else {
			cfg.SecurityPolicy = PolicyBasic256Sha256
		}
	}
	if cfg.PublishingInterval == 0 {
		cfg.PublishingInterval = DefaultPublishingInterval
	}
	if cfg.SamplingInterval == 0 {
		cfg.SamplingInterval = cfg.PublishingInterval / 2
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// secure says the channel is signed or encrypted.
func (cfg Config) secure() bool { return cfg.SecurityMode != ModeNone }

// validate checks cfg (with defaults applied) and parses its nodes; it
// reports every problem at once, each naming the field or node.
func (cfg Config) validate() (nodes []nodeRef, root *nodeRef, err error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if strings.TrimSpace(cfg.Name) == "" {
		add("name: required")
	}
	if u, perr := url.Parse(cfg.URL); cfg.URL == "" {
		add("url: required")
	} else if perr != nil || u.Scheme != "opc.tcp" || u.Host == "" {
		add("url %q: want opc.tcp://host:port", cfg.URL)
	}
	switch cfg.SecurityMode {
	case ModeNone, ModeSign, ModeSignAndEncrypt:
	default:
		add("security_mode %q: want None, Sign or SignAndEncrypt", cfg.SecurityMode)
	}
	switch cfg.SecurityPolicy {
	case PolicyNone, PolicyBasic256Sha256:
	default:
		add("security_policy %q: want None or Basic256Sha256", cfg.SecurityPolicy)
	}
	if (cfg.SecurityMode == ModeNone) != (cfg.SecurityPolicy == PolicyNone) {
		add("security_mode %s with security_policy %s: None goes with None only", cfg.SecurityMode, cfg.SecurityPolicy)
	}
	if (cfg.Certificate == "") != (cfg.Key == "") {
		add("certificate and key: set both or neither")
	} else if cfg.Certificate != "" {
		if _, cerr := loadCertificate(cfg.Certificate); cerr != nil {
			add("certificate: %w", cerr)
		}
		if _, kerr := loadKey(cfg.Key); kerr != nil {
			add("key: %w", kerr)
		}
	} else if cfg.secure() && cfg.DataDir == "" {
		add("data_dir: required to keep a generated client certificate (security_mode %s without certificate and key)", cfg.SecurityMode)
	}
	if cfg.TrustDir != "" {
		if st, serr := os.Stat(cfg.TrustDir); serr != nil {
			add("trust_dir: %w", serr)
		} else if !st.IsDir() {
			add("trust_dir %s: not a directory", cfg.TrustDir)
		}
	}
	if cfg.Password != "" && cfg.Username == "" {
		add("password: set without username")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"publishing_interval", cfg.PublishingInterval},
		{"sampling_interval", cfg.SamplingInterval},
		{"poll_interval", cfg.PollInterval},
		{"timeout", cfg.Timeout},
	} {
		if d.v < 0 {
			add("%s: %v is negative", d.name, d.v)
		}
	}
	if cfg.Timeout > 0 && cfg.Timeout < 100*time.Millisecond {
		add("timeout: %v is below 100ms", cfg.Timeout)
	}
	if !cfg.Poll && cfg.Timeout > 0 && cfg.PublishingInterval*2 > cfg.Timeout {
		add("timeout: %v must be at least twice publishing_interval %v (keep-alives must arrive within it)", cfg.Timeout, cfg.PublishingInterval)
	}
	if cfg.Deadband < 0 {
		add("deadband: %v is negative", cfg.Deadband)
	}
	if len(cfg.Nodes) == 0 && cfg.BrowseRoot == "" {
		add("nodes: none configured and no browse_root")
	}
	seen := make(map[string]int, len(cfg.Nodes))
	for i, s := range cfg.Nodes {
		r, perr := parseNode(s)
		if perr != nil {
			add("nodes[%d]: %w", i, perr)
			continue
		}
		if j, dup := seen[s]; dup {
			add("nodes[%d] %q: duplicate of nodes[%d]", i, s, j)
			continue
		}
		seen[s] = i
		nodes = append(nodes, r)
	}
	if cfg.BrowseRoot != "" {
		r, perr := parseNode(cfg.BrowseRoot)
		if perr != nil {
			add("browse_root: %w", perr)
		} else {
			root = &r
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("opcua source %q: %w", cfg.Name, errors.Join(errs...))
	}
	return nodes, root, nil
}

// keyUsable says key works for OPC UA user-token and channel crypto on
// every stack: some servers take the key size from the length of D, so a
// key whose D has leading zero bytes breaks logins there.
func keyUsable(key *rsa.PrivateKey) bool { return len(key.D.Bytes()) == key.Size() }
