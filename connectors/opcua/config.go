package opcua

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/otwin/otwin/connectors"
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
	// DefaultMaxNotifications caps MaxNotificationsPerPublish when it is
	// not set. A response of 10,000 numeric changes is about 300 KB: well
	// within what a session carries (gopcua drops the connection when a
	// response passes the chunk count the server allows, e.g. 256 chunks
	// of 64 KB; without a stated limit it assumes 2 MB).
	DefaultMaxNotifications = 10000
	// MaxPublishRequests caps PublishRequests.
	MaxPublishRequests = 32
)

// Config configures one OPC UA endpoint. It is the "opcua" section of a
// sources file: the yaml keys below are the file's, and these comments
// are its documentation and its JSON schema. Name, Nodes, DataDir and
// Logger are not in the section (the file gives the source's name and
// points; the process its data directory and log). The zero value of
// every optional field takes the default documented on it; New reports
// every invalid field at once.
type Config struct {
	// Name identifies the endpoint in readings (Reading.Source) and logs.
	// Required.
	Name string `yaml:"-" json:"-"`
	// URL of the endpoint, "opc.tcp://host:port[/path]". Required.
	URL string `yaml:"url" json:"url"`
	// SecurityMode is None (default), Sign or SignAndEncrypt.
	SecurityMode string `yaml:"security_mode,omitempty" json:"security_mode,omitempty"`
	// SecurityPolicy is None or Basic256Sha256. Default: None with mode
	// None, Basic256Sha256 otherwise.
	SecurityPolicy string `yaml:"security_policy,omitempty" json:"security_policy,omitempty"`
	// Certificate is the PEM file of the client's certificate, set with
	// Key. When neither is set and the mode is secure, a self-signed
	// certificate is generated into the data directory once and reused.
	Certificate string `yaml:"certificate,omitempty" json:"certificate,omitempty"`
	// Key is the PEM file of Certificate's RSA private key.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// DataDir holds the generated client certificate. Required for a
	// secure mode without Certificate and Key.
	DataDir string `yaml:"-" json:"-"`
	// TrustDir holds the certificates (PEM or DER) of trusted servers. A
	// server whose certificate is not there is refused. Unset trusts any
	// server certificate and logs a warning once.
	TrustDir string `yaml:"trust_dir,omitempty" json:"trust_dir,omitempty"`
	// Username logs in as a user; unset is anonymous.
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	// Password of Username.
	Password string `yaml:"password,omitempty" json:"password,omitempty"`
	// PublishingInterval of the subscription. Default 500ms.
	PublishingInterval time.Duration `yaml:"publishing_interval,omitempty" json:"publishing_interval,omitempty"`
	// SamplingInterval of the monitored items. Default
	// PublishingInterval/2.
	SamplingInterval time.Duration `yaml:"sampling_interval,omitempty" json:"sampling_interval,omitempty"`
	// QueueSize of each monitored item on the server. Default 10.
	QueueSize uint32 `yaml:"queue_size,omitempty" json:"queue_size,omitempty"`
	// MaxNotificationsPerPublish is the most notifications one Publish
	// response may carry. Default: the subscription's items × queue_size,
	// at most 10,000 (about 300 KB of numeric changes; a response larger
	// than the session carries drops the connection).
	MaxNotificationsPerPublish uint32 `yaml:"max_notifications_per_publish,omitempty" json:"max_notifications_per_publish,omitempty"`
	// MaxItemsPerSubscription is the most points one subscription holds;
	// more points are spread over several subscriptions. Default: what
	// three quarters of max_notifications_per_publish carry in one
	// publishing interval when every point changes every sampling interval
	// (at most queue_size values a point), so that every subscription
	// keeps up even with a server that sends one response per publishing
	// interval.
	MaxItemsPerSubscription int `yaml:"max_items_per_subscription,omitempty" json:"max_items_per_subscription,omitempty"`
	// PublishRequests is how many Publish requests are kept at the server,
	// so that it can answer at once when it has more to send than one
	// response holds. Default: one per subscription and one more, at most
	// 32.
	PublishRequests int `yaml:"publish_requests,omitempty" json:"publish_requests,omitempty"`
	// Deadband is an absolute data-change deadband; 0 (default) reports
	// every change. Items whose type has no deadband get none.
	Deadband float64 `yaml:"deadband,omitempty" json:"deadband,omitempty"`
	// Poll reads the points every PollInterval instead of subscribing (a
	// fallback for servers without subscriptions).
	Poll bool `yaml:"poll,omitempty" json:"poll,omitempty"`
	// PollInterval between polls. Default 1s.
	PollInterval time.Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty"`
	// Timeout of every request and of the no-data watchdog: a request
	// unanswered, or no notification and no keep-alive, for this long
	// drops the connection and reconnects. Default 10s, at least 100ms
	// and, when subscribing, at least twice PublishingInterval.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// BrowseRoot, when set, reads every variable found by browsing below
	// this node ("nsu=<uri>;<id>"); their addresses are "nsu=<uri>;<id>"
	// and Info.BrowsePath is the path of browse names below the root.
	// Configured points then only override mappings.
	BrowseRoot string `yaml:"browse_root,omitempty" json:"browse_root,omitempty"`
	// AssetPrefix is the asset path browsed variables hang under: a
	// variable at browse path "filler1/speed" becomes tag id
	// "<asset_prefix>/filler1/speed". Only with BrowseRoot; the
	// connector itself does not use it.
	AssetPrefix string `yaml:"asset_prefix,omitempty" json:"asset_prefix,omitempty"`
	// Alarms relays the server's alarms (OPC UA Alarms and Conditions:
	// the events of its Server object) into the alert list, and passes
	// acknowledgements and confirmations to the server. Unset: when the
	// server's Server object is an event notifier; false: never; true:
	// always (a server that refuses says so in the log). Needs a
	// subscription: not with poll.
	Alarms *bool `yaml:"alarms,omitempty" json:"alarms,omitempty"`
	// Nodes are the points read (see ParseNode). Reading.Address is the
	// string exactly as given here.
	Nodes []string `yaml:"-" json:"-"`
	// Logger receives the connector's log; nil uses slog.Default().
	Logger *slog.Logger `yaml:"-" json:"-"`
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

// subscriptionPlan is how a session's items are subscribed.
type subscriptionPlan struct {
	// perSub is the most items one subscription holds.
	perSub int
	// maxNotif caps each subscription's MaxNotificationsPerPublish.
	maxNotif uint32
	// subs is the number of subscriptions; inflight the Publish requests
	// kept at the server.
	subs, inflight int
}

// plan sizes the subscriptions of n items (cfg with defaults applied):
// see MaxNotificationsPerPublish, MaxItemsPerSubscription and
// PublishRequests. It is a pure function.
func (cfg Config) plan(n int) subscriptionPlan {
	p := subscriptionPlan{maxNotif: cfg.MaxNotificationsPerPublish, perSub: cfg.MaxItemsPerSubscription, inflight: cfg.PublishRequests}
	if p.maxNotif == 0 {
		p.maxNotif = DefaultMaxNotifications
	}
	if p.perSub <= 0 {
		// The values a point sends in one publishing interval.
		per := int64(cfg.QueueSize)
		if cfg.SamplingInterval > 0 {
			per = min(per, int64((cfg.PublishingInterval+cfg.SamplingInterval-1)/cfg.SamplingInterval))
		}
		p.perSub = int(max(1, int64(p.maxNotif)*3/4/max(per, 1)))
	}
	p.subs = max(1, (n+p.perSub-1)/p.perSub)
	if p.inflight <= 0 {
		p.inflight = min(p.subs+1, MaxPublishRequests)
	}
	return p
}

// secure says the channel is signed or encrypted.
func (cfg Config) secure() bool { return cfg.SecurityMode != ModeNone }

// Check checks the settings of cfg as a sources file writes them, after
// defaults: without Name, Nodes and DataDir, and without reading the
// files it names. It returns every problem at once, each a
// *connectors.FieldError at its key (connectors.Config).
func (cfg *Config) Check() error {
	c := cfg.withDefaults()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, connectors.FieldErrorf(key, format, args...))
	}

	if c.URL == "" {
		add("", "opcua needs a url (opc.tcp://host:4840)")
	} else if err := checkURL(c.URL); err != nil {
		add("url", "%v", err)
	}
	switch c.SecurityMode {
	case ModeNone, ModeSign, ModeSignAndEncrypt:
	default:
		add("security_mode", "security_mode %q: want None, Sign or SignAndEncrypt", c.SecurityMode)
	}
	switch c.SecurityPolicy {
	case PolicyNone, PolicyBasic256Sha256:
	default:
		add("security_policy", "security_policy %q: want None or Basic256Sha256", c.SecurityPolicy)
	}
	switch {
	case c.SecurityMode != ModeNone && c.SecurityPolicy == PolicyNone:
		add("security_policy", "security_mode %s needs security_policy Basic256Sha256", c.SecurityMode)
	case c.SecurityMode == ModeNone && c.SecurityPolicy == PolicyBasic256Sha256:
		add("security_mode", "security_policy %s needs security_mode Sign or SignAndEncrypt", c.SecurityPolicy)
	}
	if (c.Certificate == "") != (c.Key == "") {
		add("", "certificate and key: set both or neither")
	}
	if c.Password != "" && c.Username == "" {
		add("password", "password: set without username")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"publishing_interval", c.PublishingInterval},
		{"sampling_interval", c.SamplingInterval},
		{"poll_interval", c.PollInterval},
		{"timeout", c.Timeout},
	} {
		if d.v < 0 {
			add(d.key, "%s: %v is negative", d.key, d.v)
		}
	}
	if c.Timeout > 0 && c.Timeout < 100*time.Millisecond {
		add("timeout", "timeout: %v is below 100ms", c.Timeout)
	}
	if !c.Poll && c.Timeout > 0 && c.PublishingInterval*2 > c.Timeout {
		add("timeout", "timeout: %v must be at least twice publishing_interval %v (keep-alives must arrive within it)", c.Timeout, c.PublishingInterval)
	}
	if c.MaxItemsPerSubscription < 0 {
		add("max_items_per_subscription", "max_items_per_subscription: %d is negative", c.MaxItemsPerSubscription)
	}
	if c.PublishRequests < 0 || c.PublishRequests > MaxPublishRequests {
		add("publish_requests", "publish_requests: %d is not 0-%d", c.PublishRequests, MaxPublishRequests)
	}
	if c.Deadband < 0 || math.IsNaN(c.Deadband) || math.IsInf(c.Deadband, 0) {
		add("deadband", "deadband: %v: want a number >= 0", c.Deadband)
	}
	if c.BrowseRoot != "" {
		if _, err := parseNode(c.BrowseRoot); err != nil {
			add("browse_root", "browse_root: %w", err)
		}
	}
	if c.Alarms != nil && *c.Alarms && c.Poll {
		add("alarms", "alarms: true needs a subscription (alarms are events); not with poll")
	}
	if c.AssetPrefix != "" && c.BrowseRoot == "" {
		add("asset_prefix", "asset_prefix needs browse_root")
	}
	return errors.Join(errs...)
}

