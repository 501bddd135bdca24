package opcuaserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin/alarms"
)

// The security modes of Config.Security, the scenario format's. Signed
// modes use Basic256Sha256.
const (
	SecurityNone        = scenarios.SecurityNone
	SecuritySign        = scenarios.SecuritySign
	SecuritySignEncrypt = scenarios.SecuritySignEncrypt
)

// Config configures one OPC UA endpoint of the twin.
type Config struct {
	// Machines are the names of the machines served on this endpoint.
	Machines []string `yaml:"machines"`
	// Host is the address to listen on. Default 127.0.0.1.
	Host string `yaml:"host,omitempty"`
	// AdvertiseHost is the host name in the endpoint URL clients are
	// given. Default: Host, or the machine's host name when Host is an
	// unspecified address (0.0.0.0, ::).
	AdvertiseHost string `yaml:"advertise_host,omitempty"`
	// Port to listen on; 0 picks a free port (see Server.URL).
	Port int `yaml:"port,omitempty"`
	// Namespace is the namespace URI of the nodes of served machines whose
	// MachineInfo.OPCUA gives none (each machine's nodes are in its own
	// namespace). Default "urn:otwin:twin".
	Namespace string `yaml:"namespace,omitempty"`
	// DataDir keeps the server's certificate and key (PEM), generated on
	// first use. Default: <user cache dir>/otwin/opcua.
	DataDir string `yaml:"data_dir,omitempty"`
	// TrustedDir, when set, holds the client certificates accepted by the
	// signed modes; unset, any client certificate is accepted (the twin is
	// a test fixture).
	TrustedDir string `yaml:"trusted_dir,omitempty"`
	// Security lists the accepted modes: none, sign, sign_encrypt.
	// Default all three.
	Security []string `yaml:"security,omitempty"`
	// Anonymous allows anonymous sessions (read-only unless
	// AnonymousWrite).
	Anonymous bool `yaml:"anonymous,omitempty"`
	// AnonymousWrite lets anonymous sessions write writable tags.
	AnonymousWrite bool `yaml:"anonymous_write,omitempty"`
	// Users may log in with a user name and password.
	Users []User `yaml:"users,omitempty"`
	// MaxSessions bounds the sessions. Default 100.
	MaxSessions int `yaml:"max_sessions,omitempty"`
	// MaxSubscriptions bounds the subscriptions. Default 200.
	MaxSubscriptions int `yaml:"max_subscriptions,omitempty"`
	// MaxConnections bounds the open TCP connections. When all are taken,
	// the connection idle the longest makes room for a new one; a new
	// connection is refused only when every one is live. Default 64.
	MaxConnections int `yaml:"max_connections,omitempty"`
	// IdleAfter is how long a connection may send nothing, while it waits
	// for no response, before it counts as idle; a connection is idle
	// until it opens a secure channel (a Hello alone does not count).
	// Default 10s.
	IdleAfter time.Duration `yaml:"idle_after,omitempty"`
	// HelloTimeout bounds the wait for a client's first message. Default
	// 10s.
	HelloTimeout time.Duration `yaml:"hello_timeout,omitempty"`
	// EventHistory is what HistoryRead of events reads; nil: the server's
	// own EventLog (Server.EventLog).
	EventHistory EventHistory `yaml:"-"`
	// Alarms are the twin's alarms: those of the served machines are
	// served as conditions, and ConditionRefresh is answered (alarms.go).
	// nil: no alarms.
	Alarms *alarms.Set `yaml:"-"`
	// SendTimeout bounds each write to a client; a client that reads
	// nothing for that long is disconnected. Default 10s.
	SendTimeout time.Duration `yaml:"send_timeout,omitempty"`
	// MaxSessionTimeout caps the session timeout a client may ask for:
	// a session nobody uses for that long is closed. Default 2m, at
	// least 10s.
	MaxSessionTimeout time.Duration `yaml:"max_session_timeout,omitempty"`
	// MaxSubscriptionLifetime caps how long a subscription outlives its
	// client: one that gets no Publish request for that long (keep-alive
	// and lifetime counts revised to fit) is deleted with its monitored
	// items. Default 2m, at least 10s (the stack's minimum lifetime; at
	// exactly 10s one publishing interval more).
	MaxSubscriptionLifetime time.Duration `yaml:"max_subscription_lifetime,omitempty"`
	// Logger receives the server's log. Default slog.Default().
	Logger *slog.Logger `yaml:"-"`
}

