package opcuaserver

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	gua "github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uacp"
)

// serverVariables browses every variable below the Server object (i=2253)
// through hierarchical references, properties included.
func serverVariables(t *testing.T, c *opcua.Client) []*gua.NodeID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	root := gua.NewNumericNodeID(0, id.Server)
	seen := map[string]bool{root.String(): true}
	queue := []*gua.NodeID{root}
	var vars []*gua.NodeID
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		res, err := c.Browse(ctx, &gua.BrowseRequest{
			View: &gua.ViewDescription{ViewID: gua.NewTwoByteNodeID(0)},
			NodesToBrowse: []*gua.BrowseDescription{{
				NodeID: n, BrowseDirection: gua.BrowseDirectionForward,
				ReferenceTypeID: gua.NewNumericNodeID(0, id.HierarchicalReferences), IncludeSubtypes: true,
				NodeClassMask: uint32(gua.NodeClassObject | gua.NodeClassVariable), ResultMask: uint32(gua.BrowseResultMaskAll),
			}},
		})
		if err != nil || len(res.Results) != 1 {
			t.Fatalf("browse %s: %v", n, err)
		}
		for _, ref := range res.Results[0].References {
			nid := ref.NodeID.NodeID
			if nid.Namespace() != 0 || seen[nid.String()] {
				continue // the twin's own nodes are tested elsewhere
			}
			seen[nid.String()] = true
			queue = append(queue, nid)
			if ref.NodeClass == gua.NodeClassVariable {
				vars = append(vars, nid)
			}
		}
	}
	return vars
}

