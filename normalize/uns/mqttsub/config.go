package mqttsub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
)

// Defaults of Config.
const (
	// DefaultMaxPayload bounds a message the reader decodes; larger ones
	// are counted and skipped.
	DefaultMaxPayload = 256 << 10
	// DefaultMaxTags bounds the tags the reader keeps; samples of further
	// topics are counted and skipped.
	DefaultMaxTags = 1_000_000
	// DefaultCommandTimeout is how long an action waits for the owning
	// collector's answer.
	DefaultCommandTimeout = 10 * time.Second
	// DefaultCommandExpiry is how long after it was sent a command may
	// still be carried out (a collector away gets it when it is back).
	DefaultCommandExpiry = 30 * time.Second
)

// Config configures a Reader. Its fields are the --broker URL and the
// --mqtt-* flags of `otwin watch mqtt://…` and `otwin ssh --broker …`.
type Config struct {
	// Settings say how to reach the broker (URL, TLS, credentials).
	mqttconn.Settings
	// Prefix is the first topic levels the reader subscribes under
	// ("<prefix>/#"; empty: every topic). Tag ids are the topics after
	// it.
	Prefix string
	// Node is this dashboard's name: users act on other collectors'
	// alerts as "<user>@<node>", and the answers come to its reply
	// topics. Default: the host name.
	Node string
	// ClientID is the MQTT client id. Default "otwin-<node>-reader-<random>"
	// (a clean session: the broker's retained messages give the picture
	// at every connection).
	ClientID string
	// MaxPayload bounds a message's payload. Default DefaultMaxPayload.
	MaxPayload int
	// MaxTags bounds the tags kept. Default DefaultMaxTags.
	MaxTags int
	// CommandTimeout is how long an action waits for the owner's answer.
	// Default DefaultCommandTimeout.
	CommandTimeout time.Duration
	// CommandExpiry is how long after it was sent a command may be
	// carried out. Default DefaultCommandExpiry.
	CommandExpiry time.Duration
	// Logger logs connection changes and skipped messages (at most one
	// line every 10s); nil discards.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnEvent, when set, gets every sample, alert transition and
	// scorecard the reader takes, in the order it takes them, as the
	// pipeline's events (otwin watch mqtt://… --headless); a scorecard
	// event carries every collector's scorecards side by side (Report).
	// It is called with the reader's lock held and must not call the
	// reader. AfterEvents, when set, is called after each batch of them
	// (at least every 50 ms while messages come).
	OnEvent     func(pipeline.Event)
	AfterEvents func()
}

func (cfg Config) withDefaults() Config {
	if cfg.Node == "" {
		cfg.Node = mqttconn.DefaultNode()
	}
	if cfg.ClientID == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		cfg.ClientID = "otwin-" + cfg.Node + "-reader-" + hex.EncodeToString(b[:])
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.MaxTags <= 0 {
		cfg.MaxTags = DefaultMaxTags
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.CommandExpiry <= 0 {
		cfg.CommandExpiry = DefaultCommandExpiry
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = mqttconn.DefaultConnectTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// Validate reports every problem of cfg at once.
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	errs := cfg.Settings.Check()
	if _, err := uns.NewTopics(cfg.Prefix, cfg.Node); err != nil {
		errs = append(errs, err)
	}
	if cfg.CommandExpiry < cfg.CommandTimeout {
		errs = append(errs, fmt.Errorf("command expiry %s shorter than the wait for an answer %s", cfg.CommandExpiry, cfg.CommandTimeout))
	}
	return errors.Join(errs...)
}