// Defaults of the caps on what clients may ask for.
const (
	DefaultMaxSessionTimeout       = 2 * time.Minute
	DefaultMaxSubscriptionLifetime = 2 * time.Minute
)

// User is a user who may log in with a password.
type User struct {
	// Name is the user name.
	Name string `yaml:"name"`
	// Password is the user's password.
	Password string `yaml:"password"`
	// Write lets the user write writable tags.
	Write bool `yaml:"write,omitempty"`
}

// DefaultConfig returns a Config serving machines on 127.0.0.1, any free
// port, every security mode, anonymous read-only access.
func DefaultConfig(machines ...string) Config {
	return Config{
		Machines:  machines,
		Host:      "127.0.0.1",
		Anonymous: true,
	}
}

// ApplySettings copies a resolved scenario's OPC UA settings (security
// modes, anonymous access and writes, users and their write right, the
// caps on connections, sessions and subscriptions) into c.
func (c *Config) ApplySettings(s scenarios.OPCUASettings) {
	c.Security = slices.Clone(s.Security)
	if s.Anonymous != nil {
		c.Anonymous = *s.Anonymous
	}
	c.AnonymousWrite = s.AnonymousWrite
	c.Users = c.Users[:0]
	for _, u := range s.Users {
		c.Users = append(c.Users, User{Name: u.Name, Password: u.Password, Write: u.Write == nil || *u.Write})
	}
	c.applyLimits(s)
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.AdvertiseHost == "" {
		c.AdvertiseHost = c.Host
		if ip := net.ParseIP(c.Host); ip != nil && ip.IsUnspecified() {
			if h, err := os.Hostname(); err == nil {
				c.AdvertiseHost = h
			}
		}
	}
	if c.Namespace == "" {
		c.Namespace = "urn:otwin:twin"
	}
	if c.DataDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		c.DataDir = filepath.Join(dir, "otwin", "opcua")
	}
	if len(c.Security) == 0 {
		c.Security = []string{SecurityNone, SecuritySign, SecuritySignEncrypt}
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 100
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = 200
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 64
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 10 * time.Second
	}
	if c.MaxSessionTimeout <= 0 {
		c.MaxSessionTimeout = DefaultMaxSessionTimeout
	}
	if c.MaxSubscriptionLifetime <= 0 {
		c.MaxSubscriptionLifetime = DefaultMaxSubscriptionLifetime
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Machines) == 0 {
		errs = append(errs, errors.New("no machines"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d outside 0-65535", c.Port))
	}
	if c.MaxSessionTimeout != 0 && c.MaxSessionTimeout < stackMinSessionTimeout {
		errs = append(errs, fmt.Errorf("max session timeout %v below %v", c.MaxSessionTimeout, stackMinSessionTimeout))
	}
	if c.MaxSubscriptionLifetime != 0 && c.MaxSubscriptionLifetime < stackMinLifetime {
		errs = append(errs, fmt.Errorf("max subscription lifetime %v below %v", c.MaxSubscriptionLifetime, stackMinLifetime))
	}
	for _, s := range c.Security {
		switch s {
		case SecurityNone, SecuritySign, SecuritySignEncrypt:
		default:
			errs = append(errs, fmt.Errorf("security mode %q (want none, sign or sign_encrypt)", s))
		}
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("user %d has no name", i+1))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("user %q defined twice", u.Name))
		}
		seen[u.Name] = true
	}
	if !c.Anonymous && len(c.Users) == 0 {
		errs = append(errs, errors.New("anonymous access disabled and no users: nobody can log in"))
	}
	return errors.Join(errs...)
}
