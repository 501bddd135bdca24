package mqttsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/pipeline"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqttconn"
	"github.com/otwin/otwin/normalize/uns/mqttpub"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// site is a collector: a pipeline of one connector reading tag <asset>/t,
// published by node, whose commands act on its store as the role allows
// (trainers may not).
type site struct {
	pub  *mqttpub.Publisher
	st   *store.Store
	feed *mqtttest.Feed
	stop func()
}

func startSite(t *testing.T, url, node, asset string) *site {
	t.Helper()
	return startSiteWith(t, mqttpub.Config{Broker: url, Node: node, Prefix: "acme", Logger: testLogger(t, node)}, asset)
}

func startSiteWith(t *testing.T, cfg mqttpub.Config, asset string) *site {
	t.Helper()
	pub, err := mqttpub.New(cfg)
	must(t, err)
	n, err := normalize.New(normalize.Config{Points: []normalize.Point{{Source: "plc", Address: "a", Asset: asset, Tag: "t"}}})
	must(t, err)
	s := &site{pub: pub, st: store.New(store.Config{}), feed: mqtttest.NewFeed()}
	pub.HandleCommands(func(c *uns.Command) (normalize.Alert, error) {
		if c.Role == "trainer" {
			return normalize.Alert{}, errors.New("refused: trainers cannot acknowledge alerts")
		}
		return s.st.Act(store.Action{Kind: store.ActionKind(c.Action), AlertID: c.AlertID, User: c.User, Comment: c.Comment})
	})
	p := &pipeline.Pipeline{Connectors: []connectors.Connector{s.feed}, Normalizer: n, Store: s.st, TickInterval: 50 * time.Millisecond}
	mqttpub.Attach(pub, p)
	ctx, cancel := context.WithCancel(context.Background())
	must(t, pub.Start(ctx))
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	stopped := false
	s.stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			pub.Close()
		}
	}
	t.Cleanup(s.stop)
	return s
}

func (s *site) read(v float64) {
	s.feed.Ch <- connectors.Reading{Source: "plc", Address: "a", Raw: v, Received: time.Now()}
}

func (s *site) raise(id string) {
	s.st.PublishConditions(normalize.Condition{Kind: normalize.AlertStale, Target: id, Active: true, Severity: normalize.SeverityMedium, Message: "no update", At: time.Now()})
}

func startReader(t *testing.T, url string, st *store.Store) *Reader {
	t.Helper()
	r, err := New(Config{Settings: mqttconn.Settings{Broker: url}, Prefix: "acme", Node: "central", Logger: testLogger(t, "reader")}, st)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	must(t, r.Start(ctx))
	t.Cleanup(func() { r.Close() })
	return r
}

// waitRetained waits until a subscriber that comes now gets a retained
// message on every topic (the embedded broker indexes retained messages
// asynchronously: one who subscribes in the instant a message is
// published may get it neither live nor retained).
func waitRetained(t *testing.T, url string, topics ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := make(chan string, 64)
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("retained-%d", time.Now().UnixNano())))
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", url, tok.Error())
		}
		filters := map[string]byte{}
		for _, tp := range topics {
			filters[tp] = 1
		}
		c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) {
			if m.Retained() {
				got <- m.Topic()
			}
		}).WaitTimeout(5 * time.Second)
		seen := map[string]bool{}
		wait := time.After(time.Second)
	collect:
		for len(seen) < len(topics) {
			select {
			case tp := <-got:
				seen[tp] = true
			case <-wait:
				break collect
			}
		}
		c.Disconnect(0)
		if len(seen) == len(topics) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("retained messages on %v: only %v after 15s", topics, seen)
		}
	}
}

// brokers runs f against the embedded broker and against mosquitto.
func brokers(t *testing.T, f func(t *testing.T, url string)) {
	t.Run("embedded", func(t *testing.T) {
		b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
		must(t, err)
		t.Cleanup(func() { b.Close() })
		f(t, b.URL())
	})
	t.Run("mosquitto", func(t *testing.T) { f(t, mqtttest.StartMosquitto(t).URL()) })
}

