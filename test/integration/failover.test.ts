/**
 * The seed's failover walk-through, automated on real processes with the program's default Sentinel timing:
 * freeze the master (SIGSTOP, like `docker compose pause`), let the Sentinels elect a new master while a WAIT-confirmed
 * writer and two Sentinel-aware client libraries keep writing, then thaw the old master and watch it rejoin.
 * The tests run in order and share one cluster: each checks one step of the same failover. The whole walk-through
 * runs twice, in plain text and with TLS on every link (tlsEnabled), and the summary lines put the two side by side.
 */
import * as fs from "fs";
import Redis from "ioredis";
import { connectedIoredis, nodeRedisClient as documentedNodeRedis } from "../../tools/lib/clients";
import { LocalCluster, LocalNode, startLocalCluster } from "../harness/localCluster";
import { longestOutage, recordSentinelEvents, SentinelEventRecorder, startWriter, Writer } from "../harness/observers";
import { pollUntil, withTimeout } from "../../tools/lib/poll";

/** Errors that the seed lists as signs of a Sentinel or Redis that cannot save its configuration. */
const configSaveErrors = [
    /Permission denied/,
    /not writable/,
    /Device or resource busy/,
    /WARNING: Sentinel was not able to save/,
];
/**
 * How much longer than the Sentinels' failover a client may be unable to write, with the settings the README
 * documents (tools/lib/clients.ts). node-redis re-reads SENTINEL MASTER once a second while the Sentinel it asks
 * reports the failover in progress (the leader does until +failover-end): up to 1 s plus a connection.
 */
const clientOutageSlackMs = 1500;

const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, "m").exec(info)?.[1]?.trim();

