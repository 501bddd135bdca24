package opcuaserver

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	gua "github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin/clientlog"
)

// entries collects the entries an observer gets.
type entries struct {
	mu  sync.Mutex
	all []clientlog.Entry
}

func (l *entries) Observe(e clientlog.Entry) {
	e.Tags, e.Items = slices.Clone(e.Tags), slices.Clone(e.Items)
	l.mu.Lock()
	l.all = append(l.all, e)
	l.mu.Unlock()
}

// find returns the first entry for which ok holds.
func (l *entries) find(ok func(e *clientlog.Entry) bool) (clientlog.Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.all {
		if ok(&l.all[i]) {
			return l.all[i], true
		}
	}
	return clientlog.Entry{}, false
}

// wait waits for an entry for which ok holds.
func (l *entries) wait(t *testing.T, what string, ok func(e *clientlog.Entry) bool) clientlog.Entry {
	t.Helper()
	var e clientlog.Entry
	testkit.Eventually(t, 5*time.Second, what, func() bool {
		var found bool
		e, found = l.find(ok)
		return found
	})
	return e
}

// observedServer starts a server of filler1 that reports to a new
// entries list.
func observedServer(t *testing.T) (*Server, *entries) {
	t.Helper()
	cfg := DefaultConfig("filler1")
	cfg.DataDir = testDir
	cfg.Namespace = "urn:otwin:opcua-test"
	cfg.Users = []User{{Name: "op", Password: "op-secret", Write: true}}
	s, err := New(FromEngine(eng), cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := &entries{}
	s.SetObserver(log)
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Close() })
	return s, log
}

// TestObserverSeesWhatAClientDoes: a gopcua client's connection, session
// (its name and user), read, subscription with its items, an accepted and
// a refused write, the subscription's deletion, the session's close and
// the disconnection each reach the observer, naming the tags.
func TestObserverSeesWhatAClientDoes(t *testing.T) {
	s, log := observedServer(t)
	sp, spIdx := nodeOf(t, s, "filler1/setpoint"), tagIndex(t, "filler1/setpoint")
	temp, tempIdx := nodeOf(t, s, "filler1/temp"), tagIndex(t, "filler1/temp")
	t.Cleanup(func() { eng.Write(spIdx, 50.0) })
	opts := append(userOpts(t, s.URL(), gua.SecurityPolicyURINone, gua.MessageSecurityModeNone, "op", "op-secret"), opcua.SessionName("line-reader"))
	c := connect(t, s.URL(), opts...)

	sess := log.wait(t, "session", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Session })
	if sess.Client != "line-reader" || sess.User != "op" || sess.Session == "" || sess.Reconnect {
		t.Errorf("session entry %+v", sess)
	}
	// The client's connection (gopcua asks for the endpoints on one of
	// its own first).
	conn := log.wait(t, "connect", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Connect && e.Conn == sess.Conn })
	if conn.Protocol != "opcua" || conn.Endpoint != s.URL() || !slices.Equal(conn.Machines, []string{"filler1"}) || !strings.HasPrefix(conn.Peer, "127.0.0.1:") || conn.Peer != sess.Peer {
		t.Errorf("connect entry %+v", conn)
	}

	read(t, c, sp, temp)
	rd := log.wait(t, "read", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Read && len(e.Tags) > 0 })
	if !slices.Equal(rd.Tags, []int{spIdx, tempIdx}) || rd.Session != sess.Session {
		t.Errorf("read entry tags %v session %q, want %v %q", rd.Tags, rd.Session, []int{spIdx, tempIdx}, sess.Session)
	}

	ctx := context.Background()
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 300 * time.Millisecond}, make(chan *opcua.PublishNotificationData, 64))
	if err != nil {
		t.Fatal(err)
	}
	req := opcua.NewMonitoredItemCreateRequestWithDefaults(temp, gua.AttributeIDValue, 1)
	req.RequestedParameters.SamplingInterval = 100
	if _, err := sub.Monitor(ctx, gua.TimestampsToReturnBoth, req); err != nil {
		t.Fatal(err)
	}
	se := log.wait(t, "subscription", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Subscription && e.Count > 0 })
	if len(se.Items) != 1 || se.Items[0].Tag != tempIdx || se.Items[0].Every != 300*time.Millisecond || se.SubscriptionID != sub.SubscriptionID {
		t.Errorf("subscription entry %+v items %+v, want temp every 300ms (the publishing interval) in subscription %d", se, se.Items, sub.SubscriptionID)
	}

	if st := write(t, c, sp, 75.0); st != gua.StatusOK {
		t.Fatalf("write 75: %v", st)
	}
	if st := write(t, c, sp, 150.0); st != gua.StatusBadOutOfRange {
		t.Fatalf("write 150: %v", st)
	}
	ok := log.wait(t, "accepted write", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Write && e.Value == 75.0 })
	bad := log.wait(t, "refused write", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Write && e.Value == 150.0 })
	if !ok.Accepted() || ok.Tag != eng.Tags()[spIdx].ID || ok.User != "op" || ok.Client != "line-reader" {
		t.Errorf("accepted write entry %+v", ok)
	}
	if bad.Accepted() || bad.Status != uint32(gua.StatusBadOutOfRange) || !strings.Contains(bad.Reason, "range") {
		t.Errorf("refused write entry %+v: want Bad_OutOfRange with the engine's reason", bad)
	}

	if err := sub.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "subscription deleted", func(e *clientlog.Entry) bool {
		return e.Kind == clientlog.Subscription && e.SubscriptionID == sub.SubscriptionID && e.Reason == "deleted"
	})
	c.Close(ctx)
	end := log.wait(t, "session end", func(e *clientlog.Entry) bool { return e.Kind == clientlog.SessionEnd })
	if end.Session != sess.Session || end.Reason != "closed by the client" {
		t.Errorf("session end entry %+v", end)
	}
	log.wait(t, "disconnect", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Disconnect && e.Conn == conn.Conn })
}

// TestObserverSeesSessionTimeOut: a session whose client vanished without
// closing it is reported ended ("timed out") once the stack drops it
// (after the stack's minimum session timeout, 10 s).
func TestObserverSeesSessionTimeOut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the stack's 10 s minimum session timeout")
	}
	s, log := observedServer(t)
	c := connect(t, s.URL(), opcua.SessionTimeout(time.Second))
	sess := log.wait(t, "session", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Session })
	undo := injectLink(t, scenarios.Fault{Kind: scenarios.Disconnect, Target: "filler1", Protocol: "opcua"})
	defer undo()
	log.wait(t, "disconnect", func(e *clientlog.Entry) bool { return e.Kind == clientlog.Disconnect })
	_ = c
	var end clientlog.Entry
	testkit.Eventually(t, 20*time.Second, "session timed out", func() bool {
		var ok bool
		end, ok = log.find(func(e *clientlog.Entry) bool { return e.Kind == clientlog.SessionEnd })
		return ok
	})
	if end.Session != sess.Session || end.Reason != "timed out" {
		t.Errorf("session end entry %+v, want session %s timed out", end, sess.Session)
	}
}
