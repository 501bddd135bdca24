// Helpers the node-opcua clients of the OPC UA server's tests share.
"use strict";
const { OPCUAClient, MessageSecurityMode, SecurityPolicy, UserTokenType, resolveNodeId } = require("node-opcua-client");

// nodeOf resolves "nsu=<namespace uri>;s=<id>" with the server's
// NamespaceArray (any other form as node-opcua reads it).
function nodeOf(nsArray, s) {
  const m = /^nsu=([^;]+);s=(.*)$/.exec(s);
  if (!m) return resolveNodeId(s);
  const ns = nsArray.indexOf(m[1]);
  if (ns < 0) throw new Error(`namespace ${m[1]} not in the NamespaceArray ${nsArray}`);
  return resolveNodeId(`ns=${ns};s=${m[2]}`);
}

// session connects without security and opens a session, anonymous or as
// user ({name, password}).
async function session(url, user) {
  const client = OPCUAClient.create({
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 0 },
  });
  await client.connect(url);
  const identity = user ? { type: UserTokenType.UserName, userName: user.name, password: user.password } : undefined;
  const s = await client.createSession(identity);
  return { client, s };
}

module.exports = { nodeOf, session };