func healthOf(st *store.Store, source string) (connectors.Health, bool) {
	for _, h := range st.Health() {
		if h.Source == source {
			return h, true
		}
	}
	return connectors.Health{}, false
}

// TestReaderSites: a dashboard that starts after two collectors gets
// their picture from the retained messages — tags with their values and
// endpoints named per collector, the collectors' rows, the alerts as
// their owners hold them; an acknowledgement made there reaches the
// owning collector, is recorded there as the dashboard's user, and comes
// back acknowledged; a refusal comes back with the owner's words. A
// collector that stops is shown lost with one comm_loss, and comes back.
func TestReaderSites(t *testing.T) {
	brokers(t, func(t *testing.T, url string) {
		a := startSite(t, url, "edge1", "springfield/filler1")
		b := startSite(t, url, "edge2", "riverside/pasteurizer1")
		a.read(71.5)
		b.read(3.25)
		testkit.Eventually(t, 10*time.Second, "edge1's sample in its store", func() bool { _, ok := a.st.Latest("springfield/filler1/t"); return ok })
		a.raise("springfield/filler1/t")
		waitRetained(t, url, "acme/springfield/filler1/t/_alert/stale", "acme/riverside/pasteurizer1/t", "acme/_otwin/edge2/health/plc")

		st := store.New(store.Config{})
		defer st.Close()
		r := startReader(t, url, st)
		testkit.Eventually(t, 10*time.Second, "the retained picture", func() bool {
			s1, ok1 := st.Latest("springfield/filler1/t")
			s2, ok2 := st.Latest("riverside/pasteurizer1/t")
			_, ok3 := healthOf(st, "plc@edge2")
			row, ok4 := healthOf(st, "edge1")
			al, ok5 := st.Alert("stale:springfield/filler1/t")
			return ok1 && ok2 && ok3 && ok4 && ok5 && s1.Value == 71.5 && s2.Value == 3.25 && s1.Source == "plc@edge1" &&
				s1.Asset == "springfield/filler1" && s1.Tag == "t" && row.State == connectors.Connected && al.Owner != nil && al.Owner.Name == "edge1"
		})
		if _, ok := healthOf(st, "mqtt@edge1"); !ok {
			t.Error("the collector's own publisher health not shown")
		}

		// an ack in the dashboard goes to the owner
		act := Action{Kind: uns.ActionAck, Owner: "edge1", Ref: "stale:springfield/filler1/t", User: "olga", Role: "operator", Comment: "checked"}
		must(t, r.Act(context.Background(), act))
		if al, _ := a.st.Alert("stale:springfield/filler1/t"); al.State != normalize.ActiveAcked || al.AckedBy != "olga@central" || al.Comment != "checked" {
			t.Errorf("at the owner: %+v", al)
		}
		testkit.Eventually(t, 10*time.Second, "the ack back in the dashboard", func() bool {
			al, _ := st.Alert("stale:springfield/filler1/t")
			return al.State == normalize.ActiveAcked && al.AckedBy == "olga@central"
		})
		h := st.AlertHistory("stale:springfield/filler1/t")
		if last := h[len(h)-1]; last.What != normalize.EventAcked || last.User != "olga@central" || last.Comment != "checked" {
			t.Errorf("history in the dashboard: %+v", h)
		}
		act.Role = "trainer"
		if err := r.Act(context.Background(), act); err == nil || err.Error() != "edge1: refused: trainers cannot acknowledge alerts" {
			t.Errorf("a trainer's ack: %v", err)
		}
		act.Owner = "edge9"
		if err := r.Act(context.Background(), act); err == nil || !strings.Contains(err.Error(), `no collector "edge9"`) {
			t.Errorf("an unknown owner: %v", err)
		}

		// a collector that stops: lost, one comm_loss; back: restored
		b.stop()
		testkit.Eventually(t, 10*time.Second, "edge2 shown lost", func() bool {
			s, _ := st.Latest("riverside/pasteurizer1/t")
			h, _ := healthOf(st, "plc@edge2")
			al, ok := st.Alert("comm_loss:edge2")
			return s.Status == connectors.UncertainNoCommunicationLastUsableValue && s.Value == 3.25 && h.State == connectors.Down &&
				ok && al.Active() && strings.Contains(al.Message, "edge2 stopped")
		})
		commLoss := 0
		for _, al := range st.Alerts() {
			if al.Kind == normalize.AlertCommLoss {
				commLoss++
			}
		}
		if commLoss != 1 {
			t.Errorf("%d comm_loss alerts, want one (the collector's)", commLoss)
		}
		if s, _ := st.Latest("springfield/filler1/t"); s.Status != connectors.Good {
			t.Errorf("edge1's tag %v while edge2 is away", s.Status)
		}
		if err := r.Act(context.Background(), Action{Kind: uns.ActionAck, Owner: "edge2", Ref: "x", User: "olga"}); err == nil || !strings.Contains(err.Error(), "edge2 stopped") {
			t.Errorf("an action on an offline collector: %v", err)
		}
		b2 := startSite(t, url, "edge2", "riverside/pasteurizer1")
		_ = b2
		testkit.Eventually(t, 10*time.Second, "edge2 back", func() bool {
			s, _ := st.Latest("riverside/pasteurizer1/t")
			al, _ := st.Alert("comm_loss:edge2")
			row, _ := healthOf(st, "edge2")
			return s.Status == connectors.Good && !al.Active() && row.State == connectors.Connected
		})
	})
}

