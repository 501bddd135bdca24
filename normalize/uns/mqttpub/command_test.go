package mqttpub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/store"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// TestCommands: a dashboard's command on the collector's command topic is
// carried out on the collector's store by the handler and answered on
// its reply topic; the transition is published on the alert's topic; a
// command delivered twice is acted on once and answered alike; a refusal
// and an expired command are answered with their reason; a malformed
// command is counted and, when it names its reply topic, answered.
func TestCommands(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		pub, err := New(Config{Broker: b.URL(), Node: "edge1", Prefix: "acme", Logger: testLogger(t)})
		must(t, err)
		var acts atomic.Int32
		var st *store.Store
		pub.HandleCommands(func(c *uns.Command) (normalize.Alert, error) {
			acts.Add(1)
			if c.Role == "trainer" {
				return normalize.Alert{}, fmt.Errorf("refused: trainers cannot acknowledge alerts")
			}
			return st.Act(store.Action{Kind: store.ActionKind(c.Action), AlertID: c.AlertID, User: c.User, Comment: c.Comment})
		})
		feed, s, _ := collectorWith(t, pub)
		st = s
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// subscribed first: the messages come live (the embedded broker
		// indexes retained messages asynchronously)
		dash, _ := uns.NewTopics("acme", "central")
		sub := mqtttest.Subscribe(t, b.URL(), "", true, 1, "acme/#")
		must(t, pub.Start(ctx))
		st.PublishConditions(normalize.Condition{Kind: normalize.AlertStale, Target: "acme/m1/t", Active: true, Severity: normalize.SeverityMedium, Message: "no update", At: t0})
		feed.Ch <- connectors.Reading{Source: "plc", Address: "a", Raw: 1.0, Received: time.Now()}
		testkit.Eventually(t, 10*time.Second, "the alert raised over MQTT", func() bool {
			m, ok := sub.Last("acme/acme/m1/t/_alert/stale")
			return ok && strings.Contains(string(m.Payload), `"state":"active_unacked"`)
		})
		send := func(c uns.Command) {
			t.Helper()
			tok := sub.Client.Publish("acme/_otwin/edge1/cmd", 1, false, c.Payload())
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("publish command: %v", tok.Error())
			}
		}
		reply := func(id string) uns.Reply {
			t.Helper()
			var r uns.Reply
			testkit.Eventually(t, 10*time.Second, "the reply to "+id, func() bool {
				m, ok := sub.Last(dash.Reply(id))
				if ok {
					r, err = uns.DecodeReply(m.Payload)
				}
				return ok
			})
			if err != nil {
				t.Fatalf("reply %s: %v", id, err)
			}
			return r
		}
		now := time.Now()
		cmd := func(id, role string) uns.Command {
			return uns.Command{RequestID: id, Action: uns.ActionAck, AlertID: "stale:acme/m1/t", User: "olga@central", Role: role,
				Comment: "checked", ReplyTo: dash.Reply(id), Sent: now.Format(time.RFC3339Nano), Expires: now.Add(time.Minute).Format(time.RFC3339Nano)}
		}

		send(cmd("r1", "operator"))
		if r := reply("r1"); !r.OK || r.State != "active_acked" || r.Node != "edge1" {
			t.Errorf("reply r1: %+v", r)
		}
		testkit.Eventually(t, 10*time.Second, "the acked transition over MQTT", func() bool {
			m, ok := sub.Last("acme/acme/m1/t/_alert/stale")
			if !ok {
				return false
			}
			in, err := uns.DecodeAlert(m.Payload)
			return err == nil && in.Event.What == "acked" && in.Alert.AckedBy == "olga@central" && in.Event.User == "olga@central" && in.Event.Comment == "checked"
		})
		// delivered again: answered alike, acted on once
		n := sub.Count(func(m mqtttest.Message) bool { return m.Topic == dash.Reply("r1") })
		send(cmd("r1", "operator"))
		testkit.Eventually(t, 10*time.Second, "the second answer to r1", func() bool {
			return sub.Count(func(m mqtttest.Message) bool { return m.Topic == dash.Reply("r1") }) > n
		})
		if r := reply("r1"); !r.OK || acts.Load() != 1 {
			t.Errorf("r1 again: %+v, %d acts", r, acts.Load())
		}

		send(cmd("r2", "trainer"))
		if r := reply("r2"); r.OK || r.Error != "refused: trainers cannot acknowledge alerts" {
			t.Errorf("reply r2: %+v", r)
		}
		old := cmd("r3", "operator")
		old.Expires = now.Add(-time.Minute).Format(time.RFC3339Nano)
		send(old)
		if r := reply("r3"); r.OK || !strings.Contains(r.Error, "expired") {
			t.Errorf("reply r3: %+v", r)
		}
		if acts.Load() != 2 {
			t.Errorf("%d acts, want 2 (the expired command not acted on)", acts.Load())
		}

		bad, _ := json.Marshal(map[string]any{"request_id": "r4", "action": "delete", "reply_to": dash.Reply("r4")})
		tok := sub.Client.Publish("acme/_otwin/edge1/cmd", 1, false, bad)
		tok.WaitTimeout(5 * time.Second)
		if r := reply("r4"); r.OK || !strings.Contains(r.Error, "malformed") {
			t.Errorf("reply r4: %+v", r)
		}
		sub.Client.Publish("acme/_otwin/edge1/cmd", 1, false, []byte("\x00garbage")).WaitTimeout(5 * time.Second)
		testkit.Eventually(t, 10*time.Second, "two malformed commands counted", func() bool { return pub.Stats().CommandsMalformed == 2 })
		if s := pub.Stats(); s.Commands != 1 || s.CommandsRefused != 2 {
			t.Errorf("stats %+v", s)
		}
	})
}
