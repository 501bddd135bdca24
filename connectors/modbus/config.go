package modbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/otwin/otwin/connectors"
)

// Defaults of Config's zero fields.
const (
	DefaultPollInterval = time.Second
	DefaultTimeout      = time.Second
	DefaultMaxGap       = 16
	// DefaultUnitID is the unit id of DefaultConfig, and so of a sources
	// file that sets none.
	DefaultUnitID = 1
)

// Minimum values New accepts.
const (
	MinPollInterval = 10 * time.Millisecond
	MinTimeout      = 10 * time.Millisecond
)

// Config is one Modbus TCP device and the points read from it. It is the
// "modbus" section of a sources file: the yaml keys below are the file's,
// and these comments are its documentation and its JSON schema. Name,
// Points and Logger are not in the section (the file gives the source's
// name and points). The zero value of a duration or of MaxGap takes its
// default.
type Config struct {
	// Name identifies the device in readings (Reading.Source), health,
	// errors and logs. Required.
	Name string `yaml:"-" json:"-"`
	// Address is the device's host:port, e.g. "10.0.0.7:502". Required.
	Address string `yaml:"address" json:"address"`
	// UnitID is the unit (slave) id sent in every request, 0-255, sent as
	// is (0 too). Default 1 (DefaultConfig). Devices behind a gateway
	// need their own id; many direct devices accept any, some only 1 or
	// 255.
	UnitID int `yaml:"unit_id" json:"unit_id,omitempty"`
	// PollInterval is the time between the starts of two polls. Default
	// 1s, at least 10ms. A poll that overruns it skips the polls it
	// overlapped (counted in Stats.Skipped); polls never queue up.
	PollInterval time.Duration `yaml:"poll_interval,omitempty" json:"poll_interval,omitempty"`
	// Timeout bounds every dial and every request. Default 1s, at least
	// 10ms.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxGap is how many unused registers a merged read may span between
	// two points (16×MaxGap unused bits in the coil and discrete tables).
	// Default 16; negative merges only adjacent and overlapping points.
	// Devices that refuse reads of unmapped registers answer with
	// exception 02, and the connector then splits the read by itself.
	MaxGap int `yaml:"max_gap,omitempty" json:"max_gap,omitempty"`
	// Points are the point strings "table:address:type[:order]" (see
	// ParseRegister). Each is Reading.Address, exactly as written here.
	// At least one; no duplicates.
	Points []string `yaml:"-" json:"-"`
	// Logger receives connection state changes and errors; nil is
	// slog.Default().
	Logger *slog.Logger `yaml:"-" json:"-"`
}

// DefaultConfig returns a Config with every default filled in, unit id 1
// included; set Name, Address and Points.
func DefaultConfig() Config {
	return Config{UnitID: DefaultUnitID, PollInterval: DefaultPollInterval, Timeout: DefaultTimeout, MaxGap: DefaultMaxGap}
}

// withDefaults returns c with its zero fields defaulted (not UnitID: 0 is
// a unit id).
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

// Check checks the device settings of c as a sources file writes them,
// after defaults and without Name and Points. It returns every problem at
// once, each a *connectors.FieldError at its key (connectors.Config).
func (c *Config) Check() error {
	d := c.withDefaults()
	var errs []error
	bad := func(key, format string, a ...any) { errs = append(errs, connectors.FieldErrorf(key, format, a...)) }
	if d.Address == "" {
		bad("", "modbus needs an address (host:502)")
	} else if host, port, err := net.SplitHostPort(d.Address); err != nil {
		bad("address", "address %q: want host:port: %v", d.Address, err)
	} else if host == "" {
		bad("address", "address %q: host is empty", d.Address)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		bad("address", "address %q: port %q is not 1-65535", d.Address, port)
	}
	if d.UnitID < 0 || d.UnitID > 255 {
		bad("unit_id", "unit_id %d is not 0-255", d.UnitID)
	}
	if d.PollInterval < MinPollInterval {
		bad("poll_interval", "poll_interval %v: at least %v", d.PollInterval, MinPollInterval)
	}
	if d.Timeout < MinTimeout {
		bad("timeout", "timeout %v: at least %v", d.Timeout, MinTimeout)
	}
	return errors.Join(errs...)
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
	if err := c.Check(); err != nil {
		errs = append(errs, err)
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