describe.each([
    ["plain text", undefined],
    ["TLS", {}],
] as const)("failover on real processes (%s): Sentinels, writers and client libraries", (mode, tls) => {
    let cluster: LocalCluster;
    let sentinelEvents: SentinelEventRecorder;
    let ioredisClient: Redis;
    let nodeRedisClient: ReturnType<typeof documentedNodeRedis>;
    let waitClient: Redis;
    const writers: Writer[] = [];
    const confirmedKeys: string[] = [];
    const timings: Record<string, number> = {};
    let oldMaster: LocalNode;
    let newMaster: LocalNode;
    let freezeAt = 0;
    let thawedAt = 0;

    /** true once `node` replicates from the new master with its link up (a fresh connection per call). */
    const followsNewMaster = (node: LocalNode) =>
        cluster.withConnection(node.name, async (admin) => {
            const info = await admin.info("replication");
            return infoField(info, "master_port") === `${newMaster.port}` && infoField(info, "master_link_status") === "up"
                ? true
                : undefined;
        });

    beforeAll(async () => {
        cluster = await startLocalCluster({ tls });
        sentinelEvents = await recordSentinelEvents(cluster);
        oldMaster = cluster.redisNodes[0];
    }, 30000);

    afterAll(async () => {
        await Promise.all(writers.map((writer) => writer.stop()));
        sentinelEvents?.stop();
        ioredisClient?.disconnect();
        waitClient?.disconnect();
        await nodeRedisClient?.destroy().catch(() => undefined);
        await cluster?.stop();
        if (Object.keys(timings).length) {
            const summary = Object.entries(timings).map(([what, ms]) => `${what}=${ms}ms`);
            console.log(
                `failover summary, ${mode} (down-after ${cluster.settings.topology.downAfterMilliseconds} ms): ${summary.join(" ")}`,
            );
        }
    }, 30000);

    test("ioredis and node-redis connect through the Sentinels as the application user, write and read", async () => {
        const description = cluster.description();
        ioredisClient = await connectedIoredis(description);
        waitClient = await connectedIoredis(description);
        nodeRedisClient = documentedNodeRedis(description);
        await withTimeout("node-redis to connect through the Sentinels", nodeRedisClient.connect(), 10000);

        await ioredisClient.set("clients:ioredis", "1");
        await nodeRedisClient.set("clients:node-redis", "1");
        expect(await ioredisClient.get("clients:node-redis")).toBe("1");
        expect(await nodeRedisClient.get("clients:ioredis")).toBe("1");
    }, 20000);

    test("writers run: plain writes through both libraries, and writes confirmed with WAIT 1", async () => {
        writers.push(
            startWriter("ioredis", async (sequence) => (await ioredisClient.set(`ioredis:${sequence}`, sequence)) === "OK"),
        );
        writers.push(
            startWriter(
                "node-redis",
                async (sequence) => (await nodeRedisClient.set(`node-redis:${sequence}`, `${sequence}`)) === "OK",
            ),
        );
        // A write counts as acknowledged only when WAIT saw a replica take it on the same connection as the SET:
        // after a reconnect WAIT would answer for a connection that wrote nothing.
        let connection = 0;
        waitClient.on("connect", () => connection++);
        writers.push(
            startWriter("wait", async (sequence) => {
                const key = `ack:${sequence}`;
                const before = connection;
                const results = await waitClient.pipeline().set(key, `${sequence}`).wait(1, 1000).exec();
                const acknowledged = results !== null && results.every(([error]) => !error) && Number(results[1][1]) >= 1;
                if (acknowledged && connection === before) {
                    confirmedKeys.push(key);
                    return true;
                }
                return false;
            }),
        );
        await pollUntil(
            "every writer to have written",
            async () => (writers.every((writer) => writer.successes.length >= 10) ? true : undefined),
            {
                timeoutMs: 10000,
            },
        );
    }, 15000);

    test("after the master is frozen, every Sentinel agrees on a new master and announces +switch-master", async () => {
        freezeAt = Date.now();
        cluster.freeze(oldMaster.name);
        const oldAddress = `${oldMaster.ip}:${oldMaster.port}`;
        const agreed = await pollUntil(
            "every Sentinel to report the same new master",
            () => cluster.newMasterAgreed(oldAddress),
            { timeoutMs: 40000, intervalMs: 50 },
        );
        timings.sentinelsAgree = Date.now() - freezeAt;
        newMaster = cluster.nodeAt(agreed as string);
        // The failover ends when every Sentinel has announced +switch-master. The others do so as soon as the leader's
        // hello reaches them; the leader itself only at +failover-end, once it has reconfigured the replicas, and until
        // then it reports the failover as in progress to clients that ask it (SENTINEL MASTER).
        const switches = await pollUntil(
            "+switch-master from every Sentinel",
            async () => sentinelEvents.fromEverySentinel("+switch-master", freezeAt),
            { timeoutMs: 40000, intervalMs: 50 },
        );
        timings.odown = (sentinelEvents.firstAt("+odown", freezeAt) ?? Number.NaN) - freezeAt;
        timings.promoted = (sentinelEvents.firstAt("+promoted-slave", freezeAt) ?? Number.NaN) - freezeAt;
        timings.firstSwitchMaster = Math.min(...switches) - freezeAt;
        timings.failover = Math.max(...switches) - freezeAt;
        expect(newMaster.name).not.toBe(oldMaster.name);
    }, 90000);

    test("the other replica follows the new master and saved it with CONFIG REWRITE", async () => {
        const other = cluster.redisNodes.find((node) => node !== oldMaster && node !== newMaster) as LocalNode;
        await pollUntil(`${other.name} to replicate from ${newMaster.name}`, () => followsNewMaster(other), { timeoutMs: 20000 });
        expect(fs.readFileSync(other.runtimeConf, "utf8")).toMatch(
            new RegExp(`^replicaof ${newMaster.ip.replace(/\./g, "\\.")} ${newMaster.port}$`, "m"),
        );
        expect(cluster.logs(other.name)).toMatch(/CONFIG REWRITE executed with success/);
        expect(fs.readFileSync(newMaster.runtimeConf, "utf8")).not.toMatch(/^replicaof /m);
        expect(cluster.logs(newMaster.name)).toMatch(/CONFIG REWRITE executed with success/);
    }, 30000);

    test("each client writes again within 1.5 s of the end of the Sentinels' failover", async () => {
        await pollUntil(
            "every writer to write to the new master",
            async () =>
                writers.every((writer) => writer.successes.some((at) => at > freezeAt + timings.failover)) ? true : undefined,
            { timeoutMs: 20000 },
        );
        for (const writer of writers) {
            const boundMs = timings.failover + clientOutageSlackMs;
            const outageMs = longestOutage(writer.successes, freezeAt);
            timings[`${writer.name}Outage`] = outageMs;
            const firstAfter = (writer.successes.find((at) => at > freezeAt) ?? Number.NaN) - freezeAt;
            const failures = writer.failureLog
                .filter(({ at }) => at >= freezeAt)
                .map(({ at, message }) => `+${at - freezeAt}ms ${message}`);
            const sentinelTimeline = sentinelEvents.events
                .filter((event) => event.at >= freezeAt)
                .map((event) => `+${event.at - freezeAt}ms ${event.sentinel} ${event.channel}`);
            const report = {
                writer: writer.name,
                outageMs,
                boundMs,
                firstAfter,
                failures: failures.slice(0, 10),
                sentinelTimeline,
            };
            expect({ ...report, withinBound: outageMs <= boundMs }).toEqual({ ...report, withinBound: true });
        }
    }, 30000);

    test("no acknowledged write is lost: every WAIT-confirmed key is on the new master", async () => {
        await writers.find((writer) => writer.name === "wait")?.stop();
        expect(confirmedKeys.length).toBeGreaterThan(10);
        const admin = cluster.connect(newMaster.name);
        const missing: string[] = [];
        for (let index = 0; index < confirmedKeys.length; index += 500) {
            const keys = confirmedKeys.slice(index, index + 500);
            const values = await admin.mget(...keys);
            keys.forEach((key, at) => values[at] === null && missing.push(key));
        }
        admin.disconnect();
        expect(missing).toEqual([]);
    }, 20000);

    test("the thawed old master refuses writes while it is isolated (min-replicas-to-write), within the documented bound", async () => {
        cluster.thaw(oldMaster.name);
        thawedAt = Date.now();
        timings.frozenFor = thawedAt - freezeAt;
        const client = cluster.connect(oldMaster.name, cluster.appUser);
        try {
            const role = ((await client.call("ROLE")) as unknown[])[0];
            // The master recounts its good replicas once a second (replicationCron), so for up to a second after the
            // thaw it may still count the ones it had before the freeze: the README's bound (refused within 3 s of the
            // replicas falling silent) is what holds, not an instant refusal.
            const refused = await pollUntil(
                "the thawed master to refuse a write",
                async () => {
                    const reply = await client.set("isolated:write", "lost?").catch((error: Error) => error.message);
                    return /^NOREPLICAS/.test(reply) ? Date.now() - thawedAt : undefined;
                },
                { timeoutMs: 3000, intervalMs: 100 },
            );
            console.log(`failover: the thawed old master refused writes ${refused} ms after the thaw`);
            expect(role).toBe("master");
        } finally {
            client.disconnect();
        }
    }, 10000);

    test("the old master is converted to a replica of the new master and catches up", async () => {
        await pollUntil(`${oldMaster.name} to replicate from ${newMaster.name}`, () => followsNewMaster(oldMaster), {
            timeoutMs: 40000,
        });
        timings.rejoin = Date.now() - thawedAt;
        // Sentinel waits 8 s after a replica claims to be master before it sends SLAVEOF (+convert-to-slave).
        timings.convertToSlave = (sentinelEvents.firstAt("+convert-to-slave", thawedAt) ?? Number.NaN) - thawedAt;
        expect(timings.convertToSlave).toBeGreaterThanOrEqual(0);
        // The library writers would otherwise keep adding keys between the two DBSIZE calls below.
        await Promise.all(writers.map((running) => running.stop()));
        const writer = cluster.connect(newMaster.name, cluster.appUser);
        await writer.set("after:rejoin", "1");
        expect(await writer.wait(2, 5000)).toBe(2);
        writer.disconnect();
        const [newSize, oldSize] = await Promise.all(
            [newMaster, oldMaster].map((node) => cluster.withConnection(node.name, (admin) => admin.dbsize())),
        );
        expect(oldSize).toBe(newSize);
        const admin = cluster.connect(oldMaster.name);
        expect(await admin.get("after:rejoin")).toBe("1");
        expect(await admin.get(confirmedKeys[confirmedKeys.length - 1])).not.toBeNull();
        expect(await admin.get("isolated:write")).toBeNull();
        admin.disconnect();
        expect(fs.readFileSync(oldMaster.runtimeConf, "utf8")).toMatch(
            new RegExp(`^replicaof ${newMaster.ip.replace(/\./g, "\\.")} ${newMaster.port}$`, "m"),
        );
    }, 50000);

    test("no Sentinel or Redis node logged a permission or config-save error", () => {
        for (const node of [...cluster.sentinelNodes, ...cluster.redisNodes]) {
            const problems = cluster
                .logs(node.name)
                .split("\n")
                .filter((line) => configSaveErrors.some((pattern) => pattern.test(line)));
            expect({ node: node.name, problems }).toEqual({ node: node.name, problems: [] });
        }
    });

    test("no ACL denial on any Sentinel or Redis node after the clients' failover", async () => {
        await Promise.all(writers.map((writer) => writer.stop()));
        for (const node of [...cluster.sentinelNodes, ...cluster.redisNodes]) {
            const admin = cluster.connect(node.name);
            const entries = (await admin.call("ACL", "LOG")) as unknown[][];
            admin.disconnect();
            const denials = entries.map((entry) => {
                const fields = new Map<string, unknown>();
                for (let index = 0; index + 1 < entry.length; index += 2) {
                    fields.set(String(entry[index]), entry[index + 1]);
                }
                return `${fields.get("username")} ${fields.get("reason")} ${fields.get("object")} x${fields.get("count")}`;
            });
            expect({ node: node.name, denials }).toEqual({ node: node.name, denials: [] });
        }
    });
});
