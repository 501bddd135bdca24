package opcua

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

func TestParseNode(t *testing.T) {
	tests := []struct {
		in      string
		wantURI string
		wantID  string
		err     string
	}{
		{in: "nsu=urn:a:b;s=Line1.Temp", wantURI: "urn:a:b", wantID: "s=Line1.Temp"},
		{in: "nsu=http://x.org/UA/;i=1001", wantURI: "http://x.org/UA/", wantID: "i=1001"},
		{in: "nsu=urn:a;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63", wantURI: "urn:a", wantID: "g=72962B91-FA75-4AE6-8D28-B404DC7DAF63"},
		{in: "nsu=urn:a;b=aGVsbG8=", wantURI: "urn:a", wantID: "b=aGVsbG8="},
		{in: "nsu=urn:a;s=with;semicolon", wantURI: "urn:a", wantID: "s=with;semicolon"},
		{in: "i=2258", wantID: "i=2258"},
		{in: "s=x", wantID: "s=x"},
		{in: "ns=3;s=Temp", err: "instead of a namespace index"},
		{in: "ns=2;i=5", err: "use nsu=<namespace uri>"},
		{in: "nsu=;s=x", err: "empty namespace URI"},
		{in: "nsu=urn:a", err: "needs"},
		{in: "nsu=urn:a;q=1", err: "identifier must be"},
		{in: "nsu=urn:a;i=notanumber", err: "not a uint32"},
		{in: "nsu=urn:a;i=-1", err: "not a uint32"},
		{in: "nsu=urn:a;i=4294967296", err: "not a uint32"},
		{in: "nsu=urn:a;g=not-a-guid", err: "not a GUID"},
		{in: "nsu=urn:a;b=***", err: "not base64"},
		{in: "nsu=urn:a;s=", err: "identifier must be"},
		{in: "x", err: "identifier must be"},
		{in: "", err: "identifier must be"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := parseNode(tt.in)
			canon, perr := ParseNode(tt.in)
			if (err == nil) != (perr == nil) {
				t.Fatalf("parseNode and ParseNode disagree on %q: %v, %v", tt.in, err, perr)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseNode(%q) error %v, want containing %q", tt.in, err, tt.err)
				}
				if !strings.Contains(err.Error(), `"`+tt.in+`"`) {
					t.Errorf("error %q does not name the node", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseNode(%q): %v", tt.in, err)
			}
			if r.uri != tt.wantURI || r.id != tt.wantID || canon != tt.in {
				t.Errorf("parseNode(%q) = %+v, canonical %q", tt.in, r, canon)
			}
		})
	}
}

