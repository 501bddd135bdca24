package uns

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/otwin/otwin/connectors"
	"github.com/otwin/otwin/normalize"
	"github.com/otwin/otwin/normalize/uns/sparkplugb"
)

// Sparkplug B names.
const (
	// SparkplugNamespace is the first topic level of Sparkplug B.
	SparkplugNamespace = "spBv1.0"
	// RebirthMetric is the node metric a host application sets to true in
	// an NCMD to ask for a rebirth.
	RebirthMetric = "Node Control/Rebirth"
	// BdSeqMetric is the birth/death sequence number metric of NBIRTH and
	// NDEATH.
	BdSeqMetric = "bdSeq"
)

// Sparkplug B data types (the Sparkplug specification's table; the proto
// file lists them in a comment).
const (
	SparkplugInt32   uint32 = 3
	SparkplugUInt32  uint32 = 7
	SparkplugUInt64  uint32 = 8
	SparkplugDouble  uint32 = 10
	SparkplugBoolean uint32 = 11
	SparkplugString  uint32 = 12
)

// The metric properties otwin sets: the unit (in births) and the quality.
const (
	// PropUnit is the engineering unit's symbol (String), in births.
	PropUnit = "engUnit"
	// PropQuality is the quality as the OPC classic code most hosts read
	// (Int32): 192 good, 64 uncertain, 0 bad.
	PropQuality = "Quality"
	// PropStatus is the full OPC UA StatusCode (UInt32).
	PropStatus = "StatusCode"
)

// Message is one MQTT message to publish.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// SparkplugTopic returns "spBv1.0/<group>/<kind>/<node>[/<device>]".
func SparkplugTopic(group, kind, node, device string) string {
	t := SparkplugNamespace + "/" + group + "/" + kind + "/" + node
	if device != "" {
		t += "/" + device
	}
	return t
}

// CheckSparkplugID says whether s can be a Sparkplug group, edge node or
// device id: not empty, and none of / + #.
func CheckSparkplugID(what, s string) error {
	if s == "" {
		return fmt.Errorf("sparkplug %s is empty", what)
	}
	if strings.ContainsAny(s, "/+#\x00") {
		return fmt.Errorf("sparkplug %s %q: must not hold / + # or NUL", what, s)
	}
	return nil
}

// DeviceID is the Sparkplug device id of an asset: its path with ":"
// between the levels ("acme:plant1:bottling:line1:filler1"), so that every
// asset is one device and its tags are the device's metrics.
func DeviceID(asset string) string {
	id := strings.ReplaceAll(asset, "/", ":")
	if id == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '+' || r == '#' || r == 0 {
			return '_'
		}
		return r
	}, id)
}

// Node is the Sparkplug B edge node of one collector: one device per
// asset, one metric per tag. It keeps each metric's alias and latest value
// (births carry every value) and the message sequence number. Aliases are
// given in order of first sight, from 2 (1 is Node Control/Rebirth), and
// never reused while the Node lives. A Node is not safe for concurrent
// use: one goroutine owns it; only CommandTopic, Death and ParseRebirth,
// which read what NewNode set, may be called from any goroutine.
type Node struct {
	group, node string
	nbirth      string
	seq         uint64
	devices     map[string]*device // by asset path
	order       []*device
	nextAlias   uint64
	rebirth     uint64 // alias of RebirthMetric
	born        bool
}

type device struct {
	id          string
	birth, data string // topics
	metrics     map[string]*metric
	order       []*metric
	pending     []*metric // metrics in the DDATA being built
}

type metric struct {
	name    string
	alias   uint64
	kind    normalize.Kind
	value   float64
	text    string
	unit    string
	status  connectors.StatusCode
	sent    connectors.StatusCode // status of the last value published
	ts      uint64                // ms
	hasData bool
	queued  bool // in its device's pending list
}

// NewNode returns the edge node node of group.
func NewNode(group, node string) (*Node, error) {
	if err := errors.Join(CheckSparkplugID("group id", group), CheckSparkplugID("edge node id", node)); err != nil {
		return nil, err
	}
	return &Node{
		group: group, node: node,
		nbirth:    SparkplugTopic(group, "NBIRTH", node, ""),
		devices:   make(map[string]*device),
		nextAlias: 2,
		rebirth:   1,
	}, nil
}

// CommandTopic is the topic of the node's commands (NCMD), where host
// applications ask for a rebirth.
func (n *Node) CommandTopic() string { return SparkplugTopic(n.group, "NCMD", n.node, "") }

// Lost says the MQTT session ended: until the next Births, Data records
// values without publishing them.
func (n *Node) Lost() { n.born = false }

// Born says whether Births was called since the last Lost.
func (n *Node) Born() bool { return n.born }

