// A node-opcua client for the OPC UA server's tests: browses every
// variable below the Server object (ns=0;i=2253), reads each value, then
// monitors them all in one subscription (publishing every 100 ms) for
// plan.ms milliseconds. Prints one JSON object on stdout:
//   {"reads": {"<node id>": "<status name or error>"},
//    "notifications": {"<node id>": <data changes received>},
//    "sequence": [<sequence numbers of the notification messages>]}
// The plan (JSON, the first argument) is {"url": ..., "ms": ...}.
"use strict";
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
const { AttributeIds, BrowseDirection, NodeClass, TimestampsToReturn } = require("node-opcua-client");
const { session } = require("./peer");

const plan = JSON.parse(process.argv[2]);

async function variablesBelow(s, root) {
  const seen = new Set([root]);
  const queue = [root];
  const vars = [];
  while (queue.length > 0) {
    const r = await s.browse({
      nodeId: queue.shift(), referenceTypeId: "HierarchicalReferences", browseDirection: BrowseDirection.Forward,
      includeSubtypes: true, nodeClassMask: NodeClass.Object | NodeClass.Variable, resultMask: 63,
    });
    for (const ref of r.references || []) {
      const id = ref.nodeId.toString();
      if (ref.nodeId.namespace !== 0 || seen.has(id)) continue;
      seen.add(id);
      queue.push(id);
      if (ref.nodeClass === NodeClass.Variable) vars.push(id);
    }
  }
  return vars;
}

async function main() {
  const { client, s } = await session(plan.url);
  const vars = await variablesBelow(s, "ns=0;i=2253");
  const report = { reads: {}, notifications: {}, sequence: [] };
  for (const id of vars) {
    try {
      const dv = await s.read({ nodeId: id, attributeId: AttributeIds.Value });
      report.reads[id] = dv.statusCode.name;
    } catch (err) {
      report.reads[id] = "error: " + err.message.split("\n")[0];
    }
  }
  const sub = await s.createSubscription2({
    requestedPublishingInterval: 100, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 600,
    maxNotificationsPerPublish: 0, publishingEnabled: true,
  });
  const byHandle = new Map();
  sub.on("raw_notification", (msg) => {
    report.sequence.push(msg.sequenceNumber);
    for (const d of msg.notificationData || []) {
      for (const it of (d && d.monitoredItems) || []) {
        const id = byHandle.get(it.clientHandle);
        report.notifications[id] = (report.notifications[id] || 0) + 1;
      }
    }
  });
  const group = await sub.monitorItems(
    vars.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })),
    { samplingInterval: 100, queueSize: 10 }, TimestampsToReturn.Both);
  group.monitoredItems.forEach((mi, i) => byHandle.set(mi.monitoringParameters.clientHandle, vars[i]));
  await new Promise((resolve) => setTimeout(resolve, plan.ms));
  await s.close(true);
  await client.disconnect();
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().catch((err) => {
  process.stderr.write(`node-opcua servervars: ${err.stack || err}\n`);
  process.exit(1);
});
