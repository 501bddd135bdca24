package opcua

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
)

// skipSequence returns a frame rewriter that, once armed, adds skip to
// the sequence number of the next PublishResponse carrying data, as if
// the messages in between had been lost. It needs security None (the
// frame is neither signed nor encrypted) and single-chunk messages.
func skipSequence(armed *atomic.Bool, skip uint32) func([]byte) []byte {
	return func(frame []byte) []byte {
		const bodyAt = 24 // UACP header, channel id, token id, sequence header
		if !armed.Load() || len(frame) <= bodyAt || string(frame[:4]) != "MSGF" {
			return frame
		}
		typeID, v, err := ua.DecodeService(frame[bodyAt:])
		res, ok := v.(*ua.PublishResponse)
		if err != nil || !ok || res.NotificationMessage == nil || len(res.NotificationMessage.NotificationData) == 0 {
			return frame
		}
		armed.Store(false)
		res.NotificationMessage.SequenceNumber += skip
		tb, err1 := ua.Encode(typeID)
		rb, err2 := ua.Encode(res)
		if err1 != nil || err2 != nil {
			return frame
		}
		var out bytes.Buffer
		out.Write(frame[:4])
		_ = binary.Write(&out, binary.LittleEndian, uint32(bodyAt+len(tb)+len(rb)))
		out.Write(frame[8:bodyAt])
		out.Write(tb)
		out.Write(rb)
		return out.Bytes()
	}
}

func TestSequenceGapCounted(t *testing.T) {
	ts := sharedServer(t)
	var armed atomic.Bool
	px := testkit.NewProxy(ts.url()[len("opc.tcp://"):])
	px.Downstream = uacpFrames(skipSequence(&armed, 2))
	px.Start(t)
	temp := nodeAddr("G.Temp")
	h := runConnector(t, Config{URL: "opc.tcp://" + px.Addr(), Nodes: []string{temp}, PublishingInterval: 50 * time.Millisecond, Timeout: 2 * time.Second})
	h.waitFor(5*time.Second, "G.Temp", hasValue(temp, 21.5))

	// Two notification messages "go missing" before the next change.
	armed.Store(true)
	ts.set("G.Temp", goodValue(23.0, time.Now()))
	h.waitFor(5*time.Second, "G.Temp=23 despite the gap", hasValue(temp, 23.0))
	hl := h.waitHealth(5*time.Second, "two missing messages counted", func(hl connectors.Health) bool { return hl.SequenceGaps == 2 })
	// gopcua's server cannot Republish: both are counted as lost.
	st := h.c.Stats()
	if st.Lost != 2 || st.Republished != 0 {
		t.Errorf("stats %+v: want 2 lost, none republished", st)
	}
	if hl.Reconnects != 0 || hl.State != connectors.Connected {
		t.Errorf("health %+v: a gap must not drop the connection", hl)
	}
	// The server's next numbers are below the skipped-to one: values still
	// flow and no further gap is counted.
	ts.set("G.Temp", goodValue(24.0, time.Now()))
	h.waitFor(5*time.Second, "G.Temp=24", hasValue(temp, 24.0))
	if g := h.c.Health().SequenceGaps; g != 2 {
		t.Errorf("SequenceGaps = %d after the gap, want 2", g)
	}
}

// TestSeveralSubscriptions: points beyond MaxItemsPerSubscription are
// spread over several subscriptions, whose changes all arrive, and the
// connector marks its progress once every subscription is current: marks
// never go back, and one follows each change.
func TestSeveralSubscriptions(t *testing.T) {
	ts := sharedServer(t)
	nodes := plantNodes("M.")
	h := runConnector(t, Config{URL: ts.url(), Nodes: nodes, PublishingInterval: 50 * time.Millisecond, Timeout: 2 * time.Second,
		MaxItemsPerSubscription: 2})
	h.waitFor(5*time.Second, "first values", func(rs []connectors.Reading) bool {
		seen := map[string]bool{}
		for _, r := range rs {
			seen[r.Address] = true
		}
		return len(seen) == len(nodes)
	})
	if st := h.c.Stats(); st.Subscriptions != 3 {
		t.Errorf("%d subscriptions for %d points at 2 a subscription, want 3", st.Subscriptions, len(nodes))
	}
	set := time.Now()
	ts.set("M.Temp", goodValue(30.5, set))
	ts.set("M.Recipe", goodValue("B-7", set))
	h.waitFor(5*time.Second, "changes in two subscriptions", func(rs []connectors.Reading) bool {
		return hasValue(nodeAddr("M.Temp"), 30.5)(rs) && hasValue(nodeAddr("M.Recipe"), "B-7")(rs)
	})
	marks := h.waitMark(5*time.Second, set)
	for i := 1; i < len(marks); i++ {
		if marks[i].Before(marks[i-1]) {
			t.Fatalf("mark %d at %v before the previous one at %v", i, marks[i], marks[i-1])
		}
	}
	if last := marks[len(marks)-1]; last.After(time.Now()) {
		t.Errorf("mark %v in the future", last)
	}
}
