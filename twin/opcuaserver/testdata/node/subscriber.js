// A node-opcua subscriber with the client library's defaults: one
// subscription created with no options but publishingEnabled (which
// defaults to false: no server would send anything), every node monitored
// with no monitoring parameters (in calls of 1000 items). Used by the
// tests and benchmarks of twin/opcuaserver.
//
//   node subscriber.js URL NODES_FILE
//
// NODES_FILE holds one node id per line (ns=<i>;s=<id>). Prints "ready"
// once every item is monitored, then "count <n>" every 200 ms: the data
// change notifications received so far. "quit" on stdin (or end of input)
// closes the session and exits.
"use strict";
// node-opcua writes its warnings with console.log: keep stdout for the
// lines above.
const say = (line) => process.stdout.write(line + "\n");
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
const fs = require("node:fs");
const readline = require("node:readline");
const { OPCUAClient, AttributeIds, TimestampsToReturn } = require("node-opcua-client");

async function main() {
    const [url, file] = process.argv.slice(2);
    const ids = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 1 } });
    await client.connect(url);
    const session = await client.createSession();
    const sub = await session.createSubscription2({ publishingEnabled: true });
    let count = 0;
    sub.on("raw_notification", (msg) => {
        for (const d of msg.notificationData || []) {
            if (d && d.monitoredItems) count += d.monitoredItems.length;
        }
    });
    for (let i = 0; i < ids.length; i += 1000) {
        const items = ids.slice(i, i + 1000).map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value }));
        await sub.monitorItems(items, {}, TimestampsToReturn.Both);
    }
    say("ready");
    const report = setInterval(() => say("count " + count), 200);

    let closing = false;
    async function quit() {
        if (closing) return;
        closing = true;
        clearInterval(report);
        say("count " + count);
        try {
            await session.close(true);
            await client.disconnect();
        } finally {
            process.exit(0);
        }
    }
    const rl = readline.createInterface({ input: process.stdin });
    rl.on("line", (line) => {
        if (line.trim() === "quit") quit();
    });
    rl.on("close", quit);
}

main().catch((err) => {
    console.error(String(err && err.stack ? err.stack : err));
    process.exit(1);
});
