// A node-opcua alarm client for the OPC UA server's alarm tests: it
// subscribes to the events of the Server object (where OfType
// AlarmConditionType), prints {"step":"subscribed"} on stdout, waits for
// the alarm the plan names to go active (the test raises it with a
// fault), acknowledges and confirms it by EventId with a comment (and
// tries the refusals), reconnects, calls ConditionRefresh and reports
// the events between the RefreshStartEvent and the RefreshEndEvent, then
// runs node-opcua's own alarm list. The report is the last stdout line.
// The plan (JSON, the first argument): {"url": ..., "alarm": "co2-high"}.
"use strict";
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
const {
  AttributeIds, TimestampsToReturn, constructEventFilter, ofType, acknowledgeCondition, confirmCondition,
  callConditionRefresh, installAlarmMonitoring, resolveNodeId,
} = require("node-opcua-client");
const peer = require("./peer");

const plan = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const fields = [
  "EventId", "EventType", "SourceName", "ConditionId", "ConditionName", "Message", "Severity", "Retain",
  "ActiveState.Id", "AckedState.Id", "ConfirmedState.Id", "LimitState.CurrentState", "Comment", "ClientUserId",
  "BranchId", "Time",
];

// plain turns an event's variants into JSON values: node ids as text,
// localized texts as their text, byte strings as hex.
function plain(variants) {
  const ev = {};
  fields.forEach((f, i) => {
    const v = variants[i] && variants[i].value;
    if (v === null || v === undefined) ev[f] = null;
    else if (Buffer.isBuffer(v)) ev[f] = v.toString("hex");
    else if (v.text !== undefined) ev[f] = v.text;
    else if (v.identifierType !== undefined) ev[f] = v.toString();
    else if (v instanceof Date) ev[f] = v.toISOString();
    else ev[f] = v;
  });
  ev.raw = variants;
  return ev;
}

// connect opens an anonymous session without security.
async function connect() {
  const { client, s } = await peer.session(plan.url);
  return { client, session: s };
}

// subscribe monitors the Server object's alarm events; waitFor(pred)
// resolves with the first event (from now on) that matches.
async function subscribe(session) {
  const sub = await session.createSubscription2({
    requestedPublishingInterval: 50, requestedLifetimeCount: 1000, requestedMaxKeepAliveCount: 10,
    maxNotificationsPerPublish: 1000, publishingEnabled: true, priority: 1,
  });
  const filter = constructEventFilter(fields, ofType("AlarmConditionType"));
  const item = await sub.monitor(
    { nodeId: resolveNodeId("Server"), attributeId: AttributeIds.EventNotifier },
    { samplingInterval: 0, queueSize: 1000, discardOldest: true, filter },
    TimestampsToReturn.Both,
  );
  const events = [];
  const waiters = [];
  item.on("changed", (variants) => {
    const ev = plain(variants);
    events.push(ev);
    for (const w of waiters.splice(0)) {
      if (w.pred(ev)) w.resolve(ev);
      else waiters.push(w);
    }
  });
  const waitFor = (what, pred) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no event: " + what)), 20000);
    waiters.push({ pred, resolve: (ev) => { clearTimeout(t); resolve(ev); } });
  });
  return { sub, events, waitFor };
}

const is = (name, field, value) => (ev) => ev.ConditionName === name && ev[field] === value;

async function main() {
  const report = {};
  const alarm = plan.alarm;

  // 1. The alarm a fault raises, acknowledged and confirmed by EventId.
  let { client, session } = await connect();
  let s = await subscribe(session);
  const raised = s.waitFor(alarm + " active", is(alarm, "ActiveState.Id", true));
  out({ step: "subscribed" });
  const active = await raised;
  report.raised = strip(active);
  const cond = active.raw[fields.indexOf("ConditionId")].value;
  const eventId = active.raw[fields.indexOf("EventId")].value;
  report.unknownEventId = (await acknowledgeCondition(session, cond, Buffer.from("no such event"), "x")).name;
  const ackedP = s.waitFor(alarm + " acknowledged", is(alarm, "AckedState.Id", true));
  report.ack = (await acknowledgeCondition(session, cond, eventId, "seen by node-opcua")).name;
  const acked = await ackedP;
  report.acked = strip(acked);
  report.ackAgain = (await acknowledgeCondition(session, cond, eventId, "again")).name;
  const ackId = acked.raw[fields.indexOf("EventId")].value;
  const confirmedP = s.waitFor(alarm + " confirmed", is(alarm, "ConfirmedState.Id", true));
  report.confirm = (await confirmCondition(session, cond, ackId, "confirmed by node-opcua")).name;
  report.confirmed = strip(await confirmedP);
  report.confirmAgain = (await confirmCondition(session, cond, ackId, "again")).name;
  await session.close();
  await client.disconnect();

  // 2. After a reconnect: ConditionRefresh.
  ({ client, session } = await connect());
  s = await subscribe(session);
  const endP = s.waitFor("RefreshEndEvent", (ev) => ev.EventType === "ns=0;i=2788");
  report.refresh = (await callConditionRefresh(session, s.sub.subscriptionId)).name;
  await endP;
  report.refreshEvents = s.events.map((ev) => ({ type: ev.EventType, condition: ev.ConditionName, retain: ev.Retain, acked: ev["AckedState.Id"] }));

  // 3. node-opcua's own alarm list (its fields, OfType
  // AcknowledgeableConditionType, ConditionRefresh).
  const list = await installAlarmMonitoring(session);
  const deadline = Date.now() + 10000;
  await new Promise((resolve) => {
    const check = () => {
      if (list.length > 0 || Date.now() > deadline) resolve();
      else list.once("alarmChanged", check);
    };
    check();
    setTimeout(resolve, 10000);
  });
  report.alarmList = list.alarms().map((a) => ({
    condition: a.conditionId.toString(), eventType: a.eventType.toString(), retain: a.getRetain(),
  }));
  await session.close();
  await client.disconnect();
  out({ report });
}

function strip(ev) {
  const o = { ...ev };
  delete o.raw;
  return o;
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(String(err && err.stack || err) + "\n");
  process.exit(1);
});
