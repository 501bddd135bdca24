package modbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultPollInterval = time.Second
	DefaultTimeout      = time.Second
	DefaultMaxGap       = 16
)

// Minimum values New accepts.
const (
	MinPollInterval = 10 * time.Millisecond
	MinTimeout      = 10 * time.Millisecond
)

// Config is one Modbus TCP device and the points read from it. The zero
// value of a duration or of MaxGap takes its default.
type Config struct {
	// Name identifies the device in readings (Reading.Source), health,
	// errors and logs. Required.
	Name string `yaml:"name" json:"name"`
	// Address is the device's host:port, e.g. "10.0.0.7:502". Required.
	Address string `yaml:"address" json:"address"`
	// UnitID is the unit (slave) id sent in every request, 0-255. Devices
	// behind a gateway need their own id; many direct devices accept any,
	// some only 1 or 255. Zero is sent as 0 (the sources file defaults it
	// to 1).
	UnitID byte `yaml:"unit_id" json:"unit_id"`
	// PollInterval is the time between the starts of two polls. Default
	// 1s, at least 10ms. A poll that overruns it skips the polls it
	// overlapped (counted in Stats.Skipped); polls never queue up.
	PollInterval time.Duration `yaml:"poll_interval" json:"poll_interval"`
	// Timeout bounds every dial and every request. Default 1s, at least
	// 10ms.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// MaxGap is how many unused registers a merged read may span between
	// two points (16×MaxGap unused bits in the coil and discrete tables).
	// Default 16; negative merges only adjacent and overlapping points.
	// Devices that refuse reads of unmapped registers answer with
	// exception 02, and the connector then splits the read by itself.
	MaxGap int `yaml:"max_gap" json:"max_gap"`
	// Points are the point strings "table:address:type[:order]" (see
	// ParseRegister). Each is Reading.Address, exactly as written here.
	// At least one; no duplicates.
	Points []string `yaml:"points" json:"points"`
	// Logger receives connection state changes and errors; nil is
	// slog.Default().
	Logger *slog.Logger `yaml:"-" json:"-"`
}

// DefaultConfig returns a Config with every default filled in; set Name,
// Address, UnitID and Points.
func DefaultConfig() Config {
	return Config{PollInterval: DefaultPollInterval, Timeout: DefaultTimeout, MaxGap: DefaultMaxGap}
}

// withDefaults returns c with its zero fields defaulted.
func (c Config) withDefaults() Config {
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxGap == 0 {
		c.MaxGap = DefaultMaxGap
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks c (after defaults) and returns every problem at once,
// each naming the device and, for points, the point. Validate does not
// contact the device.
func (c Config) Validate() error {
	_, err := c.withDefaults().parse()
	return err
}

// parse validates c and parses its points.
func (c Config) parse() ([]Register, error) {
	var errs []error
	name := c.Name
	if strings.TrimSpace(name) == "" {
		errs = append(errs, errors.New("name is empty"))
		name = c.Address
	}
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format, a...))
	}
	if host, port, err := net.SplitHostPort(c.Address); err != nil {
		bad("address %q: want host:port: %v", c.Address, err)
	} else if host == "" {
		bad("address %q: host is empty", c.Address)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		bad("address %q: port %q is not 1-65535", c.Address, port)
	}
	if c.PollInterval < MinPollInterval {
		bad("poll_interval %v: at least %v", c.PollInterval, MinPollInterval)
	}
	if c.Timeout < MinTimeout {
		bad("timeout %v: at least %v", c.Timeout, MinTimeout)
	}
	if len(c.Points) == 0 {
		bad("no points")
	}
	regs := make([]Register, len(c.Points))
	seen := make(map[string]int, len(c.Points))
	for i, p := range c.Points {
		if j, dup := seen[p]; dup {
			bad("point %d %q: duplicate of point %d", i+1, p, j+1)
			continue
		}
		seen[p] = i
		r, err := ParseRegister(p)
		if err != nil {
			bad("point %d: %w", i+1, err)
			continue
		}
		regs[i] = r
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("modbus device %q: %w", name, err)
	}
	return regs, nil
}