func TestResolveAndCanonical(t *testing.T) {
	ns := []string{"http://opcfoundation.org/UA/", "urn:server", "urn:plant"}
	r, _ := parseNode("nsu=urn:plant;s=Temp")
	id, err := r.resolve(ns)
	if err != nil || id.Namespace() != 2 || id.StringID() != "Temp" {
		t.Fatalf("resolve = %v, %v; want ns=2;s=Temp", id, err)
	}
	if _, err := r.resolve(ns[:2]); err == nil || !strings.Contains(err.Error(), "urn:plant") {
		t.Errorf("resolve without the namespace: %v, want an error naming it", err)
	}
	r2, _ := parseNode("i=2258")
	if id, err := r2.resolve(ns); err != nil || id.Namespace() != 0 || id.IntID() != 2258 {
		t.Errorf("i=2258 resolved to %v, %v; want namespace 0", id, err)
	}
	for _, tt := range []struct {
		id   *ua.NodeID
		want string
	}{
		{ua.NewStringNodeID(2, "Line1.Temp"), "nsu=urn:plant;s=Line1.Temp"},
		{ua.NewNumericNodeID(1, 1001), "nsu=urn:server;i=1001"},
		{ua.NewNumericNodeID(0, 2258), "i=2258"},
		{ua.NewStringNodeID(9, "x"), "ns=9;s=x"},
	} {
		if got := canonicalAddress(tt.id, ns); got != tt.want {
			t.Errorf("canonicalAddress(%v) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestNewValidation(t *testing.T) {
	valid := Config{Name: "plc1", URL: "opc.tcp://127.0.0.1:4840", Nodes: []string{"nsu=urn:a;s=x"}}
	tests := []struct {
		name  string
		edit  func(c *Config)
		wants []string // every one must appear in the one error
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "browse root only", edit: func(c *Config) { c.Nodes = nil; c.BrowseRoot = "nsu=urn:a;s=Plant" }},
		{name: "everything wrong at once", edit: func(c *Config) {
			c.Name = ""
			c.URL = "http://x"
			c.SecurityMode = "Encrypt"
			c.SecurityPolicy = "Basic128"
			c.Nodes = []string{"nsu=urn:a;s=x", "bogus", "nsu=urn:a;s=x"}
			c.Timeout = -time.Second
			c.Deadband = -1
			c.Password = "p"
		}, wants: []string{"name: required", "url \"http://x\"", "security_mode \"Encrypt\"", "security_policy \"Basic128\"",
			"nodes[1]", "bogus", "nodes[2]", "duplicate of nodes[0]", "timeout: -1s", "deadband", "password"}},
		{name: "no points", edit: func(c *Config) { c.Nodes = nil }, wants: []string{"nodes: none configured"}},
		{name: "secure needs a place for its certificate", edit: func(c *Config) { c.SecurityMode = ModeSignAndEncrypt },
			wants: []string{"data_dir: required"}},
		{name: "none with a policy", edit: func(c *Config) { c.SecurityPolicy = PolicyBasic256Sha256 },
			wants: []string{"security_policy Basic256Sha256 needs security_mode Sign or SignAndEncrypt"}},
		{name: "certificate without key", edit: func(c *Config) { c.SecurityMode = ModeSign; c.Certificate = "testdata/garbage.pem" },
			wants: []string{"certificate and key: set both or neither"}},
		{name: "unreadable certificate and key", edit: func(c *Config) {
			c.SecurityMode = ModeSign
			c.Certificate = "testdata/garbage.pem"
			c.Key = "testdata/missing.pem"
		}, wants: []string{"certificate:", "garbage.pem", "key:", "missing.pem"}},
		{name: "trust dir missing", edit: func(c *Config) { c.TrustDir = "testdata/nope" }, wants: []string{"trust_dir"}},
		{name: "timeout shorter than keep-alives", edit: func(c *Config) { c.Timeout = 200 * time.Millisecond; c.PublishingInterval = time.Second },
			wants: []string{"twice publishing_interval"}},
		{name: "bad browse root", edit: func(c *Config) { c.BrowseRoot = "Plant" }, wants: []string{"browse_root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			cfg.Nodes = append([]string(nil), valid.Nodes...)
			cfg.Logger = testLogger(t)
			tt.edit(&cfg)
			c, err := New(cfg)
			if len(tt.wants) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.Name() != "plc1" || c.Health().State != connectors.Connecting || c.Health().Protocol != "opcua" {
					t.Errorf("new connector: name %q health %+v", c.Name(), c.Health())
				}
				d := c.Config()
				if d.PublishingInterval != DefaultPublishingInterval || d.SamplingInterval != DefaultPublishingInterval/2 ||
					d.QueueSize != DefaultQueueSize || d.Timeout != DefaultTimeout || d.SecurityMode != ModeNone || d.SecurityPolicy != PolicyNone {
					t.Errorf("defaults not applied: %+v", d)
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted %+v", cfg)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestFromDataValue(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	srv := ts.Add(time.Millisecond)
	dv := func(v any, mask byte, code ua.StatusCode) *ua.DataValue {
		d := &ua.DataValue{EncodingMask: mask | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp, Status: code, SourceTimestamp: ts, ServerTimestamp: srv}
		if v != nil {
			d.EncodingMask |= ua.DataValueValue
			d.Value = ua.MustVariant(v)
		}
		if code != 0 {
			d.EncodingMask |= ua.DataValueStatusCode
		}
		return d
	}
	guid := ua.NewGUID("72962B91-FA75-4AE6-8D28-B404DC7DAF63")
	tests := []struct {
		name   string
		in     *ua.DataValue
		raw    any
		status error
	}{
		{"bool", dv(true, 0, 0), true, nil},
		{"sbyte", dv(int8(-3), 0, 0), int64(-3), nil},
		{"int16", dv(int16(-300), 0, 0), int64(-300), nil},
		{"int32", dv(int32(-70000), 0, 0), int64(-70000), nil},
		{"int64", dv(int64(-1<<40), 0, 0), int64(-1 << 40), nil},
		{"byte", dv(uint8(200), 0, 0), uint64(200), nil},
		{"uint16", dv(uint16(65000), 0, 0), uint64(65000), nil},
		{"uint32", dv(uint32(4e9), 0, 0), uint64(4e9), nil},
		{"uint64", dv(uint64(1<<63), 0, 0), uint64(1 << 63), nil},
		{"float", dv(float32(0.5), 0, 0), float64(0.5), nil},
		{"double", dv(1.25, 0, 0), 1.25, nil},
		{"string", dv("abc", 0, 0), "abc", nil},
		{"datetime", dv(ts, 0, 0), "2026-01-02T03:04:05.000006Z", nil},
		{"localized text", dv(ua.NewLocalizedText("hello"), 0, 0), "hello", nil},
		{"guid", dv(guid, 0, 0), guid.String(), nil},
		{"bytestring", dv([]byte("hi"), 0, 0), "aGk=", nil},
		{"array is a type mismatch", dv([]float64{1, 2}, 0, 0), nil, connectors.BadTypeMismatch},
		{"bad status without value", dv(nil, 0, ua.StatusBadSensorFailure), nil, connectors.BadSensorFailure},
		{"uncertain keeps its value", dv(2.5, 0, ua.StatusUncertainLastUsableValue), 2.5, connectors.UncertainLastUsableValue},
		{"good with info bits keeps the code", dv(1.0, 0, ua.StatusCode(0x00000400)), 1.0, connectors.StatusCode(0x00000400)},
		{"good without value", dv(nil, 0, 0), nil, connectors.BadWaitingForInitialData},
		{"bad array keeps the server's status", dv([]int32{1}, 0, ua.StatusBadOutOfService), nil, connectors.BadOutOfService},
		{"nil", nil, nil, connectors.BadNoCommunication},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fromDataValue(tt.in)
			if f.raw != tt.raw {
				t.Errorf("raw = %#v, want %#v", f.raw, tt.raw)
			}
			if !errors.Is(f.status, tt.status) && f.status != tt.status {
				t.Errorf("status = %v, want %v", f.status, tt.status)
			}
			if tt.in != nil && (!f.sourceTime.Equal(ts) || !f.serverTime.Equal(srv)) {
				t.Errorf("times = %v, %v", f.sourceTime, f.serverTime)
			}
		})
	}
	// No timestamps on the wire: zero times.
	if f := fromDataValue(&ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(1.0), SourceTimestamp: ts}); !f.sourceTime.IsZero() {
		t.Errorf("source time %v taken from a field the mask does not cover", f.sourceTime)
	}
}

func TestDataTypeName(t *testing.T) {
	for _, tt := range []struct {
		id   *ua.NodeID
		want string
	}{
		{ua.NewNumericNodeID(0, 11), "Double"},
		{ua.NewNumericNodeID(0, 5), "UInt16"},
		{ua.NewNumericNodeID(0, 1), "Boolean"},
		{ua.NewNumericNodeID(0, 29), "Enumeration"},
		{ua.NewNumericNodeID(3, 3003), "ns=3;i=3003"},
		{nil, ""},
	} {
		if got := dataTypeName(tt.id); got != tt.want {
			t.Errorf("dataTypeName(%v) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestSubscriptionParams(t *testing.T) {
	for _, tt := range []struct {
		timeout, publishing time.Duration
		ka, lifetime        uint32
	}{
		{10 * time.Second, 500 * time.Millisecond, 6, 120},
		{2 * time.Second, 50 * time.Millisecond, 13, 1200},
		{time.Second, 500 * time.Millisecond, 1, 120},
		{time.Hour, 10 * time.Second, 120, 480},
	} {
		s := &session{c: &Connector{cfg: Config{Timeout: tt.timeout, PublishingInterval: tt.publishing}}}
		ka, lt := s.subscriptionParams()
		if ka != tt.ka || lt != tt.lifetime {
			t.Errorf("timeout %v publishing %v: keep-alive %d lifetime %d, want %d %d", tt.timeout, tt.publishing, ka, lt, tt.ka, tt.lifetime)
		}
		if time.Duration(ka)*tt.publishing > tt.timeout/2 && ka > 1 {
			t.Errorf("keep-alives every %v do not fit the timeout %v", time.Duration(ka)*tt.publishing, tt.timeout)
		}
	}
}

func TestDeliverOrder(t *testing.T) {
	c, err := New(Config{Name: "p", URL: "opc.tcp://127.0.0.1:4840", Nodes: []string{"nsu=urn:a;s=x"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan connectors.Reading, 16)
	it := &item{ref: "nsu=urn:a;s=x", state: c.point("nsu=urn:a;s=x")}
	s := &session{c: c, out: out}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	onlySource := func(v float64, st time.Time) *ua.DataValue {
		return &ua.DataValue{EncodingMask: ua.DataValueValue | ua.DataValueSourceTimestamp, Value: ua.MustVariant(v), SourceTimestamp: st}
	}
	stepBack := func(v float64, src, srv time.Time) *ua.DataValue {
		dv := goodValue(v, src)
		dv.ServerTimestamp = srv
		return dv
	}
	steps := []struct {
		dv      *ua.DataValue
		deliver bool
	}{
		{goodValue(1.0, t0), true},
		{goodValue(2.0, t0.Add(time.Second)), true},
		{goodValue(1.5, t0.Add(500*time.Millisecond)), false}, // older server time
		{goodValue(2.0, t0.Add(time.Second)), true},           // same time again
		// The device clock steps back 30s: its values are still new by the
		// server's clock, and go through (the normalizer shows the skew).
		{stepBack(3.0, t0.Add(-30*time.Second), t0.Add(2*time.Second)), true},
		// Values with no server time are ordered among themselves by
		// their source time.
		{onlySource(4.0, t0.Add(5*time.Second)), true},
		{onlySource(5.0, t0.Add(4*time.Second)), false}, // older source time
		{statusValue(nil, ua.StatusBadSensorFailure, t0.Add(3*time.Second)), true},
	}
	for i, st := range steps {
		before := len(out)
		if !s.deliver(context.Background(), it, st.dv) {
			t.Fatal("deliver reported a cancelled context")
		}
		if got := len(out) > before; got != st.deliver {
			t.Errorf("step %d: delivered %v, want %v", i, got, st.deliver)
		}
	}
	if n := c.Stats().OutOfOrder; n != 2 {
		t.Errorf("OutOfOrder = %d, want 2", n)
	}
	first := <-out
	if first.Info != nil || first.Source != "p" || first.Raw != 1.0 {
		t.Errorf("first reading %+v", first)
	}
}

func TestRunMisuse(t *testing.T) {
	c, err := New(Config{Name: "p", URL: "opc.tcp://127.0.0.1:1", Nodes: []string{"nsu=urn:a;s=x"}, Poll: true, Timeout: 200 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background(), nil); err == nil {
		t.Errorf("Run with a nil channel returned nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan connectors.Reading, 16)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out) }()
	// Nothing listens on port 1: the point is reported without
	// communication, and a second Run is refused meanwhile.
	select {
	case r := <-out:
		var sc connectors.StatusCode
		if !errors.As(r.Status, &sc) || sc != connectors.BadNoCommunication || !r.LinkDown || r.Address != "nsu=urn:a;s=x" {
			t.Errorf("first reading %+v, want BadNoCommunication for the node", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reading while the endpoint is unreachable")
	}
	if err := c.Run(ctx, out); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run: %v, want already running", err)
	}
	if hl := c.Health(); hl.State != connectors.Down || hl.LastError == nil {
		t.Errorf("health %+v, want down with an error", hl)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
