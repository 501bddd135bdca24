package opcua

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	awserver "github.com/awcullen/opcua/server"
	awua "github.com/awcullen/opcua/ua"

	"github.com/otwin/otwin/connectors"
)

// awVar is a variable ns=<testNS>;s=<name> of awcullen's server, under
// folder (none: the Objects folder); a float64 value makes a Double, a
// string a String.
type awVar struct {
	name   string
	folder string
	value  any
}

// awServer is awcullen/opcua's server (the library the twin uses, without
// any twin code).
type awServer struct {
	url   string
	nodes map[string]*awserver.VariableNode
}

// startAwcullenServer runs awcullen's server with Basic256Sha256
// endpoints, the user operator/secret, anonymous access over security
// None when none is set, and the variables. That library cannot bind a
// host or port 0: it listens on every interface on a free port for the
// test, and Close takes 3s.
func startAwcullenServer(t testing.TB, der []byte, key *rsa.PrivateKey, none bool, vars []awVar) *awServer {
	t.Helper()
	dir := t.TempDir()
	writeCert(t, dir, "server.crt", der)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(filepath.Join(dir, "server.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	url := "opc.tcp://127.0.0.1:" + strconv.Itoa(port)
	opts := []awserver.Option{
		awserver.WithInsecureSkipVerify(),
		awserver.WithAuthenticateUserNameIdentityFunc(func(u awua.UserNameIdentity, _, _ string) error {
			if u.UserName == "operator" && u.Password == "secret" {
				return nil
			}
			return awua.BadUserAccessDenied
		}),
	}
	if none {
		opts = append(opts, awserver.WithSecurityPolicyNone(true), awserver.WithAnonymousIdentity(true))
	}
	srv, err := awserver.New(
		awua.ApplicationDescription{
			ApplicationURI:  "urn:otwin:test:server",
			ApplicationName: awua.LocalizedText{Text: "test server"},
			ApplicationType: awua.ApplicationTypeServer,
			DiscoveryURLs:   []string{url},
		},
		filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	nm := srv.NamespaceManager()
	ns := nm.Add(testNS)
	folders := map[string]bool{}
	aw := &awServer{url: url, nodes: map[string]*awserver.VariableNode{}}
	now := time.Now()
	for _, v := range vars {
		parent := awua.NewExpandedNodeID(awua.ObjectIDObjectsFolder)
		if v.folder != "" {
			fid := awua.NewNodeIDString(ns, v.folder)
			if !folders[v.folder] {
				folders[v.folder] = true
				f := awserver.NewObjectNode(srv, fid, awua.NewQualifiedName(ns, v.folder), awua.NewLocalizedText(v.folder, ""),
					awua.NewLocalizedText("", ""), nil, []awua.Reference{
						{ReferenceTypeID: awua.ReferenceTypeIDOrganizes, IsInverse: true, TargetID: awua.NewExpandedNodeID(awua.ObjectIDObjectsFolder)},
						{ReferenceTypeID: awua.ReferenceTypeIDHasTypeDefinition, TargetID: awua.NewExpandedNodeID(awua.ObjectTypeIDFolderType)},
					}, 0)
				if err := nm.AddNode(f); err != nil {
					t.Fatal(err)
				}
			}
			parent = awua.NewExpandedNodeID(fid)
		}
		dataType := awua.DataTypeIDDouble
		if _, ok := v.value.(string); ok {
			dataType = awua.DataTypeIDString
		}
		n := awserver.NewVariableNode(srv, awua.NewNodeIDString(ns, v.name), awua.NewQualifiedName(ns, v.name), awua.NewLocalizedText(v.name, ""),
			awua.NewLocalizedText("", ""), nil,
			[]awua.Reference{{ReferenceTypeID: awua.ReferenceTypeIDHasComponent, IsInverse: true, TargetID: parent}},
			awua.NewDataValue(v.value, 0, now, 0, now, 0), dataType, awua.ValueRankScalar, []uint32{},
			awua.AccessLevelsCurrentRead, 100, false, nil)
		if err := nm.AddNode(n); err != nil {
			t.Fatal(err)
		}
		aw.nodes[v.name] = n
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ListenAndServe()
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return aw
}

// set changes a value; the server samples it at the item's interval.
func (aw *awServer) set(name string, v any, t time.Time) {
	aw.nodes[name].SetValue(awua.NewDataValue(v, 0, t, 0, time.Now(), 0))
}

func TestDeadband(t *testing.T) {
	if testing.Short() {
		t.Skip("awcullen's server takes 3s to close")
	}
	der, key := serverIdentity(t, "server")
	aw := startAwcullenServer(t, der, key, true, []awVar{{name: "X", value: 0.0}, {name: "Z", value: 0.0}, {name: "Text", value: "a"}})
	x, z, text := nodeAddr("X"), nodeAddr("Z"), nodeAddr("Text")
	h := runConnector(t, Config{URL: aw.url, Nodes: []string{x, z, text}, Deadband: 1.0,
		PublishingInterval: 50 * time.Millisecond, SamplingInterval: 50 * time.Millisecond, Timeout: 3 * time.Second})
	// The string item refuses a deadband and is monitored without one.
	h.waitFor(10*time.Second, "initial values", func(rs []connectors.Reading) bool {
		return hasValue(x, 0.0)(rs) && hasValue(z, 0.0)(rs) && hasValue(text, "a")(rs)
	})
	// X moves less than the deadband; Z, sampled with it, moves more.
	now := time.Now()
	aw.set("X", 0.5, now)
	aw.set("Z", 10.0, now)
	h.waitFor(5*time.Second, "Z=10", hasValue(z, 10.0))
	aw.set("X", 2.0, time.Now())
	aw.set("Text", "b", time.Now())
	rs := h.waitFor(5*time.Second, "X=2 and Text=b", func(rs []connectors.Reading) bool {
		return hasValue(x, 2.0)(rs) && hasValue(text, "b")(rs)
	})
	if _, ok := latest(rs, x, func(r connectors.Reading) bool { return r.Raw == 0.5 }); ok {
		t.Errorf("X=0.5, within the deadband of 1.0 from 0, was delivered")
	}
}
