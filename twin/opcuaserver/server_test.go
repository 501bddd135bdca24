package opcuaserver

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/units"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// The shared fixture: one engine on testdata/line.yaml, server A (every
// security mode, anonymous read-only, users op (write) and viewer) serving
// filler1 and capper1, and server B (sign_encrypt only, no anonymous)
// serving filler1. Both are closed together in TestMain, paying the
// stack's 3 s shutdown once.
var (
	eng       *twin.Engine
	srvA      *Server
	srvB      *Server
	clientDER []byte
	testDir   string // DataDir of every test server: one certificate
	clientKey *rsa.PrivateKey
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(peerEnv); mode != "" {
		os.Exit(runPeer(mode))
	}
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	flag.Parse()
	data, err := os.ReadFile("testdata/line.yaml")
	if err != nil {
		return 0, err
	}
	sc, err := scenarios.Parse("testdata/line.yaml", data)
	if err != nil {
		return 0, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.Default()
	}
	eng, err = twin.New(sc, twin.Options{Logger: log})
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "opcuaserver-test")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	testDir = dir

	certPEM, keyPEM, err := generateCertificate("urn:otwin:test:client", nil)
	if err != nil {
		return 0, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	clientDER = cb.Bytes
	if clientKey, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
		return 0, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfgA := DefaultConfig("filler1", "capper1")
	cfgA.DataDir = dir
	cfgA.Namespace = "urn:otwin:opcua-test"
	cfgA.HelloTimeout = 300 * time.Millisecond
	cfgA.Users = []User{{Name: "op", Password: "op-secret", Write: true}, {Name: "viewer", Password: "look"}}
	cfgA.Logger = log
	if srvA, err = New(FromEngine(eng), cfgA); err != nil {
		return 0, err
	}
	cfgB := DefaultConfig("filler1")
	cfgB.DataDir = dir
	cfgB.Security = []string{SecuritySignEncrypt}
	cfgB.Anonymous = false
	cfgB.Users = []User{{Name: "op", Password: "op-secret", Write: true}}
	cfgB.Logger = log
	if srvB, err = New(FromEngine(eng), cfgB); err != nil {
		srvA.Close()
		return 0, err
	}
	for _, s := range []*Server{srvA, srvB} {
		if err := s.Start(ctx); err != nil {
			return 0, err
		}
	}

	code := m.Run()

	// Close with a client connected and subscribed: nothing may be left
	// serving it afterwards.
	c, err := dial(srvA.URL())
	if err != nil {
		return 1, fmt.Errorf("client before close: %w", err)
	}
	defer c.Close(context.Background())
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 100 * time.Millisecond}, make(chan *opcua.PublishNotificationData, 16))
	if err != nil {
		return 1, fmt.Errorf("subscribe before close: %w", err)
	}
	if _, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, opcua.NewMonitoredItemCreateRequestWithDefaults(
		gua.NewStringNodeID(srvA.NamespaceIndex(), eng.Tags()[0].NodeID), gua.AttributeIDValue, 1)); err != nil {
		return 1, fmt.Errorf("monitor before close: %w", err)
	}

	var wg sync.WaitGroup
	for _, s := range []*Server{srvA, srvB} {
		wg.Add(1)
		go func() { defer wg.Done(); s.Close(); s.Close() }()
	}
	wg.Wait()
	if err := noServingGoroutines(5 * time.Second); err != nil {
		return 1, err
	}
	return code, nil
}

// noServingGoroutines waits until no goroutine of the stack or the door is
// left.
func noServingGoroutines(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "awcullen/opcua/server") || strings.Contains(g, "opcuaserver/frontdoor") ||
				strings.Contains(g, "opcuaserver.(*Server)") || strings.Contains(g, "gammazero/workerpool") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutines left serving after Close:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tagIndex(t *testing.T, id string) int {
	t.Helper()
	i, ok := eng.Lookup(id)
	if !ok {
		t.Fatalf("no tag %s", id)
	}
	return i
}

func nodeOf(t *testing.T, s *Server, id string) *gua.NodeID {
	t.Helper()
	return gua.NewStringNodeID(s.NamespaceIndex(), eng.Tags()[tagIndex(t, id)].NodeID)
}

