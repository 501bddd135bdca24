package opcua

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"
)

// TestInOrder: messages come out in sequence order whatever order they
// arrive in; a number missing for the hold is a gap, recovered where the
// server still has it; a keep-alive ahead of the expected number reveals
// a loss; numbers wrap without 0.
func TestInOrder(t *testing.T) {
	hold := time.Second
	// Steps: "d<seq>" a data message, "k<seq>" a keep-alive, "w<ms>" time
	// passes and the hole is resolved. want lists what each step released,
	// "|" between steps ("N?" a number lost), then the gaps counted:
	// missing/lost.
	tests := []struct {
		name   string
		steps  string
		server []uint32 // numbers the server can republish
		want   string
	}{
		{"in order", "d1 d2 d3", nil, "1|2|3 0/0"},
		{"starts anywhere", "d500 d501", nil, "500|501 0/0"},
		{"swapped pair", "d1 d3 d2 d4", nil, "1||2,3|4 0/0"},
		{"held until the hold", "d1 d3 w500 d4 w600", nil, "1||||2?,3,4 1/1"},
		{"recovered by republish", "d1 d4 w1000", []uint32{2, 3}, "1||2,3,4 2/0"},
		{"original of a recovered one comes late", "d1 d3 w1000 d2 d4", []uint32{2}, "1||2,3||4 1/0"},
		{"keep-alive carries the next number", "d1 k2 k2 d2", nil, "1|||2 0/0"},
		{"keep-alive reveals a loss", "d1 k4 w1000 d4", nil, "1||2?,3?|4 2/2"},
		{"keep-alive overtaken by the data before it", "d1 k3 d2 w1000 d3", nil, "1||2||3 0/0"},
		{"first message a keep-alive", "k7 d7 d9 w1000", nil, "|7||8?,9 1/1"},
		{"old or repeated message", "d5 d5 d3 d6", nil, "5|5|3|6 0/0"},
		{"wraps without using 0", "d4294967294 d4294967295 d1 d2", nil, "4294967294|4294967295|1|2 0/0"},
		{"loss across the wrap", "d4294967294 d2 w1000", nil, "4294967294||4294967295?,1?,2 2/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o inOrder
			now := time.Unix(1000, 0)
			var steps []string
			var missing, lost uint32
			for _, st := range strings.Fields(tt.steps) {
				n, err := strconv.ParseUint(st[1:], 10, 32)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				switch st[0] {
				case 'd':
					for _, m := range o.data(&ua.NotificationMessage{SequenceNumber: uint32(n)}, now) {
						out = append(out, fmt.Sprint(m.SequenceNumber))
					}
				case 'k':
					o.keepAlive(uint32(n), now)
				case 'w':
					now = now.Add(time.Duration(n) * time.Millisecond)
					fetch := func(seq uint32) *ua.NotificationMessage {
						if slices.Contains(tt.server, seq) {
							return &ua.NotificationMessage{SequenceNumber: seq}
						}
						out = append(out, fmt.Sprintf("%d?", seq))
						return nil
					}
					ready, m, l := o.resolve(now, hold, fetch)
					missing, lost = missing+m, lost+l
					for _, r := range ready {
						out = append(out, fmt.Sprint(r.SequenceNumber))
					}
				}
				steps = append(steps, strings.Join(out, ","))
			}
			if got := fmt.Sprintf("%s %d/%d", strings.Join(steps, "|"), missing, lost); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestPlan: points are spread over subscriptions that each keep up with
// one response a publishing interval, and the Publish requests in flight
// follow the subscriptions.
func TestPlan(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		n    int
		want subscriptionPlan
	}{
		{"100k at a 1s tick", Config{PublishingInterval: time.Second, SamplingInterval: time.Second, QueueSize: 2}, 100000,
			subscriptionPlan{perSub: 7500, maxNotif: 10000, subs: 14, inflight: 15}},
		{"a few points", Config{PublishingInterval: 500 * time.Millisecond, SamplingInterval: 250 * time.Millisecond, QueueSize: 10}, 20,
			subscriptionPlan{perSub: 3750, maxNotif: 10000, subs: 1, inflight: 2}},
		{"queue bounds the values a point sends", Config{PublishingInterval: time.Second, SamplingInterval: 100 * time.Millisecond, QueueSize: 2}, 20000,
			subscriptionPlan{perSub: 3750, maxNotif: 10000, subs: 6, inflight: 7}},
		{"set by hand", Config{PublishingInterval: time.Second, SamplingInterval: time.Second, QueueSize: 1,
			MaxNotificationsPerPublish: 500, MaxItemsPerSubscription: 100, PublishRequests: 3}, 1000,
			subscriptionPlan{perSub: 100, maxNotif: 500, subs: 10, inflight: 3}},
		{"in flight capped", Config{PublishingInterval: time.Second, SamplingInterval: time.Second, QueueSize: 1, MaxItemsPerSubscription: 10}, 1000,
			subscriptionPlan{perSub: 10, maxNotif: 10000, subs: 100, inflight: MaxPublishRequests}},
		{"no points", Config{PublishingInterval: time.Second, SamplingInterval: time.Second, QueueSize: 1}, 0,
			subscriptionPlan{perSub: 7500, maxNotif: 10000, subs: 1, inflight: 2}},
	} {
		if got := tt.cfg.plan(tt.n); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
