package opcuaserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awcullen/opcua/ua"
	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
	"github.com/otwin/otwin/units"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// modelServer serves testdata/model.yaml's kettle and mash on one
// endpoint (as machines sharing a port are), with the scenario's OPC UA
// settings and a read-only user "viewer"; its log is returned.
func modelServer(t *testing.T) (*Server, *twin.Engine, *syncBuffer) {
	t.Helper()
	sc, err := scenarios.Load("testdata/model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := twin.New(sc, twin.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := DefaultConfig("kettle", "mash")
	cfg.DataDir = testDir
	cfg.ApplySettings(sc.OPCUA)
	cfg.Users = append(cfg.Users, User{Name: "viewer", Password: "look"})
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return serve(t, FromEngine(e), cfg), e, logs
}

// nsIndex is the index of uri in the server's NamespaceArray, read by c.
func nsIndex(t *testing.T, c *opcua.Client, uri string) uint16 {
	t.Helper()
	nss, err := c.NamespaceArray(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, ns := range nss {
		if ns == uri {
			return uint16(i)
		}
	}
	t.Fatalf("namespace %s not in NamespaceArray %v", uri, nss)
	return 0
}

// refs browses the references of n of type ref (with subtypes) in dir.
func refs(t *testing.T, c *opcua.Client, n *gua.NodeID, ref uint32, dir gua.BrowseDirection) []*gua.ReferenceDescription {
	t.Helper()
	rs, err := c.Node(n).References(context.Background(), ref, dir, gua.NodeClassAll, true)
	if err != nil {
		t.Fatalf("browse %s: %v", n, err)
	}
	return rs
}

// typeDefinition is the one HasTypeDefinition target of n.
func typeDefinition(t *testing.T, c *opcua.Client, n *gua.NodeID) *gua.NodeID {
	t.Helper()
	rs := refs(t, c, n, id.HasTypeDefinition, gua.BrowseDirectionForward)
	if len(rs) != 1 {
		t.Fatalf("%s has %d type definitions, want 1", n, len(rs))
	}
	return rs[0].NodeID.NodeID
}

func TestNamespacesOnSharedEndpoint(t *testing.T) {
	s, _, _ := modelServer(t)
	c := connect(t, s.URL())
	kettle := nsIndex(t, c, "urn:x:kettle")
	brewhouse := nsIndex(t, c, "urn:x:brewhouse")
	types := nsIndex(t, c, scenarios.TypesNamespace("brewery"))
	if kettle == brewhouse || kettle == types {
		t.Fatalf("namespaces share an index: kettle %d brewhouse %d types %d", kettle, brewhouse, types)
	}
	if got := strings.Join(s.Namespaces(), " "); !strings.Contains(got, " urn:x:kettle ") || !strings.HasSuffix(got, " urn:x:brewhouse") {
		t.Errorf("Namespaces() = %v", got)
	}
	// One node id, two namespaces, two nodes.
	dvs := read(t, c, gua.NewStringNodeID(kettle, "vessel-id"), gua.NewStringNodeID(brewhouse, "vessel-id"),
		gua.NewStringNodeID(kettle, "brewery/hot-side/kettle/temp"), gua.NewStringNodeID(brewhouse, "brewery/hot-side/mash-cell/mash/temp"))
	for i, want := range []any{"kettle", "mash", 65.5, 65.5} {
		if dvs[i].Status != gua.StatusOK || dvs[i].Value.Value() != want {
			t.Errorf("read %d: %v %v, want %v", i, dvs[i].Status, dvs[i].Value.Value(), want)
		}
	}
	// Not in the other namespace.
	if dv := read(t, c, gua.NewStringNodeID(kettle, "brewery/hot-side/mash-cell/mash/temp"))[0]; dv.Status != gua.StatusBadNodeIDUnknown {
		t.Errorf("mash's tag in kettle's namespace: %v", dv.Status)
	}
	// The folders both machines share are one node, in the namespace of
	// the first machine under it; the machines are in their own.
	site := gua.NewStringNodeID(kettle, "brewery")
	line := refs(t, c, site, id.Organizes, gua.BrowseDirectionForward)
	if len(line) != 1 || line[0].NodeID.NodeID.String() != gua.NewStringNodeID(kettle, "brewery/hot-side").String() {
		t.Fatalf("site folder organizes %v", line)
	}
	var names []string
	for _, r := range refs(t, c, line[0].NodeID.NodeID, id.Organizes, gua.BrowseDirectionForward) {
		names = append(names, r.NodeID.NodeID.String())
	}
	want := gua.NewStringNodeID(kettle, "brewery/hot-side/kettle").String() + " " + gua.NewStringNodeID(brewhouse, "brewery/hot-side/mash-cell").String()
	if strings.Join(names, " ") != want {
		t.Errorf("line folder organizes %v, want %s", names, want)
	}
}

func TestInformationModel(t *testing.T) {
	s, _, _ := modelServer(t)
	c := connect(t, s.URL())
	ctx := context.Background()
	kettle := nsIndex(t, c, "urn:x:kettle")
	brewhouse := nsIndex(t, c, "urn:x:brewhouse")
	types := nsIndex(t, c, scenarios.TypesNamespace("brewery"))
	vessel := gua.NewStringNodeID(types, "Vessel")

	// The template is an ObjectType, subtype of BaseObjectType.
	if nc, err := c.Node(vessel).NodeClass(ctx); err != nil || nc != gua.NodeClassObjectType {
		t.Fatalf("Vessel node class %v %v", nc, err)
	}
	if up := refs(t, c, vessel, id.HasSubtype, gua.BrowseDirectionInverse); len(up) != 1 || up[0].NodeID.NodeID.IntID() != id.BaseObjectType {
		t.Errorf("Vessel's supertype %v", up)
	}
	// Its tags are InstanceDeclarations: Mandatory, typed, with properties.
	decls := map[string]*gua.NodeID{}
	for _, r := range refs(t, c, vessel, id.HasComponent, gua.BrowseDirectionForward) {
		if r.BrowseName.NamespaceIndex != types {
			t.Errorf("declaration %s browse name in ns %d, want %d", r.BrowseName.Name, r.BrowseName.NamespaceIndex, types)
		}
		decls[r.BrowseName.Name] = r.NodeID.NodeID
	}
	wantType := map[string]uint32{"temp": id.AnalogItemType, "level": id.BaseDataVariableType, "setpoint": id.AnalogItemType, "id": id.BaseDataVariableType}
	if len(decls) != len(wantType) {
		t.Fatalf("declarations %v", decls)
	}
	for name, typ := range wantType {
		d := decls[name]
		if d == nil {
			t.Fatalf("no declaration %s", name)
		}
		if got := typeDefinition(t, c, d); got.IntID() != typ {
			t.Errorf("declaration %s type %v, want i=%d", name, got, typ)
		}
		mr := refs(t, c, d, id.HasModellingRule, gua.BrowseDirectionForward)
		if len(mr) != 1 || mr[0].NodeID.NodeID.IntID() != id.ModellingRule_Mandatory {
			t.Errorf("declaration %s modelling rule %v", name, mr)
		}
		for _, p := range refs(t, c, d, id.HasProperty, gua.BrowseDirectionForward) {
			if mr := refs(t, c, p.NodeID.NodeID, id.HasModellingRule, gua.BrowseDirectionForward); len(mr) != 1 {
				t.Errorf("property %s of declaration %s has no modelling rule", p.BrowseName.Name, name)
			}
		}
	}
	// "All vessels": the type's instances, and their type definition.
	var instances []string
	for _, r := range refs(t, c, vessel, id.HasTypeDefinition, gua.BrowseDirectionInverse) {
		instances = append(instances, r.NodeID.NodeID.String())
	}
	kettleObj := gua.NewStringNodeID(kettle, "brewery/hot-side/kettle")
	mashObj := gua.NewStringNodeID(brewhouse, "brewery/hot-side/mash-cell/mash")
	if got, want := strings.Join(instances, " "), kettleObj.String()+" "+mashObj.String(); got != want {
		t.Errorf("instances of Vessel: %s, want %s", got, want)
	}
	for _, m := range []*gua.NodeID{kettleObj, mashObj} {
		if got := typeDefinition(t, c, m); got.String() != vessel.String() {
			t.Errorf("%s type definition %v, want Vessel", m, got)
		}
	}
	// An instance answers the type's browse path (types:temp), as
	// instances of a type do; its own tags are in its namespace.
	tn, err := c.Node(mashObj).TranslateBrowsePathsToNodeIDs(ctx, []*gua.QualifiedName{{NamespaceIndex: types, Name: "temp"}})
	if err != nil || tn.String() != gua.NewStringNodeID(brewhouse, "brewery/hot-side/mash-cell/mash/temp").String() {
		t.Errorf("mash / types:temp = %v %v", tn, err)
	}
	if _, err := c.Node(mashObj).TranslateBrowsePathsToNodeIDs(ctx, []*gua.QualifiedName{{NamespaceIndex: brewhouse, Name: "rate"}}); err != nil {
		t.Errorf("mash / brewhouse:rate: %v", err)
	}

	// Every node below the site has exactly one type definition; tags with
	// a range are AnalogItemType, the others BaseDataVariableType.
	count := 0
	var walk func(n *gua.NodeID, depth int)
	walk = func(n *gua.NodeID, depth int) {
		if depth > 10 {
			t.Fatalf("deeper than 10 at %s", n)
		}
		count++
		typeDefinition(t, c, n)
		for _, r := range refs(t, c, n, id.HierarchicalReferences, gua.BrowseDirectionForward) {
			walk(r.NodeID.NodeID, depth+1)
		}
	}
	walk(gua.NewStringNodeID(kettle, "brewery"), 0)
	// 3 folders, 2 machines, 4+6 tags, 2×(temp EU+range, level EU,
	// setpoint EU+range) + rate EU + turbidity EU+range properties.
	if want := 3 + 2 + 10 + 2*5 + 3; count != want {
		t.Errorf("walked %d nodes, want %d", count, want)
	}
	for path, want := range map[string]uint32{
		"mash/turbidity": id.AnalogItemType, "mash/rate": id.BaseDataVariableType,
		"mash/temp": id.AnalogItemType, "mash/level": id.BaseDataVariableType,
	} {
		n := gua.NewStringNodeID(brewhouse, "brewery/hot-side/mash-cell/"+path)
		if got := typeDefinition(t, c, n); got.IntID() != want {
			t.Errorf("%s type definition %v, want i=%d", path, got, want)
		}
	}
}

func TestEngineeringUnitsForEveryUnit(t *testing.T) {
	s, _, _ := modelServer(t)
	c := connect(t, s.URL())
	brewhouse := nsIndex(t, c, "urn:x:brewhouse")
	for _, tt := range []struct {
		tag    string
		unitID int32
		symbol string
		rng    *gua.Range
	}{
		{"rate", units.NoUnitID, "bottles/min", nil},
		{"turbidity", units.NoUnitID, "NTU", &gua.Range{Low: 0, High: 50}},
		{"level", units.PackUnitID("P1"), "%", nil},
		{"temp", units.PackUnitID("CEL"), "°C", &gua.Range{Low: 0, High: 110}},
	} {
		id := "brewery/hot-side/mash-cell/mash/" + tt.tag
		dvs := read(t, c, gua.NewStringNodeID(brewhouse, id+scenarios.EngineeringUnitsSuffix), gua.NewStringNodeID(brewhouse, id+scenarios.EURangeSuffix))
		eo, _ := dvs[0].Value.Value().(*gua.ExtensionObject)
		eu, _ := eo.Value.(*gua.EUInformation)
		if eu == nil || eu.UnitID != tt.unitID || eu.NamespaceURI != units.Namespace || eu.DisplayName.Text != tt.symbol {
			t.Errorf("%s EngineeringUnits = %+v (%v)", tt.tag, eu, dvs[0].Status)
		}
		if tt.rng == nil {
			if dvs[1].Status != gua.StatusBadNodeIDUnknown {
				t.Errorf("%s has an EURange: %v", tt.tag, dvs[1].Value.Value())
			}
			continue
		}
		eo, _ = dvs[1].Value.Value().(*gua.ExtensionObject)
		if r, _ := eo.Value.(*gua.Range); r == nil || *r != *tt.rng {
			t.Errorf("%s EURange = %v, want %+v", tt.tag, eo, tt.rng)
		}
	}
}

func TestGetEndpointsOncePerMode(t *testing.T) {
	for _, tt := range []struct {
		s     *Server
		modes []gua.MessageSecurityMode
	}{
		{srvA, []gua.MessageSecurityMode{gua.MessageSecurityModeNone, gua.MessageSecurityModeSign, gua.MessageSecurityModeSignAndEncrypt}},
		{srvB, []gua.MessageSecurityMode{gua.MessageSecurityModeSignAndEncrypt}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		eps, err := opcua.GetEndpoints(ctx, tt.s.URL())
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var got []gua.MessageSecurityMode
		for _, ep := range eps {
			got = append(got, ep.SecurityMode)
		}
		if len(got) != len(tt.modes) {
			t.Fatalf("%s: %d endpoints %v, want %v", tt.s.URL(), len(eps), got, tt.modes)
		}
		for i := range got {
			if got[i] != tt.modes[i] {
				t.Errorf("%s: modes %v, want %v", tt.s.URL(), got, tt.modes)
			}
		}
	}
}

func TestWriteRefusalsSayWhy(t *testing.T) {
	s, e, logs := modelServer(t)
	anon := connect(t, s.URL())
	viewer := connect(t, s.URL(), userOpts(t, s.URL(), gua.SecurityPolicyURINone, gua.MessageSecurityModeNone, "viewer", "look")...)
	kettle := nsIndex(t, anon, "urn:x:kettle")
	sp := gua.NewStringNodeID(kettle, "brewery/hot-side/kettle/setpoint")
	spIdx, _ := e.Lookup("kettle/setpoint")
	for _, tt := range []struct {
		name   string
		c      *opcua.Client
		node   *gua.NodeID
		value  any
		status gua.StatusCode
		log    string
	}{
		{"anonymous write allowed", anon, sp, 80.0, gua.StatusOK, ""},
		{"read-only user", viewer, sp, 81.0, gua.StatusBadUserAccessDenied, "status=Bad_UserAccessDenied user=viewer tag=brewery/hot-side/kettle/setpoint"},
		{"read-only tag", anon, gua.NewStringNodeID(kettle, "brewery/hot-side/kettle/temp"), 1.0, gua.StatusBadNotWritable, "status=Bad_NotWritable user=anonymous tag=brewery/hot-side/kettle/temp"},
		{"outside range", anon, sp, 150.0, gua.StatusBadOutOfRange, "status=Bad_OutOfRange user=anonymous tag=brewery/hot-side/kettle/setpoint reason="},
		{"wrong type", anon, sp, "hot", gua.StatusBadTypeMismatch, "status=Bad_TypeMismatch user=anonymous tag=brewery/hot-side/kettle/setpoint"},
		{"unknown node", anon, gua.NewStringNodeID(kettle, "nope"), 1.0, gua.StatusBadNodeIDUnknown, `node="nsu=urn:x:kettle;s=nope" value=1 status=Bad_NodeIdUnknown`},
		{"another machine's id in this namespace", anon, gua.NewStringNodeID(kettle, "brewery/hot-side/mash-cell/mash/setpoint"), 70.0, gua.StatusBadNodeIDUnknown,
			`node="nsu=urn:x:kettle;s=brewery/hot-side/mash-cell/mash/setpoint" value=70 status=Bad_NodeIdUnknown`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := write(t, tt.c, tt.node, tt.value); got != tt.status {
				t.Fatalf("status %v, want %v", got, tt.status)
			}
			if v := e.Value(spIdx).V; v != 80.0 {
				t.Errorf("engine setpoint %v, want 80 (the first write only)", v)
			}
			if tt.log == "" {
				return
			}
			testkit.Eventually(t, time.Second, "the refusal in the log", func() bool {
				for _, l := range strings.Split(logs.String(), "\n") {
					if strings.Contains(l, `msg="opc ua write refused"`) && strings.Contains(l, tt.log) {
						return true
					}
				}
				return false
			})
		})
	}
	if n := strings.Count(logs.String(), "write refused"); n != 6 {
		t.Errorf("%d refusals logged, want 6:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), `reason="write brewery/hot-side/kettle/setpoint: value out of range: 150 outside the range [0, 100]"`) {
		t.Errorf("the engine's reason is not logged:\n%s", logs)
	}
}

// openChannel opens a secure channel (security None) on a raw connection
// to s, as any client does first, and returns the connection.
func openChannel(t *testing.T, s *Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.door.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(hello(65536, 65536, 0, s.URL())); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 28)); err != nil {
		t.Fatalf("ack: %v", err)
	}
	var body bytes.Buffer
	enc := ua.NewBinaryEncoder(&body, ua.NewEncodingContext())
	enc.WriteNodeID(ua.ObjectIDOpenSecureChannelRequestEncodingDefaultBinary)
	if err := enc.Encode(&ua.OpenSecureChannelRequest{
		RequestHeader:     ua.RequestHeader{Timestamp: time.Now(), RequestHandle: 1, TimeoutHint: 5000},
		RequestType:       ua.SecurityTokenRequestTypeIssue,
		SecurityMode:      ua.MessageSecurityModeNone,
		RequestedLifetime: 60000,
	}); err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	hdr := ua.NewBinaryEncoder(&msg, ua.NewEncodingContext())
	hdr.WriteUInt32(0) // secure channel id
	hdr.WriteString(ua.SecurityPolicyURINone)
	hdr.WriteByteString("")
	hdr.WriteByteString("")
	hdr.WriteUInt32(1) // sequence number
	hdr.WriteUInt32(1) // request id
	msg.Write(body.Bytes())
	opn := binary.LittleEndian.AppendUint32([]byte("OPNF"), uint32(8+msg.Len()))
	if _, err := conn.Write(append(opn, msg.Bytes()...)); err != nil {
		t.Fatal(err)
	}
	typ, _ := readChunk(t, conn)
	if typ != "OPNF" {
		t.Fatalf("open secure channel answered with %s", typ)
	}
	conn.SetDeadline(time.Time{})
	return conn
}

// readChunk reads one message chunk: its type and body.
func readChunk(t *testing.T, conn net.Conn) (string, []byte) {
	t.Helper()
	var h [8]byte
	if _, err := io.ReadFull(conn, h[:]); err != nil {
		t.Fatalf("read chunk: %v", err)
	}
	body := make([]byte, binary.LittleEndian.Uint32(h[4:])-8)
	if _, err := io.ReadFull(conn, body); err != nil {
		t.Fatalf("read chunk body: %v", err)
	}
	return string(h[:4]), body
}

func TestCloseEndsSessionsAtOnce(t *testing.T) {
	s, _, logs := modelServer(t)
	c := connect(t, s.URL(), opcua.AutoReconnect(false))
	ns := nsIndex(t, c, "urn:x:kettle")
	read(t, c, gua.NewStringNodeID(ns, "vessel-id"))
	raw := openChannel(t, s)
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v, want < 500ms", d)
	}
	// The open channel is told why, then closed (FIN, not reset).
	raw.SetReadDeadline(time.Now().Add(time.Second))
	typ, body := readChunk(t, raw)
	if typ != "ERRF" || len(body) < 4 || ua.StatusCode(binary.LittleEndian.Uint32(body)) != ua.BadServerHalted {
		t.Errorf("chunk after Close: %s % x, want ERRF Bad_ServerHalted", typ, body)
	}
	if n, err := raw.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after the ERR: %d bytes, %v; want EOF", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Node(gua.NewStringNodeID(ns, "vessel-id")).Value(ctx); err == nil {
		t.Error("gopcua read after Close succeeded")
	}
	if !strings.Contains(logs.String(), "opc ua server closed") {
		t.Errorf("no close in the log:\n%s", logs)
	}
}
