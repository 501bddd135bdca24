package uns

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns/sparkplugb"
	"github.com/otwin/otwin/units"
)

func unmarshal(t *testing.T, m Message) *sparkplugb.Payload {
	t.Helper()
	var p sparkplugb.Payload
	if err := proto.Unmarshal(m.Payload, &p); err != nil {
		t.Fatalf("%s: %v", m.Topic, err)
	}
	return &p
}

func sample(asset, tag string, v float64, st connectors.StatusCode) normalize.Sample {
	return normalize.Sample{ID: asset + "/" + tag, Asset: asset, Tag: tag, Value: v, Status: st, SourceTime: t0,
		Unit: units.Unit{Symbol: "bar", Code: "BAR"}}
}

func TestSparkplugNode(t *testing.T) {
	n, err := NewNode("plant", "edge1")
	if err != nil {
		t.Fatal(err)
	}
	// Before the births, values are only recorded.
	first := []normalize.Sample{sample("acme/l1/m1", "p", 1, connectors.Good), sample("acme/l1/m2", "q", 2, connectors.Good)}
	if msgs, _ := n.Data(first, 0, t0); msgs != nil {
		t.Fatalf("data before births: %v", msgs)
	}
	births := n.Births(3, t0)
	if len(births) != 3 || births[0].Topic != "spBv1.0/plant/NBIRTH/edge1" ||
		births[1].Topic != "spBv1.0/plant/DBIRTH/edge1/acme:l1:m1" || births[2].Topic != "spBv1.0/plant/DBIRTH/edge1/acme:l1:m2" {
		t.Fatalf("births: %v", births)
	}
	nb := unmarshal(t, births[0])
	if nb.GetSeq() != 0 || nb.Metrics[0].GetName() != BdSeqMetric || nb.Metrics[0].GetLongValue() != 3 ||
		nb.Metrics[1].GetName() != RebirthMetric || nb.Metrics[1].GetDatatype() != SparkplugBoolean {
		t.Errorf("NBIRTH %v", nb)
	}
	db := unmarshal(t, births[1])
	m := db.Metrics[0]
	if db.GetSeq() != 1 || m.GetName() != "p" || m.GetAlias() != 2 || m.GetDatatype() != SparkplugDouble ||
		m.GetDoubleValue() != 1 || m.GetTimestamp() != uint64(t0.UnixMilli()) {
		t.Errorf("DBIRTH %v", db)
	}
	props := map[string]*sparkplugb.Payload_PropertyValue{}
	for i, k := range m.GetProperties().GetKeys() {
		props[k] = m.GetProperties().GetValues()[i]
	}
	if props[PropUnit].GetStringValue() != "bar" || props[PropQuality].GetIntValue() != 192 || props[PropStatus].GetIntValue() != 0 {
		t.Errorf("DBIRTH properties %v", props)
	}
	if a := unmarshal(t, births[2]).Metrics[0].GetAlias(); a != 3 {
		t.Errorf("second device's metric alias %d, want 3", a)
	}

	// Data: by alias, no name; one DDATA per device; quality only when not
	// Good or changed.
	msgs, rebirth := n.Data([]normalize.Sample{
		sample("acme/l1/m1", "p", 1.5, connectors.Good),
		sample("acme/l1/m2", "q", 0, connectors.BadNoCommunication),
		sample("acme/l1/m1", "p", 1.75, connectors.Good),
	}, 3, t0)
	if rebirth || len(msgs) != 2 || msgs[0].Topic != "spBv1.0/plant/DDATA/edge1/acme:l1:m1" {
		t.Fatalf("data: %v rebirth %v", msgs, rebirth)
	}
	d1, d2 := unmarshal(t, msgs[0]), unmarshal(t, msgs[1])
	if d1.GetSeq() != 3 || d2.GetSeq() != 4 {
		t.Errorf("seqs %d %d, want 3 4", d1.GetSeq(), d2.GetSeq())
	}
	if len(d1.Metrics) != 1 || d1.Metrics[0].Name != nil || d1.Metrics[0].GetAlias() != 2 ||
		d1.Metrics[0].GetDoubleValue() != 1.75 || d1.Metrics[0].Properties != nil {
		t.Errorf("DDATA m1 %v (one metric, the latest value, by alias)", d1)
	}
	q := d2.Metrics[0]
	if !q.GetIsNull() || q.GetProperties().GetValues()[0].GetIntValue() != 0 {
		t.Errorf("DDATA of a bad value %v, want is_null and Quality 0", q)
	}

	// A new tag: the births again, with the new metric and every value.
	msgs, rebirth = n.Data([]normalize.Sample{sample("acme/l1/m1", "r", 9, connectors.Good)}, 3, t0)
	if !rebirth || len(msgs) != 3 {
		t.Fatalf("new tag: rebirth %v, %d messages", rebirth, len(msgs))
	}
	if unmarshal(t, msgs[0]).GetSeq() != 0 {
		t.Error("rebirth NBIRTH seq not 0")
	}
	re := unmarshal(t, msgs[1])
	if len(re.Metrics) != 2 || re.Metrics[0].GetDoubleValue() != 1.75 || re.Metrics[1].GetName() != "r" || re.Metrics[1].GetAlias() != 4 {
		t.Errorf("rebirth DBIRTH %v", re)
	}

	// The sequence number wraps at 256.
	for i := 0; i < 300; i++ {
		msgs, _ = n.Data([]normalize.Sample{sample("acme/l1/m1", "p", float64(i), connectors.Good)}, 3, t0)
	}
	if s := unmarshal(t, msgs[0]).GetSeq(); s > 255 {
		t.Errorf("seq %d > 255", s)
	}

	// After Lost, data is recorded, not published.
	n.Lost()
	if msgs, _ = n.Data([]normalize.Sample{sample("acme/l1/m1", "p", 5, connectors.Good)}, 3, t0); msgs != nil {
		t.Error("data after Lost")
	}
	death := n.Death(3)
	if death.Topic != "spBv1.0/plant/NDEATH/edge1" || death.QoS != 1 || death.Retain ||
		unmarshal(t, death).Metrics[0].GetLongValue() != 3 {
		t.Errorf("NDEATH %v", death)
	}
}