// Every variable below the Server object can be read and monitored, by a
// client with a single Publish request in flight too: values the stack
// cannot encode would drop the connection on a Read and silently swallow
// a notification message and the Publish request that was to carry it.
func TestServerObjectVariablesServed(t *testing.T) {
	c := connect(t, srvA.URL())
	vars := serverVariables(t, c)
	if len(vars) < 20 {
		t.Fatalf("%d variables below the Server object, want at least 20", len(vars))
	}
	dvs := read(t, c, vars...)
	summary := false
	for i, dv := range dvs {
		if vars[i].IntID() != id.Server_ServerDiagnostics_ServerDiagnosticsSummary {
			continue
		}
		summary = true
		eo, ok := dv.Value.Value().(*gua.ExtensionObject)
		if dv.Status != gua.StatusOK || !ok {
			t.Fatalf("ServerDiagnosticsSummary: status %v, value %T", dv.Status, dv.Value.Value())
		}
		if _, ok := eo.Value.(*gua.ServerDiagnosticsSummaryDataType); !ok {
			t.Errorf("ServerDiagnosticsSummary holds %T", eo.Value)
		}
	}
	if !summary {
		t.Fatal("ServerDiagnosticsSummary not found below the Server object")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var sub *gua.CreateSubscriptionResponse
	err := c.Send(ctx, &gua.CreateSubscriptionRequest{
		RequestedPublishingInterval: 100, RequestedLifetimeCount: 600, RequestedMaxKeepAliveCount: 10,
		MaxNotificationsPerPublish: 10000, PublishingEnabled: true,
	}, func(r gua.Response) error { sub = r.(*gua.CreateSubscriptionResponse); return nil })
	if err != nil {
		t.Fatal(err)
	}
	count := nodeOf(t, srvA, "filler1/count")
	monitored := append([]*gua.NodeID{count}, vars...)
	req := &gua.CreateMonitoredItemsRequest{SubscriptionID: sub.SubscriptionID, TimestampsToReturn: gua.TimestampsToReturnBoth}
	for h, n := range monitored {
		req.ItemsToCreate = append(req.ItemsToCreate, &gua.MonitoredItemCreateRequest{
			ItemToMonitor:  &gua.ReadValueID{NodeID: n, AttributeID: gua.AttributeIDValue, DataEncoding: &gua.QualifiedName{}},
			MonitoringMode: gua.MonitoringModeReporting,
			RequestedParameters: &gua.MonitoringParameters{
				ClientHandle: uint32(h), SamplingInterval: 100, QueueSize: 10, DiscardOldest: true,
			},
		})
	}
	if err := c.Send(ctx, req, func(gua.Response) error { return nil }); err != nil {
		t.Fatal(err)
	}

	// One Publish request at a time, as the otwin connector sends them:
	// each must be answered within a few publishing intervals (the
	// keep-alive is one second), and the count's changes must keep coming.
	seen := map[int]bool{}
	last := uint32(0)
	var acks []*gua.SubscriptionAcknowledgement
	publish := func() {
		t.Helper()
		pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
		defer pcancel()
		var res *gua.PublishResponse
		err := c.Send(pctx, &gua.PublishRequest{SubscriptionAcknowledgements: append([]*gua.SubscriptionAcknowledgement{}, acks...)},
			func(r gua.Response) error { res = r.(*gua.PublishResponse); return nil })
		if err != nil {
			t.Fatalf("publish unanswered (items seen so far %d of %d): %v", len(seen), len(monitored), err)
		}
		acks = nil
		msg := res.NotificationMessage
		if len(msg.NotificationData) == 0 {
			return
		}
		acks = append(acks, &gua.SubscriptionAcknowledgement{SubscriptionID: sub.SubscriptionID, SequenceNumber: msg.SequenceNumber})
		for _, eo := range msg.NotificationData {
			dc, ok := eo.Value.(*gua.DataChangeNotification)
			if !ok {
				continue
			}
			for _, it := range dc.MonitoredItems {
				seen[int(it.ClientHandle)] = true
				if it.ClientHandle == 0 {
					last = it.Value.Value.Value().(uint32)
				}
			}
		}
	}
	for len(seen) < len(monitored) {
		publish()
	}
	for range 5 {
		eng.Step(1)
		want := eng.Value(tagIndex(t, "filler1/count")).V.(uint32)
		for last != want {
			publish()
		}
	}
}

// A response the stack cannot send (here larger than the client accepts)
// is answered with a service fault of that status, and the connection
// serves on.
func TestUnsentResponseFaults(t *testing.T) {
	// A dialer of its own: opcua.MaxMessageSize would change gopcua's
	// shared default handshake for every later client of the process.
	ack := *uacp.DefaultClientACK
	ack.MaxMessageSize = 16 << 10
	c := connect(t, srvA.URL(), opcua.Dialer(&uacp.Dialer{Dialer: &net.Dialer{Timeout: 5 * time.Second}, ClientACK: &ack}))
	count := nodeOf(t, srvA, "filler1/count")
	req := &gua.ReadRequest{TimestampsToReturn: gua.TimestampsToReturnBoth}
	for range 1000 {
		req.NodesToRead = append(req.NodesToRead, &gua.ReadValueID{NodeID: count, AttributeID: gua.AttributeIDValue})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Read(ctx, req); !errors.Is(err, gua.StatusBadResponseTooLarge) {
		t.Fatalf("read of 1000 values into 16 KiB: %v, want %v", err, gua.StatusBadResponseTooLarge)
	}
	if dv := read(t, c, count)[0]; dv.Status != gua.StatusOK {
		t.Fatalf("read after the fault: %v", dv.Status)
	}
}

// node-opcua reads every variable below the Server object one by one,
// then monitors them all: every read is answered, every item gets its
// value, and the messages keep coming without a gap.
func TestNodeOPCUAServerObjectVariables(t *testing.T) {
	nodePeer(t)
	var r struct {
		Reads         map[string]string
		Notifications map[string]int
		Sequence      []uint32
	}
	runNodeScript(t, "servervars.js", map[string]any{"url": srvA.URL(), "ms": 2000}, &r)
	if len(r.Reads) < 20 {
		t.Fatalf("node-opcua found %d variables below the Server object, want at least 20", len(r.Reads))
	}
	for n, status := range r.Reads {
		if strings.HasPrefix(status, "error") {
			t.Errorf("read %s: %s", n, status)
		}
		if r.Notifications[n] == 0 {
			t.Errorf("no notification of %s (read: %s)", n, status)
		}
	}
	if s := r.Reads["ns=0;i=2275"]; s != "Good" {
		t.Errorf("ServerDiagnosticsSummary read: %q, want Good", s)
	}
	// CurrentTime changes at every sample (100 ms): a few seconds' worth
	// of messages, numbered without a gap.
	if n := r.Notifications["ns=0;i=2258"]; n < 3 {
		t.Errorf("%d notifications of CurrentTime in 2 s, want at least 3", n)
	}
	for i, seq := range r.Sequence {
		if seq != uint32(i+1) {
			t.Fatalf("notification messages numbered %v, want 1, 2, 3, ...", r.Sequence)
		}
	}
}
