package opcua

import (
	"context"
	"crypto/rsa"
	"encoding/binary"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/server/attrs"
	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/internal/testkit"
)

// testNS is the namespace URI of the test server's variables.
const testNS = "urn:otwin:test:plant"

// quietLog discards the gopcua server's log.
type quietLog struct{}

func (quietLog) Debug(string, ...any) {}
func (quietLog) Info(string, ...any)  {}
func (quietLog) Warn(string, ...any)  {}
func (quietLog) Error(string, ...any) {}

// testVar describes one variable of the test server.
type testVar struct {
	// name is the string id and browse name.
	name string
	// parent is the string id of the folder object holding it ("" is the
	// namespace's Objects folder).
	parent string
	value  any
	// dataType is the built-in type id of the DataType attribute.
	dataType uint32
	// array declares ValueRank 1 (one dimension); else no ValueRank.
	array    bool
	writable bool
	// unit and rng add EngineeringUnits and EURange properties.
	unit *ua.EUInformation
	rng  *ua.Range
}

// testServer is gopcua's own server (not ours) on 127.0.0.1, with
// variables whose values the test sets.
type testServer struct {
	t      testing.TB
	port   int
	srv    *server.Server
	ns     *server.NodeNameSpace
	cancel context.CancelFunc

	mu   sync.Mutex
	vals map[string]*ua.DataValue
}

// serverOpts are options for startTestServer.
type serverOpts struct {
	// port 0 picks a free one.
	port    int
	folders []string // string ids of folder objects under Objects
	vars    []testVar
	// cert and key enable Basic256Sha256 SignAndEncrypt and user names.
	cert []byte
	key  *rsa.PrivateKey
	// keep leaves the server running after the test.
	keep bool
}

// freePort returns a port free on 127.0.0.1 now (gopcua's server cannot
// listen on port 0 and report the port).
func freePort(t testing.TB) int { t.Helper(); return testkit.FreePort(t) }

func startTestServer(t testing.TB, o serverOpts) *testServer {
	t.Helper()
	if o.port == 0 {
		o.port = freePort(t)
	}
	opts := []server.Option{
		server.EndPoint("127.0.0.1", o.port),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
		server.SetLogger(quietLog{}),
	}
	if o.cert != nil {
		opts = append(opts,
			server.Certificate(o.cert), server.PrivateKey(o.key),
			server.EnableSecurity("Basic256Sha256", ua.MessageSecurityModeSignAndEncrypt),
			server.EnableSecurity("Basic256Sha256", ua.MessageSecurityModeSign),
			server.EnableAuthMode(ua.UserTokenTypeUserName),
		)
	}
	ts := &testServer{t: t, port: o.port, vals: map[string]*ua.DataValue{}}
	ts.srv = server.New(opts...)
	ts.ns = server.NewNodeNameSpace(ts.srv, testNS)
	nsID := ts.ns.ID()
	objects := ts.ns.Objects()
	folders := map[string]*server.Node{"": objects}
	for _, f := range o.folders {
		n := server.NewNode(ua.NewStringNodeID(nsID, f), map[ua.AttributeID]*ua.DataValue{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassObject)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(attrs.BrowseName(lastSegment(f))),
			ua.AttributeIDDisplayName: server.DataValueFromValue(attrs.DisplayName(lastSegment(f), "")),
			ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, id.BaseObjectType)),
		}, nil, nil)
		ts.ns.AddNode(n)
		parent := folders[parentOf(f)]
		if parent == nil {
			parent = objects
		}
		parent.AddRef(n, id.Organizes, true)
		folders[f] = n
	}
	now := time.Now()
	for _, v := range o.vars {
		name := v.name
		ts.vals[name] = goodValue(v.value, now)
		access := byte(ua.AccessLevelTypeCurrentRead)
		if v.writable {
			access |= byte(ua.AccessLevelTypeCurrentWrite)
		}
		dt := v.dataType
		if dt == 0 {
			dt = id.BaseDataType
		}
		n := server.NewNode(ua.NewStringNodeID(nsID, name), map[ua.AttributeID]*ua.DataValue{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassVariable)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(attrs.BrowseName(lastSegment(name))),
			ua.AttributeIDDisplayName: server.DataValueFromValue(attrs.DisplayName("Display "+lastSegment(name), "")),
			ua.AttributeIDDescription: server.DataValueFromValue(attrs.DisplayName("Description of "+name, "")),
			ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, dt)),
			ua.AttributeIDAccessLevel: server.DataValueFromValue(access),
		}, nil, server.ValueFunc(func() *ua.DataValue { return ts.value(name) }))
		if v.array {
			n.SetAttribute(ua.AttributeIDValueRank, server.DataValueFromValue(int32(1)))
		}
		ts.ns.AddNode(n)
		if v.unit != nil {
			eu := v.unit
			p := server.NewNode(ua.NewStringNodeID(nsID, name+".EngineeringUnits"), map[ua.AttributeID]*ua.DataValue{
				ua.AttributeIDNodeClass:  server.DataValueFromValue(uint32(ua.NodeClassVariable)),
				ua.AttributeIDBrowseName: server.DataValueFromValue(attrs.BrowseName("EngineeringUnits")),
				ua.AttributeIDDataType:   server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, id.EUInformation)),
			}, nil, server.ValueFunc(func() *ua.DataValue {
				return server.DataValueFromValue(ua.NewExtensionObject(eu))
			}))
			ts.ns.AddNode(p)
			n.AddRef(p, id.HasProperty, true)
		}
		if v.rng != nil {
			rng := v.rng
			p := server.NewNode(ua.NewStringNodeID(nsID, name+".EURange"), map[ua.AttributeID]*ua.DataValue{
				ua.AttributeIDNodeClass:  server.DataValueFromValue(uint32(ua.NodeClassVariable)),
				ua.AttributeIDBrowseName: server.DataValueFromValue(attrs.BrowseName("EURange")),
				ua.AttributeIDDataType:   server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, id.Range)),
			}, nil, server.ValueFunc(func() *ua.DataValue {
				return server.DataValueFromValue(ua.NewExtensionObject(rng))
			}))
			ts.ns.AddNode(p)
			n.AddRef(p, id.HasProperty, true)
		}
		parent := folders[v.parent]
		if parent == nil {
			t.Fatalf("test server: unknown folder %q", v.parent)
		}
		parent.AddRef(n, id.HasComponent, true)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	if err := ts.srv.Start(ctx); err != nil {
		cancel()
		t.Fatalf("start gopcua server: %v", err)
	}
	if !o.keep {
		t.Cleanup(ts.stop)
	}
	return ts
}