// TestReaderWill: a collector whose connection is lost (no orderly stop:
// the broker publishes its will) is shown lost with one comm_loss that
// says so, its alerts not current; when it reconnects it is back.
func TestReaderWill(t *testing.T) {
	brokers(t, func(t *testing.T, url string) {
		px := mqtttest.StartProxy(t, strings.TrimPrefix(url, "mqtt://"))
		a := startSite(t, px.URL(), "edge1", "springfield/filler1")
		a.read(7)
		testkit.Eventually(t, 10*time.Second, "edge1's sample in its store", func() bool { _, ok := a.st.Latest("springfield/filler1/t"); return ok })
		a.raise("springfield/filler1/t")
		st := store.New(store.Config{})
		defer st.Close()
		startReader(t, url, st)
		testkit.Eventually(t, 10*time.Second, "edge1 read", func() bool {
			s, _ := st.Latest("springfield/filler1/t")
			al, _ := st.Alert("stale:springfield/filler1/t")
			return s.Value == 7 && al.Owner != nil && al.Owner.Current
		})
		px.Close() // the network fails: the broker publishes the will
		testkit.Eventually(t, 20*time.Second, "edge1 lost by its will", func() bool {
			s, _ := st.Latest("springfield/filler1/t")
			al, _ := st.Alert("stale:springfield/filler1/t")
			cl, ok := st.Alert("comm_loss:edge1")
			row, _ := healthOf(st, "edge1")
			return s.Status == connectors.UncertainNoCommunicationLastUsableValue && s.Value == 7 && al.NotCurrent() &&
				ok && cl.Active() && strings.Contains(cl.Message, "its will") && row.State == connectors.Down && row.Endpoint == "acme/_otwin/edge1"
		})
		px2 := mqtttest.StartProxy(t, strings.TrimPrefix(url, "mqtt://"))
		b := startSite(t, px2.URL(), "edge1", "springfield/filler1")
		b.read(8)
		testkit.Eventually(t, 20*time.Second, "edge1 back", func() bool {
			s, _ := st.Latest("springfield/filler1/t")
			cl, _ := st.Alert("comm_loss:edge1")
			return s.Status == connectors.Good && s.Value == 8 && !cl.Active()
		})
	})
}

