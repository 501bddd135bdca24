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
)

// awVar is a Double variable ns=<testNS>;s=<name> of awcullen's server,
// under folder (none: the Objects folder).
type awVar struct {
	name   string
	folder string
	value  float64
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
		n := awserver.NewVariableNode(srv, awua.NewNodeIDString(ns, v.name), awua.NewQualifiedName(ns, v.name), awua.NewLocalizedText(v.name, ""),
			awua.NewLocalizedText("", ""), nil,
			[]awua.Reference{{ReferenceTypeID: awua.ReferenceTypeIDHasComponent, IsInverse: true, TargetID: parent}},
			awua.NewDataValue(v.value, 0, now, 0, now, 0), awua.DataTypeIDDouble, awua.ValueRankScalar, []uint32{},
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
func (aw *awServer) set(name string, v float64, t time.Time) {
	aw.nodes[name].SetValue(awua.NewDataValue(v, 0, t, 0, time.Now(), 0))
}