// Death returns the NDEATH of session bdSeq: the MQTT will of the
// session (QoS 1, not retained), also published on an orderly stop.
func (n *Node) Death(bdSeq uint64) Message {
	p := &sparkplugb.Payload{
		Timestamp: proto.Uint64(uint64(time.Now().UnixMilli())),
		Metrics:   []*sparkplugb.Payload_Metric{bdSeqMetric(bdSeq)},
	}
	return Message{Topic: SparkplugTopic(n.group, "NDEATH", n.node, ""), Payload: marshal(p), QoS: 1}
}

func bdSeqMetric(bdSeq uint64) *sparkplugb.Payload_Metric {
	return &sparkplugb.Payload_Metric{
		Name: proto.String(BdSeqMetric), Datatype: proto.Uint32(SparkplugUInt64),
		Value: &sparkplugb.Payload_Metric_LongValue{LongValue: bdSeq},
	}
}

// marshal encodes p. It cannot fail: the schema is proto2 (no UTF-8
// check) and has no required fields.
func marshal(p *sparkplugb.Payload) []byte {
	b, _ := proto.Marshal(p)
	return b
}

// nextSeq returns the message sequence number and advances it (0-255).
func (n *Node) nextSeq() *uint64 {
	s := n.seq
	n.seq = (n.seq + 1) % 256
	return proto.Uint64(s)
}

// Births returns the NBIRTH of session bdSeq (seq 0; metrics bdSeq and
// Node Control/Rebirth) and a DBIRTH per device with every metric's name,
// alias, type, unit, quality and latest value, all QoS 0 and not retained.
func (n *Node) Births(bdSeq uint64, now time.Time) []Message {
	n.seq = 0
	ms := uint64(now.UnixMilli())
	nb := &sparkplugb.Payload{
		Timestamp: proto.Uint64(ms),
		Seq:       n.nextSeq(),
		Metrics: []*sparkplugb.Payload_Metric{
			bdSeqMetric(bdSeq),
			{
				Name: proto.String(RebirthMetric), Alias: proto.Uint64(n.rebirth),
				Timestamp: proto.Uint64(ms), Datatype: proto.Uint32(SparkplugBoolean),
				Value: &sparkplugb.Payload_Metric_BooleanValue{BooleanValue: false},
			},
		},
	}
	out := make([]Message, 0, 1+len(n.order))
	out = append(out, Message{Topic: n.nbirth, Payload: marshal(nb)})
	for _, d := range n.order {
		p := &sparkplugb.Payload{Timestamp: proto.Uint64(ms), Seq: n.nextSeq()}
		p.Metrics = make([]*sparkplugb.Payload_Metric, 0, len(d.order))
		for _, m := range d.order {
			pm := m.proto(true)
			pm.Name = proto.String(m.name)
			p.Metrics = append(p.Metrics, pm)
			m.sent = m.status
			m.queued = false
		}
		d.pending = d.pending[:0]
		out = append(out, Message{Topic: d.birth, Payload: marshal(p)})
	}
	n.born = true
	return out
}

// Data records samples as their metrics' latest values and returns one
// DDATA per device with these values (by alias, QoS 0). Before the first
// Births, and after Lost, it only records. A sample of a tag not born yet,
// or whose value changed kind, makes it return the births again instead
// (rebirth true), which carry every value: the caller publishes them with
// the session's bdSeq (see Births).
func (n *Node) Data(samples []normalize.Sample, bdSeq uint64, now time.Time) (msgs []Message, rebirth bool) {
	var touched []*device
	for i := range samples {
		s := &samples[i]
		d := n.devices[s.Asset]
		if d == nil {
			d = n.addDevice(s.Asset)
			rebirth = true
		}
		m := d.metrics[s.Tag]
		if m == nil {
			m = &metric{name: s.Tag, alias: n.nextAlias, kind: s.Kind, sent: ^connectors.StatusCode(0)}
			n.nextAlias++
			d.metrics[s.Tag] = m
			d.order = append(d.order, m)
			rebirth = true
		} else if m.kind != s.Kind {
			m.kind = s.Kind
			rebirth = true
		}
		m.value, m.text, m.unit, m.status = s.Value, s.Text, s.Unit.Symbol, s.Status
		m.ts = uint64(Timestamp(s).UnixMilli())
		m.hasData = true
		if !m.queued {
			m.queued = true
			if len(d.pending) == 0 {
				touched = append(touched, d)
			}
			d.pending = append(d.pending, m)
		}
	}
	if !n.born {
		n.clearPending(touched)
		return nil, false
	}
	if rebirth {
		return n.Births(bdSeq, now), true // clears the pending lists
	}
	ms := uint64(now.UnixMilli())
	msgs = make([]Message, 0, len(touched))
	for _, d := range touched {
		p := &sparkplugb.Payload{Timestamp: proto.Uint64(ms), Seq: n.nextSeq()}
		p.Metrics = make([]*sparkplugb.Payload_Metric, 0, len(d.pending))
		for _, m := range d.pending {
			p.Metrics = append(p.Metrics, m.proto(false))
			m.sent = m.status
			m.queued = false
		}
		d.pending = d.pending[:0]
		msgs = append(msgs, Message{Topic: d.data, Payload: marshal(p)})
	}
	return msgs, false
}

