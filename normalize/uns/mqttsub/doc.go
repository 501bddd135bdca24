// Package mqttsub reads collectors from an MQTT broker into a live store:
// the dashboard half of the unified namespace. A Reader subscribes to
// "<prefix>/#" and builds, from the topics and payloads of every collector
// that publishes there (normalize/uns), the asset tree and the tags with
// their value, unit, status, three timestamps and last good value; the
// alerts in the lifecycle state their owner published; the endpoints'
// health; and one row per collector (its status: online or offline).
// Since every collector's messages are retained, a reader that starts
// later gets the current picture at once; and since retained messages
// may not reach this broker (a bridge that does not carry them, a site
// linked before or after), the reader also says hello at every
// connection (uns.Topics.Hello), and the collectors under its prefix
// publish their whole state again.
//
// # Many collectors
//
// Every payload names the collector that published it ("node"). Tags keep
// their topic as id (the path after the reader's prefix), so two sites
// under different asset paths or prefixes show side by side. Endpoints
// and alerts on endpoints are named "<endpoint>@<node>" (two collectors
// may both have an endpoint "plc1", and each has its "mqtt"); the
// collector itself is a row of its own, named by its node.
//
// # A collector that goes away
//
// When a collector's status goes offline — it stopped, or the broker
// published its will because its connection was lost — or when it is
// silent for three heartbeats (its online status comes again every
// uns.Heartbeat: a site whose process and broker went away at once, or
// whose leaf link is down, sends no will here), its endpoints are shown
// down and its tags as no longer communicating, with their last value
// (Uncertain_NoCommunicationLastUsableValue), and its alerts as not
// current; one comm_loss alert is raised on the collector, none per tag.
// When it is online again, what it last published comes back, the
// comm_loss clears, and the reader says hello again: what the collector
// published while its link was down (a leaf link carries no backlog) —
// alerts raised or cleared, new values — comes as its whole state. When the reader itself loses the broker, every
// collector is shown lost the same way, and one comm_loss is raised on
// "mqtt" after 5 s.
//
// # Acting on another collector's alerts
//
// The alerts belong to the collectors that publish them (store
// PublishRemote: normalize.Alert.Owner names the collector). Act sends a
// user's acknowledgement, shelve or comment as a command to the owner's
// command topic, as "<user>@<this node>" with the user's role, and waits
// for the owner's answer on this reader's reply topic: nil when the owner
// carried it out (its transition then arrives on the alert's topic), the
// owner's refusal, or an error saying no answer came (the owner acts on
// the command if it gets it before it expires).
//
// # Bad input
//
// A reader shares its broker with publishers it does not know. A payload
// larger than Config.MaxPayload, a topic outside the tree (uns.ParseTopic),
// a payload that is not what its topic carries (bad JSON, wrong types,
// missing fields: uns.Decode*) and samples past Config.MaxTags are
// counted and skipped, never fatal; fields a payload has that the reader
// does not know are counted and ignored. The counts and the last reason
// are in Stats and in the reader's own health ("mqtt": Errors and
// LastError), which the dashboard's connections page shows. Sparkplug B
// topics, commands, hellos and replies to other dashboards are ignored;
// an empty payload (a retained message cleared) is ignored.
package mqttsub