// TestReaderSilent: a collector that publishes nothing for three
// heartbeats — its link stalls, no will comes — is shown lost with one
// comm_loss that says it is silent; its next heartbeat brings it back.
func TestReaderSilent(t *testing.T) {
	b, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	must(t, err)
	defer b.Close()
	px := mqtttest.StartProxy(t, strings.TrimPrefix(b.URL(), "mqtt://"))
	a := startSiteWith(t, mqttpub.Config{Broker: px.URL(), Node: "edge1", Prefix: "acme", Heartbeat: 300 * time.Millisecond, Logger: testLogger(t, "edge1")}, "springfield/filler1")
	a.read(7)
	st := store.New(store.Config{})
	defer st.Close()
	startReader(t, b.URL(), st)
	testkit.Eventually(t, 10*time.Second, "edge1 read", func() bool {
		s, _ := st.Latest("springfield/filler1/t")
		row, _ := healthOf(st, "edge1")
		return s.Value == 7 && row.State == connectors.Connected
	})
	px.Pause() // the link stalls: nothing comes, no will either
	testkit.Eventually(t, 10*time.Second, "edge1 shown lost, silent", func() bool {
		s, _ := st.Latest("springfield/filler1/t")
		cl, ok := st.Alert("comm_loss:edge1")
		row, _ := healthOf(st, "edge1")
		return s.Status == connectors.UncertainNoCommunicationLastUsableValue && ok && cl.Active() &&
			strings.Contains(cl.Message, "edge1 silent for") && row.State == connectors.Down
	})
	px.Resume()
	testkit.Eventually(t, 10*time.Second, "edge1 back at its heartbeat", func() bool {
		s, _ := st.Latest("springfield/filler1/t")
		cl, _ := st.Alert("comm_loss:edge1")
		row, _ := healthOf(st, "edge1")
		return s.Status == connectors.Good && !cl.Active() && row.State == connectors.Connected
	})
}

// TestReaderGarbage: what other publishers put on the broker — bad JSON,
// wrong types, unknown fields, topics outside the tree, oversize payloads
// — published with mosquitto_pub beside a collector's real data, is
// counted and skipped; the reader goes on reading the collector, and the
// count and the last reason are in its health.
func TestReaderGarbage(t *testing.T) {
	m := mqtttest.StartMosquitto(t)
	a := startSite(t, m.URL(), "edge1", "springfield/filler1")
	st := store.New(store.Config{})
	defer st.Close()
	r, err := New(Config{Settings: mqttconn.Settings{Broker: m.URL()}, Prefix: "acme", Node: "central", MaxPayload: 4096, Logger: testLogger(t, "reader")}, st)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, r.Start(ctx))
	defer r.Close()

	garbage := []struct{ topic, payload string }{
		{"acme/other/line/tag", "not json"},
		{"acme/other/line/tag", `{"value":"x","seq":"seven"}`},
		{"acme/other/line/tag", `{"value":[1,2]}`},
		{"acme/other/line/tag", `{"value":1,"quality":"Perfect"}`},
		{"acme/other/_alert/x/y", `{"value":1}`},
		{"acme/_otwin/edge1/health/x", `{"source":"x","state":"fine"}`},
		{"acme/_otwin/edge9/status", `{"state":"sleeping"}`},
		{"acme/_otwin/edge9/whatever", `{}`},
		{"acme/lonely", `{"value":1}`},
		{"acme/other/line/big", `{"value":"` + strings.Repeat("x", 5000) + `"}`},
		{"acme/other/line/tag", `{"value":1,"context":{"batch":7}}`},
		{"acme/_otwin/edge9/scorecard", `{"sites":[{"asset":"x"}]}`},
	}
	for _, g := range garbage {
		mqtttest.MosquittoPub(t, m.URL(), g.topic, []byte(g.payload), false)
	}
	// and well-formed ones: a sample with a field the reader does not
	// know, one with a context, another publisher's scorecards, a hello
	mqtttest.MosquittoPub(t, m.URL(), "acme/other/line/fine", []byte(`{"value":5,"colour":"red"}`), false)
	mqtttest.MosquittoPub(t, m.URL(), "acme/other/line/ctx", []byte(`{"value":6,"context":{"work_order":"WO-1","batch":"B-2"}}`), false)
	mqtttest.MosquittoPub(t, m.URL(), "acme/_otwin/edge9/scorecard", []byte(`{"type":"scorecard","node":"edge9","sites":[{"level":"site","asset":"other","completeness":0.5}]}`), false)
	mqtttest.MosquittoPub(t, m.URL(), "acme/_otwin/dash2/hello", []byte(`{"node":"dash2"}`), false)
	for i := 1; i <= 3; i++ {
		a.read(float64(i))
		testkit.Eventually(t, 10*time.Second, "the collector's value "+fmt.Sprint(i), func() bool {
			s, _ := st.Latest("springfield/filler1/t")
			return s.Value == float64(i)
		})
	}
	testkit.Eventually(t, 10*time.Second, "every bad message counted", func() bool { return r.Stats().Skipped() == uint64(len(garbage)) })
	s := r.Stats()
	if s.Malformed != 8 || s.Outside != 3 || s.Oversize != 1 || s.Extra != 1 {
		t.Errorf("stats %+v", s)
	}
	testkit.Eventually(t, 5*time.Second, "the context and the scorecards", func() bool {
		c, ok := st.Latest("other/line/ctx")
		sc := r.Report()
		return ok && c.Context.WorkOrder == "WO-1" && c.Context.Batch == "B-2" && len(sc.Sites) == 1 && sc.Sites[0].Asset == "other"
	})
	if f, ok := st.Latest("other/line/fine"); !ok || f.Value != 5 {
		t.Errorf("the sample with an unknown field: %+v, %v", f, ok)
	}
	testkit.Eventually(t, 5*time.Second, "the count in the reader's health", func() bool {
		h, ok := healthOf(st, HealthSource)
		return ok && h.Errors == uint64(len(garbage)) && h.LastError != nil && strings.Contains(h.LastError.Error(), "skipped")
	})
}