func connect(t *testing.T, url string, opts ...opcua.Option) *opcua.Client {
	t.Helper()
	c, err := dial(url, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func dial(url string, opts ...opcua.Option) (*opcua.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts = append([]opcua.Option{opcua.SecurityMode(gua.MessageSecurityModeNone), opcua.AutoReconnect(false)}, opts...)
	c, err := opcua.NewClient(url, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// userOpts logs in as user over the endpoint with the given policy and
// mode.
func userOpts(t *testing.T, url, policy string, mode gua.MessageSecurityMode, user, pass string) []opcua.Option {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	eps, err := opcua.GetEndpoints(ctx, url)
	if err != nil {
		t.Fatalf("get endpoints: %v", err)
	}
	ep, err := opcua.SelectEndpoint(eps, policy, mode)
	if err != nil {
		t.Fatalf("select endpoint: %v", err)
	}
	return []opcua.Option{
		opcua.SecurityPolicy(policy),
		opcua.SecurityMode(mode),
		opcua.Certificate(clientDER),
		opcua.PrivateKey(clientKey),
		opcua.AuthUsername(user, pass),
		opcua.SecurityFromEndpoint(ep, gua.UserTokenTypeUserName),
	}
}

func read(t *testing.T, c *opcua.Client, nodes ...*gua.NodeID) []*gua.DataValue {
	t.Helper()
	req := &gua.ReadRequest{TimestampsToReturn: gua.TimestampsToReturnBoth}
	for _, n := range nodes {
		req.NodesToRead = append(req.NodesToRead, &gua.ReadValueID{NodeID: n, AttributeID: gua.AttributeIDValue})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Read(ctx, req)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return res.Results
}

func write(t *testing.T, c *opcua.Client, n *gua.NodeID, v any) gua.StatusCode {
	t.Helper()
	vv, err := gua.NewVariant(v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Write(ctx, &gua.WriteRequest{NodesToWrite: []*gua.WriteValue{{
		NodeID: n, AttributeID: gua.AttributeIDValue,
		Value: &gua.DataValue{EncodingMask: gua.DataValueValue, Value: vv},
	}}})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	return res.Results[0]
}

func TestBrowseFindsEveryTag(t *testing.T) {
	c := connect(t, srvA.URL())
	ctx := context.Background()
	ns := srvA.NamespaceIndex()
	found := map[string]string{} // node id -> browse path
	var walk func(n *opcua.Node, path string, depth int)
	walk = func(n *opcua.Node, path string, depth int) {
		if depth > 10 {
			t.Fatalf("hierarchy deeper than 10 at %s", path)
		}
		refs, err := n.References(ctx, id.HierarchicalReferences, gua.BrowseDirectionForward, gua.NodeClassAll, true)
		if err != nil {
			t.Fatalf("browse %s: %v", path, err)
		}
		for _, r := range refs {
			if r.NodeID.NodeID.Namespace() != ns {
				continue
			}
			p := strings.TrimPrefix(path+"/"+r.BrowseName.Name, "/")
			switch r.NodeClass {
			case gua.NodeClassVariable:
				found[r.NodeID.NodeID.String()] = p
			case gua.NodeClassObject:
				walk(c.Node(r.NodeID.NodeID), p, depth+1)
			}
		}
	}
	walk(c.Node(gua.NewNumericNodeID(0, id.ObjectsFolder)), "", 0)

	want := 0
	for _, ti := range eng.Tags() {
		if ti.Machine == "labeler1" {
			if _, ok := found[gua.NewStringNodeID(ns, ti.NodeID).String()]; ok {
				t.Errorf("tag %s of a machine not on this endpoint is served", ti.ID)
			}
			continue
		}
		want++
		path, ok := found[gua.NewStringNodeID(ns, ti.NodeID).String()]
		if !ok {
			t.Errorf("tag %s (ns=%d;s=%s) not found browsing from Objects", ti.ID, ns, ti.NodeID)
			continue
		}
		if path != ti.ID {
			t.Errorf("tag %s found at browse path %s", ti.ID, path)
		}
	}
	if len(found) != want {
		t.Errorf("found %d variables, want %d: %v", len(found), want, found)
	}
	if _, ok := found[gua.NewStringNodeID(ns, "custom.capper.u64").String()]; !ok {
		t.Errorf("node_id override not honoured: %v", found)
	}
}

func TestReadTypesUnitsRanges(t *testing.T) {
	c := connect(t, srvA.URL())
	ctx := context.Background()
	tests := []struct {
		tag      string
		dataType uint32
		typ      any    // a value of the Go type read
		unit     string // UNECE code; "" none
		rng      *gua.Range
	}{
		{"filler1/temp", id.Double, float64(0), "CEL", &gua.Range{Low: 0, High: 150}},
		{"filler1/setpoint", id.Double, float64(0), "RPM", &gua.Range{Low: 0, High: 100}},
		{"filler1/running", id.Boolean, false, "", nil},
		{"filler1/level", id.Int16, int16(0), "P1", &gua.Range{Low: 0, High: 100}},
		{"filler1/state", id.String, "", "", nil},
		{"capper1/torque", id.Float, float32(0), "BAR", nil},
		{"capper1/i32", id.Int32, int32(0), "", nil},
		{"capper1/i64", id.Int64, int64(0), "", nil},
		{"capper1/u16", id.UInt16, uint16(0), "", nil},
		{"capper1/u64", id.UInt64, uint64(0), "", nil},
		{"filler1/count", id.UInt32, uint32(0), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			ti := eng.Tags()[tagIndex(t, tt.tag)]
			n := c.Node(nodeOf(t, srvA, tt.tag))
			attrs, err := n.Attributes(ctx, gua.AttributeIDDataType, gua.AttributeIDValue, gua.AttributeIDValueRank, gua.AttributeIDAccessLevel, gua.AttributeIDDescription)
			if err != nil {
				t.Fatal(err)
			}
			if dt, _ := attrs[0].Value.Value().(*gua.NodeID); dt == nil || dt.IntID() != tt.dataType || dt.Namespace() != 0 {
				t.Errorf("DataType = %v, want i=%d", attrs[0].Value.Value(), tt.dataType)
			}
			if attrs[1].Status != gua.StatusOK {
				t.Errorf("value status %v", attrs[1].Status)
			}
			// The engine does not step during this test: the value read is
			// the engine's, of the tag's type.
			if got, want := attrs[1].Value.Value(), eng.Value(ti.Index).V; got != want {
				t.Errorf("value = %#v, engine has %#v", got, want)
			}
			if got := fmt.Sprintf("%T", attrs[1].Value.Value()); got != fmt.Sprintf("%T", tt.typ) {
				t.Errorf("value type %s, want %T", got, tt.typ)
			}
			if rank, _ := attrs[2].Value.Value().(int32); rank != -1 {
				t.Errorf("ValueRank = %v, want -1 (scalar)", attrs[2].Value.Value())
			}
			wantAccess := byte(gua.AccessLevelTypeCurrentRead)
			if ti.Writable {
				wantAccess |= byte(gua.AccessLevelTypeCurrentWrite)
			}
			if ti.Historizing {
				wantAccess |= byte(gua.AccessLevelTypeHistoryRead)
			}
			if al, _ := attrs[3].Value.Value().(byte); al != wantAccess {
				t.Errorf("AccessLevel = %v, want %v", attrs[3].Value.Value(), wantAccess)
			}
			if lt, _ := attrs[4].Value.Value().(*gua.LocalizedText); ti.Description != "" && (lt == nil || lt.Text != ti.Description) {
				t.Errorf("Description = %v, want %q", attrs[4].Value.Value(), ti.Description)
			}

			props := map[string]any{}
			refs, err := n.References(ctx, id.HasProperty, gua.BrowseDirectionForward, gua.NodeClassVariable, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refs {
				v, err := c.Node(r.NodeID.NodeID).Value(ctx)
				if err != nil {
					t.Fatalf("read property %s: %v", r.BrowseName.Name, err)
				}
				if eo, ok := v.Value().(*gua.ExtensionObject); ok {
					props[r.BrowseName.Name] = eo.Value
				}
			}
			eu, hasEU := props["EngineeringUnits"].(*gua.EUInformation)
			switch {
			case tt.unit == "" && hasEU:
				t.Errorf("unexpected EngineeringUnits %+v", eu)
			case tt.unit != "" && !hasEU:
				t.Errorf("no EngineeringUnits property; properties %v", props)
			case hasEU:
				if eu.NamespaceURI != units.Namespace || eu.UnitID != units.PackUnitID(tt.unit) ||
					eu.DisplayName == nil || eu.DisplayName.Text != ti.Unit.Symbol || eu.Description == nil || eu.Description.Text != ti.Unit.Name {
					t.Errorf("EngineeringUnits = %+v %v %v, want %s %d %q %q", eu, eu.DisplayName, eu.Description, units.Namespace, units.PackUnitID(tt.unit), ti.Unit.Symbol, ti.Unit.Name)
				}
			}
			r, hasRange := props["EURange"].(*gua.Range)
			switch {
			case tt.rng == nil && hasRange:
				t.Errorf("unexpected EURange %+v", r)
			case tt.rng != nil && (!hasRange || *r != *tt.rng):
				t.Errorf("EURange = %+v, want %+v", r, tt.rng)
			}
		})
	}
}

func TestEndpointsAdvertiseFrontDoor(t *testing.T) {
	for _, s := range []*Server{srvA, srvB} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		eps, err := opcua.GetEndpoints(ctx, s.URL())
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) == 0 {
			t.Fatalf("%s: no endpoints", s.URL())
		}
		for _, ep := range eps {
			if ep.EndpointURL != s.URL() {
				t.Errorf("%s advertises %s", s.URL(), ep.EndpointURL)
			}
			if ep.SecurityPolicyURI != gua.SecurityPolicyURINone && ep.SecurityPolicyURI != gua.SecurityPolicyURIBasic256Sha256 {
				t.Errorf("%s advertises policy %s", s.URL(), ep.SecurityPolicyURI)
			}
		}
	}
	// B allows sign_encrypt only.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	eps, _ := opcua.GetEndpoints(ctx, srvB.URL())
	for _, ep := range eps {
		if ep.SecurityMode != gua.MessageSecurityModeSignAndEncrypt {
			t.Errorf("B advertises mode %v", ep.SecurityMode)
		}
	}
}

func TestSubscriptionSeesEveryStep(t *testing.T) {
	c := connect(t, srvA.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 20 * time.Millisecond, MaxNotificationsPerPublish: 1000}, ch)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel(context.Background())
	req := opcua.NewMonitoredItemCreateRequestWithDefaults(nodeOf(t, srvA, "filler1/count"), gua.AttributeIDValue, 1)
	req.RequestedParameters.SamplingInterval = 10
	res, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, req)
	if err != nil || res.Results[0].StatusCode != gua.StatusOK {
		t.Fatalf("monitor: %v %v", err, res)
	}
	count := tagIndex(t, "filler1/count")
	seen := map[uint32]bool{}
	notifications := 0
	next := func(want uint32) {
		t.Helper()
		for !seen[want] {
			select {
			case <-ctx.Done():
				t.Fatalf("no notification of %d; saw %v", want, seen)
			case d := <-ch:
				if d.Error != nil {
					t.Fatal(d.Error)
				}
				dc, ok := d.Value.(*gua.DataChangeNotification)
				if !ok {
					continue
				}
				for _, it := range dc.MonitoredItems {
					notifications++
					seen[it.Value.Value.Value().(uint32)] = true
				}
			}
		}
	}
	const steps = 10
	start := eng.Value(count).V.(uint32)
	next(start)
	for k := 1; k <= steps; k++ {
		eng.Step(1)
		next(eng.Value(count).V.(uint32))
	}
	// One initial value plus one notification per step: a change per step
	// at 10 counts/s and 100ms ticks.
	if notifications != steps+1 {
		t.Errorf("%d notifications over %d steps, want %d", notifications, steps, steps+1)
	}
}

func TestQualityFault(t *testing.T) {
	c := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/temp")
	if err := eng.Inject(scenarios.Fault{Name: "t-bad", Kind: scenarios.BadQuality, Target: "filler1/temp"}); err != nil {
		t.Fatal(err)
	}
	defer eng.Clear("t-bad")
	eng.Step(1)
	var dv *gua.DataValue
	testkit.Eventually(t, 3*time.Second, "bad status", func() bool {
		dv = read(t, c, n)[0]
		return uint32(dv.Status)>>30 == 2
	})
	if dv.Status != gua.StatusCode(eng.Value(tagIndex(t, "filler1/temp")).Status) {
		t.Errorf("status %v, engine says %#x", dv.Status, eng.Value(tagIndex(t, "filler1/temp")).Status)
	}
	if err := eng.Clear("t-bad"); err != nil {
		t.Fatal(err)
	}
	eng.Step(1)
	testkit.Eventually(t, 3*time.Second, "good status", func() bool { return read(t, c, n)[0].Status == gua.StatusOK })
}

func TestClockSkewShiftsSourceTimestamp(t *testing.T) {
	c := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/temp")
	skew := scenarios.Duration(-time.Hour)
	if err := eng.Inject(scenarios.Fault{Name: "t-skew", Kind: scenarios.ClockSkew, Target: "filler1/temp", Skew: skew}); err != nil {
		t.Fatal(err)
	}
	defer eng.Clear("t-skew")
	eng.Step(1)
	testkit.Eventually(t, 3*time.Second, "source timestamp an hour behind", func() bool {
		dv := read(t, c, n)[0]
		d := dv.ServerTimestamp.Sub(dv.SourceTimestamp)
		return d > 59*time.Minute && d < 61*time.Minute
	})
	if err := eng.Clear("t-skew"); err != nil {
		t.Fatal(err)
	}
	eng.Step(1)
	testkit.Eventually(t, 3*time.Second, "source timestamp back", func() bool {
		dv := read(t, c, n)[0]
		return dv.ServerTimestamp.Sub(dv.SourceTimestamp).Abs() < time.Minute
	})
}

func TestWrites(t *testing.T) {
	sp := nodeOf(t, srvA, "filler1/setpoint")
	spIdx := tagIndex(t, "filler1/setpoint")
	op := connect(t, srvA.URL(), userOpts(t, srvA.URL(), gua.SecurityPolicyURINone, gua.MessageSecurityModeNone, "op", "op-secret")...)
	viewer := connect(t, srvA.URL(), userOpts(t, srvA.URL(), gua.SecurityPolicyURINone, gua.MessageSecurityModeNone, "viewer", "look")...)
	anon := connect(t, srvA.URL())
	t.Cleanup(func() { eng.Write(spIdx, 50.0) })

	tests := []struct {
		name   string
		c      *opcua.Client
		node   *gua.NodeID
		value  any
		status gua.StatusCode
	}{
		{"writer sets setpoint", op, sp, 75.0, gua.StatusOK},
		{"outside range", op, sp, 150.0, gua.StatusBadOutOfRange},
		{"wrong type", op, sp, float32(60), gua.StatusBadTypeMismatch},
		{"read-only tag", op, nodeOf(t, srvA, "filler1/temp"), 20.0, gua.StatusBadNotWritable},
		{"read-only user", viewer, sp, 60.0, gua.StatusBadUserAccessDenied},
		{"anonymous", anon, sp, 60.0, gua.StatusBadUserAccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := write(t, tt.c, tt.node, tt.value); got != tt.status {
				t.Fatalf("status %v, want %v", got, tt.status)
			}
			if v := eng.Value(spIdx).V; v != 75.0 {
				t.Errorf("engine setpoint %v, want 75 (only the first write is accepted)", v)
			}
		})
	}
	testkit.Eventually(t, 3*time.Second, "written value read back", func() bool {
		v, _ := read(t, anon, sp)[0].Value.Value().(float64)
		return v == 75
	})
}

func TestSignAndEncryptWithUser(t *testing.T) {
	url := srvB.URL()
	pol, mode := gua.SecurityPolicyURIBasic256Sha256, gua.MessageSecurityModeSignAndEncrypt
	c := connect(t, url, userOpts(t, url, pol, mode, "op", "op-secret")...)
	sp := nodeOf(t, srvB, "filler1/setpoint")
	spIdx := tagIndex(t, "filler1/setpoint")
	t.Cleanup(func() { eng.Write(spIdx, 50.0) })
	if dv := read(t, c, nodeOf(t, srvB, "filler1/level"))[0]; dv.Status != gua.StatusOK || dv.Value.Value() != int16(42) {
		t.Errorf("read over sign_encrypt: %v %v", dv.Status, dv.Value.Value())
	}
	if st := write(t, c, sp, 33.0); st != gua.StatusOK {
		t.Errorf("write over sign_encrypt: %v", st)
	}
	if v := eng.Value(spIdx).V; v != 33.0 {
		t.Errorf("engine setpoint %v, want 33", v)
	}

	refused := []struct {
		name string
		opts []opcua.Option
	}{
		{"wrong password", userOpts(t, url, pol, mode, "op", "guess")},
		{"unknown user", userOpts(t, url, pol, mode, "mallory", "op-secret")},
		{"anonymous when disabled", []opcua.Option{opcua.SecurityPolicy(pol), opcua.SecurityMode(mode),
			opcua.Certificate(clientDER), opcua.PrivateKey(clientKey), opcua.AuthAnonymous()}},
		{"sign mode when disabled", []opcua.Option{opcua.SecurityPolicy(pol), opcua.SecurityMode(gua.MessageSecurityModeSign),
			opcua.Certificate(clientDER), opcua.PrivateKey(clientKey), opcua.AuthUsername("op", "op-secret")}},
		{"no security when disabled", []opcua.Option{opcua.AuthUsername("op", "op-secret")}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dial(url, tt.opts...)
			if err == nil {
				c.Close(context.Background())
				t.Fatal("session activated, want refused")
			}
		})
	}
}

