// Package uns encodes a collector's normalized stream for an MQTT unified
// namespace: the topic tree, the JSON payloads of samples, alerts, health
// and status, and Sparkplug B. It is pure: no goroutines and no I/O; the
// MQTT client that publishes what it encodes is normalize/uns/mqttpub, the
// embedded broker normalize/uns/broker.
//
// # Topics
//
// One topic per tag, under the ISA-95 asset path of its sample (see
// Topics): "<prefix>/<enterprise>/<site>/<area>/<line>/<cell>/<machine>/<tag>"
// for a plant that uses every level. The asset path gives the levels in
// order; those a plant does not use are left out, never padded, so
// subscribers select by prefix and "#" (e.g. "acme/plant1/bottling/#")
// rather than by counting "+" levels. Alerts on a tag follow its topic
// ("…/<tag>/_alert/<kind>"); what the collector says about itself and its
// endpoints is under "<prefix>/_otwin/<node>/": status, health/<endpoint>,
// alert/<kind>/<target>. Every message is retained, so that a subscriber
// that comes later gets the last value of every tag, the state of every
// alert and the health of every endpoint at once.
//
// # JSON
//
// A sample is AppendSample's object: value, unit, quality (status name and
// code), the three timestamps and timestamp_ms, seq (per tag, to detect
// duplicates and order) and context. Alerts, health and status are the
// Alert, Health and Status types.
//
// # Sparkplug B
//
// Node gives the Sparkplug B view of the same stream: the collector is
// one edge node, every asset one device (DeviceID), every tag a metric of
// its device named by the tag, with an alias. NBIRTH carries bdSeq and
// "Node Control/Rebirth"; DBIRTH every metric's name, alias, type, unit
// (property engUnit), quality (Quality, StatusCode) and latest value;
// DDATA the values by alias; NDEATH bdSeq. Payloads are the messages of
// the Eclipse Tahu sparkplug_b.proto, compiled with protoc-gen-go into
// sparkplugb.
package uns
