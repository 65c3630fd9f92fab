/**
 * npm run bench:clients -- [--reps N] [--out DIR]
 *
 * How soon each client library writes again after the Sentinels' failover: on real redis-server/redis-sentinel
 * processes (the integration suite's harness), the master is frozen (SIGSTOP, as `docker pause`) and kept frozen
 * 8 s after the failover, so that no client can get back by its old connection. ioredis and node-redis 6 with the
 * settings the README documents (tools/lib/clients.ts), and node-redis with its defaults for comparison, write
 * side by side through every drill. Writes DIR/clients.md (default bench/results); p50 and maximum over N drills.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setTimeout as delay } from "timers/promises";
import { createSentinel } from "redis";
import { startLocalCluster } from "../test/harness/localCluster";
import { recordSentinelEvents, startWriter, Writer } from "../test/harness/observers";
import { ClientStack, connectedIoredis, nodeRedisClient, nodeRedisOptions } from "../tools/lib/clients";
import { waitHealthy } from "../tools/lib/failover";
import { pollUntil } from "../tools/lib/poll";
import { benchOptions } from "./options";
import { median } from "./chart";

/** How long the master stays frozen after the Sentinels' failover ends (the issue's condition). */
const frozenAfterFailoverMs = 8000;

/** The node-redis client a user gets from the README's users alone: createSentinel's defaults. */
function nodeRedisDefaults(stack: ClientStack) {
    const documented = nodeRedisOptions(stack);
    const client = createSentinel({
        name: documented.name,
        sentinelRootNodes: documented.sentinelRootNodes,
        sentinelClientOptions: { username: "clientsentinel", password: stack.passwords.clientsentinel },
        nodeClientOptions: { username: stack.appUser, password: stack.passwords.app },
    });
    client.on("error", () => undefined);
    return client;
}

interface Drill {
    readonly failoverMs: number;
    /** Per client: from the end of the Sentinels' failover to its first successful write (ms). */
    readonly writesAgainMs: Readonly<Record<string, number>>;
}

async function main(): Promise<void> {
    const { reps, out } = benchOptions(10, 50);
    const cluster = await startLocalCluster({ readyTimeoutMs: 60_000 });
    const description = cluster.description();
    const events = await recordSentinelEvents(cluster);
    const ioredis = await connectedIoredis(description);
    const documented = nodeRedisClient(description);
    const defaults = nodeRedisDefaults(description);
    await Promise.all([documented.connect(), defaults.connect()]);
    const maxDurationMs = reps * 120_000;
    const writers: Writer[] = [
        startWriter("ioredis", async (n) => (await ioredis.set(`bench:ioredis:${n}`, "1")) === "OK", { maxDurationMs }),
        startWriter("node-redis", async (n) => (await documented.set(`bench:node-redis:${n}`, "1")) === "OK", { maxDurationMs }),
        startWriter("node-redis (defaults)", async (n) => (await defaults.set(`bench:defaults:${n}`, "1")) === "OK", {
            maxDurationMs,
        }),
    ];
    const drills: Drill[] = [];
    try {
        for (let rep = 1; rep <= reps; rep++) {
            const master = cluster.nodeAt(await waitHealthy(description, 90_000));
            await delay(1000);
            const frozenAt = Date.now();
            cluster.freeze(master.name);
            try {
                // The failover ends when the last Sentinel announces +switch-master: the leader does at +failover-end,
                // and until then it reports the failover in progress to clients that ask it.
                const switches = await pollUntil(
                    "+switch-master from every Sentinel",
                    async () => events.fromEverySentinel("+switch-master", frozenAt),
                    { timeoutMs: 60_000, intervalMs: 20 },
                );
                const endedAt = Math.max(...switches);
                await delay(frozenAfterFailoverMs);
                const writesAgainMs = Object.fromEntries(
                    writers.map((writer) => [
                        writer.name,
                        (writer.successes.find((at) => at >= endedAt) ?? Number.NaN) - endedAt,
                    ]),
                );
                drills.push({ failoverMs: endedAt - frozenAt, writesAgainMs });
                console.log(
                    `#${rep} ${master.name}: failover ${endedAt - frozenAt} ms; writes again after it: ${Object.entries(
                        writesAgainMs,
                    )
                        .map(([name, ms]) => `${name} ${ms} ms`)
                        .join(", ")}`,
                );
            } finally {
                cluster.thaw(master.name);
            }
        }
    } finally {
        await Promise.all(writers.map((writer) => writer.stop()));
        events.stop();
        ioredis.disconnect();
        await Promise.all([documented.destroy(), defaults.destroy()].map((done) => done.catch(() => undefined)));
        await cluster.stop();
    }
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, "clients.md"), report(reps, drills, writers));
    console.log(`wrote ${path.join(out, "clients.md")}`);
}

function report(reps: number, drills: readonly Drill[], writers: readonly Writer[]): string {
    const seconds = (ms: number) => (Number.isNaN(ms) ? "never" : (ms / 1000).toFixed(2));
    const row = (label: string, values: number[]) =>
        `| ${label} | ${seconds(median(values))} | ${seconds(Math.max(...values))} | ${values.map(seconds).join(" ")} |`;
    const version = execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim().split(" ").slice(0, 3).join(" ");
    const dependency = (name: string) => JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), "utf8")).version;
    return [
        "# Clients through a failover",
        "",
        `Command: \`npm run bench:clients -- --reps ${reps}\``,
        "",
        `Run on ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${version}, ioredis ${dependency("ioredis")}, node-redis ${dependency("redis")}; real processes on loopback.`,
        `Each of ${reps} drills freezes the master (SIGSTOP, as \`docker pause\`) and keeps it frozen ${frozenAfterFailoverMs / 1000} s after the Sentinels' failover ends (the last \`+switch-master\`; the leader announces it at \`+failover-end\`).`,
        "All three clients write side by side, one SET every 10 ms after the last reply.",
        "",
        "| | p50 (s) | max (s) | every drill (s) |",
        "|---|---|---|---|",
        row(
            "the Sentinels' failover, from the freeze",
            drills.map((d) => d.failoverMs),
        ),
        ...writers.map((writer) =>
            row(
                `${writer.name}: first write after the failover`,
                drills.map((d) => d.writesAgainMs[writer.name]),
            ),
        ),
        "",
        "- ioredis and node-redis: the settings the README documents (`tools/lib/clients.ts`).",
        "- node-redis (defaults): `createSentinel` with only the users and passwords.",
        "",
    ].join("\n");
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(`bench: ${(error as Error).message}`);
        process.exit(1);
    },
);
