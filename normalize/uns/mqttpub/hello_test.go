package mqttpub

import (
	"context"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/score"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// TestHello: the collector's scorecards are published, retained, on their
// topic; a dashboard's hello under a shorter prefix makes the collector
// publish its whole state again — status, health, scorecards, every tag's
// latest sample, the listed alerts (transition "refresh") — which a
// subscriber gets live, not only from the broker's retained messages.
func TestHello(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		pub, err := New(Config{Broker: b.URL(), Node: "edge1", Prefix: "acme/site1", Logger: testLogger(t)})
		must(t, err)
		feed, st, _ := collectorWith(t, pub)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// subscribed first: the first messages come live (the embedded
		// broker indexes retained messages asynchronously)
		sub := mqtttest.Subscribe(t, b.URL(), "", true, 1, "acme/#")
		must(t, pub.Start(ctx))
		feed.Ch <- connectors.Reading{Source: "plc", Address: "a", Raw: 1.0, Received: time.Now()}
		st.PublishConditions(normalize.Condition{Kind: normalize.AlertStale, Target: "acme/m1/t", Active: true, Severity: normalize.SeverityMedium, Message: "no update", At: t0})
		pub.Scorecard(&score.Report{At: t0, Window: 60, Sites: []score.Card{{Level: score.LevelSite, Asset: "acme", Completeness: 1}}})

		tp, _ := uns.NewTopics("acme/site1", "edge1")
		live := func(topic string) int {
			return sub.Count(func(m mqtttest.Message) bool { return m.Topic == topic && !m.Retained })
		}
		sample, alert := tp.Sample("acme/m1/t"), tp.TagAlert("acme/m1/t", "stale")
		testkit.Eventually(t, 10*time.Second, "the sample, the alert and the scorecards", func() bool {
			_, s := sub.Last(sample)
			_, a := sub.Last(alert)
			m, c := sub.Last(tp.Scorecard())
			if c {
				sc, _, err := uns.DecodeScorecard(m.Payload)
				c = err == nil && sc.Node == "edge1" && len(sc.Sites) == 1
			}
			return s && a && c
		})
		// Every topic of the whole state has had its live messages: the
		// refresh is what comes after these counts.
		topics := []string{sample, alert, tp.Scorecard(), tp.Status(), tp.Health("plc")}
		before := map[string]int{}
		for _, tpc := range topics {
			before[tpc] = live(tpc)
		}

		dash, _ := uns.NewTopics("acme", "central")
		if tok := sub.Client.Publish(dash.Hello(), 0, false, uns.HelloPayload("central", time.Now())); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("hello: %v", tok.Error())
		}
		testkit.Eventually(t, 10*time.Second, "the whole state again", func() bool {
			for _, tpc := range topics {
				if live(tpc) <= before[tpc] {
					return false
				}
			}
			return true
		})
		m, _ := sub.Last(alert)
		if in, err := uns.DecodeAlert(m.Payload); err != nil || in.Event.What != uns.TransitionRefresh || in.Alert.State != normalize.ActiveUnacked {
			t.Errorf("the alert again: %+v, %v", in, err)
		}
		if pub.hellos.Load() != 1 {
			t.Errorf("%d hellos taken, want 1", pub.hellos.Load())
		}
	})
}