func TestParseRebirth(t *testing.T) {
	n, _ := NewNode("g", "e")
	enc := func(ms ...*sparkplugb.Payload_Metric) []byte {
		b, _ := proto.Marshal(&sparkplugb.Payload{Timestamp: proto.Uint64(1), Metrics: ms})
		return b
	}
	boolean := func(v bool) *sparkplugb.Payload_Metric_BooleanValue {
		return &sparkplugb.Payload_Metric_BooleanValue{BooleanValue: v}
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    error
		bad     bool
	}{
		{"by name", enc(&sparkplugb.Payload_Metric{Name: proto.String(RebirthMetric), Value: boolean(true)}), nil, false},
		{"by alias", enc(&sparkplugb.Payload_Metric{Alias: proto.Uint64(1), Value: boolean(true)}), nil, false},
		{"false", enc(&sparkplugb.Payload_Metric{Name: proto.String(RebirthMetric), Value: boolean(false)}), ErrNotRebirth, false},
		{"other metric", enc(&sparkplugb.Payload_Metric{Name: proto.String("Node Control/Reboot"), Value: boolean(true)}), ErrNotRebirth, false},
		{"not a bool", enc(&sparkplugb.Payload_Metric{Name: proto.String(RebirthMetric), Value: &sparkplugb.Payload_Metric_StringValue{StringValue: "true"}}), ErrNotRebirth, false},
		{"empty", nil, ErrNotRebirth, false},
		{"garbage", []byte{0xff, 0xff, 0xff, 0x01, 0x02}, nil, true},
		{"json", []byte(`{"metrics":[{"name":"Node Control/Rebirth","value":true}]}`), nil, true},
	} {
		err := n.ParseRebirth(tc.payload)
		switch {
		case tc.bad && (err == nil || errors.Is(err, ErrNotRebirth)):
			t.Errorf("%s: err %v, want a decoding error", tc.name, err)
		case !tc.bad && !errors.Is(err, tc.want) && err != tc.want:
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzParseRebirth(f *testing.F) {
	n, _ := NewNode("g", "e")
	good, _ := proto.Marshal(&sparkplugb.Payload{Metrics: []*sparkplugb.Payload_Metric{
		{Name: proto.String(RebirthMetric), Value: &sparkplugb.Payload_Metric_BooleanValue{BooleanValue: true}}}})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = n.ParseRebirth(b) // never panics
	})
}

func TestSparkplugIDs(t *testing.T) {
	if _, err := NewNode("a/b", "e"); err == nil {
		t.Error("group with / accepted")
	}
	if _, err := NewNode("g", ""); err == nil {
		t.Error("empty node accepted")
	}
	if got := DeviceID("acme/plant1/l+1/m#"); got != "acme:plant1:l_1:m_" {
		t.Errorf("DeviceID = %q", got)
	}
}