func (n *Node) clearPending(ds []*device) {
	for _, d := range ds {
		for _, m := range d.pending {
			m.queued = false
		}
		d.pending = d.pending[:0]
	}
}

func (n *Node) addDevice(asset string) *device {
	id := DeviceID(asset)
	d := &device{
		id:      id,
		birth:   SparkplugTopic(n.group, "DBIRTH", n.node, id),
		data:    SparkplugTopic(n.group, "DDATA", n.node, id),
		metrics: make(map[string]*metric),
	}
	n.devices[asset] = d
	n.order = append(n.order, d)
	return d
}

// proto returns the metric's value by alias: with its type, unit and
// quality in a birth, with its quality in data when it is not Good or
// changed since the last value published.
func (m *metric) proto(birth bool) *sparkplugb.Payload_Metric {
	pm := &sparkplugb.Payload_Metric{Alias: proto.Uint64(m.alias)}
	if m.hasData {
		pm.Timestamp = proto.Uint64(m.ts)
	}
	typ := SparkplugDouble
	switch m.kind {
	case normalize.Bool:
		typ = SparkplugBoolean
	case normalize.Text:
		typ = SparkplugString
	}
	if birth {
		pm.Datatype = proto.Uint32(typ)
	}
	switch {
	case !m.hasData || m.status.IsBad():
		pm.IsNull = proto.Bool(true)
	case typ == SparkplugBoolean:
		pm.Value = &sparkplugb.Payload_Metric_BooleanValue{BooleanValue: m.value != 0}
	case typ == SparkplugString:
		pm.Value = &sparkplugb.Payload_Metric_StringValue{StringValue: m.text}
	default:
		pm.Value = &sparkplugb.Payload_Metric_DoubleValue{DoubleValue: m.value}
	}
	if birth || !m.status.IsGood() || m.status != m.sent {
		ps := &sparkplugb.Payload_PropertySet{}
		if birth && m.unit != "" {
			ps.Keys = append(ps.Keys, PropUnit)
			ps.Values = append(ps.Values, &sparkplugb.Payload_PropertyValue{
				Type: proto.Uint32(SparkplugString), Value: &sparkplugb.Payload_PropertyValue_StringValue{StringValue: m.unit},
			})
		}
		ps.Keys = append(ps.Keys, PropQuality, PropStatus)
		ps.Values = append(ps.Values,
			&sparkplugb.Payload_PropertyValue{
				Type: proto.Uint32(SparkplugInt32), Value: &sparkplugb.Payload_PropertyValue_IntValue{IntValue: classicQuality(m.status)},
			},
			&sparkplugb.Payload_PropertyValue{
				Type: proto.Uint32(SparkplugUInt32), Value: &sparkplugb.Payload_PropertyValue_IntValue{IntValue: uint32(m.status)},
			})
		pm.Properties = ps
	}
	return pm
}

// classicQuality maps a StatusCode to the OPC classic quality most
// Sparkplug hosts read: 192 Good, 64 Uncertain, 0 Bad.
func classicQuality(c connectors.StatusCode) uint32 {
	switch c.Severity() {
	case connectors.SeverityGood:
		return 192
	case connectors.SeverityUncertain:
		return 64
	default:
		return 0
	}
}

// ErrNotRebirth says an NCMD was well formed but asked for nothing otwin
// does.
var ErrNotRebirth = errors.New("no Node Control/Rebirth = true in the command")

// ParseRebirth decodes an NCMD payload and returns nil when it sets
// Node Control/Rebirth (by name or by the alias of this node's births) to
// true, ErrNotRebirth when it is a valid command asking for something
// else, and the decoding error when the payload is not a Sparkplug B
// payload.
func (n *Node) ParseRebirth(payload []byte) error {
	var p sparkplugb.Payload
	if err := proto.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("not a Sparkplug B payload: %w", err)
	}
	for _, m := range p.GetMetrics() {
		if m.GetName() == RebirthMetric || (m.Name == nil && m.GetAlias() == n.rebirth) {
			if v, ok := m.GetValue().(*sparkplugb.Payload_Metric_BooleanValue); ok && v.BooleanValue {
				return nil
			}
		}
	}
	return ErrNotRebirth
}