// url of the server.
func (ts *testServer) url() string { return "opc.tcp://127.0.0.1:" + strconv.Itoa(ts.port) }

// stop closes the server and its connections; safe to call twice.
func (ts *testServer) stop() {
	ts.mu.Lock()
	srv := ts.srv
	ts.srv = nil
	ts.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	ts.cancel()
}

// value returns a copy of the current value of the variable name.
func (ts *testServer) value(name string) *ua.DataValue {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	dv, ok := ts.vals[name]
	if !ok {
		return &ua.DataValue{EncodingMask: ua.DataValueStatusCode, Status: ua.StatusBadNodeIDUnknown}
	}
	c := *dv
	return &c
}

// set changes a variable and notifies subscribers.
func (ts *testServer) set(name string, dv *ua.DataValue) {
	ts.mu.Lock()
	ts.vals[name] = dv
	srv := ts.srv
	ts.mu.Unlock()
	if srv != nil {
		ts.ns.ChangeNotification(ua.NewStringNodeID(ts.ns.ID(), name))
	}
}

// goodValue is a Good DataValue with both timestamps at t.
func goodValue(v any, t time.Time) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
		Value:           ua.MustVariant(v),
		SourceTimestamp: t,
		ServerTimestamp: t,
	}
}

// statusValue is a DataValue with a status and the given value (nil: none).
func statusValue(v any, code ua.StatusCode, t time.Time) *ua.DataValue {
	dv := &ua.DataValue{
		EncodingMask:    ua.DataValueStatusCode | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
		Status:          code,
		SourceTimestamp: t,
		ServerTimestamp: t,
	}
	if v != nil {
		dv.EncodingMask |= ua.DataValueValue
		dv.Value = ua.MustVariant(v)
	}
	return dv
}

func lastSegment(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[i+1:]
		}
	}
	return s
}

func parentOf(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[:i]
		}
	}
	return ""
}

// uacpFrames returns a testkit.Proxy's Downstream that copies whole UACP
// frames (8-byte header with the size at bytes 4-8) from the server
// through rewrite.
func uacpFrames(rewrite func([]byte) []byte) func(dst, src net.Conn) {
	return func(dst, src net.Conn) {
		defer dst.Close()
		var buf []byte
		chunk := make([]byte, 32*1024)
		for {
			n, err := src.Read(chunk)
			buf = append(buf, chunk[:n]...)
			for len(buf) >= 8 {
				size := int(binary.LittleEndian.Uint32(buf[4:8]))
				if size < 8 || len(buf) < size {
					break
				}
				if _, werr := dst.Write(rewrite(buf[:size])); werr != nil {
					return
				}
				buf = buf[size:]
			}
			if err != nil {
				return
			}
		}
	}
}
