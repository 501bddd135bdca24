package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"
	"github.com/spf13/pflag"
)

const uaCapsScenario = `name: uacaps
opcua: {max_sessions: 1, max_session_timeout: 30s}
machines:
  - name: m1
    opcua: {port: 0}
    tags:
      - {name: a}
`

// uaSession opens a session with a one-hour timeout asked for; it returns
// the timeout granted, or the error.
func uaSession(t *testing.T, url string) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := opcua.NewClient(url, opcua.SecurityMode(gua.MessageSecurityModeNone), opcua.AutoReconnect(false), opcua.SessionTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		return 0, err
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c.Session().RevisedTimeout(), nil
}

// TestOPCUACaps: the scenario's opcua.max_sessions and
// max_session_timeout cap what clients get, and the sim flags override
// them.
func TestOPCUACaps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		sessions int
		timeout  time.Duration
	}{
		{"scenario", nil, 1, 30 * time.Second},
		{"flags", []string{"--opcua-max-sessions", "2", "--opcua-session-timeout", "45s"}, 2, 45 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parseScenario(t, "uacaps", uaCapsScenario)
			var flags opcuaFlags
			fs := pflag.NewFlagSet("sim", pflag.ContinueOnError)
			flags.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			rt, err := startTwin(context.Background(), sc, twinConfig{Host: "127.0.0.1", Ephemeral: true,
				DataDir: t.TempDir(), Control: "-", OPCUA: flags, Logger: e2eLogger()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rt.Close() })
			url := rt.Endpoints[0].URL
			for i := range tc.sessions {
				got, err := uaSession(t, url)
				if err != nil {
					t.Fatalf("session %d of %d: %v", i+1, tc.sessions, err)
				}
				if got != tc.timeout {
					t.Errorf("session timeout: asked 1h, granted %v, want %v", got, tc.timeout)
				}
			}
			if _, err := uaSession(t, url); err == nil || !strings.Contains(err.Error(), "BadTooManySessions") {
				t.Errorf("session %d: err %v, want BadTooManySessions", tc.sessions+1, err)
			}
		})
	}
}

func TestOPCUAFlagsChecked(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "uacaps.yaml")
	if err := os.WriteFile(file, []byte(uaCapsScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--opcua-max-conns", "0"}, "--opcua-max-conns 0 is outside 1-10000"},
		{[]string{"--opcua-max-sessions", "20000"}, "--opcua-max-sessions 20000 is outside 1-10000"},
		{[]string{"--opcua-idle-after", "1us"}, "--opcua-idle-after 1µs is shorter than 1ms"},
		{[]string{"--opcua-session-timeout", "5s"}, "--opcua-session-timeout 5s is outside 10s-1h"},
		{[]string{"--opcua-subscription-lifetime", "2h"}, "--opcua-subscription-lifetime 2h0m0s is outside 10s-1h"},
	} {
		args := append([]string{"sim", file, "--ephemeral", "--control", "-", "--data-dir", dir}, tc.args...)
		out, err := otwin(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q; output %s", tc.args, err, tc.want, out)
		}
	}
}