// checkURL checks an endpoint URL: opc.tcp, a host, a port 1-65535.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %v", s, err)
	}
	if u.Scheme != "opc.tcp" {
		return fmt.Errorf("url %q: scheme must be opc.tcp", s)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url %q: no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("url %q: port %q is not 1-65535", s, p)
		}
	}
	return nil
}

// validate checks cfg (with defaults applied) — its settings, name, nodes
// and the files it names — and parses its nodes; it reports every problem
// at once, each naming the field or node.
func (cfg Config) validate() (nodes []nodeRef, root *nodeRef, err error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if strings.TrimSpace(cfg.Name) == "" {
		add("name: required")
	}
	if err := cfg.Check(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Certificate != "" && cfg.Key != "" {
		if _, cerr := loadCertificate(cfg.Certificate); cerr != nil {
			add("certificate: %w", cerr)
		}
		if _, kerr := loadKey(cfg.Key); kerr != nil {
			add("key: %w", kerr)
		}
	} else if cfg.Certificate == "" && cfg.Key == "" && cfg.secure() && cfg.DataDir == "" {
		add("data_dir: required to keep a generated client certificate (security_mode %s without certificate and key)", cfg.SecurityMode)
	}
	if cfg.TrustDir != "" {
		if st, serr := os.Stat(cfg.TrustDir); serr != nil {
			add("trust_dir: %w", serr)
		} else if !st.IsDir() {
			add("trust_dir %s: not a directory", cfg.TrustDir)
		}
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
		if r, perr := parseNode(cfg.BrowseRoot); perr == nil {
			root = &r
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("opcua source %q: %w", cfg.Name, errors.Join(errs...))
	}
	return nodes, root, nil
}
