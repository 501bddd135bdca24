package mqttpub

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/internal/testkit"
	"github.com/otwin/otwin/normalize/uns"
	"github.com/otwin/otwin/normalize/uns/broker"
	"github.com/otwin/otwin/normalize/uns/mqtttest"
	"github.com/otwin/otwin/normalize/uns/sparkplugb"
)

func spPayload(t *testing.T, m mqtttest.Message) *sparkplugb.Payload {
	t.Helper()
	var p sparkplugb.Payload
	if err := proto.Unmarshal(m.Payload, &p); err != nil {
		t.Fatalf("%s: not a Sparkplug B payload: %v", m.Topic, err)
	}
	return &p
}

func metricByName(p *sparkplugb.Payload, name string) *sparkplugb.Payload_Metric {
	for _, m := range p.GetMetrics() {
		if m.GetName() == name {
			return m
		}
	}
	return nil
}

// TestSparkplug decodes what a Sparkplug B host sees, with the same
// generated types: NBIRTH (bdSeq, rebirth metric), DBIRTH per asset with
// names and aliases, DDATA by those aliases, a rebirth on NCMD, malformed
// commands counted and skipped, and the NDEATH will, with the bdSeq of
// its session, when the connection breaks.
func TestSparkplug(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		host := mqtttest.Subscribe(t, b.URL(), "", true, 0, "spBv1.0/#")
		px := startProxy(t, hostPort(b.URL()))
		p := startPublisher(t, Config{Broker: px.URL(), Sparkplug: true, SparkplugGroup: "plant"})
		const (
			nbirth = "spBv1.0/plant/NBIRTH/edge1"
			ndeath = "spBv1.0/plant/NDEATH/edge1"
			ncmd   = "spBv1.0/plant/NCMD/edge1"
			dbirth = "spBv1.0/plant/DBIRTH/edge1/acme:l1:m1"
			ddata  = "spBv1.0/plant/DDATA/edge1/acme:l1:m1"
		)
		count := func(topic string) int {
			return host.Count(func(m mqtttest.Message) bool { return m.Topic == topic })
		}
		// The first samples are of tags not born: they bring the births.
		for _, id := range []string{"acme/l1/m1/p", "acme/l1/m1/q", "acme/l2/m2/r"} {
			s := num(id, 1, 1)
			p.Sample(&s)
		}
		testkit.Eventually(t, 10*time.Second, "NBIRTH and DBIRTHs", func() bool {
			return count(nbirth) >= 1 && count(dbirth) >= 1 && count("spBv1.0/plant/DBIRTH/edge1/acme:l2:m2") >= 1
		})
		nb, _ := host.Last(nbirth)
		birth := spPayload(t, nb)
		bd := metricByName(birth, uns.BdSeqMetric)
		if bd == nil || birth.GetSeq() != 0 || metricByName(birth, uns.RebirthMetric) == nil {
			t.Fatalf("NBIRTH %v", birth)
		}
		db, _ := host.Last(dbirth)
		aliases := map[uint64]string{}
		for _, m := range spPayload(t, db).GetMetrics() {
			if m.GetName() == "" || m.GetAlias() == 0 || m.GetDatatype() != uns.SparkplugDouble {
				t.Errorf("DBIRTH metric %v", m)
			}
			aliases[m.GetAlias()] = m.GetName()
		}
		if len(aliases) != 2 {
			t.Fatalf("DBIRTH aliases %v, want p and q", aliases)
		}

		// Data by alias.
		s := num("acme/l1/m1/q", 42, 2)
		p.Sample(&s)
		testkit.Eventually(t, 10*time.Second, "DDATA", func() bool { return count(ddata) >= 1 })
		dd, _ := host.Last(ddata)
		data := spPayload(t, dd)
		if len(data.Metrics) != 1 || data.Metrics[0].Name != nil || aliases[data.Metrics[0].GetAlias()] != "q" ||
			data.Metrics[0].GetDoubleValue() != 42 {
			t.Errorf("DDATA %v (aliases %v)", data, aliases)
		}

		// Malformed commands are counted and skipped; a rebirth request is
		// honoured with the same bdSeq.
		cmd := host.Client
		cmd.Publish(ncmd, 0, false, []byte("not protobuf \xff\xff\xff")).Wait()
		cmd.Publish(ncmd, 0, false, []byte{0x12, 0x05, 0xff}).Wait()
		testkit.Eventually(t, 10*time.Second, "the malformed commands counted", func() bool { return p.Stats().Malformed == 2 })
		other, _ := proto.Marshal(&sparkplugb.Payload{Metrics: []*sparkplugb.Payload_Metric{{Name: proto.String("Node Control/Reboot"), Value: &sparkplugb.Payload_Metric_BooleanValue{BooleanValue: true}}}})
		cmd.Publish(ncmd, 0, false, other).Wait()
		testkit.Eventually(t, 10*time.Second, "the other command counted", func() bool { return p.Stats().Ignored == 1 })
		rebirth, _ := proto.Marshal(&sparkplugb.Payload{Metrics: []*sparkplugb.Payload_Metric{{Name: proto.String(uns.RebirthMetric), Value: &sparkplugb.Payload_Metric_BooleanValue{BooleanValue: true}}}})
		nb0, db0 := count(nbirth), count(dbirth)
		cmd.Publish(ncmd, 0, false, rebirth).Wait()
		testkit.Eventually(t, 10*time.Second, "the rebirth", func() bool { return count(nbirth) == nb0+1 && count(dbirth) == db0+1 })
		nb, _ = host.Last(nbirth)
		if again := metricByName(spPayload(t, nb), uns.BdSeqMetric); again.GetLongValue() != bd.GetLongValue() {
			t.Errorf("rebirth bdSeq %d, want the session's %d", again.GetLongValue(), bd.GetLongValue())
		}
		db, _ = host.Last(dbirth)
		if q := metricByName(spPayload(t, db), "q"); q.GetDoubleValue() != 42 {
			t.Errorf("rebirth DBIRTH q = %v, want the latest value 42", q)
		}

		// The connection breaks: the broker publishes the will, NDEATH with
		// the session's bdSeq; the reconnection is a new session, bdSeq+1,
		// with new births.
		nb0 = count(nbirth)
		px.Cut()
		testkit.Eventually(t, 15*time.Second, "NDEATH", func() bool { return count(ndeath) >= 1 })
		nd, _ := host.Last(ndeath)
		if got := metricByName(spPayload(t, nd), uns.BdSeqMetric); got.GetLongValue() != bd.GetLongValue() {
			t.Errorf("NDEATH bdSeq %d, want %d", got.GetLongValue(), bd.GetLongValue())
		}
		testkit.Eventually(t, 15*time.Second, "births after the reconnection", func() bool { return count(nbirth) == nb0+1 })
		nb, _ = host.Last(nbirth)
		if next := metricByName(spPayload(t, nb), uns.BdSeqMetric); next.GetLongValue() != (bd.GetLongValue()+1)%256 {
			t.Errorf("new session bdSeq %d, want %d", next.GetLongValue(), bd.GetLongValue()+1)
		}
		if st := p.Stats(); st.Rebirths < 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestSparkplugAndJSON publishes both at once, each on its connection.
func TestSparkplugAndJSON(t *testing.T) {
	b := startEmbedded(t, broker.Config{})
	sub := mqtttest.Subscribe(t, b.URL(), "", true, 1, "#")
	p := startPublisher(t, Config{Broker: b.URL(), JSON: true, Sparkplug: true})
	s := num("a/m/t", 7, 1)
	s.Status = connectors.UncertainLastUsableValue
	p.Sample(&s)
	testkit.Eventually(t, 10*time.Second, "JSON and DBIRTH", func() bool {
		_, j := sub.Last("a/m/t")
		_, d := sub.Last("spBv1.0/otwin/DBIRTH/edge1/a:m")
		return j && d
	})
	j, _ := sub.Last("a/m/t")
	if !strings.Contains(string(j.Payload), `"Uncertain_LastUsableValue"`) {
		t.Errorf("JSON %s", j.Payload)
	}
}
