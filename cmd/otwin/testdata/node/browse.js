// A node-opcua client for the import tests: it browses a server's address
// space below the Objects folder, and the ObjectTypes its objects are
// instances of, and prints every node it finds as one JSON array on
// stdout: node id ("nsu=<uri>;<id>"), class, browse name, parent, type
// definition, and for variables the data type, value rank, access level,
// EngineeringUnits and EURange. node-opcua-client is resolved through
// NODE_PATH (the package installed for the OPC UA server's tests).
"use strict";
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
const { OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, BrowseDirection, NodeClass } = require("node-opcua-client");

const url = process.argv[2];

function nsu(nsArray, nodeId) {
  const s = nodeId.toString();
  const id = s.startsWith("ns=") ? s.slice(s.indexOf(";") + 1) : s;
  return nodeId.namespace === 0 ? id : `nsu=${nsArray[nodeId.namespace]};${id}`;
}

async function main() {
  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 0 },
  });
  await client.connect(url);
  const s = await client.createSession();
  const nsArray = (await s.read({ nodeId: "i=2255", attributeId: AttributeIds.Value })).value.value;
  const out = [];
  const seen = new Set();
  const types = [];
  async function walk(nodeId, parent) {
    const r = await s.browse({
      nodeId, browseDirection: BrowseDirection.Forward, referenceTypeId: "HierarchicalReferences",
      includeSubtypes: true, nodeClassMask: 0, resultMask: 63,
    });
    for (const ref of r.references || []) {
      if (ref.nodeId.namespace === 0 || ref.referenceTypeId.toString() === "ns=0;i=45") continue;
      const id = nsu(nsArray, ref.nodeId);
      if (seen.has(id)) continue;
      seen.add(id);
      const n = {
        id, parent, nodeClass: NodeClass[ref.nodeClass], browseName: ref.browseName.name,
        typeDefinition: ref.typeDefinition ? nsu(nsArray, ref.typeDefinition) : "",
      };
      if (ref.nodeClass === NodeClass.Variable) {
        const [dt, rank, access] = await s.read([
          { nodeId: ref.nodeId, attributeId: AttributeIds.DataType },
          { nodeId: ref.nodeId, attributeId: AttributeIds.ValueRank },
          { nodeId: ref.nodeId, attributeId: AttributeIds.AccessLevel },
        ]);
        n.dataType = nsu(nsArray, dt.value.value);
        n.valueRank = rank.value.value;
        n.accessLevel = access.value.value;
        if (ref.browseName.name === "EngineeringUnits" || ref.browseName.name === "EURange") {
          const v = (await s.read({ nodeId: ref.nodeId, attributeId: AttributeIds.Value })).value.value;
          if (v && ref.browseName.name === "EngineeringUnits") {
            n.unitId = v.unitId;
            n.unit = v.displayName && v.displayName.text;
          }
          if (v && ref.browseName.name === "EURange") {
            n.low = v.low;
            n.high = v.high;
          }
        }
      }
      if (ref.nodeClass === NodeClass.Object && ref.typeDefinition && ref.typeDefinition.namespace !== 0 && !types.includes(n.typeDefinition)) {
        types.push(n.typeDefinition);
        const tr = await s.read({ nodeId: ref.typeDefinition, attributeId: AttributeIds.BrowseName });
        seen.add(n.typeDefinition);
        out.push({ id: n.typeDefinition, parent: "", nodeClass: "ObjectType", browseName: tr.value.value.name, typeDefinition: "" });
        await walk(ref.typeDefinition, n.typeDefinition);
      }
      out.push(n);
      await walk(ref.nodeId, id);
    }
  }
  await walk("i=85", "i=85");
  await s.close();
  await client.disconnect();
  process.stdout.write(JSON.stringify({ namespaces: nsArray, nodes: out }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`node-opcua browse: ${err.stack || err}\n`);
  process.exit(1);
});
