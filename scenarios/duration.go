package scenarios

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in YAML as a Go duration string
// ("250ms", "1.5s", "2m", "1h30m"). A plain number is seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as a duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration string such as "1.5s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use a number with a unit, e.g. 500ms, 2s, 1m30s)", b)
	}
	*d = Duration(v)
	return nil
}