// injectLink injects a machine fault on the opcua protocol and makes the
// door see it at once; the returned func clears it.
func injectLink(t *testing.T, f scenarios.Fault) func() {
	t.Helper()
	f.Protocol = "opcua"
	if err := eng.Inject(f); err != nil {
		t.Fatal(err)
	}
	srvA.door.Refresh()
	done := false
	clear := func() {
		if !done {
			done = true
			eng.Clear(f.Name)
			srvA.door.Refresh()
		}
	}
	t.Cleanup(clear)
	return clear
}

func TestLatencyDelaysRead(t *testing.T) {
	c := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	const lat = 300 * time.Millisecond
	clear := injectLink(t, scenarios.Fault{Name: "t-lat", Kind: scenarios.Latency, Target: "capper1", Latency: scenarios.Duration(lat)})
	start := time.Now()
	read(t, c, n)
	if d := time.Since(start); d < lat {
		t.Errorf("read took %v with %v latency", d, lat)
	}
	clear()
}

func TestDownRefusesAndDrops(t *testing.T) {
	open := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	read(t, open, n)

	// One machine of two down: the endpoint still answers.
	clearFiller := injectLink(t, scenarios.Fault{Name: "t-down1", Kind: scenarios.CommLoss, Target: "filler1"})
	read(t, open, n)
	dropped := srvA.ConnStats().Dropped

	clearCapper := injectLink(t, scenarios.Fault{Name: "t-down2", Kind: scenarios.CommLoss, Target: "capper1"})
	if c, err := dial(srvA.URL()); err == nil {
		c.Close(context.Background())
		t.Fatal("connected while every machine of the endpoint is down")
	}
	if srvA.ConnStats().Dropped <= dropped {
		t.Errorf("open connection not dropped: %+v", srvA.ConnStats())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := open.Read(ctx, &gua.ReadRequest{NodesToRead: []*gua.ReadValueID{{NodeID: n, AttributeID: gua.AttributeIDValue}}}); err == nil {
		t.Error("read on a dropped connection succeeded")
	}
	clearCapper()
	clearFiller()
	read(t, connect(t, srvA.URL()), n)
}

func TestDisconnectDropsOpenConnections(t *testing.T) {
	open := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	read(t, open, n)
	dropped := srvA.ConnStats().Dropped
	injectLink(t, scenarios.Fault{Name: "t-disc", Kind: scenarios.Disconnect, Target: "filler1"})
	if srvA.ConnStats().Dropped <= dropped {
		t.Fatalf("no connection dropped: %+v", srvA.ConnStats())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := open.Read(ctx, &gua.ReadRequest{NodesToRead: []*gua.ReadValueID{{NodeID: n, AttributeID: gua.AttributeIDValue}}}); err == nil {
		t.Error("read on a dropped connection succeeded")
	}
	read(t, connect(t, srvA.URL()), n)
}

func hello(recv, send, maxMsg uint32, url string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0x464c4548) // HELF
	b = binary.LittleEndian.AppendUint32(b, uint32(32+len(url)))
	for _, v := range []uint32{0, recv, send, maxMsg, 0, uint32(len(url))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return append(b, url...)
}

// TestBadInputKeepsServing sends hostile first messages and chunks while
// a good client keeps reading; each bad connection must end with an ERR
// (or a close), the good client must see no error, and the process must
// not crash.
func TestBadInputKeepsServing(t *testing.T) {
	good := connect(t, srvA.URL())
	n := nodeOf(t, srvA, "filler1/level")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads int
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := good.Read(ctx, &gua.ReadRequest{NodesToRead: []*gua.ReadValueID{{NodeID: n, AttributeID: gua.AttributeIDValue}}})
			cancel()
			if err != nil {
				readErr = err
				return
			}
			reads++
		}
	}()

	huge := hello(65536, 65536, 0, "opc.tcp://x")
	binary.LittleEndian.PutUint32(huge[4:], 0xFFFFFFF0)
	goodHello := hello(65536, 65536, 0, srvA.URL())
	tests := []struct {
		name    string
		send    []byte
		afterOK []byte // sent after the ACK of a good hello
		code    uint32 // expected ERR code; 0: any
	}{
		{name: "zero buffer sizes", send: hello(0, 0, 0, "opc.tcp://x"), code: 0x80820000},
		{name: "zero send buffer", send: hello(65536, 0, 0, "opc.tcp://x"), code: 0x80820000},
		{name: "tiny max message size", send: hello(65536, 65536, 100, "opc.tcp://x"), code: 0x80820000},
		{name: "truncated hello", send: goodHello[:20], code: 0x800A0000},
		{name: "short header", send: []byte("HEL"), code: 0x800A0000},
		{name: "garbage", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), code: 0x807E0000},
		{name: "huge message size", send: huge, code: 0x80800000},
		{name: "url longer than hello", send: func() []byte {
			b := hello(65536, 65536, 0, "opc.tcp://x")
			binary.LittleEndian.PutUint32(b[28:], 4000)
			return b
		}(), code: 0x80070000},
		{name: "chunk size below header", send: goodHello, afterOK: []byte{'M', 'S', 'G', 'F', 3, 0, 0, 0}, code: 0x80800000},
		{name: "chunk larger than buffer", send: goodHello, afterOK: []byte{'O', 'P', 'N', 'F', 0, 0, 0, 1}, code: 0x80800000},
		{name: "unknown chunk type", send: goodHello, afterOK: []byte("XYZF\x20\x00\x00\x00"), code: 0x807E0000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rejected := srvA.ConnStats().Rejected
			conn, err := net.Dial("tcp", srvA.door.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			if tt.afterOK != nil {
				ack := make([]byte, 28)
				if _, err := io.ReadFull(conn, ack); err != nil || string(ack[:4]) != "ACKF" {
					t.Fatalf("no ACK for a good hello: %q %v", ack, err)
				}
				if _, err := conn.Write(tt.afterOK); err != nil {
					t.Fatal(err)
				}
			}
			got, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("connection not closed: %v (read %q)", err, got)
			}
			if len(got) < 16 || string(got[:4]) != "ERRF" {
				t.Fatalf("got %q, want an ERR message", got)
			}
			if code := binary.LittleEndian.Uint32(got[8:]); tt.code != 0 && code != tt.code {
				t.Errorf("ERR code %#x, want %#x (%s)", code, tt.code, got[16:])
			}
			if srvA.ConnStats().Rejected <= rejected {
				t.Errorf("rejection not counted: %+v", srvA.ConnStats())
			}
		})
	}
	close(stop)
	wg.Wait()
	if readErr != nil || reads == 0 {
		t.Errorf("good client: %d reads, error %v", reads, readErr)
	}
}

