// A node-opcua client for the OPC UA server's history and method tests:
// it runs a plan (JSON, the first argument) of HistoryRead requests (raw
// and processed, with continuation points taken from earlier requests)
// and method calls, and prints what the server answered as one JSON
// object on stdout. Node ids are written "nsu=<namespace uri>;s=<id>".
// Anything node-opcua logs goes to stderr.
"use strict";
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
const {
  AttributeIds, resolveNodeId, HistoryReadRequest, ReadRawModifiedDetails, ReadProcessedDetails,
  TimestampsToReturn, AggregateFunction, AggregateConfiguration, DataType, Variant,
} = require("node-opcua-client");
const { nodeOf, session } = require("./peer");

const plan = JSON.parse(process.argv[2]);



function value(dv) {
  const v = dv.value ? dv.value.value : null;
  return {
    value: typeof v === "bigint" ? v.toString() : (v === undefined ? null : v),
    status: dv.statusCode.name,
    bits: dv.statusCode.value & 0x7ff,
    source: dv.sourceTimestamp ? dv.sourceTimestamp.toISOString() : null,
    server: dv.serverTimestamp ? dv.serverTimestamp.toISOString() : null,
  };
}

function details(r) {
  const d = r.details || {};
  const time = (t) => (t ? new Date(t) : null);
  if (r.kind === "processed") {
    return new ReadProcessedDetails({
      startTime: time(d.start), endTime: time(d.end), processingInterval: d.interval || 0,
      aggregateType: [resolveNodeId(AggregateFunction[d.aggregate])],
      aggregateConfiguration: new AggregateConfiguration({ useServerCapabilitiesDefaults: true }),
    });
  }
  return new ReadRawModifiedDetails({
    isReadModified: false, startTime: time(d.start), endTime: time(d.end),
    numValuesPerNode: d.numValues || 0, returnBounds: !!d.bounds,
  });
}

// historyRead runs one request of the plan, following continuation
// points when it says so.
async function historyRead(s, nsArray, r, cps) {
  const out = { requests: 0, values: [] };
  let cp = null;
  if (r.cp === "empty") cp = Buffer.alloc(0);
  else if (r.cp && r.cp.startsWith("hex:")) cp = Buffer.from(r.cp.slice(4), "hex");
  else if (r.cp) cp = cps[r.cp];
  for (;;) {
    let res;
    try {
      res = await s.historyRead(new HistoryReadRequest({
        historyReadDetails: details(r),
        timestampsToReturn: TimestampsToReturn.Both,
        releaseContinuationPoints: !!r.release,
        nodesToRead: [{ nodeId: nodeOf(nsArray, r.node), continuationPoint: cp }],
      }));
    } catch (err) {
      // node-opcua throws when the service result is Bad.
      const m = /ServiceResult is (\w+)/.exec(String(err.message));
      if (!m) throw err;
      out.requests++;
      out.service = m[1];
      return out;
    }
    out.requests++;
    out.service = res.responseHeader.serviceResult.name;
    const result = res.results && res.results[0];
    if (!result) return out;
    out.status = result.statusCode.name;
    const dvs = (result.historyData && result.historyData.dataValues) || [];
    out.values.push(...dvs.map(value));
    cp = result.continuationPoint && result.continuationPoint.length ? result.continuationPoint : null;
    out.cp = cp ? cp.toString("hex") : "";
    if (cp) cps[r.id] = cp;
    if (!cp || !r.follow || out.requests > 500) return out;
  }
}

async function call(s, nsArray, c) {
  const res = await s.call({
    objectId: nodeOf(nsArray, c.object),
    methodId: nodeOf(nsArray, c.method),
    inputArguments: (c.args || []).map((a) => new Variant({ dataType: DataType[a.type], value: a.value })),
  });
  return {
    status: res.statusCode.name,
    inputArgumentResults: (res.inputArgumentResults || []).map((x) => x.name),
    outputs: (res.outputArguments || []).map((v) => v.value),
  };
}

async function main() {
  const report = { history: {}, calls: {}, attributes: {} };
  const { client, s } = await session(plan.url, plan.user);
  const nsArray = (await s.read({ nodeId: "i=2255", attributeId: AttributeIds.Value })).value.value;
  for (const n of plan.attributes || []) {
    const [h, al, ual] = await s.read([AttributeIds.Historizing, AttributeIds.AccessLevel, AttributeIds.UserAccessLevel]
      .map((attributeId) => ({ nodeId: nodeOf(nsArray, n), attributeId })));
    report.attributes[n] = { historizing: h.value.value, accessLevel: al.value.value, userAccessLevel: ual.value.value };
  }
  const cps = {};
  for (const r of plan.history || []) {
    report.history[r.id] = await historyRead(s, nsArray, r, cps);
  }
  for (const c of plan.calls || []) {
    report.calls[c.id] = await call(s, nsArray, c);
  }
  await s.close();
  await client.disconnect();
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().catch((err) => {
  process.stderr.write(`node-opcua client: ${err.stack || err}\n`);
  process.exit(1);
});
