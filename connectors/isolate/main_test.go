package isolate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/connectors/isolate"
)

// TestMain makes the test binary a connector child when started as one
// (isolate.Options' default command is this program with ChildArg).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == isolate.ChildArg {
		if err := isolate.Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// A race-enabled child waits a second at exit by default.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

// scriptConfig is the configuration of the "script" kind, a connector
// that does what the test asks: deliver readings, and misbehave as a
// client library under attack does. It runs in the test process or, with
// isolation, in a child (the same binary).
type scriptConfig struct {
	// Every is the time between readings; 0 sends as fast as the reader
	// takes them.
	Every time.Duration `json:"every,omitempty"`
	// Count stops sending after this many readings (0: never stop).
	Count int `json:"count,omitempty"`
	// While names a file: the misbehaviour below happens only while it
	// exists (the test removes it: "the server behaves again").
	While string `json:"while,omitempty"`
	// Panic makes a goroutine of the connector's panic after this many
	// readings, where no recover reaches (0: never).
	Panic int `json:"panic,omitempty"`
	// Alloc allocates this many bytes after Panic readings (instead of
	// panicking), as a decoder does for a hostile length field.
	Alloc int64 `json:"alloc,omitempty"`
	// Fail makes Run return this error at once.
	Fail string `json:"fail,omitempty"`
}

func init() {
	connectors.Register(connectors.Kind{
		Name:         "script",
		Title:        "Script",
		PointKey:     "point",
		NewConfig:    func() connectors.Config { return &scriptConfig{} },
		ParseAddress: func(s string) (string, error) { return s, nil },
	})
}

func (c *scriptConfig) Check() error                     { return nil }
func (c *scriptConfig) Discovery() *connectors.Discovery { return nil }
func (c *scriptConfig) UpdateInterval() time.Duration    { return c.Every }
func (c *scriptConfig) NewConnector(name string, points []string, env connectors.Env) (connectors.Connector, error) {
	if len(points) == 0 {
		return nil, errors.New("script: no points")
	}
	return &script{cfg: *c, name: name, points: points}, nil
}

// script is the "script" kind's connector.
type script struct {
	cfg    scriptConfig
	name   string
	points []string
	state  atomic.Int32
	sent   atomic.Uint64
}

func (s *script) Name() string { return s.name }

func (s *script) Health() connectors.Health {
	return connectors.Health{Source: s.name, Protocol: "script", Endpoint: "script://" + s.name,
		State: connectors.LinkState(s.state.Load()), Readings: s.sent.Load()}
}

func (s *script) misbehave() bool {
	if s.cfg.While == "" {
		return true
	}
	_, err := os.Stat(s.cfg.While)
	return err == nil
}

var sink []byte

func (s *script) Run(ctx context.Context, out chan<- connectors.Reading) error {
	if s.cfg.Fail != "" {
		return errors.New(s.cfg.Fail)
	}
	s.state.Store(int32(connectors.Connected))
	var tick <-chan time.Time
	if s.cfg.Every > 0 {
		t := time.NewTicker(s.cfg.Every)
		defer t.Stop()
		tick = t.C
	}
	bad := s.misbehave()
	r := connectors.Reading{Source: s.name}
	for i := 0; s.cfg.Count == 0 || i < s.cfg.Count; i++ {
		if bad && s.cfg.Panic > 0 && i == s.cfg.Panic {
			if s.cfg.Alloc > 0 {
				sink = make([]byte, s.cfg.Alloc)
				sink = nil
			} else {
				go func() { panic(fmt.Sprintf("hostile message after %d readings", i)) }()
			}
		}
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return nil
			}
		}
		r.Address = s.points[i%len(s.points)]
		r.Raw = float64(i)
		r.Received = time.Now()
		select {
		case out <- r:
			s.sent.Add(1)
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}
