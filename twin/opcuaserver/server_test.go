package opcuaserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/uapeer"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/units"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/scenarios"
)

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
	return uapeer.Connect(ctx, url, opts...)
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
