// A node-opcua server with the delivery benchmark's workload: TAGS UInt32
// counters (ns=1;s=t<k>, 500 per folder) that all change every TICK ms
// while running. Used by the benchmarks of twin/opcuaserver as the anchor
// a twin server is compared with.
//
//   node server.js PORT TAGS TICK
//
// Prints "listening <url>" once clients can connect. Reads commands on
// stdin: "run K" changes every tag K times, one tick apart, then prints
// "ran K"; "quit" (or end of input) shuts the server down.
"use strict";
// node-opcua writes its warnings with console.log: keep stdout for the
// lines above.
const say = (line) => process.stdout.write(line + "\n");
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
const readline = require("node:readline");
const { OPCUAServer } = require("node-opcua-server");
const { DataType, Variant, StatusCodes } = require("node-opcua-client");

async function main() {
    const [port, tags, tick] = process.argv.slice(2).map(Number);
    const server = new OPCUAServer({
        port,
        maxConnectionsPerEndpoint: 20,
        maxAllowedSessionNumber: 20,
        silent: true,
    });
    await server.initialize();
    const ns = server.engine.addressSpace.getOwnNamespace();
    const objects = server.engine.addressSpace.rootFolder.objects;
    const vars = new Array(tags);
    let folder;
    for (let k = 0; k < tags; k++) {
        if (k % 500 === 0) {
            folder = ns.addFolder(objects, { browseName: "f" + k / 500 });
        }
        vars[k] = ns.addVariable({
            componentOf: folder,
            browseName: "t" + k,
            nodeId: "s=t" + k,
            dataType: "UInt32",
            value: new Variant({ dataType: DataType.UInt32, value: 0 }),
        });
    }
    await server.start();
    say("listening " + server.getEndpointUrl());

    let value = 0;
    function step() {
        value++;
        const v = new Variant({ dataType: DataType.UInt32, value });
        for (let k = 0; k < tags; k++) {
            vars[k].setValueFromSource(v, StatusCodes.Good);
        }
    }
    const rl = readline.createInterface({ input: process.stdin });
    let closing = false;
    async function quit() {
        if (closing) return;
        closing = true;
        await server.shutdown(0);
        process.exit(0);
    }
    rl.on("line", (line) => {
        const [cmd, arg] = line.trim().split(/\s+/);
        if (cmd === "run") {
            const k = Number(arg);
            let done = 0;
            const t = setInterval(() => {
                step();
                if (++done === k) {
                    clearInterval(t);
                    say("ran " + k);
                }
            }, tick);
        } else if (cmd === "quit") {
            quit();
        }
    });
    rl.on("close", quit);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