func TestMaxConnections(t *testing.T) {
	f := newFakeSource()
	f.addMachine("m", scenarios.Location{}, twin.TagInfo{Name: "x"})
	cfg := DefaultConfig("m")
	cfg.DataDir = testDir
	cfg.MaxConnections = 2
	cfg.HelloTimeout = 5 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Not started: Close does not pay the stack's shutdown wait, and the
	// door still accepts into its backlog; start the door alone.
	defer s.Close()
	s.door.Start(func(c net.Conn) { io.Copy(io.Discard, c) })
	// Two live connections (a Hello and a message sent, within
	// IdleAfter): the third is refused. An idle one would make room
	// instead (TestIdleSocketsDoNotLockOut).
	opn := append([]byte("OPNF\x18\x00\x00\x00"), make([]byte, 16)...)
	for range 2 {
		c, err := net.Dial("tcp", s.door.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(append(hello(65536, 65536, 0, ""), opn...)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 3*time.Second, "two connections active", func() bool { return s.ConnStats().Accepted == 2 })
	c, err := net.Dial("tcp", s.door.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	if len(got) < 12 || string(got[:4]) != "ERRF" || binary.LittleEndian.Uint32(got[8:]) != 0x80810000 {
		t.Errorf("third connection got %q, want ERR Bad_TcpNotEnoughResources", got)
	}
	if s.ConnStats().Refused != 1 {
		t.Errorf("stats %+v", s.ConnStats())
	}
}

func TestNewErrors(t *testing.T) {
	f := newFakeSource()
	f.addMachine("m", scenarios.Location{Site: "s"}, twin.TagInfo{Name: "x"}, twin.TagInfo{Name: "y", NodeID: "s/m/x"})
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"unknown machine", func(c *Config) { c.Machines = []string{"nope"} }, `unknown machine "nope"`},
		{"duplicate node id", func(c *Config) {}, `node id "s/m/x" of tag m/y is already used by tag m/x in namespace urn:otwin:twin`},
		{"bad security", func(c *Config) { c.Security = []string{"tls"} }, `security mode "tls"`},
		{"nobody can log in", func(c *Config) { c.Anonymous = false }, "nobody can log in"},
		{"bad port", func(c *Config) { c.Port = 70000 }, "port 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig("m")
			cfg.DataDir = testDir
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			tt.cfg(&cfg)
			s, err := New(f, cfg)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestStartAfterClose(t *testing.T) {
	f := newFakeSource()
	f.addMachine("m", scenarios.Location{}, twin.TagInfo{Name: "x"})
	cfg := DefaultConfig("m")
	cfg.DataDir = testDir
	s, err := New(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start after Close succeeded")
	}
	if c, err := net.DialTimeout("tcp", s.door.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("socket still open after Close")
	}
}

// TestRandomChunksKeepServing sends random chunks (random bodies, wild
// OPN fields) after a good Hello, 32 connections at a time, and checks
// the server still serves: bodies are the stack's to decode, and none may
// crash the process.
func TestRandomChunksKeepServing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const total, parallel = 64, 32
	msgs := make([][]byte, total)
	for i := range msgs {
		typ := []string{"OPNF", "MSGF", "CLOF", "MSGC", "MSGA"}[r.IntN(5)]
		body := make([]byte, 8+r.IntN(300))
		for k := range body {
			body[k] = byte(r.IntN(256))
		}
		if typ == "OPNF" && r.IntN(2) == 0 {
			// channel id 0 and a wild security policy length
			binary.LittleEndian.PutUint32(body[0:], 0)
			binary.LittleEndian.PutUint32(body[4:], uint32(r.Int32()))
		}
		msgs[i] = append(binary.LittleEndian.AppendUint32([]byte(typ), uint32(8+len(body))), body...)
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, msg := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := net.Dial("tcp", srvA.door.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
			conn.Write(hello(65536, 65536, 0, srvA.URL()))
			io.ReadFull(conn, make([]byte, 28))
			conn.Write(msg)
			io.Copy(io.Discard, conn)
		}()
	}
	wg.Wait()
	read(t, connect(t, srvA.URL()), nodeOf(t, srvA, "filler1/level"))
}
