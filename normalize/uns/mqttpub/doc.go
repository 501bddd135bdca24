// Package mqttpub publishes a collector's normalized stream to an MQTT
// broker: every sample on its tag's topic as JSON (normalize/uns), every
// alert transition, every endpoint's health and the collector's status,
// all retained (samples at most every Config.RetainInterval when it is
// set: retain.go); optionally Sparkplug B on a connection of its own. Attach
// ties a Publisher to a pipeline (its OnEvent hook, its store's health,
// and its store's alerts for the publisher's own conditions); attach.go is
// the package's only tie to the pipeline and the store.
//
// # Client
//
// The client is eclipse/paho.mqtt.golang v1.5.1: MQTT 3.1.1 (it speaks no
// MQTT 5), QoS 0 and 1, TLS with client certificates, user name and
// password, automatic reconnection, and a message store. The JSON
// connection is a persistent session (clean session off, a stable client
// id), so the broker keeps the session and the client keeps every QoS 1
// message until the broker acknowledges it.
//
// # Outage buffer
//
// Through a broker outage nothing is lost up to Config.Buffer messages
// (default 50,000, at most 65,000: MQTT numbers the messages in flight
// with 16 bits): the buffer is the client library's store of
// unacknowledged messages (in memory in publish order, or in files with
// Config.StoreDir), resent in order after the reconnection. No queue of
// otwin's own holds samples; a small wrapper (bufferStore) counts the
// store, so that at 80 % the mqtt_buffer alert is raised (before any
// drop), past the limit samples are dropped, counted and mqtt_dropped
// raised; it also holds new publishes while the stored ones are resent, so
// that a tag's retained value is its newest. A broker that is connected
// but slower than the collector backs the publisher up into its hand-off
// (Config.Buffer events): the same alerts, the same counting. At QoS 0
// nothing is kept. The alerts go to the store as the rules' conditions
// do: they show in the dashboard and, once the broker is back, on MQTT.
//
// # What was chosen, and what was measured
//
// The embedded broker (normalize/uns/broker) is nats-server v2.15.3: it
// is maintained, embeds in-process, has an MQTT listener, keeps retained
// messages and sessions in JetStream on disk (they survive restarts), is
// Sparkplug-aware, and links sites to a central broker as leaf nodes
// (retained messages cross the link too; TestLeafNode). Its cost is that
// every retained and every QoS 1 message is a JetStream write: a QoS 1
// publish is acknowledged after the write, at most 1024 in flight per
// connection. Its MQTT listener also stores a retained message before it
// reads the connection's next message, so one connection carries about
// 70k retained messages a second whatever the cores (more connections
// only add contention in the stream: measured, 2 and 3 connections cost
// the broker 14-16 µs a sample instead of 12.5). Hence Config.RetainInterval
// (retainer: a tag retained at most every interval, its newest sample
// retained again when it stops changing), EmbeddedRetainInterval (5 s) by
// default with the embedded broker. mochi-mqtt v2.7.9, the other
// embeddable broker served here, is an unapproved release and measured no
// better for retained messages.
//
// Measured on this 2-core machine (AMD EPYC, load average 0.3-2.1, the
// machine otherwise idle), 100k tags of 6-level paths, 322-byte payloads,
// 15 s of 100k samples a second, the broker in its own process
// (BenchmarkPublish100k), per sample fed, two runs:
//
//	                                   publisher   broker       acknowledged/s  dropped
//	QoS 1 → mosquitto 2.0.11           5.9-7.5 µs  6.0-6.6 µs   100k            0
//	QoS 1 → embedded, retain 5 s       6.8 µs      12.1-12.5 µs 75-77k          18-25 %
//	QoS 1 → embedded, every retained   5.1-5.7 µs  13.2-14.7 µs 36-42k          53-64 %
//	QoS 1 → embedded in-process, 5 s   18.6-19.0 µs together    85-96k          0-15 %
//	QoS 0 → mosquitto                  4.5-4.6 µs  4.1 µs       100k            0
//	QoS 0 → embedded, retain 5 s       4.9-5.5 µs  5.9-6.7 µs   100k            0
//	QoS 0 → embedded, every retained   2.2 µs      12.1 µs      56-58k          40-42 %
//	QoS 0 → embedded in-process, 5 s   11.4-12.2 µs together    100k            0
//	mosquitto_pub (anchor, C)          4.0-4.5 µs per message, 186-195k msgs/s
//
// So 100k tags at 1 Hz cost the publisher 0.45-0.75 of a core (the
// anchor, a C client, 0.40-0.45), within the budget of one core, with
// mosquitto at either QoS and with the embedded broker at its defaults
// (QoS 0, retain 5 s: EmbeddedQoS, EmbeddedRetainInterval), in its own
// process or in the collector's (1.1-1.2 cores for both). At QoS 1 the
// NATS server also writes every message to JetStream (its $MQTT_msgs
// stream, for QoS 1 subscribers' sessions) and acknowledges it after the
// write: 75-96k samples a second fit on 2 cores, the rest is dropped,
// counted and alerted (mqtt_buffer, then mqtt_dropped). For 100k tags at
// QoS 1 on one small machine, publish to an external broker (mosquitto,
// EMQX, HiveMQ, or a NATS cluster on machines of its own). Before the
// connection buffered its reads and coalesced its writes
// (mqttconn.Options: the client library makes a system call per packet
// written and several per packet read) the publisher took 5.3-6.1 µs per
// sample at load averages of 7-18.
//
// Latency (BenchmarkLatency10k: 10k tags a second, spread over the
// second, QoS 1 and every sample retained, to mosquitto_sub in its own
// process; load average 0.5-1.0): mosquitto p50 1.2 ms, p99 2.3 ms;
// embedded p50 2.3-2.6 ms, p99 5.3-5.9 ms. The whole path from the twin's
// change to the subscriber (BenchmarkE2EMQTTLatency10k in cmd/otwin: 10k
// tags changing at the same 1 s tick, the twin's OPC UA server, the
// connector in its child process, the pipeline and the publisher, with
// the command line's defaults; four runs at load average 0.1-0.8):
// embedded broker in the same process p50 143-152 ms, p99 202-248 ms;
// mosquitto (QoS 1) p50 131-141 ms, p99 210-239 ms. A tick changes all
// 10k tags at once: the later ones of the burst wait for those before
// them, mostly in the client library's per-message publish (about 6 µs
// each); the pipeline hands a sample to the publisher 11-13 ms (p50),
// 31-36 ms (p99) after the connector received it. At load averages of 9-16,
// runs with p99 of 0.6-4.8 s were seen.
//
// # Sparkplug B
//
// With Config.Sparkplug the collector is a Sparkplug B edge node (see
// uns.Node) on a second connection: clean session (the specification's
// rule), NDEATH as the will, bdSeq incremented for every session and
// written into the will before the CONNECT, NBIRTH and DBIRTH after every
// connection, on a host's NCMD "Node Control/Rebirth" and when a tag
// appears; DDATA at QoS 0. Malformed commands are counted
// (Stats.Malformed) and skipped. A reconnection waits a second: a broker
// that sees the client id again before it noticed the lost connection
// replaces the session without publishing the will (nats-server does, and
// then hosts learn of the new session only from the NBIRTH's bdSeq).
package mqttpub
