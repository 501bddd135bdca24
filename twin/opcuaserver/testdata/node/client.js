// A node-opcua client for the OPC UA server's tests: it does what a plan
// (JSON, the first argument) asks and prints what the server answered as
// one JSON object on stdout. Node ids in the plan are written
// "nsu=<namespace uri>;s=<id>" and resolved with the server's
// NamespaceArray. Anything node-opcua logs goes to stderr.
"use strict";
// node-opcua writes its warnings with console.log: keep stdout for the
// report.
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
const { OPCUAClient, MessageSecurityMode, AttributeIds, BrowseDirection, NodeClass, DataType } = require("node-opcua-client");
const { nodeOf, session } = require("./peer");

const plan = JSON.parse(process.argv[2]);


async function browse(session, nodeId, referenceTypeId, direction) {
  const r = await session.browse({
    nodeId, referenceTypeId, browseDirection: direction, includeSubtypes: true,
    nodeClassMask: 0, resultMask: 63,
  });
  return r.references || [];
}

async function typeDefinition(session, nodeId) {
  const refs = await browse(session, nodeId, "HasTypeDefinition", BrowseDirection.Forward);
  return refs.map((r) => r.nodeId.toString());
}

async function modellingRule(session, nodeId) {
  const refs = await browse(session, nodeId, "HasModellingRule", BrowseDirection.Forward);
  return refs.map((r) => r.nodeId.toString());
}

async function properties(session, nodeId) {
  const out = {};
  for (const r of await browse(session, nodeId, "HasProperty", BrowseDirection.Forward)) {
    const dv = await session.read({ nodeId: r.nodeId, attributeId: AttributeIds.Value });
    const v = dv.value.value;
    const p = { status: dv.statusCode.name, modellingRule: await modellingRule(session, r.nodeId) };
    if (r.browseName.name === "EngineeringUnits" && v) {
      p.unitId = v.unitId;
      p.namespaceUri = v.namespaceUri;
      p.displayName = v.displayName && v.displayName.text;
    }
    if (r.browseName.name === "EURange" && v) {
      p.low = v.low;
      p.high = v.high;
    }
    out[r.browseName.name] = p;
  }
  return out;
}


async function main() {
  const report = {};
  {
    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    await client.connect(plan.url);
    const eps = await client.getEndpoints();
    report.endpoints = eps.map((e) => ({
      url: e.endpointUrl,
      mode: MessageSecurityMode[e.securityMode],
      policy: e.securityPolicyUri,
    }));
    await client.disconnect();
  }
  const { client, s } = await session(plan.url);
  const nsArray = (await s.read({ nodeId: "i=2255", attributeId: AttributeIds.Value })).value.value;
  report.namespaces = nsArray;

  if (plan.type) {
    const t = nodeOf(nsArray, plan.type);
    const nc = await s.read({ nodeId: t, attributeId: AttributeIds.NodeClass });
    const type = { nodeClass: NodeClass[nc.value.value], declarations: {}, instances: [] };
    type.supertypes = (await browse(s, t, "HasSubtype", BrowseDirection.Inverse)).map((r) => r.nodeId.toString());
    for (const r of await browse(s, t, "HasComponent", BrowseDirection.Forward)) {
      type.declarations[r.browseName.name] = {
        browseNamespace: nsArray[r.browseName.namespaceIndex],
        typeDefinition: await typeDefinition(s, r.nodeId),
        modellingRule: await modellingRule(s, r.nodeId),
        properties: await properties(s, r.nodeId),
      };
    }
    for (const r of await browse(s, t, "HasTypeDefinition", BrowseDirection.Inverse)) {
      type.instances.push(`nsu=${nsArray[r.nodeId.namespace]};s=${r.nodeId.value}`);
    }
    report.type = type;
  }

  report.tags = {};
  for (const id of plan.tags || []) {
    const n = nodeOf(nsArray, id);
    const dv = await s.read({ nodeId: n, attributeId: AttributeIds.Value });
    report.tags[id] = {
      status: dv.statusCode.name,
      value: dv.value.value,
      typeDefinition: await typeDefinition(s, n),
      properties: await properties(s, n),
    };
  }

  report.writes = [];
  for (const w of plan.writes || []) {
    let ws = s;
    let other;
    if (w.user) {
      other = await session(plan.url, w.user);
      ws = other.s;
    }
    const status = await ws.write({
      nodeId: nodeOf(nsArray, w.node), attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType[w.type], value: w.value } },
    });
    report.writes.push(status.name);
    if (other) {
      await other.s.close();
      await other.client.disconnect();
    }
  }
  await s.close();
  await client.disconnect();
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().catch((err) => {
  process.stderr.write(`node-opcua client: ${err.stack || err}\n`);
  process.exit(1);
});
