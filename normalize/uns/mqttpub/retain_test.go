package mqttpub

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
)

// TestRetainerEdges: with an interval a tag is retained at its first
// sample and then at its first sample an interval after the last
// retained one; a tag that changes faster than the interval is never
// republished (no sample twice in steady state); one that stops has its
// newest sample republished once its retained one is twice the interval
// old, and all of them when the publisher stops.
func TestRetainerEdges(t *testing.T) {
	const every = 5 * time.Second
	r := newRetainer(every)
	var sent []string
	send := func(id string, payload []byte) bool {
		sent = append(sent, id+"="+string(payload))
		return true
	}
	at := t0
	var retained []int
	for i := 0; i < 60; i++ { // one sample a second for a minute
		if r.take("a", []byte(fmt.Sprint(i)), at) {
			retained = append(retained, i)
		}
		if n := r.flush(at, false, send); n != 0 {
			t.Fatalf("second %d: %d republished while the tag changes every second: %v", i, n, sent)
		}
		at = at.Add(time.Second)
	}
	if retained[0] != 0 {
		t.Errorf("first sample not retained: %v", retained)
	}
	for k := 1; k < len(retained); k++ {
		if d := retained[k] - retained[k-1]; d != 5 {
			t.Errorf("retained samples %v: want one every 5 s", retained)
			break
		}
	}
	// The tag stops at sample 59; the last retained one is older.
	last := retained[len(retained)-1]
	if last == 59 {
		t.Fatalf("the test needs the last sample pending: retained %v", retained)
	}
	stopped := at.Add(-time.Second)
	retainedAt := stopped.Add(-time.Duration(59-last) * time.Second)
	if n := r.flush(retainedAt.Add(2*every-time.Millisecond), false, send); n != 0 {
		t.Errorf("republished before twice the interval: %v", sent)
	}
	if n := r.flush(retainedAt.Add(2*every), false, send); n != 1 || sent[0] != "a=59" {
		t.Errorf("at twice the interval: %d republished %v, want a=59", n, sent)
	}
	if n := r.flush(retainedAt.Add(10*every), false, send); n != 0 {
		t.Errorf("republished again: %v", sent)
	}

	// A retained publish that was lost is due at the next flush.
	r.take("d", []byte("d1"), at) // new: retained
	r.lost("d", []byte("d1"))
	sent = nil
	if n := r.flush(at, false, send); n != 1 || sent[0] != "d=d1" {
		t.Errorf("after a lost retained publish: %d %v, want d=d1 at once", n, sent)
	}
	r.lost("unknown", nil) // a tag it never saw: nothing
	if _, ok := r.tags["unknown"]; ok {
		t.Error("lost made a tag of one it never saw")
	}

	// all: every pending tag at once, whatever its age; a failing send
	// stops the flush and leaves the rest pending.
	r.take("b", []byte("b1"), at)
	r.take("b", []byte("b2"), at)
	r.take("c", []byte("c1"), at)
	r.take("c", []byte("c2"), at)
	if n := r.flush(at, true, func(string, []byte) bool { return false }); n != 0 {
		t.Errorf("a failed send counted: %d", n)
	}
	sent = nil
	if n := r.flush(at, true, send); n != 2 || !strings.Contains(strings.Join(sent, " "), "b=b2") || !strings.Contains(strings.Join(sent, " "), "c=c2") {
		t.Errorf("flush all: %d %v, want b=b2 and c=c2", n, sent)
	}
}

// TestRetainerSpreads: tags that appear together do not reach the
// leading edge together: over an interval in steady state, each second
// retains about a fifth of them, never most.
func TestRetainerSpreads(t *testing.T) {
	const tags, every = 1000, 5 * time.Second
	r := newRetainer(every)
	perSecond := make([]int, 20)
	for s := range perSecond {
		at := t0.Add(time.Duration(s) * time.Second)
		for i := 0; i < tags; i++ {
			if r.take(fmt.Sprint("m/t", i), nil, at) {
				perSecond[s]++
			}
		}
	}
	if perSecond[0] != tags {
		t.Fatalf("first second retained %d of %d", perSecond[0], tags)
	}
	for s, n := range perSecond[1:] {
		if n < tags/5/2 || n > tags/5*2 {
			t.Errorf("second %d retained %d of %d tags (per second: %v), want about %d", s+1, n, tags, perSecond, tags/5)
		}
	}
	if newRetainer(0) != nil || !(*retainer)(nil).take("a", nil, t0) {
		t.Error("without an interval every sample must be retained")
	}
}

// TestRetainIntervalOnBrokers: with Config.RetainInterval, a live
// subscriber gets every sample in order, and a subscriber that comes
// later gets each tag's newest sample once the trailing edge (or Close)
// has republished it.
func TestRetainIntervalOnBrokers(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		live := mqtttest.Subscribe(t, b.URL(), "", true, 1, "acme/#")
		p := startPublisher(t, Config{Broker: b.URL(), Prefix: "acme", RetainInterval: 200 * time.Millisecond})
		const id = "plant1/line1/m1/p"
		for seq := uint64(1); seq <= 3; seq++ {
			s := num(id, float64(seq), seq)
			p.Sample(&s)
		}
		isSample := func(m mqtttest.Message) bool { return m.Topic == "acme/"+id }
		testkit.Eventually(t, 10*time.Second, "3 samples at the live subscriber", func() bool { return live.Count(isSample) >= 3 })
		var seqs []uint64
		for _, m := range live.Messages() {
			if isSample(m) {
				seqs = append(seqs, decodeSample(t, m.Payload).Seq)
			}
		}
		if len(seqs) < 3 || seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 3 {
			t.Fatalf("live subscriber got seqs %v, want 1 2 3 first", seqs)
		}
		testkit.Eventually(t, 10*time.Second, "the newest sample republished", func() bool { return p.Stats().Republished == 1 })
		retainedSeq(t, b.URL(), "acme/"+id, 3)
		if st := p.Stats(); st.Samples != 3 || st.Dropped != 0 || st.Republished != 1 {
			t.Errorf("stats %+v", st)
		}

		// Close publishes the pending newest samples retained.
		p2 := startPublisher(t, Config{Broker: b.URL(), Node: "edge2", ClientID: "edge2", Prefix: "acme", RetainInterval: time.Hour})
		const id2 = "plant1/line1/m2/q"
		for seq := uint64(1); seq <= 3; seq++ {
			s := num(id2, float64(seq), seq)
			p2.Sample(&s)
		}
		testkit.Eventually(t, 10*time.Second, "3 samples of edge2 at the live subscriber", func() bool {
			return live.Count(func(m mqtttest.Message) bool { return m.Topic == "acme/"+id2 }) >= 3
		})
		p2.Close()
		retainedSeq(t, b.URL(), "acme/"+id2, 3)
	})
}

// retainedSeq waits until a subscriber that comes gets the sample of seq
// retained on topic. Each attempt is a new subscriber: a broker stores a
// retained message apart from its delivery, and one who subscribes
// before that gets the older one.
func retainedSeq(t *testing.T, url, topic string, seq uint64) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, fmt.Sprintf("seq %d retained on %s", seq, topic), func() bool {
		late := mqtttest.Subscribe(t, url, "", true, 1, topic)
		defer late.Client.Disconnect(0)
		return testkit.Poll(time.Second, func() bool {
			m, ok := late.Last(topic)
			return ok && m.Retained && decodeSample(t, m.Payload).Seq == seq
		})
	})
}