func testLogger(t testing.TB, who string) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("who", who)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReaderRefreshAfterLinkLoss: a site's broker linked to the central
// one as a leaf node loses the link; what its collector publishes
// meanwhile (a new value, an alert raised) does not cross (a leaf link
// carries no backlog). The central reader shows the collector lost after
// three heartbeats; when the link is back, the reader says hello and the
// collector's whole state — the new value, the alert — arrives.
func TestReaderRefreshAfterLinkLoss(t *testing.T) {
	central, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", LeafListen: "127.0.0.1:0", Name: "central", StoreDir: t.TempDir()})
	must(t, err)
	defer central.Close()
	px := testkit.StartProxy(t, strings.TrimPrefix(central.LeafURL(), "nats-leaf://"))
	siteBroker, err := broker.Start(broker.Config{Listen: "127.0.0.1:0", Name: "site1", StoreDir: t.TempDir(), Leaves: []string{"nats-leaf://" + px.Addr()}})
	must(t, err)
	defer siteBroker.Close()
	st := store.New(store.Config{})
	defer st.Close()
	startReader(t, central.URL(), st)
	a := startSiteWith(t, mqttpub.Config{Broker: siteBroker.URL(), Node: "edge1", Prefix: "acme", Heartbeat: 300 * time.Millisecond, Logger: testLogger(t, "edge1")}, "springfield/filler1")
	const id = "springfield/filler1/t"
	testkit.Eventually(t, 20*time.Second, "edge1's value across the leaf link", func() bool {
		a.read(7)
		s, _ := st.Latest(id)
		return s.Value == 7
	})

	px.Pause() // the link stalls, and then drops: what is in flight is lost
	px.Cut()
	testkit.Eventually(t, 10*time.Second, "edge1 shown lost, silent", func() bool {
		row, _ := healthOf(st, "edge1")
		return row.State == connectors.Down
	})
	a.read(9)
	a.raise(id)
	testkit.Eventually(t, 10*time.Second, "the alert raised at the site", func() bool {
		al, ok := a.st.Alert("stale:" + id)
		return ok && al.Active()
	})
	if _, ok := st.Alert("stale:" + id); ok {
		t.Fatal("the alert crossed a link that is down")
	}
	px.Resume()
	testkit.Eventually(t, 30*time.Second, "edge1 back with the value and the alert of the outage", func() bool {
		s, _ := st.Latest(id)
		al, ok := st.Alert("stale:" + id)
		row, _ := healthOf(st, "edge1")
		return row.State == connectors.Connected && s.Value == 9 && s.Status == connectors.Good && ok && al.Active()
	})
}
