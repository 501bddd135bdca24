// Package control is the twin's HTTP+JSON control API: what the CLI
// (otwin fault, otwin clock, otwin call), the dashboard's fault panel and
// scripts use to inject and clear faults, drive the clock, call machines'
// methods and read the event log.
//
// Handler serves it; Client calls it. Handler itself has no
// authentication; RequireToken wraps it so that only calls carrying
// "Authorization: Bearer <token>" get through (others get 401), and
// reports every call, refused or not, with the caller's address and the
// user it names (X-Otwin-User) for an audit log. The otwin commands that
// serve it (sim, ssh --scenario, workshop) always require a token: they
// make a random one at start and write it into the ready file and the
// data directory (mode 0600). Request bodies are limited to 64 KiB.
// Every error is JSON {"error":"..."}: 400 for bad input (the message
// names the field), 404 for an unknown fault, tag or path, 405 for a wrong
// method, 409 for a fault that is not active, 413 for a body too large.
// Durations are strings such as "500ms" or "2m30s"; elapsed times are
// simulated time since the scenario start. Numbers are exact both ways:
// a value written is read by its JSON text (never through float64), so
// an int64 or uint64 tag takes any integer of its type digit for digit,
// and values are answered with every digit.
//
// # Endpoints
//
// The examples assume the API at 127.0.0.1:8089 with its token in $T
// (export OTWIN_CONTROL=http://127.0.0.1:8089 OTWIN_TOKEN=$T for the
// CLI, or give it --ready-file). Every call carries the token:
//
//	T=$(jq -r .token twin.json)
//	curl -s -H "Authorization: Bearer $T" http://127.0.0.1:8089/v1/status
//
// The examples below leave the header out.
//
// GET /v1/status — the clock: scenario, ticks, elapsed simulated time,
// speed, paused, number of tags and active faults.
//
//	curl -s http://127.0.0.1:8089/v1/status
//	{"scenario":"bottling","started":"…","sim_time":"…","elapsed":"1m2.5s","ticks":625,
//	 "tick":"100ms","time_scale":1,"speed":1,"paused":false,"tags":42,"active_faults":1}
//
// GET /v1/faults — every fault of the scenario (defined: true) and every
// active ad-hoc fault, with active, since, until and the full definition.
//
//	curl -s http://127.0.0.1:8089/v1/faults
//
// POST /v1/faults — start a fault of the scenario by name, or an ad-hoc
// fault given whole with the field names of the scenario format (name is
// optional; the answer, 201, is the fault's status with its name).
//
//	curl -s -X POST http://127.0.0.1:8089/v1/faults -d '{"name":"filler_temp_stuck"}'
//	curl -s -X POST http://127.0.0.1:8089/v1/faults \
//	  -d '{"kind":"drift","target":"filler1/temperature","rate":0.5,"duration":"2m"}'
//	curl -s -X POST http://127.0.0.1:8089/v1/faults \
//	  -d '{"name":"plc_down","kind":"comm_loss","target":"filler1","protocol":"modbus"}'
//
// DELETE /v1/faults/{name} — end an active fault (204).
//
//	curl -s -X DELETE http://127.0.0.1:8089/v1/faults/plc_down
//
// POST /v1/clock — pause, resume, or set the speed multiplier (on top of
// the scenario's time_scale, in (0, 10000]). The answer is the status.
//
//	curl -s -X POST http://127.0.0.1:8089/v1/clock -d '{"action":"pause"}'
//	curl -s -X POST http://127.0.0.1:8089/v1/clock -d '{"action":"resume"}'
//	curl -s -X POST http://127.0.0.1:8089/v1/clock -d '{"action":"speed","speed":10}'
//
// POST /v1/step — run n ticks at once, paused or not (1..1000000, and
// ticks × tags at most 5e7 so that one request cannot hold the engine for
// minutes); the answer is the status after them.
//
//	curl -s -X POST http://127.0.0.1:8089/v1/step -d '{"ticks":50}'
//
// GET /v1/events?since=N — the event log (fault injections, clears and
// expiries, timeline sets, states and notes, client writes) from cursor N,
// and the cursor for the next call. The log keeps the last 10000 events.
//
//	curl -s 'http://127.0.0.1:8089/v1/events?since=0'
//	{"events":[{"seq":0,"elapsed":"30s","time":"…","kind":"inject","origin":"timeline",
//	  "fault":"filler_temp_stuck","fault_kind":"stuck","target":"filler1/temperature"}],"next":1}
//
// GET /v1/tags[?prefix=P] — every tag (or those whose id or machine/tag
// starts with P) with its current value, status code and name, and
// source timestamp.
//
//	curl -s 'http://127.0.0.1:8089/v1/tags?prefix=filler1/'
//
// GET /v1/tags/{id} — one tag by "machine/tag" or full id.
//
//	curl -s http://127.0.0.1:8089/v1/tags/filler1/speed_sp
//
// POST /v1/tags/{id} — write a value as an OPC UA or Modbus client would
// (a setpoint change); 409 when the tag is not writable, 400 when the
// value does not fit the tag's type or range (a fraction or an integer
// beyond the type is refused, never rounded). The answer is the tag.
//
//	curl -s -X POST http://127.0.0.1:8089/v1/tags/filler1/speed_sp -d '{"value":450}'
//	curl -s -X POST http://127.0.0.1:8089/v1/tags/filler1/serial -d '{"value":12345678901234567891}'
//
// GET /v1/truth — the ground truth of every tag: id, type, unit, range,
// writable, its OPC UA node (namespace URI and string id) and Modbus
// register (unit id, table, 0-based address, type, order, scale, offset),
// and its value, status and source time now, with the tick they are of
// ("consistent": false when the clock ticked while they were read; pause
// the clock to compare values with a client's). otwin verify reads it.
//
//	curl -s http://127.0.0.1:8089/v1/truth
//	{"scenario":"bottling","ticks":625,"tick":"100ms","paused":true,"consistent":true,
//	 "tags":[{"id":"acme/…/filler1/fill_volume","machine":"filler1","name":"fill_volume",
//	   "type":"float64","unit":"ml","unit_code":"MLT","range":{"low":480,"high":520},
//	   "opcua":{"namespace":"urn:otwin:bottling","node_id":"acme/…/filler1/fill_volume"},
//	   "modbus":{"unit_id":1,"table":"input","address":14,"type":"float32","order":"CDAB","scale":1},
//	   "value":499.93,"status":0,"status_name":"Good","source":"…"}, …]}
//
// GET /v1/methods — every machine's methods (the scenario's methods:
// start, stop, reset, …) with their input and output arguments and the
// states they are allowed in.
//
//	curl -s http://127.0.0.1:8089/v1/methods
//
// POST /v1/machines/{machine}/methods/{method} — call a method as an OPC UA
// client would, arguments by name; the answer is its outputs. 404 for an
// unknown machine or method, 409 when the machine's state does not allow
// the call, 400 for a missing, unknown, ill-typed or out-of-range
// argument (named). A refused call changes nothing.
//
//	curl -s -X POST http://127.0.0.1:8089/v1/machines/filler1/methods/stop
//	{"outputs":{"state":"Stopped"}}
//	curl -s -X POST http://127.0.0.1:8089/v1/machines/filler1/methods/set_recipe \
//	  -d '{"arguments":{"recipe":"lemonade-0.33l","fill_volume":330}}'
//	curl -s -X POST http://127.0.0.1:8089/v1/machines/filler1/methods/stop
//	{"error":"call filler1.stop: not allowed in the machine's state: state is Stopped; stop is allowed in Running, Starved, Blocked"}
//
// GET /v1/alarms — every alarm of the scenario with its state: active,
// limit, acked, confirmed, latched, retain, message, severity, the last
// comment and user, the latest event id (see twin/alarms).
//
//	curl -s http://127.0.0.1:8089/v1/alarms
//
// GET /v1/alarms/events?since=N — the alarms' events from cursor N.
//
// POST /v1/alarms/{name}/ack, /confirm, /reset — act on an alarm as a
// second operator would: an OPC UA client sees the event it causes. The
// body is optional: a comment, a user (default "control") and the hex
// event id the operator saw (default: the alarm's current state). 409
// when there is nothing to acknowledge, confirm or reset.
//
//	curl -s -X POST http://127.0.0.1:8089/v1/alarms/filler1-co2-pressure/ack \
//	  -d '{"comment":"venting","user":"shift lead"}'
//
// GET /v1/clients — what the twin's servers saw each client (a host at an
// endpoint) do: connections (open, and reconnections), OPC UA session
// names, users, live sessions, subscriptions and monitored items, reads,
// writes and refused writes, and per Modbus function code the requests
// (package clientlog). otwin sim and otwin test serve it.
//
//	curl -s http://127.0.0.1:8089/v1/clients
//	{"clients":[{"protocol":"modbus","endpoint":"127.0.0.1:5020","host":"127.0.0.1",
//	  "peer":"127.0.0.1:51234","connections":2,"open":1,"reconnects":1,"reads":361,
//	  "writes":1,"refused":0,"functions":{"3":180,"4":180,"16":1},"first":"…","last":"…"}]}
//
// GET /v1/clients/activity?since=N — the client activity log from cursor
// N: connections and disconnections, OPC UA sessions activated (or
// resumed on a new connection) and ended, each subscription's monitored
// items after a change, writes with the value and the twin's answer, and
// a summary of each connection's reads every 10 s. It keeps the last 10000
// entries.
//
//	curl -s 'http://127.0.0.1:8089/v1/clients/activity?since=0'
//	{"entries":[{"seq":0,"time":"…","kind":"connect","protocol":"opcua",
//	  "endpoint":"opc.tcp://127.0.0.1:4840","conn":3,"peer":"127.0.0.1:51240","machines":["filler1"]}, …],"next":12}
package control
